"""The `data.source` choices: embedded is tested in test_data; here the others."""

import http.server
import re
import shutil
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tweet_sentiment.data import DataError
from tweet_sentiment.params import load_params
from tweet_sentiment.sources import _check_not_html, build_splits

REPO = Path(__file__).resolve().parents[1]
EXTERNAL = REPO / "data" / "external"
DEFAULTS = load_params(REPO / "params.yaml").data


def test_tweeteval_download_fails_at_once_and_clearly_when_unreachable(monkeypatch, closed_port: int):
    """Passes online and offline: the URL is a closed 127.0.0.1 port (no proxy in between).

    "At once": the first file's failure stops the stage; nothing is retried.
    """
    url = f"http://127.0.0.1:{closed_port}/tweeteval"
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    opened = []
    urlopen = urllib.request.urlopen

    def spy(target, *args, **kwargs):
        opened.append(target)
        return urlopen(target, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", spy)
    params = replace(DEFAULTS, source="tweeteval", tweeteval_url=url, timeout_s=5)
    with pytest.raises(DataError, match=rf"could not download {re.escape(url)}/train_text.txt .*embedded"):
        build_splits(params, EXTERNAL)
    assert opened == [f"{url}/train_text.txt"]


def test_users_csv_is_cleaned_and_scored_on_tweeteval(tmp_path: Path):
    external = tmp_path / "external"  # a stand-in for data/external/, where the CSV must live
    shutil.copytree(EXTERNAL / "tweeteval-sentiment", external / "tweeteval-sentiment")
    csv = external / "mine.csv"
    csv.write_text(
        'text,label\n"Loving the new album @artist https://t.co/x",positive\nmeh,Neutral\n"worst day",NEGATIVE\n'
    )
    params = replace(DEFAULTS, source="csv", csv_path=str(csv))
    splits, counts = build_splits(params, external)
    assert list(splits) == ["train", "val", "test"] and list(counts) == ["csv", "tweeteval_val", "tweeteval_test"]
    assert splits["train"]["text"].tolist() == ["Loving the new album @user http", "meh", "worst day"]
    assert splits["train"]["label"].tolist() == ["positive", "neutral", "negative"]
    assert len(splits["test"]) == 12284


def test_csv_source_without_a_path_says_what_to_set():
    with pytest.raises(DataError, match=r"data\.csv_path is empty"):
        build_splits(replace(DEFAULTS, source="csv", csv_path=None), EXTERNAL)


def test_csv_outside_the_tracked_folder_is_refused(tmp_path: Path):
    csv = tmp_path / "mine.csv"
    csv.write_text("text,label\nmeh,1\n")
    with pytest.raises(DataError, match=rf"data\.csv_path '{re.escape(str(csv))}' is outside"):
        build_splits(replace(DEFAULTS, source="csv", csv_path=str(csv)), EXTERNAL)


@pytest.fixture
def web_page(tmp_path: Path) -> Iterator[str]:
    """tests/public_reports/12-github-blob.html served on 127.0.0.1 as text/html, at a GitHub-like blob path."""
    page = (REPO / "tests/public_reports/12-github-blob.html").read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/someone/tweets/blob/main/labelled.csv"
    finally:
        server.shutdown()


def test_a_csv_url_that_answers_a_web_page_is_refused_before_training(web_page: str, monkeypatch):  # report 12
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    params = replace(DEFAULTS, source="csv", csv_path=web_page, timeout_s=5)
    message = f"{web_page} answered a web page (HTML), not a data file; use the URL of the file itself"
    with pytest.raises(DataError, match=re.escape(message)):
        build_splits(params, EXTERNAL)


def test_a_github_blob_page_gets_its_raw_url():
    with pytest.raises(DataError, match=re.escape("https://raw.githubusercontent.com/someone/tweets/main/a.csv")):
        _check_not_html("https://github.com/someone/tweets/blob/main/a.csv", "text/plain", b"\n <!DOCTYPE html><html>")
    _check_not_html("https://example.com/a.csv", "text/csv", b"text,label\n<b>hi</b>,positive\n")  # CSV: no error
