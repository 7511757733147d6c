"""One tweet from one client over HTTP: the lone path gives a batch's scores, and is counted and logged as any other.

A worker runs a request of one tweet on its calling thread, and OpenVINO runs it
on a copy of the model compiled for one stream on every thread while nothing else
runs (tweet_sentiment/serving/runtimes.py). Served here: the quick pipeline's
OpenVINO runtime, as `bentoml serve` serves `models/serving`.
"""

import json
import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.support.repo import call
from tests.support.server import serving
from tweet_sentiment.serving.runtimes import read_runtime

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served_openvino(quick_pipeline: Path, tmp_path_factory) -> Iterator[tuple[str, Path, list[str]]]:
    """`bentoml serve` on the quick pipeline's OpenVINO runtime with the query log on: URL, log dir, test tweets."""
    work = tmp_path_factory.mktemp("lone")
    model = shutil.copytree(quick_pipeline / "models/serving", work / "serving")
    assert read_runtime(model).engine == "openvino", "the quick pipeline no longer serves OpenVINO: pick a runtime"
    test = pd.read_csv(quick_pipeline / "data/prepared/test.csv", dtype=str, keep_default_na=False)
    with serving(model, work / "server.log", TWEET_SENTIMENT_QUERY_LOG=str(work / "query-log")) as url:
        yield url, work / "query-log", list(test["text"].sample(n=48, random_state=0))


def predictions_total(url: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        lines = response.read().decode().splitlines()
    return sum(float(line.split()[-1]) for line in lines if line.startswith("tweet_sentiment_predictions_total{"))


def test_a_lone_tweet_scores_as_in_a_batch_and_is_counted_and_logged(served_openvino):
    url, log_dir, tweets = served_openvino
    status, batched = call(f"{url}/predict", json.dumps({"tweets": tweets}).encode())
    assert status == 200
    before = predictions_total(url)
    lone = []
    for tweet in tweets:
        status, [result] = call(f"{url}/predict", json.dumps({"tweets": [tweet]}).encode())
        assert status == 200
        lone.append(result)
    # A lone tweet is scored as it is among 47 others: the same label, the same scores to 1e-6. (The
    # lone copy and the shared streams give the same logits bit for bit on the same input,
    # tests/test_runtimes.py; in a batch the input differs by its padding, which OpenVINO's kernels
    # are not promised to ignore to the last bit, though on the AVX512 EPYC measured they did.)
    assert [result["pred_label"] for result in lone] == [result["pred_label"] for result in batched]
    for alone, among_others in zip(lone, batched, strict=True):
        assert alone["scores"] == pytest.approx(among_others["scores"], abs=1e-6, rel=0)
    assert predictions_total(url) == before + len(tweets)
    records = [json.loads(line) for file in log_dir.glob("queries-*.jsonl") for line in file.read_text().splitlines()]
    logged = {record["request_id"]: record for record in records if record["type"] == "prediction"}
    for tweet, result in zip(tweets, lone, strict=True):
        record = logged[result["request_id"]]
        assert (record["text"], record["scores"], record["label"]) == (tweet, result["scores"], result["pred_label"])


def test_the_original_get_of_one_tweet_answers_as_post(served_openvino):
    url, _, tweets = served_openvino
    status, posted = call(f"{url}/predict", json.dumps({"tweets": tweets[:8]}).encode())
    assert status == 200
    for tweet, result in zip(tweets[:8], posted, strict=True):
        status, answer = call(f"{url}/predict/?tweet={urllib.parse.quote(tweet)}", method="GET")
        assert (status, answer) == (200, {"pred_id": str(result["pred_id"]), "pred_label": result["pred_label"]})
