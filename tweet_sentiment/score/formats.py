"""Reading a shard in chunks and writing one, in CSV, JSON lines or Parquet, local or remote (fsspec).

Memory is bounded by the chunk size: CSV through pandas' `chunksize`, JSON
lines line by line, Parquet through pyarrow's `iter_batches` (a Parquet file is
read one row group at a time, so a row group much larger than a chunk costs its
own size). Rows keep their input order; row numbers count from 1 (for CSV the
first row after the header, for JSON lines the line number).

- CSV: every cell is read as a string (empty cells stay `""`, missing trailing
  ones are empty), undecodable bytes as lone surrogates (`surrogateescape`),
  written back as the same bytes. A row with more cells than the header, or with
  broken quoting on its line, is a bad row; a quote left open across lines is an
  `InputError` naming the line it opened on (it would merge the rows after it).
- Text files: the header (first line) must be UTF-8; a UTF-8 BOM is dropped, a
  UTF-16 file is an `InputError` saying how to re-save it.
- JSON lines: one JSON object per line; a line that is not one is a bad row,
  not an error. Keys missing from a record stay missing on output.
- Parquet: column types are kept (pandas' `ArrowDtype`); `.gz` text files are
  read and written compressed.
"""

import csv
import io
import itertools
import json
import math
import pickle
import tempfile
from collections.abc import Iterable, Iterator
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


_RESAVE = "re-save it as UTF-8 (Excel: CSV UTF-8; or iconv -f {} -t utf-8 IN > OUT) and score that"


def _first_line(url: str, file: IO[bytes]) -> bytes:
    """The file's first line with a UTF-8 BOM dropped (wbolster/jsonlines#68); `InputError` for UTF-16.

    A UTF-16 file (Excel's "Unicode Text") would otherwise read as nothing but
    undecodable rows (pandas-dev/pandas#60795).
    """
    line = file.readline()
    if line.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in line:
        raise InputError(f"{url}: the file is UTF-16 (Excel's Unicode Text), not UTF-8; " + _RESAVE.format("utf-16"))
    return line.removeprefix(b"\xef\xbb\xbf")


def _header_line(url: str, file: IO[bytes]) -> str:
    """A CSV file's header line as text; `InputError` if it is not UTF-8 (its column names would be garbled)."""
    line = _first_line(url, file)
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as error:
        byte = f"byte 0x{line[error.start]:02x} at position {error.start + 1}"
        raise InputError(
            f"{url}: its header line is not UTF-8 ({byte}; Latin-1 or Windows-1252?); " + _RESAVE.format("latin1")
        ) from None


def _csv_records(url: str, file: IO[bytes]) -> Iterator[tuple[int, list[str] | Rejection]]:
    """Each record after the header with the line it starts on: its fields, or why it cannot be read.

    The header comes first, as line 1's record. A record that breaks CSV's
    quoting within its line is a bad row; one that breaks it after running over
    several lines is a quote left open, which would swallow the rows after it
    into one field (pandas-dev/pandas#22661), so the file is refused there.
    """
    rest = io.TextIOWrapper(file, encoding="utf-8", errors="surrogateescape", newline="")
    reader = csv.reader(itertools.chain([_header_line(url, file)], rest), strict=True)
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if reader.line_num > start:
                raise InputError(
                    f"{url}:{start}: a quote opened on this line is not closed where a field ends ({error}), so "
                    f"lines {start}-{reader.line_num} would be read as one row; close it, or double the quotes "
                    'inside a quoted field ("say ""hi"""), and score the file again'
                ) from None
            yield start, Rejection("bad_record", f"line {start}: not valid CSV ({error})")
        else:
            if fields:  # a blank line is no row
                yield start, fields
        start = reader.line_num + 1


def _csv_header(url: str, records: Iterator[tuple[int, list[str] | Rejection]]) -> list[str]:
    header = next(records, (1, None))[1]
    if not isinstance(header, list):
        raise InputError(f"{url}: not a CSV file with a header row ({'no lines' if header is None else header.detail})")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise InputError(f"{url}: the header names {', '.join(map(repr, repeated))} more than once; rename them")
    return header


def _csv_row(fields: list[str] | Rejection, header: list[str], line: int) -> tuple[list[str], object]:
    """A record as a row of the header's width, and what stands for its text: `None` or a `Rejection`.

    Missing trailing cells are empty, as pandas reads them; extra cells make the row a bad one.
    """
    if isinstance(fields, Rejection):
        return [""] * len(header), fields
    if len(fields) > len(header):
        detail = (
            f"line {line}: {len(fields)} fields where the header has {len(header)}; quote a field that holds a comma"
        )
        return [""] * len(header), Rejection("bad_record", detail)
    return fields + [""] * (len(header) - len(fields)), None


def _csv_chunks(url: str, text_column: str, keep: list[str] | None, chunk_size: int) -> Iterator[Chunk]:
    with fsspec.open(url, "rb", compression=compression_of(url)) as file:
        records = _csv_records(url, file)
        header = _csv_header(url, records)
        kept = _check_columns(url, header, text_column, keep)
        text_index, first_row = header.index(text_column), 1
        while batch := list(itertools.islice(records, chunk_size)):
            rows, values = [], []
            for line, fields in batch:
                row, rejection = _csv_row(fields, header, line)
                rows.append(row)
                values.append(rejection or row[text_index])
            frame = pd.DataFrame(rows, columns=header, dtype=object)
            yield Chunk(first_row, frame[kept], values)
            first_row += len(rows)


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
        first = _first_line(url, file)
        for line in itertools.chain([first] if first else [], file):
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
        if not _is_text(text_type):
            raise InputError(f"{url}: column {text_column!r} holds {text_type}, not text")
        columns = [name for name in schema.names if name in kept or name == text_column]
        first_row = 1
        for batch in parquet_file.iter_batches(batch_size=chunk_size, columns=columns):
            frame = batch.select(kept).to_pandas(types_mapper=pd.ArrowDtype)
            yield Chunk(first_row, frame, batch.column(text_column).to_pylist())
            first_row += batch.num_rows


def _is_text(arrow_type) -> bool:
    """Any of Arrow's string types, or a dictionary of them (a pandas Categorical: apache/arrow#1688)."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        return _is_text(arrow_type.value_type)
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type)


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


class _Spool:
    """Chunks pickled to a local temporary file and read back in order: a shard's columns and their
    types are known only once its last chunk is scored, and memory stays bounded by one chunk."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 (open until close(), as the shard's writer)
        self.count = 0

    def add(self, item: object) -> None:
        pickle.dump(item, self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += 1

    def __iter__(self) -> Iterator:
        self.file.seek(0)
        for _ in range(self.count):
            yield pickle.load(self.file)  # this process's own file

    def close(self) -> None:
        self.file.close()


def _all_columns(chunks: Iterable[Iterable]) -> list:
    """Every column name of the chunks, each chunk's order kept: one first seen late goes after its predecessor.

    (`[text, pred_id]` then `[text, lang, pred_id]` give `[text, lang, pred_id]`:
    a late input column stays before the prediction columns.)
    """
    merged: list = []
    for names in chunks:
        previous = -1
        for name in names:
            if name not in merged:
                merged.insert(previous + 1, name)
            previous = merged.index(name)
    return merged


class CsvWriter:
    """CSV with a header row naming every column of any chunk (a JSON key first seen late included)."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.spool = _Spool()
        self.names: list[list] = []  # each chunk's columns

    def write(self, frame: pd.DataFrame) -> None:
        self.spool.add(frame)
        self.names.append(list(frame.columns))

    def close(self) -> None:
        text = _text(self.file)
        columns = _all_columns(self.names)
        pd.DataFrame(columns=columns).to_csv(text, index=False)
        for frame in self.spool:
            frame.reindex(columns=columns).to_csv(text, index=False, header=False)
        text.flush()
        text.detach()
        self.spool.close()


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
    """One row group per chunk, all under one schema: the chunks' own types, unified.

    A column that is all null in the first chunk takes its type from a later one,
    and a column first seen late is null before it (huggingface/datasets#2831);
    types that do not unify (text in one chunk, numbers in another) are an
    `InputError` before anything is written.
    """

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.spool = _Spool()
        self.schemas: list = []  # each chunk's pyarrow schema

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa

        try:
            table = pa.Table.from_pandas(frame, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError) as error:
            raise InputError(f"cannot write these rows as Parquet ({error}); write CSV or JSON lines instead") from None
        self.spool.add(table)
        self.schemas.append(table.schema)

    def close(self) -> None:
        parquet = _pyarrow_parquet()
        import pyarrow as pa

        try:
            schema = pa.unify_schemas(self.schemas, promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise InputError(
                f"a column holds values of two types in different rows ({error}); "
                "write CSV or JSON lines instead, or leave it out with --keep"
            ) from None
        schema = pa.schema([schema.field(name) for name in _all_columns(s.names for s in self.schemas)])
        with parquet.ParquetWriter(self.file, schema) as writer:
            for table in self.spool:
                columns = [
                    table[field.name].cast(field.type)
                    if field.name in table.column_names
                    else pa.nulls(len(table), field.type)
                    for field in schema
                ]
                writer.write_table(pa.Table.from_arrays(columns, schema=schema))
        self.spool.close()


def first_value(url: str, column: str) -> object:
    """The first row's `column` in a shard (None if it has no rows): a cheap look at a finished output."""
    for chunk in read_chunks(url, column, [], 1):
        return chunk.values[0] if chunk.values else None
    return None
