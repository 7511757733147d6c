"""Property-based tests of the input layer (`tweet_sentiment/inputs/`) over generated files, and of the scoring CLI.

Hypothesis writes tables the ways users' tools do: the `csv` module and pandas
(`,` `;` tab `|`, minimal or full quoting, `\\n` `\\r\\n` `\\r` or mixed line ends,
header-only files), `json.dumps` lines (bad lines among good ones: not JSON,
nested 5,000 deep, repeated keys, bytes the encoding cannot decode; `NaN`/`Infinity`;
keys first seen late; files where no record has the text key), pyarrow Parquet;
in UTF-8 with or without BOM, UTF-16/32 with BOM, cp1252; plain, gzip, bz2, xz
or a one-file zip; under names holding `[ ] * ?` (`**` too) and spaces beside
files those names match as globs. The properties:

- every good record is read, in order, with its exact values (as strings for
  CSV, as parsed for JSON lines: `NaN`/`Infinity` as `NonFinite` floats, a key
  a record lacks as `MISSING`), in chunks of the size asked, numbered from 1;
- every bad record yields a `Rejection` whose reason is in `accounting.LOSS_REASONS`;
- no record silently disappears (rows + rejections == records written);
- nothing raises but `InputError`, however the bytes are damaged (any format,
  encoding or container, headers and footers too);
- JSON lines none of whose records has the text key are refused (`InputError`);
- a truncated compressed file yields the records whose lines arrived whole
  exactly, then one `truncated` rejection for the cut record and the rest; it is
  refused only when its start was cut (the CSV header, an unnamed JSON lines
  file's first `{`, a UTF-32-BE BOM) or none of the records read has the text key;
- the scoring command puts every good row in its output with its exact values,
  lists every bad row in `_errors` with its reason, exits 1 iff a row failed
  (else 0), and writes output that parses back strictly.

Budget: profile `inputs` (25 examples a property, no deadline) unless
`HYPOTHESIS_PROFILE=thorough` (500); the `slow`-marked variant runs the main
property with 500 examples whatever the profile. Bugs Hypothesis found are the
regular tests at the end (`# found by Hypothesis`), each failing before its fix.
"""

import bz2
import codecs
import csv
import gzip
import io
import json
import lzma
import math
import os
import re
import string
import tempfile
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.inputs import locate
from tweet_sentiment.inputs.accounting import LOSS_REASONS, ReadCount, Rejection
from tweet_sentiment.inputs.charsets import ERRORS, UNDECODABLE
from tweet_sentiment.inputs.errors import InputError
from tweet_sentiment.inputs.jsonlines import MAX_DEPTH, NonFinite
from tweet_sentiment.inputs.query_log import NOT_A_RECORD, read_log
from tweet_sentiment.inputs.tables import KEY_CHECK_RECORDS, MISSING, read_chunks, read_csv_table
from tweet_sentiment.inputs.text import open_text
from tweet_sentiment.score import command
from tweet_sentiment.score.scoring import OUTPUT_COLUMNS, SCORE_COLUMNS

_COMMON = {
    "deadline": None,
    "database": None,  # no .hypothesis/ folder in the repository; a failure prints its reproduction blob
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
}
settings.register_profile("inputs", max_examples=25, **_COMMON)
settings.register_profile("thorough", max_examples=500, **_COMMON)
_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "inputs")
BUDGET = settings.get_profile(_PROFILE if _PROFILE in ("inputs", "thorough") else "inputs")
THOROUGH = settings.get_profile("thorough")
# The scoring command loads the model on each run (about 0.4 s): a few examples by default.
# Shrinking a failure would rerun it hundreds of times (minutes): it reports the example as found.
E2E = settings(BUDGET, max_examples=max(6, BUDGET.max_examples // 10), phases=[Phase.explicit, Phase.generate])

# ---------------------------------------------------------------------------------------------------------------
# What files are made of

SAFE = string.ascii_letters + string.digits + " .,;:!?'\"-_()#@/&|*[]{}\t"
NON_ASCII = "éüß€中😀"  # two-, three- and four-byte UTF-8
# cp1252 letters whose bytes (0xE0-0xFF) never form a UTF-8 sequence with each other or ASCII, so cp1252 text is
# never mistaken for UTF-8 (`encodings.detect` takes any well-formed multi-byte UTF-8 as a sign of UTF-8).
CP1252_LETTERS = "éüñöà"
LINE_BREAKS = ("\n", "\r\n", "\r")
SEPARATORS = (",", ";", "\t", "|")
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "cp1252")
BOMS = {
    "utf-8-sig": codecs.BOM_UTF8,
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
    "utf-32-le": codecs.BOM_UTF32_LE,
    "utf-32-be": codecs.BOM_UTF32_BE,
}
# Bytes an encoding cannot decode, each read as the lone surrogate U+DC00 + byte (`encodings.ERRORS`): a stray
# UTF-8 byte; a byte cp1252 leaves undefined (never a UTF-8 sequence with the letters around it); a UTF-16 code unit
# that is half a surrogate pair alone; a UTF-32 unit over U+10FFFF or a surrogate. Whole code units, so the rest of
# the line still decodes.
STRAYS = {
    "utf-8": (b"\xff", b"\xe9", b"\x80"),
    "cp1252": (b"\x81", b"\x8d", b"\x90"),
    "utf-16-le": (b"\x00\xdc", b"\x3d\xd8"),
    "utf-16-be": (b"\xdc\x00", b"\xd8\x3d"),
    "utf-32-le": (b"\x00\x00\x11\x00", b"\x00\xd8\x00\x00"),
    "utf-32-be": (b"\x00\x11\x00\x00", b"\x00\x00\xd8\x00"),
}
COMPRESSIONS = ("none", "gzip", "bz2", "xz", "zip")
COMPRESSED_SUFFIX = {"gzip": ".gz", "bz2": ".bz2", "xz": ".xz", "zip": ".zip"}
EXTRA_COLUMNS = ("lang", "user", "note", "col 5", "x-y")
JSON_EXTRA_KEYS = ("lang", "score", "tags", "meta")
LATE_KEY = "late"  # only records in the second half of a file have it
INVALID_JSON_LINES = (
    "{not json",
    '{"id": 1, "text": "cut',
    "[1, 2]",
    "42",
    '"a string"',
    "null",
    "{'single': 'quotes'}",
    '{"id": 1} trailing',
    "",
    "   ",
)


def codec(encoding: str) -> str:
    return "utf-8" if encoding == "utf-8-sig" else encoding


STRAY_MARK = "\x07"  # where a generated line's stray bytes go: a character no generated text holds
# Written after each stray: two well-formed multi-byte UTF-8 sequences outnumber its one invalid byte, so a UTF-8
# file with stray bytes is still taken for UTF-8, not cp1252 (`encodings.detect`).
TWO_MULTIBYTE = " éé"


def text_values(encoding: str, *, line_breaks: bool, scorable: bool = False) -> st.SearchStrategy[str]:
    """Cell text the encoding can hold; line breaks only where the writer quotes them; `scorable`: with a letter."""
    extra = CP1252_LETTERS if encoding == "cp1252" else NON_ASCII
    pieces = st.sampled_from(SAFE + extra)
    if line_breaks:
        pieces = pieces | st.sampled_from(LINE_BREAKS)
    text = st.lists(pieces, max_size=12).map("".join)
    if scorable:
        text = st.tuples(st.sampled_from(string.ascii_letters), text).map("".join)
    return text


def compress(data: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "bz2":
        return bz2.compress(data)
    if how == "xz":
        return lzma.compress(data)
    if how == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("member", data)
        return buffer.getvalue()
    return data


def readable_prefix(data: bytes, how: str) -> bytes:
    """What a decompressor gives of a truncated stream before it runs out: what the reader can see."""
    decompressor = {
        "gzip": lambda: zlib.decompressobj(wbits=31),
        "bz2": bz2.BZ2Decompressor,
        "xz": lzma.LZMADecompressor,
    }[how]()
    try:
        return decompressor.decompress(data)
    except (zlib.error, OSError, EOFError, lzma.LZMAError):
        return b""


@dataclass(frozen=True)
class Good:
    """A record written whole: its columns (CSV/Parquet: every header column, as strings; JSON: the object)."""

    row: dict


@dataclass(frozen=True)
class Bad:
    """A record written broken, and the reason the reader must give."""

    reason: str


@dataclass
class TableCase:
    """A generated table file: its lines (content and end, encoded), what each record is, and how to read it."""

    fmt: str  # csv, jsonl, parquet
    stem: str
    format_suffix: str
    compression: str
    compression_named: bool
    encoding: str
    bom: bytes
    pieces: list[tuple[bytes, bytes]]  # (content, line end) of each line (CSV: the header first)
    records: list[Good | Bad]
    first_piece: list[int]  # the piece each record starts at
    last_piece: list[int]  # the piece each record ends at
    header: list[str] | None
    separator: str | None  # what the reader is told (None: sniff it)
    chunk_size: int
    keep: list[str] | None
    parquet: bytes = b""
    notes: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        suffix = COMPRESSED_SUFFIX[self.compression] if self.compression_named and self.compression != "none" else ""
        return self.stem + self.format_suffix + suffix

    def plain(self) -> bytes:
        if self.fmt == "parquet":
            return self.parquet
        return self.bom + b"".join(content + end for content, end in self.pieces)

    def data(self) -> bytes:
        return compress(self.plain(), self.compression)

    def text_of(self, record: Good) -> object:
        return record.row.get("text") if self.fmt == "jsonl" else record.row["text"]

    def columns_of(self, records: list[Good | Bad]) -> list[str]:
        """The columns a chunk of these records has."""
        if self.keep is not None:
            return list(self.keep)
        if self.fmt != "jsonl":
            return list(self.header)
        return list(dict.fromkeys(key for record in records if isinstance(record, Good) for key in record.row))

    def __repr__(self) -> str:  # the whole file decoded (long lines cut), not its bytes; print_blob reproduces it
        if self.fmt == "parquet":
            text = repr(self.records)
        else:
            lines = [(c + e).decode(codec(self.encoding), "backslashreplace") for c, e in self.pieces]
            text = "".join(line if len(line) < 300 else f"{line[:120]}...{line[-40:]}" for line in lines)
        return f"TableCase<{self.describe()}>({text!r}, records={len(self.records)})"

    def describe(self) -> str:
        return (
            f"{self.fmt} {self.name!r} {self.encoding} {self.compression} sep={self.separator!r} "
            f"chunk={self.chunk_size} keep={self.keep} {self.notes}"
        )


def _line_ends(draw, style: str, count: int) -> list[str]:
    return [draw(st.sampled_from(LINE_BREAKS)) if style == "mixed" else style for _ in range(count)]


def _render_row(fields: list[str], writer: str, separator: str, quoting: int, end: str) -> str:
    buffer = io.StringIO()
    if writer == "csv":
        csv.writer(buffer, delimiter=separator, quoting=quoting, lineterminator=end).writerow(fields)
    else:
        frame = pd.DataFrame([fields], dtype=object)
        frame.to_csv(buffer, sep=separator, quoting=quoting, lineterminator=end, header=False, index=False)
    return buffer.getvalue()


@st.composite
def csv_tables(draw, *, bad: bool = True, scorable: bool = False) -> TableCase:
    """A CSV file by the csv module or pandas; bad rows (too wide, broken quoting, text holding bytes the encoding
    cannot decode) and short ones among good ones."""
    encoding = draw(st.sampled_from(ENCODINGS))
    separator = draw(st.sampled_from(SEPARATORS))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    writer = draw(st.sampled_from(["csv", "pandas"]))
    style = draw(st.sampled_from([*LINE_BREAKS, "mixed"]))
    # Python 3.11's csv writer quotes a field for a line break only if the break is in its own line terminator:
    # a field may hold line breaks only when every field is quoted.
    quoted_breaks = quoting == csv.QUOTE_ALL
    extras = draw(st.lists(st.sampled_from(EXTRA_COLUMNS), unique=True, max_size=3))
    header = draw(st.permutations(["id", "text", *extras]))
    count = draw(st.integers(0, 12))
    kinds = ["good"] * 6 + ["short"] + (["wide", "quote"] if bad else [])
    if bad and codec(encoding) in STRAYS:
        kinds.append("undecodable")
    ends = _line_ends(draw, style, count + 1)
    lines = [_render_row(header, writer, separator, quoting, ends[0])]
    strays: list[bytes] = [b""]  # each line's undecodable bytes, written where it holds STRAY_MARK
    records: list[Good | Bad] = []
    for number in range(1, count + 1):
        values = {}
        for name in header:
            if name == "id":
                values[name] = str(number)
            elif name == "text" and scorable:
                scorable_text = text_values(encoding, line_breaks=quoted_breaks, scorable=True)
                values[name] = draw(scorable_text | st.sampled_from(["", " "]))
            else:
                values[name] = draw(text_values(encoding, line_breaks=quoted_breaks))
        kind = draw(st.sampled_from(kinds))
        stray = draw(st.sampled_from(STRAYS[codec(encoding)])) if kind == "undecodable" else b""
        strays.append(stray)
        if stray:
            values["text"] += STRAY_MARK + TWO_MULTIBYTE
        fields = [values[name] for name in header]
        end = ends[number]
        if kind == "short":
            kept = draw(st.integers(1, len(header) - 1))
            if any(fields[:kept]):  # a row of one empty field would be a blank line, which is no record
                fields = fields[:kept]
                values = dict(zip(header, fields + [""] * (len(header) - kept), strict=True))
        if kind == "wide":
            lines.append(_render_row([*fields, "one too many"], writer, separator, quoting, end))
            records.append(Bad("bad_record"))
        elif kind == "quote":
            lines.append(f'{number}{separator}"broken"quote{end}')
            records.append(Bad("bad_record"))
        else:
            lines.append(_render_row(fields, writer, separator, quoting, end))
            records.append(Bad("undecodable") if stray else Good(values))
    if draw(st.booleans()):  # no line end after the last line
        last = lines[-1]
        lines[-1] = last.removesuffix(ends[-1])
    pieces = []
    for line, end, stray in zip(lines, ends, strays, strict=True):
        content = line.removesuffix(end)
        encoded = stray.join(part.encode(codec(encoding)) for part in content.split(STRAY_MARK))
        pieces.append((encoded, line[len(content) :].encode(codec(encoding))))
    keep = draw(st.none() | st.lists(st.sampled_from(header), unique=True, min_size=1))
    return TableCase(
        fmt="csv",
        stem="in",
        format_suffix=draw(st.sampled_from([".csv", ".tsv", ".CSV", ""])),
        compression="none",
        compression_named=True,
        encoding=encoding,
        bom=BOMS.get(encoding, b""),
        pieces=pieces,
        records=records,
        first_piece=list(range(1, count + 1)),
        last_piece=list(range(1, count + 1)),
        header=header,
        separator=draw(st.sampled_from([None, separator])),
        chunk_size=draw(st.integers(1, 6)),
        keep=keep,
        notes={"writer": writer, "quoting": quoting, "ends": style, "sep": separator},
    )


def _nested(kind: str, depth: int) -> tuple[str, object]:
    """A JSON value `depth` brackets deep, and what it parses to."""
    if kind == "list":
        value: object = []
        for _ in range(depth - 1):
            value = [value]
        return "[" * depth + "]" * depth, value
    value = 1
    for _ in range(depth):
        value = {"a": value}
    return '{"a": ' * depth + "1" + "}" * depth, value


@st.composite
def json_values(draw, key: str, encoding: str, non_finite: bool, plain: bool) -> object:
    """A value for an extra key: text, numbers (non-finite ones too), null, booleans, lists, objects."""
    text = text_values(encoding, line_breaks=True)
    numbers = st.integers(-(10**12), 10**12) | st.floats(allow_nan=False, allow_infinity=False)
    if non_finite:
        numbers = numbers | st.sampled_from([math.nan, math.inf, -math.inf])
    if plain:  # what a CSV cell can hold back exactly: text, integers (beside missing values too), null
        return draw(text | st.integers(-(10**12), 10**12) | st.none())
    if key == "score":
        return draw(numbers | st.none() | st.booleans())
    if key == "tags":
        return draw(st.lists(numbers | text, max_size=3))
    if key == "meta":
        return draw(st.fixed_dictionaries({"a": text}, optional={"b": st.lists(numbers, max_size=2)}))
    return draw(text)


@st.composite
def jsonl_tables(
    draw,
    *,
    bad: bool = True,
    scorable: bool = False,
    non_finite: bool = True,
    plain: bool = False,
    good_weight: int = 6,
) -> TableCase:
    """JSON lines by `json.dumps` (NaN/Infinity as JavaScript writes them), bad lines among good ones."""
    encoding = draw(st.sampled_from(ENCODINGS))
    style = draw(st.sampled_from([*LINE_BREAKS, "mixed"]))
    ensure_ascii = draw(st.booleans())
    count = draw(st.integers(0, 12))
    kinds = ["good"] * good_weight + (["invalid", "deep", "duplicate"] if bad else [])
    if bad and codec(encoding) in STRAYS:
        kinds.append("undecodable")
    contents: list[str | bytes] = []
    records: list[Good | Bad] = []
    for number in range(1, count + 1):
        kind = draw(st.sampled_from(kinds))
        if kind == "good":
            record: dict = {"id": number}
            if scorable:
                text = text_values(encoding, line_breaks=True, scorable=True)
                choice = draw(st.sampled_from(["text"] * 6 + ["blank", "absent", "null", "number"]))
            else:
                text = text_values(encoding, line_breaks=True)
                choice = draw(st.sampled_from(["text"] * 8 + ["absent", "null", "number"]))
            if choice != "absent":
                record["text"] = {"text": draw(text), "blank": " \t", "null": None, "number": 42}[choice]
            keys = draw(st.lists(st.sampled_from(JSON_EXTRA_KEYS), unique=True, max_size=3))
            if number > count // 2 and draw(st.booleans()):
                keys.append(LATE_KEY)
            for key in keys:
                record[key] = draw(json_values(key, encoding, non_finite, plain))
            order = draw(st.permutations(list(record)))
            record = {key: record[key] for key in order}
            contents.append(json.dumps(record, ensure_ascii=ensure_ascii, allow_nan=True))
            records.append(Good(record))
        elif kind == "invalid":
            contents.append(draw(st.sampled_from(INVALID_JSON_LINES)))
            records.append(Bad("bad_record"))
        elif kind == "deep":
            depth = draw(st.sampled_from([MAX_DEPTH - 1, MAX_DEPTH, 5000]) | st.integers(MAX_DEPTH - 3, MAX_DEPTH + 3))
            nested, value = _nested(draw(st.sampled_from(["list", "object"])), depth)
            contents.append(f'{{"id": {number}, "text": "deep", "v": {nested}}}')
            # The record's own braces are one level: a value `depth` deep nests the line depth + 1 deep.
            good = Good({"id": number, "text": "deep", "v": value})
            records.append(Bad("too_deep") if depth + 1 > MAX_DEPTH else good)
        elif kind == "duplicate":
            contents.append(
                draw(
                    st.sampled_from(
                        [
                            f'{{"id": {number}, "text": "a", "text": "b"}}',
                            f'{{"id": {number}, "text": "a", "m": {{"x": 1, "x": 2}}}}',
                            f'{{"id": {number}, "id": {number}, "text": "a"}}',
                        ]
                    )
                )
            )
            records.append(Bad("duplicate_key"))
        else:  # stray bytes (UTF-8: a sequence cut short too), on a line that also holds well-formed UTF-8
            utf8 = codec(encoding) == "utf-8"
            stray = draw(st.sampled_from(STRAYS[codec(encoding)] + ((b"\xc3(",) if utf8 else ())))
            line = f'{{"id": {number}, "text": "caf{STRAY_MARK}{TWO_MULTIBYTE}"}}'.encode(codec(encoding))
            contents.append(line.replace(STRAY_MARK.encode(codec(encoding)), stray))
            records.append(Bad("undecodable"))
    chunk_size = draw(st.integers(1, 6))
    ends = _line_ends(draw, style, count)
    for index in range(1, count):  # "\r" then an empty line's "\n" would be one "\r\n": keep the empty line
        if contents[index] == "" and ends[index - 1] == "\r":
            ends[index] = "\r"
    if count and contents[-1] != "" and draw(st.booleans()):  # no line end after the last line
        ends[-1] = ""
    pieces = [
        (content if isinstance(content, bytes) else content.encode(codec(encoding)), end.encode(codec(encoding)))
        for content, end in zip(contents, ends, strict=True)
    ]
    # An unnamed text file is JSON lines when its first character that is not whitespace is "{".
    text = "".join(c if isinstance(c, str) else c.decode(codec(encoding), "replace") for c in contents)
    suffixes = [".jsonl", ".ndjson", ".json", ".JSONL"] + ([""] if text.lstrip().startswith("{") else [])
    keys = [*JSON_EXTRA_KEYS, LATE_KEY, "text", "id"]
    return TableCase(
        fmt="jsonl",
        stem="in",
        format_suffix=draw(st.sampled_from(suffixes)),
        compression="none",
        compression_named=True,
        encoding=encoding,
        bom=BOMS.get(encoding, b""),
        pieces=pieces,
        records=records,
        first_piece=list(range(count)),
        last_piece=list(range(count)),
        header=None,
        separator=None,
        chunk_size=chunk_size,
        keep=draw(st.none() | st.lists(st.sampled_from(keys), unique=True, min_size=1)),
        notes={"ends": style, "ensure_ascii": ensure_ascii},
    )


@st.composite
def parquet_tables(draw) -> TableCase:
    """A Parquet file by pyarrow, in row groups smaller than the chunks or not, under a name that may lie."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    extras = draw(st.lists(st.sampled_from(EXTRA_COLUMNS), unique=True, max_size=3))
    header = draw(st.permutations(["id", "text", *extras]))
    count = draw(st.integers(0, 12))
    rows = [
        {name: str(number) if name == "id" else draw(text_values("utf-8", line_breaks=True)) for name in header}
        for number in range(1, count + 1)
    ]
    table = pa.table({name: pa.array([row[name] for row in rows], pa.string()) for name in header})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=draw(st.integers(1, 5)))
    return TableCase(
        fmt="parquet",
        stem="in",
        format_suffix=draw(st.sampled_from([".parquet", ".pq", ".csv", ""])),
        compression="none",
        compression_named=False,
        encoding="-",
        bom=b"",
        pieces=[],
        records=[Good(row) for row in rows],
        first_piece=[],
        last_piece=[],
        header=header,
        separator=None,
        chunk_size=draw(st.integers(1, 6)),
        keep=draw(st.none() | st.lists(st.sampled_from(header), unique=True, min_size=1)),
        parquet=buffer.getvalue(),
    )


@st.composite
def tables(draw, *, bad: bool = True) -> TableCase:
    """Any table file: a format, then a container (a compressed Parquet file is refused: it compresses itself)."""
    case = draw(st.one_of(csv_tables(bad=bad), jsonl_tables(bad=bad), parquet_tables()))
    if case.fmt != "parquet" or draw(st.integers(0, 9)) == 0:
        case.compression = draw(st.sampled_from(COMPRESSIONS))
        case.compression_named = draw(st.booleans())  # names lie: the bytes decide
    return case


# ---------------------------------------------------------------------------------------------------------------
# File names holding glob characters


@st.composite
def glob_names(draw) -> tuple[str, str | None]:
    """A name holding `[ ] * ?` and spaces, and a different name it matches as a glob (None if it matches none)."""
    literal = st.text(alphabet=string.ascii_letters + string.digits + " -", min_size=1, max_size=4)
    token = st.one_of(
        literal.map(lambda text: (text, text)),
        st.just(("*", None)),
        st.just(("?", None)),
        st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=3).map(
            lambda chars: (f"[{chars}]", chars)
        ),
    )
    tokens = draw(st.lists(token, min_size=1, max_size=5))  # `**` inside a name is no valid glob: an InputError
    name, sibling = "", ""
    for raw, meaning in tokens:
        name += raw
        if raw == "*":
            sibling += draw(st.sampled_from(["", "zz", "a b"]))
        elif raw == "?":
            sibling += draw(st.sampled_from(["q", "9", " "]))
        elif raw.startswith("["):
            sibling += draw(st.sampled_from(meaning))
        else:
            sibling += meaning
    name, sibling = "t" + name, "t" + sibling  # never hidden (`.x`, `_x`)
    return name, (sibling if sibling != name else None)


# ---------------------------------------------------------------------------------------------------------------
# Reading and comparing


def same(got: object, want: object) -> bool:
    """Equal in value and type: `NaN`/`Infinity` read as `NonFinite`, finite floats plain, MISSING as itself."""
    if want is MISSING:
        return got is MISSING
    if isinstance(want, float):
        if not isinstance(got, float):
            return False
        if math.isfinite(want):
            return type(got) is float and got == want and math.copysign(1, got) == math.copysign(1, want)
        return isinstance(got, NonFinite) and (math.isnan(got) if math.isnan(want) else got == want)
    if type(got) is not type(want):
        return False
    if isinstance(want, dict):
        return list(got) == list(want) and all(same(got[key], want[key]) for key in want)
    if isinstance(want, list):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want, strict=True))
    return got == want


@dataclass
class Read:
    """What a reader gave: each row's text value and its frame row (column -> value)."""

    values: list[object]
    rows: list[dict]
    chunks: list


def read_table(url: str, case: TableCase) -> Read:
    values, rows, chunks = [], [], list(read_chunks(url, "text", case.keep, case.chunk_size, case.separator))
    for chunk in chunks:
        for index, value in enumerate(chunk.values):
            values.append(value)
            rows.append({name: chunk.frame[name].iloc[index] for name in chunk.frame.columns})
    return Read(values, rows, chunks)


def check_chunks(case: TableCase, read: Read) -> None:
    """Chunks of the size asked, numbered from 1, each with the columns its records have (no rows: one chunk with
    the header's columns)."""
    check_numbering(case, read)
    start = 1
    for chunk in read.chunks:
        assert len(chunk.frame) == len(chunk.values)
        records = case.records[start - 1 : start - 1 + len(chunk.values)]
        assert list(chunk.frame.columns) == case.columns_of(records), case.describe()
        start += len(chunk.values)


def check_numbering(case: TableCase, read: Read) -> None:
    """Chunks of the size asked (one empty chunk for no rows), numbered from 1."""
    full, rest = divmod(len(read.values), case.chunk_size)
    sizes = [case.chunk_size] * full + ([rest] if rest else []) if read.values else [0]
    assert [len(chunk.values) for chunk in read.chunks] == sizes, case.describe()
    assert [chunk.first_row for chunk in read.chunks] == [1 + case.chunk_size * i for i in range(len(sizes))]


def check_record(case: TableCase, number: int, value: object, row: dict, want: Good | Bad) -> None:
    where = f"record {number} of {case.describe()}"
    if isinstance(want, Bad):
        assert isinstance(value, Rejection), f"{where}: read as {value!r}, not rejected as {want.reason}"
        assert value.reason == want.reason, f"{where}: {value}"
        assert value.reason in LOSS_REASONS
        assert value.detail
        return
    assert not isinstance(value, Rejection), f"{where}: {value} for {want.row!r}"
    assert same(value, case.text_of(want)), f"{where}: text {value!r} != {want.row!r}"
    columns = list(want.row) if case.fmt == "jsonl" and case.keep is None else case.columns_of([want])
    expected = {name: want.row.get(name, MISSING) for name in columns}
    got = {name: row[name] for name in columns}
    assert all(same(got[name], expected[name]) for name in expected), f"{where}: {got!r} != {expected!r}"
    for name in set(row) - set(expected):  # columns other records of its chunk have
        assert row[name] is MISSING, f"{where}: {name} = {row[name]!r}, a key the record does not have"


def check_csv_table(case: TableCase, path: Path) -> None:
    """`read_csv_table`: the header, the separator, and each record with the line it starts on (or why it is lost)."""
    lines = [(content + end).decode(codec(case.encoding), ERRORS) for content, end in case.pieces]
    breaks = [len(re.findall(r"\r\n|\r|\n", line)) for line in lines]
    starts = [1 + sum(breaks[:piece]) for piece in case.first_piece]
    with open_text(str(path)) as source:
        table = read_csv_table(source, case.separator)
        records = list(table.records)
    assert (table.header, table.separator) == (case.header, case.notes["sep"])
    assert [line for line, _ in records] == starts, case.describe()
    for (line, fields), want in zip(records, case.records, strict=True):
        if isinstance(want, Bad):
            assert isinstance(fields, Rejection) and fields.reason == want.reason, (line, fields)
            assert fields.detail.startswith(f"line {line}: "), fields
        else:
            assert fields == [want.row[name] for name in case.header], (line, case.describe())


def lacks_the_text_key(case: TableCase) -> bool:
    """JSON lines none of whose first `KEY_CHECK_RECORDS` readable records (or all, if fewer) has the text key."""
    readable = [record for record in case.records if isinstance(record, Good)][:KEY_CHECK_RECORDS]
    return case.fmt == "jsonl" and bool(readable) and not any("text" in record.row for record in readable)


NO_TEXT_KEY = "has the key 'text'; pass --text-column"


def check_table(case: TableCase) -> None:
    """The main property: every record read exactly or rejected with its reason, in order, none lost, no other error."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / case.name
        path.write_bytes(case.data())
        if case.fmt == "parquet" and case.compression != "none":
            with pytest.raises(InputError, match=f"{case.compression}-compressed Parquet file"):
                read_table(str(path), case)
            return
        if lacks_the_text_key(case):  # the wrong file or the wrong --text-column, not a file of bad records
            with pytest.raises(InputError, match=re.escape(NO_TEXT_KEY)):
                read_table(str(path), case)
            return
        read = read_table(str(path), case)
        if case.fmt == "csv":
            check_csv_table(case, path)
    assert len(read.values) == len(case.records), f"{len(read.values)} rows for {len(case.records)} records"
    check_chunks(case, read)
    for number, (value, row, want) in enumerate(zip(read.values, read.rows, case.records, strict=True), start=1):
        check_record(case, number, value, row, want)


# ---------------------------------------------------------------------------------------------------------------
# The input layer


@BUDGET
@given(case=tables())
def test_every_record_is_read_exactly_or_rejected_with_its_reason(case: TableCase):
    check_table(case)


@pytest.mark.slow
@THOROUGH
@given(case=tables())
def test_every_record_is_read_exactly_or_rejected_with_its_reason_thoroughly(case: TableCase):
    check_table(case)


@BUDGET
@given(case=jsonl_tables(good_weight=1))
def test_each_bad_json_line_costs_that_line_with_its_reason(case: TableCase):
    # Mostly bad lines: not JSON, blank, nested just under, at and far over MAX_DEPTH, repeated keys, stray bytes.
    check_table(case)


@BUDGET
@given(case=csv_tables(bad=False), data=st.data())
def test_a_repeated_csv_column_name_is_refused_naming_it(case: TableCase, data):
    repeated = data.draw(st.sampled_from(case.header))
    at = data.draw(st.integers(0, len(case.header)))
    header = [*case.header[:at], repeated, *case.header[at:]]
    separator = case.separator or data.draw(st.sampled_from(SEPARATORS))
    line = _render_row(header, "csv", separator, csv.QUOTE_MINIMAL, "\n").removesuffix("\n")
    piece = (line.encode(codec(case.encoding)), "\n".encode(codec(case.encoding)))
    case = replace(case, pieces=[piece], records=[], separator=separator)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "in.csv"
        path.write_bytes(case.data())
        with pytest.raises(InputError, match=re.escape(f"the column name(s) {repeated!r} appear more than once")):
            list(read_chunks(str(path), "text", None, 4, separator))
        with open_text(str(path)) as source, pytest.raises(InputError, match="appear more than once"):
            read_csv_table(source, separator)


MAGIC_BYTES = {"gzip": 2, "bz2": 3, "xz": 6}


@dataclass(frozen=True)
class Cut:
    """What of a file the reader can have once its stream ends after `seen` bytes of content (the BOM too).

    A line is read when its content and the first character of its end arrived (a `\\r\\n` cut after the `\\r` is
    still a line end); a last line without its end is the cut one, and is not read.
    """

    intact: int  # records read whole, from the first
    header: bool  # CSV: the header line is read
    brace: bool  # the first character (JSON lines: the `{` that tells an unnamed file is JSON lines) arrived
    cut_lines: int  # lines of the first record not intact that are read (CSV: a quoted line break's lines)


def _cut(case: TableCase, seen: int) -> Cut:
    """What of `case` arrived whole in its first `seen` bytes (after decompression)."""
    name = codec(case.encoding)
    position, whole = len(case.bom), []  # whole[p]: lines of piece p read, and whether its own line end is one
    for content, end in case.pieces:
        text = content.decode(name)
        inner = [len(text[: m.start() + 1].encode(name)) for m in re.finditer(r"\r\n|\r|\n", text)]
        lines = sum(position + at <= seen for at in inner)
        first_of_end = len(end.decode(name)[:1].encode(name))
        ended = bool(end) and position + len(content) + first_of_end <= seen
        whole.append((lines, ended))
        position += len(content) + len(end)
    intact = 0
    for last in case.last_piece:
        if not whole[last][1]:
            break
        intact += 1
    cut_lines = whole[case.first_piece[intact]][0] if intact < len(case.records) else 0
    return Cut(
        intact=intact,
        header=case.fmt != "csv" or whole[0][1],
        brace=len(case.bom) + len("{".encode(name)) <= seen,
        cut_lines=cut_lines,
    )


def _refusal(case: TableCase, cut: Cut, seen: int) -> str | None:
    """The `InputError` a truncated file must be refused with (a part of its message), or None if it is read."""
    if case.encoding == "utf-32-be" and 0 < seen < len(case.bom):  # the BOM's first NUL bytes alone: no text
        return "binary data (NUL bytes), not text"
    if case.fmt == "csv":
        return None if cut.header else "no header row naming the columns"
    if case.format_suffix == "" and not cut.brace:  # no `{` to tell it is JSON lines: read as CSV, with no header
        return "no header row naming the columns"
    read = case.records[: cut.intact]
    if read and not any("text" in record.row for record in read):
        return NO_TEXT_KEY
    return None


@BUDGET
@given(
    case=st.one_of(csv_tables(bad=False), jsonl_tables(bad=False)),
    compression=st.sampled_from(["gzip", "bz2", "xz"]),
    data=st.data(),
)
def test_a_truncated_compressed_file_keeps_the_records_before_the_damage(case: TableCase, compression: str, data):
    # Every encoding (a cut inside a UTF-16/32 code unit costs the cut line only), CSV with quoted line breaks.
    case.compression, case.compression_named = compression, data.draw(st.booleans())
    whole = case.data()
    cut_at = data.draw(st.integers(MAGIC_BYTES[compression], len(whole) - 1))  # shorter is no longer that container
    seen = len(readable_prefix(whole[:cut_at], compression))
    cut = _cut(case, seen)
    refusal = _refusal(case, cut, seen)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / case.name
        path.write_bytes(whole[:cut_at])
        if refusal is not None:
            with pytest.raises(InputError, match=re.escape(refusal)):
                read_table(str(path), case)
            return
        read = read_table(str(path), case)
    values = read.values
    for number in range(cut.intact):
        check_record(case, number + 1, values[number], read.rows[number], case.records[number])
    reasons = ["truncated"]  # the cut record, however many of its lines arrived, and the rest
    after = values[cut.intact :]
    assert [value.reason if isinstance(value, Rejection) else value for value in after] == reasons, case.describe()
    assert after[-1].detail.startswith(f"the {compression} stream "), after[-1]
    check_numbering(case, read)


MUTATIONS = ("flip", "delete", "insert", "duplicate", "truncate")


# Any table file (CSV, JSON lines, Parquet; any encoding, UTF-16/32 too; plain, gzip, bz2, xz or zip), damaged
# anywhere: a CSV header, a BOM or magic number, a compressed stream's or zip member's header or data (its CRC),
# a Parquet page or footer. Each is an InputError, or rejections of the records it costs.
@BUDGET
@given(case=tables(), data=st.data())
def test_damaged_bytes_never_raise_anything_but_input_error(case: TableCase, data):
    damaged = bytearray(case.data())
    for _ in range(data.draw(st.integers(1, 3))):
        if not damaged:
            break
        at = data.draw(st.integers(0, len(damaged) - 1))
        how = data.draw(st.sampled_from(MUTATIONS))
        if how == "flip":
            damaged[at] ^= data.draw(st.integers(1, 255))
        elif how == "delete":
            del damaged[at : at + data.draw(st.integers(1, 8))]
        elif how == "insert":
            damaged[at:at] = data.draw(st.binary(min_size=1, max_size=4))
        elif how == "duplicate":
            damaged[at:at] = damaged[at : at + data.draw(st.integers(1, 16))]
        else:
            del damaged[at:]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / case.name
        path.write_bytes(bytes(damaged))
        try:
            read = read_table(str(path), case)
        except InputError:
            return
    for value in read.values:
        if isinstance(value, Rejection):
            assert value.reason in LOSS_REASONS and value.detail, value
    check_numbering(case, read)


@BUDGET
@given(names=glob_names(), fmt=st.sampled_from(["csv", "jsonl"]))
def test_an_existing_name_is_that_file_and_only_a_missing_one_is_a_glob(names: tuple[str, str | None], fmt: str):
    name, sibling = names
    suffix = ".csv" if fmt == "csv" else ".jsonl"
    content = {"csv": b"id,text\n1,the file named\n", "jsonl": b'{"id": 1, "text": "the file named"}\n'}[fmt]
    with tempfile.TemporaryDirectory() as folder:
        literal = Path(folder) / (name + suffix)
        literal.write_bytes(content)
        if sibling is not None:
            (Path(folder) / (sibling + suffix)).write_bytes(content.replace(b"the file named", b"its neighbour"))
        assert locate.expand([str(literal)], lambda _: True, "file") == [str(literal)]
        chunks = list(read_chunks(str(literal), "text", None, 10))
        assert [value for chunk in chunks for value in chunk.values] == ["the file named"]
        if sibling is not None:
            literal.unlink()  # now the name names nothing: it is a glob, and matches its neighbour
            if "**" in name:  # `**` only as a whole path part (fsspec): this glob is invalid, whatever it would match
                with pytest.raises(InputError, match=re.escape(f"{literal}: no such file, and not a valid glob")):
                    locate.expand([str(literal)], lambda _: True, "file")
            else:
                assert locate.expand([str(literal)], lambda _: True, "file") == [str(Path(folder) / (sibling + suffix))]


# ---------------------------------------------------------------------------------------------------------------
# The query log


LOG_FILES = (
    "queries-1.jsonl",
    "queries-1.jsonl.1",
    "queries-1.jsonl.2.gz",
    "worker/queries-7.jsonl",
    "sink/2024/05/01/00:00:00_00:59:59_S0.json",
)
NOT_LOG_FILES = (".queries-1.jsonl.partial", "_tmp/queries-2.jsonl", ".hidden/queries-3.jsonl", "drift.json", "a.txt")


@st.composite
def log_lines(draw, sink: bool, start: int) -> tuple[list[bytes], list[dict | str]]:
    """Lines of one log file and, for each, the record read or the reason it is lost."""
    lines, expected = [], []
    for number in range(start, start + draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["prediction", "feedback", "prediction", "other", "untyped", "invalid", "deep"]))
        record: dict = {"type": kind, "n": number} if kind in ("prediction", "feedback", "other") else {"n": number}
        if kind == "prediction":
            record |= {"text": draw(text_values("utf-8", line_breaks=True)), "pred_id": draw(st.integers(0, 2))}
        elif kind == "feedback":
            record |= {"request_id": draw(st.text(alphabet="0123456789abcdef", max_size=8)), "label": "neutral"}
        if kind == "invalid":
            lines.append(draw(st.sampled_from(INVALID_JSON_LINES)).encode())
            expected.append("bad_record")
            continue
        if kind == "deep":
            lines.append(b'{"type": "prediction", "v": ' + b"[" * 500 + b"]" * 500 + b"}")
            expected.append("too_deep")
            continue
        if sink:
            time = f"2024-05-01T00:00:{number % 60:02d}Z"
            lines.append(json.dumps({"timestamp": time, "jsonPayload": record}).encode())
            record = {"time": time, **record}
        else:
            lines.append(json.dumps(record, ensure_ascii=False).encode())
        expected.append(record if kind in ("prediction", "feedback") else NOT_A_RECORD)
    return lines, expected


@BUDGET
@given(data=st.data())
def test_the_query_log_reader_counts_every_line(data):
    files = data.draw(st.lists(st.sampled_from(LOG_FILES), unique=True, min_size=1))
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        expected: list[dict | str] = []
        for name in sorted(files, key=lambda n: str(root / n)):
            lines, outcome = data.draw(log_lines(sink=name.endswith(".json"), start=len(expected) + 1))
            expected += outcome
            body = b"".join(line + data.draw(st.sampled_from([b"\n", b"\r\n"])) for line in lines)
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(gzip.compress(body) if name.endswith(".gz") else body)
        for name in NOT_LOG_FILES:  # valid records where no log is: never read
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text('{"type": "prediction", "text": "not in the log"}\n')
        count = ReadCount()
        records = list(read_log(root, count))
    assert records == [want for want in expected if isinstance(want, dict)]
    lost = Counter(want for want in expected if isinstance(want, str))
    assert (count.read, count.kept, +count.lost) == (len(expected), len(records), lost)
    assert len(count.examples) == min(sum(lost.values()), 20)


# ---------------------------------------------------------------------------------------------------------------
# The scoring command, end to end

ODD_STEMS = (  # (a name, a neighbour it would match as a glob)
    ("tweets[1]", "tweets1"),
    ("a*b", "a long b"),
    ("what?", "whatX"),
    ("my tweets [v2]", "my tweets v"),
    ("x[ab]?*", "xaQ"),
    ("plain name", None),
)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON (RFC 8259)")


def expected_outcome(case: TableCase, record: Good | Bad) -> str | None:
    """The reason a row is not scored (the reader's, or the service's check on its text), None if it is scored."""
    if isinstance(record, Bad):
        return record.reason
    value = case.text_of(record)
    if value is None:
        return "missing"
    if not isinstance(value, str):
        return "not_text"
    if UNDECODABLE.search(value):  # bytes the file's encoding could not decode
        return "undecodable"
    return None if value.strip() else "blank"


def _non_finite(value: object) -> int:
    if isinstance(value, float):
        return 0 if math.isfinite(value) else 1
    if isinstance(value, dict):
        return sum(map(_non_finite, value.values()))
    if isinstance(value, list):
        return sum(map(_non_finite, value))
    return 0


def _as_json(value: object) -> object:
    """What JSON output holds for a value read: non-finite numbers as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _as_json(v) for key, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    return value


def _as_csv(value: object) -> str:
    return "" if value is None or value is MISSING else str(value)


@st.composite
def scoring_runs(draw) -> tuple[TableCase, str]:
    out_format = draw(st.sampled_from(["csv", "jsonl"]))
    # Values with "\n", "\r\n" and a lone "\r"; header-only CSV and empty JSON lines files too.
    case = draw(
        csv_tables(scorable=True)
        | jsonl_tables(scorable=True, non_finite=out_format == "jsonl", plain=out_format == "csv")
    )
    case.compression = draw(st.sampled_from(COMPRESSIONS))
    case.keep = None
    if case.format_suffix == "" or case.format_suffix.isupper():
        case.format_suffix = ".csv" if case.fmt == "csv" else ".jsonl"
    return case, out_format


def _scored_output(out: Path) -> tuple[str, str]:
    """The one output shard's text (strict UTF-8), whatever its name, and its CSV separator (a `.tsv` name: tab)."""
    [output] = [p for p in out.rglob("*") if p.is_file() and not p.relative_to(out).parts[0].startswith(("_", "."))]
    data = output.read_bytes()
    separator = "\t" if output.name.lower().removesuffix(".gz").endswith(".tsv") else ","
    return (gzip.decompress(data) if output.name.endswith(".gz") else data).decode("utf-8"), separator


@E2E
@given(run=scoring_runs(), stem=st.sampled_from(ODD_STEMS))
def test_the_scoring_command_scores_every_good_row_and_lists_every_bad_one(
    model_dir: Path, run: tuple[TableCase, str], stem: tuple[str, str | None]
):
    case, out_format = run
    case.stem = stem[0]
    outcomes = [expected_outcome(case, record) for record in case.records]
    scored = [record for record, outcome in zip(case.records, outcomes, strict=True) if outcome is None]
    failed = [(number, outcome) for number, outcome in enumerate(outcomes, start=1) if outcome is not None]
    with tempfile.TemporaryDirectory() as folder:
        inputs, out = Path(folder) / "in", Path(folder) / "out"
        inputs.mkdir()
        path = inputs / case.name
        path.write_bytes(case.data())
        if stem[1] is not None:  # a neighbour the name matches as a glob: it must not be read
            neighbour = replace(case, stem=stem[1])
            (inputs / neighbour.name).write_bytes(path.read_bytes())
        arguments = [str(path), "--out", str(out), "--format", out_format, "--chunk-size", str(case.chunk_size)]
        if case.separator is not None:
            arguments += ["--delimiter", case.separator]
        status = command.main([*arguments, "--model", str(model_dir), "--threads", "2"])
        where = case.describe()
        if lacks_the_text_key(case):  # the wrong file or --text-column: refused, nothing written
            assert status == command.EXIT_CANNOT, where
            assert list(out.rglob("*")) == [], where
            return
        assert status == (command.EXIT_ROWS_FAILED if failed else command.EXIT_OK), where

        errors = list(out.glob(f"{command.ERRORS_DIR}/**/*.csv")) if (out / "_errors").exists() else []
        if failed:
            assert len(errors) == 1, where
            with errors[0].open(encoding="utf-8", newline="") as file:
                listed = list(csv.reader(file))
            assert listed[0] == ["input", "row", "reason", "detail"]
            assert [(int(row), reason) for _, row, reason, _ in listed[1:]] == failed, where
            assert all(source == str(path) and detail for source, _, _, detail in listed[1:])
        else:
            assert errors == [], where

        text, separator = _scored_output(out)
        summary = json.loads((out / command.SUMMARY).read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    assert summary["exit_status"] == status
    total = summary["total"]
    assert (total["scored"], total["failed"]) == (len(scored), len(failed))
    assert total["failed_by_reason"] == dict(sorted(Counter(reason for _, reason in failed).items()))
    non_finite = sum(_non_finite(v) for r in scored for v in r.row.values()) if out_format == "jsonl" else 0
    assert total["non_finite"] == non_finite
    assert list(summary["shards"]) == [str(path)]

    if out_format == "jsonl":
        lines = text.split("\n")
        assert lines[-1] == ""
        records = [json.loads(line, parse_constant=_refuse_constant) for line in lines[:-1]]
        assert len(records) == len(scored), where
        for got, want in zip(records, scored, strict=True):
            assert list(got)[-len(OUTPUT_COLUMNS) :] == list(OUTPUT_COLUMNS)
            carried, expected = {k: v for k, v in got.items() if k not in OUTPUT_COLUMNS}, _as_json(want.row)
            assert set(carried) == set(expected), where  # in the chunk's column order, not each record's own
            assert all(same(carried[key], expected[key]) for key in expected), f"{carried!r} != {expected!r}"
            assert got["pred_label"] == LABELS[got["pred_id"]]
            assert got["pred_id"] == max(range(3), key=lambda i: got[SCORE_COLUMNS[i]])
        return
    frame = pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))
    assert rows[0] == list(frame.columns)
    assert rows[1:] == frame.to_numpy().tolist(), where
    columns = rows[0]
    assert columns[-len(OUTPUT_COLUMNS) :] == list(OUTPUT_COLUMNS)
    if case.fmt == "csv":
        assert columns[: -len(OUTPUT_COLUMNS)] == case.header
    else:
        keys = {key for record in case.records if isinstance(record, Good) for key in record.row}
        assert sorted(columns[: -len(OUTPUT_COLUMNS)]) == sorted(keys)
    assert len(rows) - 1 == len(scored), where
    for got, want in zip(rows[1:], scored, strict=True):
        cells = dict(zip(columns, got, strict=True))
        assert {k: cells[k] for k in columns[: -len(OUTPUT_COLUMNS)]} == {
            k: _as_csv(want.row.get(k)) for k in columns[: -len(OUTPUT_COLUMNS)]
        }, where
        assert cells["pred_label"] == LABELS[int(cells["pred_id"])]


# ---------------------------------------------------------------------------------------------------------------
# Bugs Hypothesis found: the smallest failing examples, each fixed since and kept as a regular test.


def gzip_cut_after(content: bytes) -> bytes:
    """A gzip stream cut off right after `content`: exactly `content` decompresses, then the stream ends early."""
    compressor = zlib.compressobj(wbits=31)
    return compressor.compress(content) + compressor.flush(zlib.Z_SYNC_FLUSH)


def read_values(path: Path, chunk_size: int = 100) -> list[object]:
    return [value for chunk in read_chunks(str(path), "text", None, chunk_size) for value in chunk.values]


# found by Hypothesis, fixed since, three faults of one kind: a gzip CSV cut mid-row yielded the cut row as a good
# row ('wor' for 'world'); cut inside a quoted field's line break, the whole file was an InputError about quoting;
# cut right after the first line of such a record, it was a bad_record besides the truncated tail (found as a UTF-32
# CSV whose 8th row is "8","a\n" cut after the "\n"). The cut record and the rest are one `truncated` rejection.
@pytest.mark.parametrize(
    "content",
    [b"id,text\n1,hello\n2,wor", b'id,text\n1,hello\n2,"two\nli', b'id,text\n1,hello\n2,"two\n'],
    ids=["mid-row", "inside-a-quoted-line-break", "after-a-quoted-line-break"],
)
def test_a_csv_cut_by_truncation_keeps_the_rows_before_and_loses_the_cut_one(tmp_path: Path, content: bytes):
    path = tmp_path / "in.csv.gz"
    path.write_bytes(gzip_cut_after(content))  # the file went on: "2,world\n", "2,\"two\nlines\"\n"
    values = read_values(path)
    assert [value.reason if isinstance(value, Rejection) else value for value in values] == ["hello", "truncated"]


# found by Hypothesis, fixed since: JSON lines whose first chunk holds no readable record are refused whole ('no
# record among the first 1 has the key'), so --chunk-size decides whether one bad first line costs that line or the
# file
def test_a_bad_first_json_line_costs_that_line_whatever_the_chunk_size(tmp_path: Path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{not json\n{"id": 2, "text": "a"}\n')
    assert len(read_values(path, chunk_size=2)) == 2  # passes: the bad line is a rejection, the good one read
    values = read_values(path, chunk_size=1)
    assert isinstance(values[0], Rejection) and values[0].reason == "bad_record"
    assert values[1:] == ["a"]


# found by Hypothesis, fixed since: bytes a UTF-16/32 decoder cannot take (an odd trailing byte < 0x80, a code point
# over U+10FFFF) raise UnicodeDecodeError out of the reader (surrogateescape only escapes bytes >= 0x80); read_log
# raises it too
@pytest.mark.parametrize(
    "name, data, kept",
    [
        ("in.csv", codecs.BOM_UTF16_LE + "id,text\n1,hi\n".encode("utf-16-le")[:-1], []),  # an odd byte count
        ("in.jsonl", codecs.BOM_UTF32_LE + b"\x00\x00\x11\x00" + '\n{"text": "a"}\n'.encode("utf-32-le"), ["a"]),
    ],
    ids=["utf16-odd-csv", "utf32-out-of-range-jsonl"],
)
def test_bytes_utf16_or_utf32_cannot_decode_cost_a_record_not_an_exception(
    tmp_path: Path, name: str, data: bytes, kept: list[str]
):
    path = tmp_path / name
    path.write_bytes(data)
    [lost, *rest] = read_values(path)
    assert (lost.reason, rest) == ("undecodable", kept)


def test_a_query_log_line_utf16_cannot_decode_is_counted_not_raised(tmp_path: Path):
    path = tmp_path / "queries-1.jsonl"
    path.write_bytes(codecs.BOM_UTF16_LE + '{"type": "prediction"}\n'.encode("utf-16-le")[:-1])
    count = ReadCount()
    assert list(read_log(path, count)) == []
    assert (count.read, count.kept, dict(count.lost)) == (1, 0, {"undecodable": 1})


# found by Hypothesis, fixed since: a damaged zip member raises zipfile.BadZipFile (bad CRC) or zlib.error out of the
# reader, where gzip, bz2 and xz damage costs the unreadable tail as a 'truncated' rejection
@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"])
def test_a_damaged_zip_member_is_an_input_error_or_a_rejection(tmp_path: Path, method: int):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        archive.writestr("in.csv", "id,text\n" + "".join(f"{n},tweet number {n}\n" for n in range(50)))
    data = bytearray(buffer.getvalue())
    data[60] ^= 0xFF  # inside the member's data (its local header is 30 bytes and its name 6)
    path = tmp_path / "in.csv.zip"
    path.write_bytes(bytes(data))
    try:
        values = read_values(path)
    except InputError:
        return
    assert isinstance(values[-1], Rejection), values[-3:]


def _parquet_with_page(transform) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    table = pa.table({"id": ["1", "2"], "text": ["hello", "world"]})
    pq.write_table(table, buffer, compression="NONE", use_dictionary=False, write_statistics=False)
    data = bytearray(buffer.getvalue())
    at = data.find(b"\x05\x00\x00\x00hello")  # the text column's page: PLAIN, a 4-byte length before each value
    transform(data, at)
    return bytes(data)


def _huge_length(data: bytearray, at: int) -> None:
    data[at : at + 4] = b"\xff\xff\xff\x7f"


def _not_utf8(data: bytearray, at: int) -> None:
    data[at + 5] = 0xFF  # "h\xffllo": a string column holding bytes that are not UTF-8


# found by Hypothesis, fixed since: a damaged Parquet page raises ArrowInvalid/OSError, and a string column holding
# non-UTF-8 bytes UnicodeDecodeError, out of read_chunks: only opening the file (its footer) is turned into an
# InputError
@pytest.mark.parametrize("damage", [_huge_length, _not_utf8], ids=["page-length", "not-utf8"])
def test_a_damaged_parquet_page_is_an_input_error(tmp_path: Path, damage):
    path = tmp_path / "in.parquet"
    path.write_bytes(_parquet_with_page(damage))
    try:
        values = read_values(path)
    except InputError:
        return
    assert all(isinstance(value, str | Rejection) for value in values)


# found by Hypothesis, fixed since: a CSV header cell holding an undecodable byte (a lone surrogate) raises
# UnicodeEncodeError from pandas' Arrow-backed column index (pandas 3) out of read_chunks
def test_an_undecodable_byte_in_a_csv_header_is_an_input_error_or_a_column(tmp_path: Path):
    path = tmp_path / "in.csv"
    path.write_bytes(b"\xef\xbb\xbftext,\xe9\nhi,1\n")
    try:
        values = read_values(path)
    except InputError:
        return
    assert values == ["hi"]


# found by Hypothesis, fixed since: a header-only CSV (or a Parquet file with no rows) gives a chunk with no columns:
# the scored shard of an empty input then has only the prediction columns
def test_a_csv_with_no_rows_keeps_its_columns(tmp_path: Path):
    path = tmp_path / "in.csv"
    path.write_bytes(b"id,text,lang\n")
    [chunk] = list(read_chunks(str(path), "text", None, 10))
    assert chunk.values == []
    assert list(chunk.frame.columns) == ["id", "text", "lang"]


# found by Hypothesis, fixed since: a missing path with '**' inside a name ('t**.csv') raises fsspec's
# ValueError('Invalid pattern'), not an InputError (the scoring command then calls it an unexpected fault)
def test_an_invalid_glob_is_an_input_error(tmp_path: Path):
    (tmp_path / "t1.csv").write_text("id,text\n1,a\n")
    with pytest.raises(InputError):
        locate.expand([str(tmp_path / "t**.csv")], lambda _: True, "file")


# found by Hypothesis, fixed since: CSV output leaves a value holding a lone '\r' unquoted (Python 3.11's csv quotes
# only its own line terminator's characters), so pandas and the csv module read the row back as two
def test_csv_output_quotes_a_lone_carriage_return(tmp_path: Path, model_dir: Path):
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": 1, "text": "first line\rsecond line"}) + "\n")
    out = tmp_path / "out"
    arguments = [str(tmp_path / "in.jsonl"), "--out", str(out), "--format", "csv"]
    assert command.main([*arguments, "--model", str(model_dir), "--threads", "2"]) == command.EXIT_OK
    text = (out / "in.csv").read_bytes().decode("utf-8")  # as written: read_text would translate the line ends
    assert list(pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)["text"]) == ["first line\rsecond line"]
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert [row[1] for row in rows[1:]] == ["first line\rsecond line"]


# found by Hypothesis, fixed since: a Parquet file whose footer names a column in bytes that are not UTF-8 raises
# UnicodeDecodeError out of read_chunks (pyarrow decodes the names as the file is opened, where only ArrowInvalid and
# OSError become an InputError). Found as a flipped byte in a 5-column file's footer; here the first column's name.
def test_a_parquet_column_name_that_is_not_utf8_is_an_input_error(tmp_path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": ["1"], "text": ["a"]}), buffer, store_schema=False)
    data = buffer.getvalue()
    at = data.index(b"\x18\x02id") + 2  # the footer's schema: the column named "id" (a 2-byte string)
    path = tmp_path / "in.parquet"
    path.write_bytes(data[:at] + b"\xff" + data[at + 1 :])  # named b"\xffd"
    with pytest.raises(InputError):
        read_values(path)


# found by Hypothesis, fixed since: JSON lines scored to CSV write an integer as a float ("1.0" for 1) when another
# row of its chunk lacks that key (or holds null): CsvWriter's NaN/Infinity pass (`frame[objects].map(...)`) lets
# pandas infer a float column from [None, 1]. Found as a record's "lang": 1306259 written 1306259.0.
def test_an_integer_beside_a_missing_key_stays_an_integer_in_csv_output(tmp_path: Path, model_dir: Path):
    (tmp_path / "in.jsonl").write_text('{"text": "a"}\n{"text": "b", "n": 1}\n')
    out = tmp_path / "out"
    arguments = [str(tmp_path / "in.jsonl"), "--out", str(out), "--format", "csv"]
    assert command.main([*arguments, "--model", str(model_dir), "--threads", "2"]) == command.EXIT_OK
    rows = list(csv.reader(io.StringIO((out / "in.csv").read_bytes().decode("utf-8"), newline="")))
    assert [row[:2] for row in rows] == [["text", "n"], ["a", ""], ["b", "1"]]


# found by Hypothesis, fixed since: a zip with a byte missing before its central directory (here one of its member's
# local header) raises OSError ("[Errno 22] Invalid argument": zipfile seeks before the file's start) out of
# read_chunks; open_content turns only BadZipFile, zlib.error, EOFError and NotImplementedError into an InputError.
# Found as a one-line JSON lines file zipped, a byte deleted at offset 4.
def test_a_zip_missing_a_byte_before_its_directory_is_an_input_error(tmp_path: Path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("in.csv", "id,text\n1,a\n")
    data = buffer.getvalue()
    path = tmp_path / "in.csv.zip"
    path.write_bytes(data[:4] + data[5:])  # a byte of the member's local header gone
    with pytest.raises(InputError):
        read_values(path)
