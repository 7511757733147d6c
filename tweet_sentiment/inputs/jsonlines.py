"""One JSON line as a record, or why it is not one; never an exception out of the parser.

Python's parser raises `RecursionError` on deep nesting (simplejson#334: a
value 5,000 deep) and keeps the last of repeated keys silently; both would stop
a run or change a record. Here a line costs that line, with a reason:
`bad_record` (not JSON, or not an object), `undecodable`, `too_deep`
(nested deeper than `MAX_DEPTH`), `duplicate_key` (a key twice in one object).
`NaN`, `Infinity` and `-Infinity` (JavaScript's, which RFC 8259 forbids) are
read as `NonFinite` floats, which CSV and Parquet output keep as numbers (where pandas would take a
plain NaN for a missing value) and JSON output writes as `null`, counted.
"""

import json
import re

from tweet_sentiment.inputs.accounting import Rejection
from tweet_sentiment.inputs.charsets import UNDECODABLE

_HALF = re.compile("[\ud800-\udfff]")  # a lone surrogate, from bytes or from an escape

MAX_DEPTH = 100  # far beyond any record a person or the service writes; the parser's own limit is about 1,000
_SURROGATE_ESCAPE = re.compile(r"\\[uU][dD][89a-fA-F]")  # `\ud83d`: maybe a half of a pair, maybe alone


class NonFinite(float):
    """A `NaN` or `±Infinity` read from JSON: a float, marked so output can write it as RFC 8259 allows (null)."""


class _RepeatedKey(ValueError):
    pass


def _object(pairs: list[tuple[str, object]]) -> dict:
    record = dict(pairs)
    if len(record) != len(pairs):
        repeated = sorted({key for key, _ in pairs if sum(1 for k, _ in pairs if k == key) > 1})
        raise _RepeatedKey(", ".join(map(repr, repeated)))
    return record


def _depth(line: str) -> int:
    """How deep brackets nest in `line`, outside strings (only called when the line has many brackets)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in line:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_record(line: str) -> dict | Rejection:
    """The JSON object on `line` (text, its end stripped or not), or why it cannot be read as one."""
    if bad := UNDECODABLE.search(line):
        return Rejection("undecodable", f"bytes that are not valid in the file's encoding (at character {bad.start()})")
    if line.count("[") + line.count("{") > MAX_DEPTH and _depth(line) > MAX_DEPTH:
        return Rejection("too_deep", f"a value nested deeper than {MAX_DEPTH} levels")
    try:
        record = json.loads(line, object_pairs_hook=_object, parse_constant=NonFinite)
    except _RepeatedKey as error:
        return Rejection("duplicate_key", f"the key {error} appears twice in this record; keep one")
    except RecursionError:
        return Rejection("too_deep", f"a value nested deeper than {MAX_DEPTH} levels")
    except ValueError as error:
        return Rejection("bad_record", f"not a JSON object ({error})")
    if not isinstance(record, dict):
        return Rejection("bad_record", f"a JSON {type(record).__name__}, not an object")
    if _SURROGATE_ESCAPE.search(line) and _has_lone_surrogate(record):
        return Rejection("undecodable", "a \\uD800-\\uDFFF escape that is half of a character (a cut emoji?)")
    return record


def _has_lone_surrogate(value: object) -> bool:
    """Whether a string in `value` (keys too) holds half of a UTF-16 pair: not text, and not writable as UTF-8."""
    if isinstance(value, str):
        return _HALF.search(value) is not None
    if isinstance(value, dict):
        return any(_has_lone_surrogate(key) or _has_lone_surrogate(v) for key, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False
