"""Watching the deployed model, end to end: a real `bentoml serve` writes the query log,
feedback comes back over HTTP, and the drift command judges the real log."""

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sklearn.metrics import recall_score

from tests.support.repo import REPO, call, tool_env
from tests.support.server import metric_total, serving
from tweet_sentiment.serving.runtimes import model_version, read_runtime

pytestmark = pytest.mark.slow
WINDOW = 1000
REGISTRY_VERSION = "v0.4.0-rc.1"  # what deploy/deploy_cloudrun.sh sets from the registry: any SemVer


@pytest.fixture(scope="module")
def logged_server(quick_model: Path, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """`bentoml serve` with the query log on, and the log directory."""
    log_dir = tmp_path_factory.mktemp("query-log")
    server_log = log_dir.parent / "server.log"
    env = {
        "TWEET_SENTIMENT_QUERY_LOG": str(log_dir),
        "TWEET_SENTIMENT_REGISTRY_VERSION": REGISTRY_VERSION,
        "TWEET_SENTIMENT_UI": "0",  # the try-it page turned off (tests/test_page.py drives it where it is on)
    }
    with serving(quick_model, server_log, **env) as url:
        yield url, log_dir


def predict_all(url: str, tweets: list[str]) -> list[dict]:
    results = []
    for start in range(0, len(tweets), 50):
        status, body = call(f"{url}/predict", json.dumps({"tweets": tweets[start : start + 50]}).encode())
        assert status == 200, body
        results += body
    return results


def drift_report(quick_pipeline: Path, quick_model: Path, log_dir: Path, out: Path) -> tuple[int, dict]:
    command = [
        sys.executable,
        "-m",
        "tweet_sentiment.monitor.drift",
        str(log_dir),
        "--out",
        str(out),
        "--last",
        str(WINDOW),
    ]
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
    assert logged["registry_version"] == REGISTRY_VERSION
    assert logged["lang"] == result["lang"] == "en"


def test_the_service_says_what_it_serves_on_a_route_and_a_gauge(logged_server: tuple[str, Path], quick_model: Path):
    url, _ = logged_server
    with urllib.request.urlopen(f"{url}/version", timeout=30) as response:
        served = json.loads(response.read())
    runtime = read_runtime(quick_model).name  # a save_pretrained folder: served as a trace
    assert served == {
        "registry_version": REGISTRY_VERSION,
        "bento_version": "source",  # `bentoml serve service:TweetSentiment` from the repository
        "model_version": model_version(quick_model),
        "runtime": runtime,
    }
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        metrics = response.read().decode()
    [info] = [
        family for family in text_string_to_metric_families(metrics) if family.name == "tweet_sentiment_model_info"
    ]
    assert [(sample.labels, sample.value) for sample in info.samples] == [(served, 1.0)]


def feedback_total(url: str) -> float:
    return metric_total(url, "tweet_sentiment_feedback_total")


def test_replayed_feedback_is_counted_once_and_a_changed_label_is_a_409(logged_server: tuple[str, Path]):  # report 11
    url, log_dir = logged_server
    before = feedback_total(url)
    # The report's own script: the same feedback three times (a retrying client), then another label.
    script = REPO / "tests/public_reports/11-feedback-replay.sh"
    replay = subprocess.run(["bash", str(script)], env=tool_env(HOST=url), capture_output=True, text=True, timeout=120)
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout.splitlines()[:4] == ["200", "200", "200", "409"]
    assert "feedback counted: 1  (expected 1)" in replay.stdout
    assert feedback_total(url) == before + 1
    [result] = predict_all(url, ["what a match"])
    body = json.dumps({"request_id": result["request_id"].upper(), "label": "positive"}).encode()
    assert call(f"{url}/feedback", body)[1]["duplicate"] is False  # ids are read case-blind, so this is the first
    again = json.dumps({"request_id": result["request_id"], "label": "positive"}).encode()
    assert call(f"{url}/feedback", again)[1]["duplicate"] is True
    status, answer = call(
        f"{url}/feedback", json.dumps({"request_id": result["request_id"], "label": "negative"}).encode()
    )
    assert status == 409 and answer["error"].endswith(
        "already has the label 'positive'; one label per prediction is kept"
    )
    records = [json.loads(line) for file in log_dir.glob("queries-*.jsonl") for line in file.read_text().splitlines()]
    logged = [r for r in records if r["type"] == "feedback" and r["request_id"] == result["request_id"].upper()]
    assert len(logged) == 1  # the duplicate and the conflict are not logged


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


def test_feedback_by_text_carries_the_text_and_metrics_count_it(logged_server: tuple[str, Path]):
    url, log_dir = logged_server
    status, receipt = call(
        f"{url}/feedback", json.dumps({"tweet": "I hate this, worst day", "label": "negative"}).encode()
    )
    assert status == 200 and (receipt["predicted"], receipt["correct"]) == ("negative", True)
    records = [json.loads(line) for file in log_dir.glob("queries-*.jsonl") for line in file.read_text().splitlines()]
    assert any(r["type"] == "feedback" and r.get("text") == "I hate this, worst day" for r in records)
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


def logged_lines(log_dir: Path) -> int:
    return sum(len(file.read_text().splitlines()) for file in log_dir.glob("queries-*.jsonl"))


def test_explain_is_its_own_count_and_leaves_the_query_log_and_prediction_counters_alone(
    logged_server: tuple[str, Path],
):
    """Its one-word-out variants are not traffic: drift and live accuracy must not see them."""
    url, log_dir = logged_server
    tweet = "the service was awful and slow 😡"
    [predicted] = predict_all(url, [tweet])
    counters = ("tweet_sentiment_predictions_total", "tweet_sentiment_explanations_total")
    before = {name: metric_total(url, name) for name in counters}
    lines = logged_lines(log_dir)
    status, explanation = call(f"{url}/explain", json.dumps({"tweet": tweet}).encode())
    assert status == 200, explanation
    assert (explanation["pred_id"], explanation["lang"]) == (predicted["pred_id"], "en")
    # scored in one batch with its variants, so not bit for bit the lone /predict call's floats
    assert explanation["scores"] == pytest.approx(predicted["scores"], abs=1e-4)
    assert [word["word"] for word in explanation["words"]] == ["the", "service", "was", "awful", "and", "slow", "😡"]
    assert explanation["words"][-1]["reads_as"] == "enraged face"
    assert logged_lines(log_dir) == lines
    assert metric_total(url, "tweet_sentiment_predictions_total") == before["tweet_sentiment_predictions_total"]
    assert metric_total(url, "tweet_sentiment_explanations_total") == before["tweet_sentiment_explanations_total"] + 1


def test_explain_refuses_a_tweet_over_the_word_cap_with_the_limit(logged_server: tuple[str, Path]):
    url, _ = logged_server
    status, answer = call(f"{url}/explain", json.dumps({"tweet": " ".join(["so"] * 65)}).encode())
    assert status == 400 and "65 words" in answer["error"] and "at most 64" in answer["error"], answer
    status, answer = call(f"{url}/explain", json.dumps({"tweet": " ".join(["so"] * 64)}).encode())
    assert status == 200 and len(answer["words"]) == 64, answer


def test_the_page_can_be_turned_off(logged_server: tuple[str, Path]):
    url, _ = logged_server
    for path in ("/ui", "/ui/static/page.js"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{url}{path}", timeout=30)
        assert refused.value.code == 404
