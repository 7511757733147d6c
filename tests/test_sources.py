"""The `data.source` choices: embedded is tested in test_data; here the others."""

import time
from dataclasses import replace
from pathlib import Path

import pytest

from tweet_sentiment.data import DataError
from tweet_sentiment.params import load_params
from tweet_sentiment.sources import build_splits

REPO = Path(__file__).resolve().parents[1]
EXTERNAL = REPO / "data" / "external"
DEFAULTS = load_params(REPO / "params.yaml").data


def test_tweeteval_download_fails_fast_and_clearly_offline():
    params = replace(DEFAULTS, source="tweeteval", tweeteval_url="http://127.0.0.1:9/tweeteval", timeout_s=5)
    started = time.perf_counter()
    with pytest.raises(DataError, match=r"could not download http://127.0.0.1:9/tweeteval/train_text.txt .*embedded"):
        build_splits(params, EXTERNAL)
    assert time.perf_counter() - started < 10


def test_users_csv_is_cleaned_and_scored_on_tweeteval(tmp_path: Path):
    csv = tmp_path / "mine.csv"
    csv.write_text('text,label\n"Loving the new album @artist https://t.co/x",positive\nmeh,1\n"worst day",negative\n')
    params = replace(DEFAULTS, source="csv", csv_path=str(csv))
    splits = build_splits(params, EXTERNAL)
    assert splits["train"]["text"].tolist() == ["Loving the new album @user http", "meh", "worst day"]
    assert splits["train"]["label"].tolist() == ["positive", "neutral", "negative"]
    assert len(splits["test"]) == 12284


def test_csv_source_without_a_path_says_what_to_set():
    with pytest.raises(DataError, match=r"data\.csv_path is empty"):
        build_splits(replace(DEFAULTS, source="csv", csv_path=None), EXTERNAL)
