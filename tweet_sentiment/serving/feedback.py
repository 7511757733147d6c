"""Feedback counted once per prediction: the label each request id got, across workers and restarts.

A client that retries `POST /feedback` after a timeout, or replays it, must not
be counted again (sourcegraph/sourcegraph-public-snapshot#43884): live accuracy,
and the training data harvested from feedback, would lean towards whoever sends
most. The first label for a request id is the one kept; the same label again is
a duplicate (answered, not logged or counted), another label a conflict (409).

Where the query log is a directory, the ledger is an SQLite file in it
(`feedback.sqlite`): every worker of every instance that writes that log, and a
restarted server, sees the same ledger (SQLite serialises writers across
processes). Logging to stdout (Cloud Run) or not at all, each worker remembers
the last `MEMORY_SIZE` ids itself; the harvest of the log de-duplicates again by
request id.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

LEDGER_FILE = "feedback.sqlite"
MEMORY_SIZE = 100_000  # request ids a worker remembers without a log directory (about 10 MB)
BUSY_TIMEOUT_S = 10.0  # how long a writer waits for another process's transaction


class FeedbackLedger:
    """The first label given for each request id."""

    def __init__(self, directory: Path | None) -> None:
        self._lock = threading.Lock()
        self._memory: OrderedDict[str, str] = OrderedDict()
        self._db: sqlite3.Connection | None = None
        if directory is not None:
            self._db = sqlite3.connect(directory / LEDGER_FILE, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
            with self._db:
                self._db.execute("CREATE TABLE IF NOT EXISTS feedback (request_id TEXT PRIMARY KEY, label TEXT)")

    @property
    def shared(self) -> bool:
        """Whether other workers and later runs see this ledger (a query-log directory), or only this worker."""
        return self._db is not None

    def record(self, request_id: str, label: str) -> str | None:
        """Keep `label` for `request_id` if it has none: None; else the label it already has."""
        with self._lock:
            if self._db is None:
                return self._remember(request_id, label)
            with self._db:
                added = self._db.execute(
                    "INSERT INTO feedback VALUES (?, ?) ON CONFLICT (request_id) DO NOTHING", (request_id, label)
                ).rowcount
                if added:
                    return None
                [earlier] = self._db.execute(
                    "SELECT label FROM feedback WHERE request_id = ?", (request_id,)
                ).fetchone()
                return earlier

    def _remember(self, request_id: str, label: str) -> str | None:
        earlier = self._memory.get(request_id)
        if earlier is None:
            self._memory[request_id] = label
            if len(self._memory) > MEMORY_SIZE:
                self._memory.popitem(last=False)
        return earlier

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
