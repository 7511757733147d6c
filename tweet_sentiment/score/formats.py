"""Reading a shard in chunks and writing one, in CSV, JSON lines or Parquet, local or remote (fsspec).

Memory is bounded by the chunk size: CSV through pandas' `chunksize`, JSON
lines line by line, Parquet through pyarrow's `iter_batches` (a Parquet file is
read one row group at a time, so a row group much larger than a chunk costs its
own size). Rows keep their input order; row numbers count from 1 (for CSV the
first row after the header, for JSON lines the line number).

- CSV: every cell is read as a string (`dtype=object`, empty cells stay `""`),
  undecodable bytes as lone surrogates (`surrogateescape`), written back as the
  same bytes. A row with more cells than the header is an `InputError`.
- JSON lines: one JSON object per line; a line that is not one is a bad row,
  not an error. Keys missing from a record stay missing on output.
- Parquet: column types are kept (pandas' `ArrowDtype`); `.gz` text files are
  read and written compressed.
"""

import io
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import IO, Any, Protocol

import fsspec
import pandas as pd

from tweet_sentiment.score.checks import Rejection

FORMATS = ("csv", "jsonl", "parquet")
SUFFIXES = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",  # JSON lines, not one JSON document
    ".parquet": "parquet",
    ".pq": "parquet",
}
EXTENSIONS = {"csv": ".csv", "jsonl": ".jsonl", "parquet": ".parquet"}


class InputError(ValueError):
    """The input cannot be scored as asked (no such file, unknown format, no text column...); the message says why."""


@dataclass
class Chunk:
    """Consecutive rows of one shard: the columns to carry through and the text cell of each row.

    `frame` has one row per input row (its kept columns, in input order), `values`
    the text column's cells (any type, as read; a `Rejection` for a record that
    could not be read), and `first_row` the 1-based row number of the first.
    """

    first_row: int
    frame: pd.DataFrame
    values: list[object]


def format_of(url: str) -> str:
    """`csv`, `jsonl` or `parquet` from a file name (a `.gz` suffix ignored); `InputError` otherwise."""
    name = url.rstrip("/").rsplit("/", 1)[-1].lower().removesuffix(".gz")
    suffix = name[name.rfind(".") :] if "." in name else ""
    if suffix not in SUFFIXES:
        known = ", ".join(sorted(SUFFIXES))
        raise InputError(f"{url}: cannot tell its format from the name; use one of {known} (optionally .gz)")
    return SUFFIXES[suffix]


def compression_of(url: str) -> str | None:
    return "gzip" if url.lower().endswith(".gz") else None


def read_chunks(url: str, text_column: str, keep: list[str] | None, chunk_size: int) -> Iterator[Chunk]:
    """The shard at `url` as chunks of at most `chunk_size` rows; at least one chunk, maybe empty.

    `keep` names the columns carried through (None: all of them). Raises
    `InputError` when the text column or a kept column is missing, or the file
    is not of its format.
    """
    readers = {"csv": _csv_chunks, "jsonl": _jsonl_chunks, "parquet": _parquet_chunks}
    yielded = False
    for chunk in readers[format_of(url)](url, text_column, keep, chunk_size):
        yielded = True
        yield chunk
    if not yielded:  # a file with no rows still makes a (header-only) shard
        yield Chunk(1, pd.DataFrame(columns=keep or []), [])


def _check_columns(url: str, columns: list[str], text_column: str, keep: list[str] | None) -> list[str]:
    """The kept columns, in input order; `InputError` naming what is missing."""
    if text_column not in columns:
        raise InputError(
            f"{url}: no column {text_column!r} (columns: {', '.join(map(str, columns)) or 'none'}); pass --text-column"
        )
    if keep is None:
        return list(columns)
    missing = [name for name in keep if name not in columns]
    if missing:
        raise InputError(f"{url}: --keep names columns it does not have: {', '.join(missing)}")
    return keep


def _csv_chunks(url: str, text_column: str, keep: list[str] | None, chunk_size: int) -> Iterator[Chunk]:
    with fsspec.open(url, "rb", compression=compression_of(url)) as file:
        try:
            reader = pd.read_csv(
                file,
                dtype=object,
                keep_default_na=False,
                encoding="utf-8",
                encoding_errors="surrogateescape",
                chunksize=chunk_size,
            )
            kept = None
            for frame in reader:  # even a file with a header and no rows gives one (empty) frame
                if not isinstance(frame.index, pd.RangeIndex):  # pandas made the first column an index
                    raise pd.errors.ParserError("its rows have one cell more than the header")
                if kept is None:
                    kept = _check_columns(url, list(frame.columns), text_column, keep)
                first_row = int(frame.index[0]) + 1 if len(frame) else 1
                yield Chunk(first_row, frame[kept].reset_index(drop=True), frame[text_column].tolist())
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise InputError(f"{url}: not a CSV file with a header row ({str(error).strip()})") from None


def _jsonl_record(line: bytes, text_column: str) -> tuple[dict, object]:
    """A line's record and its text cell; an empty record and a `Rejection` when the line is not a JSON object."""
    if not line.strip():
        return {}, Rejection("bad_record", "an empty line, not a JSON object")
    try:
        record = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as error:
        return {}, Rejection("undecodable", f"the line is not valid UTF-8 (byte {error.start})")
    except ValueError as error:
        return {}, Rejection("bad_record", f"not a JSON object ({error})")
    if not isinstance(record, dict):
        return {}, Rejection("bad_record", f"a JSON {type(record).__name__}, not an object")
    return record, record.get(text_column)


def _jsonl_chunks(url: str, text_column: str, keep: list[str] | None, chunk_size: int) -> Iterator[Chunk]:
    with fsspec.open(url, "rb", compression=compression_of(url)) as file:
        first_row, records, values, has_text = 1, [], [], False
        for line in file:
            record, value = _jsonl_record(line, text_column)
            has_text = has_text or text_column in record
            records.append(record if keep is None else {name: record[name] for name in keep if name in record})
            values.append(value)
            if len(records) == chunk_size:
                if first_row == 1 and not has_text:
                    raise InputError(f"{url}: no record among the first {chunk_size} has the key {text_column!r}")
                yield Chunk(first_row, _frame(records, keep), values)
                first_row, records, values = first_row + chunk_size, [], []
        if first_row == 1 and records and not has_text:
            raise InputError(f"{url}: no record has the key {text_column!r}; pass --text-column")
        if records:
            yield Chunk(first_row, _frame(records, keep), values)


def _frame(records: list[dict], keep: list[str] | None) -> pd.DataFrame:
    """Records as rows, values as they were (object columns); a key a record lacks is NaN there."""
    frame = pd.DataFrame(records, columns=keep, dtype=object) if records else pd.DataFrame(columns=keep)
    if len(frame) != len(records):  # records without any kept key (or no kept columns) still make rows
        frame = pd.DataFrame(index=range(len(records)), columns=frame.columns)
    return frame.astype(object)


def _parquet_chunks(url: str, text_column: str, keep: list[str] | None, chunk_size: int) -> Iterator[Chunk]:
    parquet = _pyarrow_parquet()
    import pyarrow as pa

    with fsspec.open(url, "rb") as file:
        try:
            parquet_file = parquet.ParquetFile(file)
        except (pa.ArrowInvalid, OSError) as error:
            raise InputError(f"{url}: not a Parquet file ({error})") from None
        schema = parquet_file.schema_arrow
        kept = _check_columns(url, schema.names, text_column, keep)
        text_type = schema.field(text_column).type
        if not (pa.types.is_string(text_type) or pa.types.is_large_string(text_type)):
            raise InputError(f"{url}: column {text_column!r} holds {text_type}, not text")
        columns = [name for name in schema.names if name in kept or name == text_column]
        first_row = 1
        for batch in parquet_file.iter_batches(batch_size=chunk_size, columns=columns):
            frame = batch.select(kept).to_pandas(types_mapper=pd.ArrowDtype)
            yield Chunk(first_row, frame, batch.column(text_column).to_pylist())
            first_row += batch.num_rows


def _pyarrow_parquet():
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise InputError(
            "reading or writing Parquet needs pyarrow: pip install -r requirements.txt (pyarrow==25.0.1)"
        ) from None
    return parquet


class Writer(Protocol):
    """Writes the scored rows of one shard to an open binary file, chunk after chunk."""

    def write(self, frame: pd.DataFrame) -> None: ...

    def close(self) -> None: ...


def open_writer(file: IO[bytes], fmt: str) -> Writer:
    """A writer of `fmt` (`csv`, `jsonl` or `parquet`) on `file`, which the caller closes after `close()`."""
    return {"csv": CsvWriter, "jsonl": JsonlWriter, "parquet": ParquetWriter}[fmt](file)


def _text(file: IO[bytes]) -> io.TextIOWrapper:
    """UTF-8 text on `file`; lone surrogates (undecodable input bytes) go back out as those bytes."""
    return io.TextIOWrapper(file, encoding="utf-8", errors="surrogateescape", newline="", write_through=True)


class CsvWriter:
    """CSV with a header row; every chunk must have the first chunk's columns."""

    def __init__(self, file: IO[bytes]) -> None:
        self.text = _text(file)
        self.columns: list[str] | None = None

    def write(self, frame: pd.DataFrame) -> None:
        if self.columns is None:
            self.columns = list(frame.columns)
            frame.iloc[:0].to_csv(self.text, index=False)
        elif list(frame.columns) != self.columns:
            extra = [name for name in frame.columns if name not in self.columns]
            if extra:
                raise InputError(f"columns appear after the first rows: {', '.join(map(str, extra))}; pass --keep")
            frame = frame.reindex(columns=self.columns)
        frame.to_csv(self.text, index=False, header=False)

    def close(self) -> None:
        self.text.flush()
        self.text.detach()


def _json_value(value: Any) -> Any:
    """What `json.dumps` cannot write itself: dates and times as ISO 8601, bytes and the rest as text."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="surrogateescape")
    return str(value)


def _present(value: Any) -> bool:
    """False for the NaN that stands for a key a JSON record did not have."""
    return not (isinstance(value, float) and math.isnan(value))


class JsonlWriter:
    """One JSON object per row; keys a record lacked stay absent, floats written exactly."""

    def __init__(self, file: IO[bytes]) -> None:
        self.text = _text(file)

    def write(self, frame: pd.DataFrame) -> None:
        lines = (
            json.dumps({k: v for k, v in record.items() if _present(v)}, ensure_ascii=False, default=_json_value)
            for record in frame.to_dict("records")
        )
        self.text.write("".join(line + "\n" for line in lines))

    def close(self) -> None:
        self.text.flush()
        self.text.detach()


class ParquetWriter:
    """One row group per chunk; every chunk is cast to the first chunk's schema."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.writer = None

    def write(self, frame: pd.DataFrame) -> None:
        parquet = _pyarrow_parquet()
        import pyarrow as pa

        try:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self.writer is None:
                self.writer = parquet.ParquetWriter(self.file, table.schema)
            else:
                table = table.select(self.writer.schema.names).cast(self.writer.schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, KeyError, ValueError) as error:
            raise InputError(f"cannot write these rows as Parquet ({error}); write CSV or JSON lines instead") from None
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def first_value(url: str, column: str) -> object:
    """The first row's `column` in a shard (None if it has no rows): a cheap look at a finished output."""
    for chunk in read_chunks(url, column, [], 1):
        return chunk.values[0] if chunk.values else None
    return None
