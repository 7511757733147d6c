"""Rows of a table file (CSV, JSON lines, Parquet) in chunks, every record either read or rejected with a reason.

What a file is comes from its bytes (`containers`, `charsets`): Parquet by its
magic number, whatever its name; text (possibly compressed) is JSON lines when
its name says `.jsonl`/`.ndjson`/`.json`, CSV when it says `.csv`/`.tsv`, and
otherwise JSON lines if its first character is `{`. Row numbers count from 1:
for CSV the first record after the header, for JSON lines the line number.

- CSV: the separator is given or sniffed (`delimiters`); every cell is a string
  (empty cells `""`, missing trailing ones empty); a record wider than the header,
  or with broken quoting on its line, is a `bad_record`; a quote left open across
  lines is an `InputError` naming the line it opened on (it would merge the rows after it).
- JSON lines: one object per line (`jsonlines.parse_record`); a key a record
  lacks is `MISSING` in its row, so output can leave it out again.
- Parquet: column types are kept (pandas' `ArrowDtype`).
- Every reader refuses a column name used twice, naming it.
"""

import csv
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import fsspec
import pandas as pd

from tweet_sentiment.inputs import delimiters
from tweet_sentiment.inputs.accounting import Rejection
from tweet_sentiment.inputs.charsets import UNDECODABLE
from tweet_sentiment.inputs.containers import PARQUET_MAGIC
from tweet_sentiment.inputs.errors import InputError
from tweet_sentiment.inputs.jsonlines import parse_record
from tweet_sentiment.inputs.text import MAX_LINE_CHARS, TextInput, open_text, oversized_rejection

csv.field_size_limit(MAX_LINE_CHARS)  # a field may be as long as a line may; longer lines are lost before csv sees them

# What a table file's name says it is (`.json`: JSON lines, not one document); the bytes still decide Parquet.
NAMED_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zip")
SAMPLE_CHARS = 64 * 1024  # the sniffing sample's cap, beside its line count
KEY_CHECK_RECORDS = 1000  # readable JSON records without the text key before a file is refused as the wrong one


class _Missing:
    """A key a JSON record did not have (not a null): output leaves it out again."""

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:
        return "MISSING"  # unpickled (Beam, a spool) as the one instance, so `is MISSING` holds


MISSING = _Missing()


@dataclass
class Chunk:
    """Consecutive rows of one file: the columns to carry through and the text cell of each row.

    `frame` has one row per input record (its kept columns, in input order),
    `values` the text column's cells (any type, as read; a `Rejection` for a
    record that could not be read), and `first_row` the 1-based row number of the first.
    """

    first_row: int
    frame: pd.DataFrame
    values: list[object]


def compression_suffix(name: str) -> str:
    """The compression suffix a file name ends with (`.gz`, `.bz2`, `.xz`, `.zip`, any case), or ""."""
    return next((name[-len(s) :] for s in COMPRESSED_SUFFIXES if name.lower().endswith(s)), "")


def named_format(url: str) -> str | None:
    """`csv`, `jsonl` or `parquet` from a file's name, a compression suffix ignored; None if the name does not say."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    name = name[: len(name) - len(compression_suffix(name))].lower()
    return NAMED_FORMATS.get(name[name.rfind(".") :] if "." in name else "")


def refuse_repeated(where: str, names: list[str]) -> None:
    """`InputError` naming any column name used more than once (a reader would keep only one of them)."""
    repeated = sorted({str(name) for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(
            f"{where}: the column name(s) {', '.join(map(repr, repeated))} appear more than once; "
            "rename them so each is unique, then read the file again"
        )


@dataclass
class CsvTable:
    """A CSV file's header and its records, each with the line it starts on: fields, or why it cannot be read."""

    header: list[str]
    records: Iterator[tuple[int, list[str] | Rejection]]
    separator: str


def _records(source: TextInput, lines: Iterator[str], separator: str) -> Iterator[tuple[int, list[str] | Rejection]]:
    """Each record with its first line; the header first. A quote open across lines is an `InputError`."""
    reader = csv.reader(lines, delimiter=separator, strict=True)
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            if "field larger than field limit" in str(error):  # a quoted field over the line cap
                yield start, oversized_rejection()
            elif source.tail_loss() is not None:
                break  # the input ended inside a quoted field, cut by the damage: the tail loss below covers it
            elif reader.line_num > start:
                raise InputError(
                    f"{source.url}:{start}: a quote opened on this line is not closed where a field ends ({error}), "
                    f"so lines {start}-{reader.line_num} would be read as one row; close it, or double the quotes "
                    'inside a quoted field ("say ""hi"""), and read the file again'
                ) from None
            else:
                yield start, Rejection("bad_record", f"line {start}: not valid CSV ({error})")
        else:
            if any(start <= number <= reader.line_num for number in source.oversized):  # any line of the record
                yield start, oversized_rejection()
            elif fields:  # a blank line is no record
                yield start, fields
        start = reader.line_num + 1
    if (loss := source.tail_loss()) is not None:
        yield start, loss


def _sample(lines: Iterator[str]) -> list[str]:
    """The first lines, for sniffing the separator: at most `SAMPLE_LINES` lines or `SAMPLE_CHARS` characters."""
    sample, size = [], 0
    for line in itertools.islice(lines, delimiters.SAMPLE_LINES):
        sample.append(line)
        size += len(line)
        if size >= SAMPLE_CHARS:
            break
    return sample


def read_csv_table(source: TextInput, separator: str | None) -> CsvTable:
    """The header and records of the CSV text `source`; `separator` None: sniffed.

    A record wider than the header is a `bad_record`, one holding bytes the
    encoding cannot decode `undecodable`; a shorter one is padded with empty
    cells; an empty column name is named `Unnamed: N` (N from 0), as pandas does.
    Raises `InputError` for no header, a repeated column name, or a given
    separator the header does not use.
    """
    lines = source.lines()
    sample = _sample(lines)
    separator = delimiters.choose("".join(sample), separator, source.url)
    records = _records(source, itertools.chain(sample, lines), separator)
    first = next(records, None)
    if first is None or not isinstance(first[1], list):
        why = "it is empty" if first is None else first[1].detail
        raise InputError(f"{source.url}: no header row naming the columns ({why}); add one, e.g. id,text")
    # An empty name (Excel's trailing empty columns) is named as pandas names it, so none is lost or repeated.
    header = [name or f"Unnamed: {index}" for index, name in enumerate(first[1])]
    if any(UNDECODABLE.search(name) for name in header):
        raise InputError(
            f"{source.url}: the header line holds bytes its encoding ({source.encoding}) cannot decode, so the "
            "columns cannot be named; re-save the file as CSV UTF-8"
        )
    refuse_repeated(source.url, header)

    def sized() -> Iterator[tuple[int, list[str] | Rejection]]:
        for line, fields in records:
            if isinstance(fields, list) and len(fields) > len(header):
                yield (
                    line,
                    Rejection(
                        "bad_record",
                        f"line {line}: {len(fields)} fields where the header has {len(header)}; "
                        f"quote a field that holds {delimiters.NAMES[separator]!r}",
                    ),
                )
            elif isinstance(fields, list) and any(UNDECODABLE.search(field) for field in fields):
                detail = f"line {line}: bytes its encoding ({source.encoding}) cannot decode"
                yield line, Rejection("undecodable", detail)
            elif isinstance(fields, list):
                yield line, fields + [""] * (len(header) - len(fields))
            else:
                yield line, fields

    return CsvTable(header, sized(), separator)


def _check_columns(url: str, columns: list[str], text_column: str, keep: list[str] | None) -> list[str]:
    """The kept columns: all in input order, or `keep`'s in its order; `InputError` naming what is missing."""
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


def _csv_chunks(
    source: TextInput, text_column: str, keep: list[str] | None, chunk_size: int, separator: str | None
) -> Iterator[Chunk]:
    table = read_csv_table(source, separator)
    kept = _check_columns(source.url, table.header, text_column, keep)
    text_index, first_row = table.header.index(text_column), 1
    if (batch := list(itertools.islice(table.records, chunk_size))) == []:
        yield Chunk(1, pd.DataFrame(columns=kept, dtype=object), [])  # no rows: the columns still make a shard
    while batch:
        rows, values = [], []
        for _, fields in batch:
            if isinstance(fields, Rejection):
                rows.append([""] * len(table.header))
                values.append(fields)
            else:
                rows.append(fields)
                values.append(fields[text_index])
        frame = pd.DataFrame(rows, columns=table.header, dtype=object)
        yield Chunk(first_row, frame[kept], values)
        first_row += len(rows)
        batch = list(itertools.islice(table.records, chunk_size))


def json_records(source: TextInput) -> Iterator[tuple[int, dict | Rejection]]:
    """Each line of a JSON lines file with its number: a record, or why it is not one (a blank line is not)."""
    number = 0
    for number, line in enumerate(source.lines(), start=1):
        if number in source.oversized:
            yield number, oversized_rejection()
        elif not line.strip():
            yield number, Rejection("bad_record", "an empty line, not a JSON object")
        else:
            yield number, parse_record(line)
    if (loss := source.tail_loss()) is not None:
        yield number + 1, loss


def _frame(records: list[dict], keep: list[str] | None) -> pd.DataFrame:
    """Records as rows (object columns), every key any of them has, in first-seen order; a lacking key is MISSING."""
    columns = keep if keep is not None else list(dict.fromkeys(key for record in records for key in record))
    data = {name: [record.get(name, MISSING) for record in records] for name in columns}
    return pd.DataFrame(data, index=range(len(records)), columns=columns, dtype=object)


def _no_text_key(url: str, text_column: str, where: str) -> InputError:
    return InputError(f"{url}: no record{where} has the key {text_column!r}; pass --text-column")


def _jsonl_chunks(source: TextInput, text_column: str, keep: list[str] | None, chunk_size: int) -> Iterator[Chunk]:
    """Chunks of records; refused when none of the first `KEY_CHECK_RECORDS` readable records has the text key.

    The window counts readable records, not lines or chunks, so neither a bad first
    line nor `--chunk-size` decides it; a shard refused late leaves nothing (writes are atomic).
    """
    first_row, records, values, readable, has_text = 1, [], [], 0, False
    for _, record in json_records(source):
        row = {} if isinstance(record, Rejection) else record
        readable += not isinstance(record, Rejection)
        has_text = has_text or text_column in row
        if not has_text and readable >= KEY_CHECK_RECORDS:
            raise _no_text_key(source.url, text_column, f" among the first {KEY_CHECK_RECORDS:,}")
        records.append(row)
        values.append(record if isinstance(record, Rejection) else row.get(text_column))
        if len(records) == chunk_size:
            yield Chunk(first_row, _frame(records, keep), values)
            first_row, records, values = first_row + chunk_size, [], []
    if readable and not has_text:
        raise _no_text_key(source.url, text_column, "")
    if records:
        yield Chunk(first_row, _frame(records, keep), values)


def _is_text(arrow_type) -> bool:
    """Any of Arrow's string types, or a dictionary of them (a pandas Categorical: apache/arrow#1688)."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        return _is_text(arrow_type.value_type)
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type)


def pyarrow_parquet():
    """`pyarrow.parquet`, or an `InputError` saying how to install it."""
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise InputError(
            "reading or writing Parquet needs pyarrow: pip install -r requirements.txt (pyarrow==25.0.1)"
        ) from None
    return parquet


def _parquet_chunks(url: str, text_column: str, keep: list[str] | None, chunk_size: int) -> Iterator[Chunk]:
    parquet = pyarrow_parquet()
    import pyarrow as pa

    with fsspec.open(url, "rb") as file:
        try:
            parquet_file = parquet.ParquetFile(file)
            schema = parquet_file.schema_arrow
        except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as error:  # its footer: schema, names, row groups
            raise InputError(f"{url}: a damaged Parquet file ({error})") from None
        refuse_repeated(url, schema.names)
        kept = _check_columns(url, schema.names, text_column, keep)
        text_type = schema.field(text_column).type
        if not _is_text(text_type):
            raise InputError(f"{url}: column {text_column!r} holds {text_type}, not text")
        columns = [name for name in schema.names if name in kept or name == text_column]
        first_row = 1
        batches = parquet_file.iter_batches(batch_size=chunk_size, columns=columns)
        while True:
            try:
                batch = next(batches, None)
                if batch is None:
                    break
                chunk = Chunk(
                    first_row,
                    batch.select(kept).to_pandas(types_mapper=pd.ArrowDtype),
                    batch.column(text_column).to_pylist(),
                )
            except (pa.ArrowException, OSError, UnicodeDecodeError, ValueError) as error:
                raise InputError(
                    f"{url}: a damaged Parquet file from row {first_row} on ({error}); write it again from its source"
                ) from None
            yield chunk
            first_row += batch.num_rows
        if first_row == 1:  # no rows: the columns still make a shard
            yield Chunk(1, schema.empty_table().select(kept).to_pandas(types_mapper=pd.ArrowDtype), [])


def _text_chunks(
    url: str, text_column: str, keep: list[str] | None, chunk_size: int, separator: str | None
) -> Iterator[Chunk]:
    with open_text(url) as source:
        fmt = named_format(url)
        if fmt not in ("csv", "jsonl"):  # unnamed, or named Parquet but text: JSON lines open an object
            fmt = "jsonl" if source.start == "{" else "csv"
        if fmt == "jsonl":
            yield from _jsonl_chunks(source, text_column, keep, chunk_size)
        else:
            yield from _csv_chunks(source, text_column, keep, chunk_size, separator)


def read_chunks(
    url: str, text_column: str, keep: list[str] | None, chunk_size: int, separator: str | None = None
) -> Iterator[Chunk]:
    """The table at `url` as chunks of at most `chunk_size` rows; at least one chunk, maybe empty.

    `keep` names the columns carried through (None: all of them); `separator`
    is CSV's (None: sniffed). Raises `InputError` when the text column or a kept
    column is missing, a column name repeats, or the file is not a table it can read.
    """
    with fsspec.open(url, "rb") as raw:  # the first bytes say Parquet; containers are the text path's to open
        parquet = raw.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC
    if parquet:
        chunks = _parquet_chunks(url, text_column, keep, chunk_size)
    else:
        chunks = _text_chunks(url, text_column, keep, chunk_size, separator)
    yielded = False
    for chunk in chunks:
        yielded = True
        yield chunk
    if not yielded:  # a file with no rows still makes a (header-only) shard
        yield Chunk(1, pd.DataFrame(columns=keep or []), [])


def first_value(url: str, column: str) -> object:
    """The first row's `column` in a table (None if it has no rows): a cheap look at a finished output."""
    for chunk in read_chunks(url, column, [], 1):
        return chunk.values[0] if chunk.values else None
    return None
