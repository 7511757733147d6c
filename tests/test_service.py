"""The BentoML service: called directly, and over HTTP from a real `bentoml serve`."""

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, call, free_port, tool_env
from tweet_sentiment.labels import LABELS
from tweet_sentiment.serving import MAX_TWEET_CHARS, MAX_TWEETS_PER_REQUEST

CLEAR_CASES = {
    "I love this so much, best day ever! :)": "positive",
    "This is wonderful news, congratulations to everyone!": "positive",
    "I hate this, worst service ever. Never again.": "negative",
    "So angry and disappointed with this terrible phone": "negative",
}


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 90) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise AssertionError(f"server exited early:\n{process.stdout.read()}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.25)
    raise AssertionError("server not ready in time")


@pytest.fixture(scope="module")
def server(quick_model: Path) -> Iterator[str]:
    """`bentoml serve` from the repository, serving the quick pipeline's model."""
    port = free_port()
    process = subprocess.Popen(
        ["bentoml", "serve", "service:TweetSentiment", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env=tool_env(TWEET_SENTIMENT_MODEL_DIR=str(quick_model)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        yield url
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)


@pytest.mark.slow
def test_service_class_called_directly(quick_model: Path, monkeypatch):
    monkeypatch.setenv("TWEET_SENTIMENT_MODEL_DIR", str(quick_model))
    import importlib

    import service

    importlib.reload(service)  # picks up the model dir from the environment
    svc = service.TweetSentiment.inner()
    results = svc.predict(list(CLEAR_CASES))
    assert [r.pred_label for r in results] == list(CLEAR_CASES.values())


@pytest.mark.slow
def test_predict_answers_real_tweets_in_order(server: str):
    status, results = call(f"{server}/predict", json.dumps({"tweets": list(CLEAR_CASES)}).encode())
    assert status == 200
    assert [r["pred_label"] for r in results] == list(CLEAR_CASES.values())
    for result in results:
        assert set(result["scores"]) == set(LABELS)
        assert abs(sum(result["scores"].values()) - 1) < 1e-4
        assert LABELS[result["pred_id"]] == result["pred_label"]


@pytest.mark.slow
def test_original_get_contract(server: str):
    status, result = call(f"{server}/predict/?tweet=I%20love%20this%20so%20much", method="GET")
    assert status == 200 and result == {"pred_id": "2", "pred_label": "positive"}
    status, result = call(f"{server}/predict/?tweet=%20", method="GET")
    assert status == 400 and "tweet" in result["error"]


BAD_REQUESTS = {
    "empty tweet": (b'{"tweets": [""]}', "empty or whitespace"),
    "whitespace tweet": (b'{"tweets": ["   \\n"]}', "empty or whitespace"),
    "non-string": (b'{"tweets": [42]}', "valid string"),
    "missing field": (b'{"tweet": ["hi"]}', "Field required"),
    "malformed JSON": (b'{"tweets": ["hi"', "Invalid JSON"),
    "invalid UTF-8": (b'{"tweets": ["\xff\xfe"]}', "Invalid JSON"),
    "too long": (json.dumps({"tweets": ["a" * (MAX_TWEET_CHARS + 1)]}).encode(), f"at most {MAX_TWEET_CHARS}"),
    "too many": (json.dumps({"tweets": ["a"] * (MAX_TWEETS_PER_REQUEST + 1)}).encode(), "at most 64 items"),
    "no tweets": (b'{"tweets": []}', "at least 1 item"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_input_is_a_4xx_with_a_reason_and_the_server_keeps_serving(server: str, case: str):
    body, reason = BAD_REQUESTS[case]
    status, answer = call(f"{server}/predict", body)
    assert 400 <= status < 500, (status, answer)
    assert reason in json.dumps(answer)
    status, _ = call(f"{server}/predict", b'{"tweets": ["still here?"]}')
    assert status == 200


@pytest.mark.slow
def test_health_and_metrics_count_requests_and_labels(server: str):
    for path in ("/healthz", "/readyz"):
        with urllib.request.urlopen(f"{server}{path}", timeout=10) as response:
            assert response.status == 200

    def scrape() -> str:
        with urllib.request.urlopen(f"{server}/metrics", timeout=10) as response:
            return response.read().decode()

    def sample(text: str, prefix: str) -> float:
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))

    before = scrape()
    call(f"{server}/predict", json.dumps({"tweets": list(CLEAR_CASES)}).encode())
    after = scrape()
    requests = 'bentoml_service_request_total{endpoint="/predict"'
    assert sample(after, requests) >= sample(before, requests) + 1
    assert sample(after, "tweet_sentiment_predictions_total") == sample(before, "tweet_sentiment_predictions_total") + 4
    assert sample(after, "tweet_sentiment_input_chars_count") == sample(before, "tweet_sentiment_input_chars_count") + 4
