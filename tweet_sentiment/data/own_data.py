"""The user's own labelled CSV (`data.source: csv`): read through the input layer, labels mapped, rows counted.

`read_labelled_csv` reads `data.csv_path` with `tweet_sentiment/inputs/` (what
the file is by its bytes, the separator sniffed or `data.delimiter`), maps its
labels to LABELS (`data.label_map`, names, or 0/1/2), and stops with a
`DataError` that names the line and the fix for what no map can read. It lives
apart from `cleaning.py` so that only the stages that read a user's file depend on
the input layer (`finetune` and `teacher` import `cleaning.py` for `DataError`).

Labels are matched by `label_key`, which ignores case, quote characters and
punctuation, because a `-S data.label_map={...}` key can hold none of them (DVC
parses `-S` with Hydra's override grammar, whose unquoted dict keys take letters,
digits, spaces and a few signs): `{I cant tell: null}` maps a file's `I can't tell`.
"""

import json
import logging
import re
import shlex
from collections.abc import Iterable, Mapping

import pandas as pd

from tweet_sentiment.core.labels import ID2LABEL, LABELS
from tweet_sentiment.data.cleaning import DataError
from tweet_sentiment.inputs import delimiters
from tweet_sentiment.inputs.accounting import ReadCount, Rejection
from tweet_sentiment.inputs.errors import InputError
from tweet_sentiment.inputs.tables import read_csv_table, refuse_repeated
from tweet_sentiment.inputs.text import open_text

log = logging.getLogger(__name__)

_INTEGER = re.compile(r"[+-]?\d+")
_QUOTES = str.maketrans("", "", "'\"`\u00b4\u2018\u2019\u201c\u201d")
_NOT_WORD = re.compile(r"[\W_]+")  # Unicode-aware: letters and digits of every script are words
# What a file's label says when it means "no sentiment", as words of its `label_key`
# (CrowdFlower's "No emotion toward brand or product", "None", "Neither").
NEUTRAL_WORDS = ("no emotion", "no sentiment", "no opinion", "none", "neither", "objective")
EMPTY_LABEL = ""  # a row whose label is blank: dropped and counted as `empty_label` (cleaning.py)


def _words(text: str) -> str:
    """`text` without quote characters, each run of punctuation and space as one space (`I cant tell`)."""
    return " ".join(_NOT_WORD.split(text.translate(_QUOTES))).strip()


def label_key(value: object) -> str:
    """How a label is matched: case, quote characters and punctuation ignored (`I can't tell` -> `i cant tell`);
    an integer as its number (`-1`, `+1` -> `1`)."""
    text = str(value).strip()
    if _INTEGER.fullmatch(text):
        return str(int(text))
    return _words(text).casefold()


def _hydra_key(value: str) -> str | None:
    """`value` as a `-S` dict key that matches it (case kept), or None where Hydra's grammar cannot hold it."""
    if _INTEGER.fullmatch(value.strip()):
        return str(int(value))
    key = _words(value)
    # Hydra reads these as other types, and takes only ASCII in an unquoted key.
    if not key or not key.isascii() or key.lower() in {"null", "true", "false"}:
        return None
    return key


def _header_hint(header: list[str]) -> str:
    """A pointer to a missing header line when the first line looks like a row of data."""
    if any(_INTEGER.fullmatch(name) for name in header):
        return ", or add a header line naming the columns: the first line looks like a row of data"
    return ""


def _check_columns(source: str, header: list[str], wanted: list[str]) -> None:
    missing = [c for c in wanted if c not in header]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {missing}; it has {header}. Set data.text_column / data.label_column / "
            f"data.id_column in params.yaml{_header_hint(header)}."
        )


def _by_rank(rank: int, count: int) -> str:
    """A guess for the `rank`-th smallest of `count` numeric labels: below the middle negative, above positive."""
    middle = (count - 1) / 2
    return LABELS[0] if rank < middle else LABELS[1] if rank == middle else LABELS[2]


def _distinct(values: Iterable[str]) -> list[str]:
    """Each label once, case-insensitively, as first spelled."""
    first: dict[str, str] = {}
    for value in values:
        first.setdefault(label_key(value), value)
    return list(first.values())


def _guess(value: str) -> str | None:
    """The label a file's label name says (`Extremely Negative`, `No emotion toward ...`), or None."""
    words = f" {label_key(value)} "
    if any(f" {phrase} " in words for phrase in NEUTRAL_WORDS):
        return LABELS[1]
    return next((name for name in LABELS if name in words), None)


def _suggested_map(values: Iterable[str], label_map: Mapping) -> str:
    """A `-S 'data.label_map={...}'` to add to the `dvc exp run` that failed: `label_map` plus a guess for each label
    of `values` it leaves unknown, quoted so that bash and DVC take it as printed.

    Numbers are guessed by rank (`_by_rank`); a name that says its label
    (`Extremely Negative`, `No emotion toward brand or product`) gets it; any other
    name is dropped (null). Where a label cannot be a `-S` key (another script), the
    map is given as YAML for params.yaml instead.
    """
    suggestion = {str(key): name for key, name in label_map.items()}
    known = {label_key(key) for key in suggestion} | set(LABELS)
    unknown = _distinct(value for value in values if value and label_key(value) not in known)
    numbers = sorted((value for value in unknown if _INTEGER.fullmatch(value)), key=int)
    suggestion |= {value: _by_rank(rank, len(numbers)) for rank, value in enumerate(numbers)}
    suggestion |= {value: _guess(value) for value in unknown if value not in numbers}
    keys = {value: _hydra_key(value) for value in suggestion}
    if None in keys.values():
        as_yaml = json.dumps(suggestion, ensure_ascii=False)  # JSON is YAML's flow style
        return f"in params.yaml, under data: `label_map: {as_yaml}`"
    pairs = ", ".join(f"{keys[key]}: {'null' if name is None else name}" for key, name in suggestion.items())
    return f"-S {shlex.quote(f'data.label_map={{{pairs}}}')}"


def _label_lookup(source: str, values: list[str], label_map: Mapping | None) -> dict[str, str | None]:
    """Lower-cased file label -> label name (None: drop the row), from `label_map` and the names.

    Without a map, numbers are label ids only when the file's numbers are exactly
    0, 1 and 2; other numbers raise DataError with a suggested map.
    """
    lookup = {name: name for name in LABELS}
    if label_map:
        mapped = {label_key(k): v if v is None else str(v).strip().lower() for k, v in label_map.items()}
        return lookup | mapped
    numbers = sorted({v for v in values if _INTEGER.fullmatch(v)}, key=int)
    if numbers and numbers != ["0", "1", "2"]:
        raise DataError(
            f"{source}: the labels {', '.join(numbers)} are numbers, but not this project's 0/1/2 "
            f"({'/'.join(LABELS)}, all three present), so what they mean is unknown; say it with data.label_map, "
            f"e.g. {_suggested_map(values, {})} (check the order against the file's documentation)."
        )
    return lookup | {str(i): name for i, name in ID2LABEL.items()}


def _labels(source: str, values: list[str], lines: list[int], label_map: Mapping | None) -> list[str | None]:
    """Each row's label name, None where data.label_map drops it, or EMPTY_LABEL where it is blank.

    DataError names the first line with a label that neither the map nor the names know.
    """
    lookup = _label_lookup(source, [value for value in values if value], label_map)
    for line, value in zip(lines, values, strict=True):
        if value and label_key(value) not in lookup:
            unknown = ", ".join(_distinct(v for v in values if v and label_key(v) not in lookup))
            raise DataError(
                f"{source}:{line}: unknown label {value!r} (unknown in this file: {unknown}); map each to "
                f"{', '.join(LABELS)} or drop it with null: {_suggested_map(values, label_map or {})}."
            )
    blank = [line for line, value in zip(lines, values, strict=True) if not value]
    if blank:
        shown = ", ".join(map(str, blank[:10])) + (" ..." if len(blank) > 10 else "")
        log.warning(
            "%s: %d row(s) with an empty label, not trained on (lines %s); fill them in", source, len(blank), shown
        )
    return [lookup[label_key(value)] if value else EMPTY_LABEL for value in values]


def _lost_reason(fields: list[str]) -> Rejection | None:
    """Why a readable record of the user's CSV is not a row: no value in any field (undecodable bytes are the
    input layer's to reject, `tables.read_csv_table`)."""
    if not any(value.strip() for value in fields):
        return Rejection("blank_record", "no value in any field")
    return None


def _read_rows(source: str, delimiter: str | None, wanted: list[str]) -> tuple[list[str], list, ReadCount]:
    """The header, each readable record as (line, fields), and what became of every record (the input layer's)."""
    count = ReadCount()
    try:
        with open_text(source) as text:
            table = read_csv_table(text, delimiters.parse(delimiter))
            header = [name.strip() for name in table.header]
            refuse_repeated(source, header)  # `text` and `text ` are one column once stripped
            _check_columns(source, header, wanted)
            rows = []
            for line, fields in table.records:
                rejection = fields if isinstance(fields, Rejection) else _lost_reason(fields)
                if rejection is not None:
                    count.lose(f"{source}:{line}", rejection)
                else:
                    count.keep()
                    rows.append((line, fields))
    except InputError as error:
        raise DataError(str(error)) from None
    return header, rows, count


def read_labelled_csv(
    source: str,
    text_column: str,
    label_column: str,
    *,
    id_column: str | None = None,
    delimiter: str | None = None,
    label_map: Mapping | None = None,
) -> tuple[pd.DataFrame, ReadCount]:
    """Read a user's CSV through the input layer: a text and a label column, an id column when `id_column` names one.

    What the file is (compression, encoding) comes from its bytes and the
    separator is `delimiter` or sniffed (`tweet_sentiment/inputs/`). A record the
    layer cannot read, or with no value at all, is lost and counted (the returned
    `ReadCount`, with its line), not trained on. Labels are matched
    case-insensitively: `label_map`'s keys first, then the names of LABELS, then
    (without a map) 0/1/2 when those are exactly the file's numbers. A label
    mapped to None is kept as None (cleaning drops the row). Ids are
    `id_column`'s values, else `csv-<row number>`. Errors name the physical line a record starts on.
    """
    wanted = [text_column, label_column, *([id_column] if id_column else [])]
    header, rows, count = _read_rows(source, delimiter, wanted)
    if not rows:
        raise DataError(f"{source}: no rows ({count.summary()}).")
    column = {name: header.index(name) for name in wanted}
    values = [fields[column[label_column]].strip() for _, fields in rows]
    labels = _labels(source, values, [line for line, _ in rows], label_map)
    texts = [fields[column[text_column]] for _, fields in rows]
    if id_column:
        ids = [fields[column[id_column]].strip() for _, fields in rows]
    else:
        ids = [f"csv-{i}" for i in range(len(rows))]
    return pd.DataFrame({"id": ids, "text": texts, "label": labels}), count
