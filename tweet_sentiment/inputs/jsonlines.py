"""One JSON line as a record, or why it is not one; never an exception out of the parser.

Python's parser raises `RecursionError` on deep nesting (simplejson#334: a
value 5,000 deep) and keeps the last of repeated keys silently; both would stop
a run or change a record. Here a line costs that line, with a reason:
`bad_record` (not JSON, or not an object), `undecodable`, `too_deep`
(nested deeper than `MAX_DEPTH`), `duplicate_key` (a key twice in one object).
`NaN`, `Infinity` and `-Infinity` (JavaScript's, which RFC 8259 forbids) are
read as `NonFinite` floats, so a writer can tell them from a missing value and count them.
"""

import json
import re

from tweet_sentiment.inputs.accounting import Rejection
from tweet_sentiment.inputs.encodings import UNDECODABLE

MAX_DEPTH = 100  # far beyond any record a person or the service writes; the parser's own limit is about 1,000
_OPENERS = re.compile(r"[\[{]")


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
    if len(_OPENERS.findall(line)) > MAX_DEPTH and _depth(line) > MAX_DEPTH:
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
    return record


def count_non_finite(value: object) -> int:
    """How many `NonFinite` numbers `value` holds, nested ones too."""
    if isinstance(value, NonFinite):
        return 1
    if isinstance(value, dict):
        return sum(count_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return sum(count_non_finite(v) for v in value)
    return 0
