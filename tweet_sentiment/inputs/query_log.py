"""Reading the query log the service writes (`serving/querylog.py`), for `harvest` and `drift`, every line counted.

A log is a directory (searched recursively) or one file. Its files are the
workers' `queries-<pid>.jsonl`, their rotations (`.jsonl.1`), the same
compressed by logrotate (`.jsonl.1.gz`, read through by the bytes, as any
gzip/bz2/xz), and `*.json` files, what a Cloud Logging sink writes to GCS (each
entry's `jsonPayload` is the record, its `timestamp` the record's time). A
drift report written into the log folder (`drift.json`) is not log.

Each line is a record (a prediction or a feedback) or lost, counted by reason
in a `ReadCount`: the input layer's reasons, and `not_a_log_record` for JSON
that is neither. The reader lives here, not in `serving/`, so changing it
never rebuilds the Bento.
"""

import os
from collections.abc import Iterator
from pathlib import Path

from tweet_sentiment.inputs.accounting import ReadCount, Rejection
from tweet_sentiment.inputs.errors import InputError
from tweet_sentiment.inputs.locate import hidden
from tweet_sentiment.inputs.tables import json_records
from tweet_sentiment.inputs.text import open_text

RECORD_TYPES = ("prediction", "feedback")
NOT_A_RECORD = "not_a_log_record"


def _is_log(name: str) -> bool:
    return not hidden(name) and (".jsonl" in name or name.endswith(".json")) and name != "drift.json"


def log_files(path: Path) -> list[Path]:
    """The query-log files under `path` (a file, or a directory searched recursively), sorted.

    Raises `InputError` when `path` does not exist.
    """
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputError(f"{path}: no such file or directory; pass the query-log directory")
    found = []
    for folder, subfolders, names in os.walk(path):
        subfolders[:] = [name for name in subfolders if not hidden(name)]
        found += [Path(folder) / name for name in names if _is_log(name)]
    return sorted(found)


def _unwrapped(record: dict) -> dict | Rejection:
    if isinstance(record.get("jsonPayload"), dict):
        # Cloud Logging moves a structured line's `time` into the entry's `timestamp`.
        record = {"time": record.get("timestamp"), **record["jsonPayload"]}
    if record.get("type") not in RECORD_TYPES:
        return Rejection(NOT_A_RECORD, f"JSON, but its type is {record.get('type')!r}, not prediction or feedback")
    return record


def read_log(path: Path, count: ReadCount) -> Iterator[dict]:
    """Each prediction and feedback record under `path`, oldest file first; every other line counted in `count`.

    Raises `InputError` for a missing path, or a log file that is not text (naming what it is).
    """
    for file in log_files(path):
        with open_text(str(file)) as source:
            for number, record in json_records(source):
                if not isinstance(record, Rejection):
                    record = _unwrapped(record)
                if isinstance(record, Rejection):
                    count.lose(f"{file}:{number}", record)
                    continue
                count.keep()
                yield record
