"""A URL source the DVC way: `download` refuses a URL with the commands that import and watch it; pasted,
they make each `dvc repro download` fetch the file again when the server says it changed, and only then.

The server runs on 127.0.0.1 in two kinds: Python's `http.server`, which sends Last-Modified and no
ETag, and one that sends an ETag and no Last-Modified (treeverse/dvc#10258, #9913; public report 13).
"""

import hashlib
import http.server
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.support.repo import REPO, clone_repo, run, set_params

pytestmark = pytest.mark.slow

VERSIONS = REPO / "tests/public_reports_2/13-url-source"


class ETagOnly(http.server.SimpleHTTPRequestHandler):
    """Serves files with an ETag (the content's MD5) and without Last-Modified."""

    def send_header(self, keyword: str, value: str) -> None:
        if keyword == "Last-Modified":
            path = Path(self.translate_path(self.path))
            super().send_header("ETag", f'"{hashlib.md5(path.read_bytes()).hexdigest()}"')
            return
        super().send_header(keyword, value)

    def log_message(self, *args) -> None:
        pass


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(params=["last-modified, no etag", "etag, no last-modified"])
def served(request, tmp_path: Path) -> Iterator[tuple[str, Path, str]]:
    """(URL of tweets.csv, the file the server reads, which headers it sends)."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = Quiet if request.param.startswith("last") else ETagOnly
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/tweets.csv", folder / "tweets.csv", request.param
    finally:
        server.shutdown()


def repro_download(repo: Path) -> subprocess.CompletedProcess:
    return run(["dvc", "repro", "download"], cwd=repo, check=False, timeout=600, no_proxy="127.0.0.1")


def train_rows(repo: Path) -> int:
    return json.loads((repo / "metrics/data.json").read_text())["train"]["rows"]


def test_a_url_source_is_fetched_again_when_it_changes_and_only_then(served, tmp_path: Path):
    url, served_file, _ = served
    served_file.write_bytes((VERSIONS / "v1.csv").read_bytes())
    repo = clone_repo(tmp_path / "repo")
    set_params(repo, **{"data.source": "csv", "data.csv_path": url})

    refused = repro_download(repo)
    assert refused.returncode != 0
    match = re.search(r"then run again with -S (\S+): (dvc import-url .*)$", refused.stderr, re.MULTILINE)
    assert match, refused.stderr
    csv_path, commands = match[1].removeprefix("data.csv_path="), match[2]
    assert csv_path == "data/external/tweets.csv"
    run(["bash", "-c", commands], cwd=repo, no_proxy="127.0.0.1")  # pasted as printed
    set_params(repo, **{"data.csv_path": csv_path})
    first = repro_download(repo)
    assert first.returncode == 0, first.stderr
    assert train_rows(repo) == 3

    served_file.write_bytes((VERSIONS / "v2.csv").read_bytes())  # the same URL now has 9 rows
    second = repro_download(repo)
    assert second.returncode == 0, second.stderr
    assert "Running stage 'download'" in second.stdout
    assert train_rows(repo) == 9
    lock = (repo / "dvc.lock").read_text()

    third = repro_download(repo)
    assert third.returncode == 0, third.stderr
    assert "Running stage" not in third.stdout, third.stdout
    assert (repo / "dvc.lock").read_text() == lock
