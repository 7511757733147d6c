"""Writing a scored shard in CSV, JSON lines or Parquet, local or remote (fsspec); output names by format.

Reading is the input layer's (`tweet_sentiment/inputs/tables.py`); this module
writes what scoring made of it, chunk after chunk, memory bounded by one chunk.

- No key or column is dropped: a key a JSON record lacked (`MISSING`) is left out
  of that JSON line again and empty in CSV and null in Parquet; every other value is written.
- JSON output is RFC 8259: `NaN` and `±Infinity` (JavaScript's numbers, which
  JSON forbids) are written as `null` and counted (`JsonlWriter.non_finite`);
  CSV keeps them as `nan`/`inf`/`-inf` (numbers to pandas) and Parquet as doubles.
- CSV output round-trips through pandas and the `csv` module; undecodable input
  bytes (lone surrogates) go back out as those bytes; lines end in CRLF (RFC 4180), so a value
  holding a line break of any kind is quoted. `.gz` names are written compressed.
"""

import io
import json
import math
import pickle
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from typing import IO, Any, Protocol

import numpy as np
import pandas as pd

from tweet_sentiment.inputs.charsets import ERRORS
from tweet_sentiment.inputs.errors import InputError
from tweet_sentiment.inputs.jsonlines import NonFinite
from tweet_sentiment.inputs.tables import MISSING, NAMED_FORMATS, compression_suffix, named_format, pyarrow_parquet

FORMATS = ("csv", "jsonl", "parquet")
EXTENSIONS = {"csv": ".csv", "jsonl": ".jsonl", "parquet": ".parquet"}


def format_of(url: str) -> str:
    """`csv`, `jsonl` or `parquet` from a file name (a compression suffix ignored); `InputError` otherwise.

    Names only choose the output's format and which files of a folder or glob are
    read; what an input is comes from its bytes (`inputs.tables.named_format`).
    """
    fmt = named_format(url)
    if fmt is None:
        known = ", ".join(sorted(NAMED_FORMATS))
        raise InputError(f"{url}: cannot tell the output format from the name ({known}); pass --format")
    return fmt


def compression_of(url: str) -> str | None:
    return "gzip" if url.lower().endswith(".gz") else None


class Writer(Protocol):
    """Writes the scored rows of one shard to an open binary file, chunk after chunk."""

    def write(self, frame: pd.DataFrame) -> None: ...

    def close(self) -> None: ...


def open_writer(file: IO[bytes], url: str) -> Writer:
    """A writer of `url`'s format (`format_of`) on `file`, which the caller closes after `close()`.

    A `.tsv` name gets tab-separated CSV.
    """
    fmt = format_of(url)
    if fmt == "csv":
        name = url.lower()
        return CsvWriter(file, "\t" if name[: len(name) - len(compression_suffix(name))].endswith(".tsv") else ",")
    return {"jsonl": JsonlWriter, "parquet": ParquetWriter}[fmt](file)


def _text(file: IO[bytes]) -> io.TextIOWrapper:
    """UTF-8 text on `file`; lone surrogates (undecodable input bytes) go back out as those bytes."""
    return io.TextIOWrapper(file, encoding="utf-8", errors=ERRORS, newline="", write_through=True)


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

    def __init__(self, file: IO[bytes], separator: str = ",") -> None:
        self.file, self.separator = file, separator
        self.spool = _Spool()
        self.names: list[list] = []  # each chunk's columns

    def write(self, frame: pd.DataFrame) -> None:
        self.spool.add(_non_finite_as_text(_missing_as_null(frame)))
        self.names.append(list(frame.columns))

    def close(self) -> None:
        text = _text(self.file)
        columns = _all_columns(self.names)
        # RFC 4180's CRLF: the csv module quotes a field holding its line terminator's characters, so a lone
        # `\r` in a value is quoted too (with `\n` alone it was not, and readers split the row there).
        options = {"index": False, "sep": self.separator, "lineterminator": "\r\n"}
        pd.DataFrame(columns=columns).to_csv(text, **options)
        for frame in self.spool:
            frame.reindex(columns=columns).to_csv(text, header=False, **options)
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


def _missing_as_null(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with a JSON record's missing keys as null cells (CSV and Parquet have no "absent")."""
    missing = frame.apply(lambda column: column.map(lambda value: value is MISSING)) if len(frame) else None
    return frame if missing is None or not missing.to_numpy().any() else frame.mask(missing, None)


_OBJECT = np.dtype(object)  # compared by identity: an Arrow dtype (string_view) cannot say its NumPy type


def _holds_non_finite(value: Any) -> bool:
    """Whether a JSON value read from input is, or holds, a `NaN` or `±Infinity`."""
    if isinstance(value, NonFinite):
        return True
    if isinstance(value, list):
        return any(map(_holds_non_finite, value))
    return isinstance(value, dict) and any(map(_holds_non_finite, value.values()))


def _non_finite_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """JSON's `NaN`/`±Infinity` cells as `nan`/`inf`/`-inf`, which pandas reads back as those numbers
    (left as floats, `to_csv` would write a NaN as an empty cell: a missing value)."""
    changed = {}
    for name, values in frame.items():
        if values.dtype is _OBJECT and any(isinstance(value, NonFinite) for value in values):
            # A plain list keeps the other cells as they are (a Series.map would infer float for [None, 1]).
            cells = [repr(float(value)) if isinstance(value, NonFinite) else value for value in values]
            changed[name] = pd.Series(cells, index=frame.index, dtype=object)
    if not changed:
        return frame
    frame = frame.copy()
    for name, values in changed.items():
        frame[name] = values
    return frame


class JsonlWriter:
    """One JSON object per row (RFC 8259); keys a record lacked stay absent, floats written exactly.

    Null-like values (None, pandas' NA, NaT) are `null`; a `NaN` or `±Infinity`
    is `null` too, counted in `non_finite`.
    """

    def __init__(self, file: IO[bytes]) -> None:
        self.text = _text(file)
        self.non_finite = 0

    def _value(self, value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            self.non_finite += 1
            return None
        if isinstance(value, dict):
            return {key: self._value(v) for key, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._value(v) for v in value]
        return None if value is pd.NA or value is pd.NaT else value

    def write(self, frame: pd.DataFrame) -> None:
        lines = (
            json.dumps(
                {k: self._value(v) for k, v in record.items() if v is not MISSING},
                ensure_ascii=False,
                allow_nan=False,
                default=_json_value,
            )
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

        frame = _missing_as_null(frame)
        try:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            for index, name in enumerate(frame.columns):  # Arrow reads a NaN from pandas as null: keep JSON's NaN
                values = frame[name].tolist() if frame[name].dtype is _OBJECT else []
                if any(map(_holds_non_finite, values)):
                    table = table.set_column(index, table.field(index), pa.array(values, from_pandas=False))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError) as error:
            raise InputError(f"cannot write these rows as Parquet ({error}); write CSV or JSON lines instead") from None
        self.spool.add(table)
        self.schemas.append(table.schema)

    def close(self) -> None:
        parquet = pyarrow_parquet()
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
