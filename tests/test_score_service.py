"""The scoring command gives a tweet the scores `POST /predict` answers, through a real `bentoml serve`.

The server is the session's (conftest.py: `bentoml serve` on the quick pipeline's
model); the command scores the same tweets from a CSV with that model folder,
batched as one service worker batches a request (sub-batches of `SUB_BATCH`,
`PARALLEL_BATCHES` at once on as many threads), so even bf16 gives the same numbers.
"""

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from tests.support.repo import REPO, call
from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.score import command
from tweet_sentiment.serving.limits import MAX_TWEETS_PER_REQUEST, PARALLEL_BATCHES, SUB_BATCH


def real_tweets(count: int) -> list[str]:
    lines = gzip.decompress((REPO / "data/external/tweeteval-sentiment/val_text.txt.gz").read_bytes()).decode()
    return [line for line in lines.splitlines() if line.strip()][:count]


@pytest.mark.slow
def test_the_command_scores_tweets_as_post_predict_does(service: tuple[str, Path], quick_model: Path, tmp_path: Path):
    server = service[0]
    tweets = real_tweets(MAX_TWEETS_PER_REQUEST)
    status, answered = call(f"{server}/predict", json.dumps({"tweets": tweets}).encode())
    assert status == 200 and len(answered) == len(tweets)

    pd.DataFrame({"text": tweets}).to_csv(tmp_path / "tweets.csv", index=False)
    batching = ["--chunk-size", str(len(tweets)), "--batch-size", str(SUB_BATCH)]
    batching += ["--parallel", str(PARALLEL_BATCHES), "--threads", str(PARALLEL_BATCHES)]
    args = [str(tmp_path / "tweets.csv"), "--out", str(tmp_path / "out"), "--model", str(quick_model), *batching]
    assert command.main(args) == command.EXIT_OK
    scored = pd.read_csv(tmp_path / "out/tweets.csv", keep_default_na=False)

    assert list(scored["text"]) == tweets
    assert list(scored["pred_label"]) == [result["pred_label"] for result in answered]
    assert list(scored["pred_id"]) == [result["pred_id"] for result in answered]
    assert list(scored["detected_lang"]) == [result["lang"] for result in answered]  # one detector, both outputs
    for label in LABELS:
        served = [result["scores"][label] for result in answered]
        assert scored[f"score_{label}"].tolist() == pytest.approx(served, abs=1e-6)
