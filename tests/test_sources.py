"""The `data.source` choices: embedded is tested in test_data; here the others."""

import re
import shutil
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from tweet_sentiment.data import DataError
from tweet_sentiment.params import load_params
from tweet_sentiment.sources import build_splits

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
