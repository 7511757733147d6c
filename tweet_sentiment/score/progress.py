"""How far a run has got: a progress bar (tweets, tweets/s) on a terminal, a log line now and then otherwise."""

import logging
import sys
import time
from typing import TextIO

log = logging.getLogger("tweet_sentiment.score")


class Progress:
    """Counts rows as they are done; `update(n)` after each chunk, `close()` at the end.

    On a terminal (`stream.isatty()`) a tqdm bar on `stream`; elsewhere (a log
    file, CI) one INFO line every `interval_s` seconds.
    """

    def __init__(self, stream: TextIO | None = None, interval_s: float = 30.0) -> None:
        stream = stream or sys.stderr
        self.rows = 0
        self.started = self.logged = time.perf_counter()
        self.interval_s = interval_s
        self.bar = None
        if stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(desc="scoring", unit=" tweets", unit_scale=True, file=stream, dynamic_ncols=True)

    @property
    def rate(self) -> float:
        """Rows per second since the start."""
        return self.rows / max(time.perf_counter() - self.started, 1e-9)

    def update(self, rows: int) -> None:
        self.rows += rows
        if self.bar is not None:
            self.bar.update(rows)
        elif time.perf_counter() - self.logged >= self.interval_s:
            self.logged = time.perf_counter()
            log.info("%s tweets so far, %.0f tweets/s", f"{self.rows:,}", self.rate)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
