"""A real `bentoml serve` of the repository's service for a test: started, waited for, stopped."""

import logging
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.repo import REPO, free_port, tool_env


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 90) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise AssertionError(f"server exited early:\n{process.stdout.read() if process.stdout else ''}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.25)
    raise AssertionError("server not ready in time")


def start_server(model_dir: Path | str, output=subprocess.PIPE, **env: str) -> tuple[subprocess.Popen, str]:
    """`bentoml serve` from the repository, serving `model_dir`.

    Its log goes to a pipe by default; a test sending more than a hundred or so
    requests must pass a file as `output`, or the unread pipe fills and blocks the server.
    """
    port = free_port()
    process = subprocess.Popen(
        ["bentoml", "serve", "service:TweetSentiment", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env=tool_env(TWEET_SENTIMENT_MODEL_DIR=str(model_dir), **env),
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    return process, f"http://127.0.0.1:{port}"


@contextmanager
def serving(model_dir: Path | str, log: Path, **env: str) -> Iterator[str]:
    """`bentoml serve` on `model_dir`, logging to the file `log`, ready: its URL; stopped on exit."""
    with log.open("w") as output:
        process, url = start_server(model_dir, output=output, **env)
        try:
            wait_ready(url, process)
            yield url
        finally:
            os.killpg(process.pid, 15)
            process.wait(timeout=30)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def metric_total(url: str, name: str) -> float:
    """The sum of every sample of the series `name` (all its labels) on the service's `/metrics`."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        lines = response.read().decode().splitlines()
    return sum(float(line.split()[-1]) for line in lines if line.split("{")[0].split(" ")[0] == name)
