"""Watching the deployed model, end to end: a real `bentoml serve` writes the query log,
feedback comes back over HTTP, and the drift command judges the real log."""

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import recall_score

from tests.conftest import REPO, call, tool_env
from tests.test_service import serving

pytestmark = pytest.mark.slow
WINDOW = 1000


@pytest.fixture(scope="module")
def logged_server(quick_model: Path, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """`bentoml serve` with the query log on, and the log directory."""
    log_dir = tmp_path_factory.mktemp("query-log")
    server_log = log_dir.parent / "server.log"
    with serving(quick_model, server_log, TWEET_SENTIMENT_QUERY_LOG=str(log_dir)) as url:
        yield url, log_dir


def predict_all(url: str, tweets: list[str]) -> list[dict]:
    results = []
    for start in range(0, len(tweets), 50):
        status, body = call(f"{url}/predict", json.dumps({"tweets": tweets[start : start + 50]}).encode())
        assert status == 200, body
        results += body
    return results


def drift_report(quick_pipeline: Path, quick_model: Path, log_dir: Path, out: Path) -> tuple[int, dict]:
    command = [sys.executable, "-m", "tweet_sentiment.drift", str(log_dir), "--out", str(out), "--last", str(WINDOW)]
    command += ["--reference", str(quick_pipeline / "models/drift_reference.npz"), "--model-dir", str(quick_model)]
    result = subprocess.run(command, cwd=REPO, env=tool_env(), capture_output=True, text=True, timeout=600)
    assert (out / "drift.json").exists(), result.stderr
    return result.returncode, json.loads((out / "drift.json").read_text())


def split(quick_pipeline: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(quick_pipeline / f"data/prepared/{name}.csv", dtype=str, keep_default_na=False)


def test_served_traffic_is_logged_scored_by_feedback_and_judged_for_drift(
    logged_server: tuple[str, Path], quick_pipeline: Path, quick_model: Path, tmp_path: Path
):
    url, log_dir = logged_server
    val = split(quick_pipeline, "val").head(WINDOW)
    results = predict_all(url, list(val["text"]))

    labelled = list(zip(results[:200], val["label"][:200], strict=True))
    for result, label in labelled:
        status, receipt = call(
            f"{url}/feedback", json.dumps({"request_id": result["request_id"], "label": label}).encode()
        )
        assert status == 200 and receipt["predicted"] == result["pred_label"] and receipt["logged"] is True

    status, report = drift_report(quick_pipeline, quick_model, log_dir, tmp_path / "in-distribution")
    assert (status, report["drift_detected"], report["predictions"]) == (0, False, WINDOW)
    assert set(report["checks"]) >= {"prediction_drift", "confidence_drift", "embedding_drift", "length_drift"}
    truth, predicted = [label for _, label in labelled], [result["pred_label"] for result, _ in labelled]
    assert report["live_accuracy"]["labelled"] == 200
    assert report["live_accuracy"]["macro_recall"] == round(recall_score(truth, predicted, average="macro"), 4)
    assert "No drift detected" in (tmp_path / "in-distribution" / "report.html").read_text()

    test = split(quick_pipeline, "test")
    predict_all(url, list(test[test["label"] == "negative"]["text"].head(WINDOW)))  # a one-sided stream
    status, report = drift_report(quick_pipeline, quick_model, log_dir, tmp_path / "one-sided")
    assert (status, report["drift_detected"]) == (1, True)
    assert report["checks"]["prediction_drift"]["drift"] is True
    assert "Drift detected" in (tmp_path / "one-sided" / "report.html").read_text()


def test_every_logged_line_is_a_complete_record(logged_server: tuple[str, Path]):
    url, log_dir = logged_server
    [result] = predict_all(url, ["just landed, sunny and warm"])
    call(f"{url}/feedback", json.dumps({"request_id": result["request_id"], "label": "positive"}).encode())
    records = [json.loads(line) for file in log_dir.glob("queries-*.jsonl") for line in file.read_text().splitlines()]
    [logged] = [r for r in records if r["request_id"] == result["request_id"] and r["type"] == "prediction"]
    assert logged["text"] == "just landed, sunny and warm" and logged["scores"] == result["scores"]
    assert logged["label"] == result["pred_label"] and logged["latency_ms"] > 0 and len(logged["model_version"]) == 12


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"request_id": "0123456789abcdef1deadbeef", "label": "positive"}, 404, "unknown request_id"),
        ({"request_id": "nope", "label": "positive"}, 404, "unknown request_id"),
        ({"tweet": "great match", "label": "happy"}, 400, "negative', 'neutral' or 'positive"),
        ({"label": "positive"}, 400, "either `request_id`"),
        ({"tweet": "great", "request_id": "x", "label": "positive"}, 400, "either `request_id`"),
        ({"tweet": "   ", "label": "positive"}, 400, "empty"),
    ],
)
def test_bad_feedback_is_a_4xx_with_a_reason(logged_server: tuple[str, Path], body: dict, status: int, reason: str):
    url, _ = logged_server
    got, answer = call(f"{url}/feedback", json.dumps(body).encode())
    assert got == status and reason in json.dumps(answer)


def test_feedback_by_text_and_metrics_count_it(logged_server: tuple[str, Path]):
    url, _ = logged_server
    status, receipt = call(
        f"{url}/feedback", json.dumps({"tweet": "I hate this, worst day", "label": "negative"}).encode()
    )
    assert status == 200 and (receipt["predicted"], receipt["correct"]) == ("negative", True)
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        metrics = response.read().decode()
    assert 'tweet_sentiment_feedback_total{label="negative",predicted="negative"}' in metrics
    shares = [line for line in metrics.splitlines() if line.startswith("tweet_sentiment_predicted_label_share{")]
    assert len(shares) == 3 and abs(sum(float(line.split()[-1]) for line in shares) - 1) < 1e-6


def test_the_original_get_endpoint_hands_out_a_request_id_for_feedback(logged_server: tuple[str, Path]):
    url, _ = logged_server
    with urllib.request.urlopen(f"{url}/predict?tweet=so%20happy%20today", timeout=30) as response:
        body, request_id = json.loads(response.read()), response.headers["X-Request-ID"]
    assert set(body) == {"pred_id", "pred_label"}  # the original contract, unchanged
    status, receipt = call(f"{url}/feedback", json.dumps({"request_id": request_id, "label": "positive"}).encode())
    assert status == 200 and receipt["predicted"] == body["pred_label"]
