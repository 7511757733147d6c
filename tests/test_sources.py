"""The `data.source` choices: embedded is tested in test_data; here the others."""

import re
import shutil
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from tweet_sentiment.core.params import load_params
from tweet_sentiment.data.cleaning import DataError
from tweet_sentiment.data.sources import _check_not_html, build_splits

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


def test_a_csv_url_is_refused_with_the_dvc_commands_that_fetch_and_watch_it():
    """Fetched by the stage, a URL was never fetched again (treeverse/dvc#10258); a GitHub blob page's
    URL gets the raw file's (public report 12). The commands are quoted for bash."""
    url = "https://github.com/someone/my tweets/blob/main/labelled.csv?x=1&y=2"
    with pytest.raises(DataError) as raised:
        build_splits(replace(DEFAULTS, source="csv", csv_path=url), EXTERNAL)
    raw = "https://raw.githubusercontent.com/someone/my tweets/main/labelled.csv?x=1&y=2"
    target = f"{EXTERNAL.as_posix()}/labelled.csv"
    assert str(raised.value).endswith(
        f"then run again with -S data.csv_path={target}: dvc import-url '{raw}' {target} && dvc unfreeze {target}.dvc"
    )


def test_a_web_page_saved_as_the_csv_is_refused_as_one(tmp_path: Path):  # report 12, through `dvc import-url`
    external = tmp_path / "external"
    shutil.copytree(EXTERNAL / "tweeteval-sentiment", external / "tweeteval-sentiment")
    csv = external / "labelled.csv"
    shutil.copy(REPO / "tests/public_reports/12-github-blob.html", csv)
    with pytest.raises(DataError, match=re.escape(f"{csv}: the file is a web page (HTML), not a data file; save the")):
        build_splits(replace(DEFAULTS, source="csv", csv_path=str(csv)), external)


def test_a_github_blob_page_gets_its_raw_url():
    with pytest.raises(DataError, match=re.escape("https://raw.githubusercontent.com/someone/tweets/main/a.csv")):
        _check_not_html("https://github.com/someone/tweets/blob/main/a.csv", "text/plain", b"\n <!DOCTYPE html><html>")
    _check_not_html("https://example.com/a.csv", "text/csv", b"text,label\n<b>hi</b>,positive\n")  # CSV: no error
