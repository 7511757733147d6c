"""What clients that send the wrong thing get from a real `bentoml serve`: 4xx in one shape, never 5xx.

Inputs drawn from public bug reports against BentoML, FastAPI and Hugging Face
services (issue 20): malformed multipart and form bodies, truncated JSON, a
wrong charset, bodies far over any real request, HEAD on the prediction route.
The guards' fallbacks, for a BentoML whose internals differ, are checked without a server.
"""

import asyncio
import http.client
import json
import logging
import socket
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import pytest
from bentoml.exceptions import BadInput, NotFound, ServiceUnavailable
from pydantic import TypeAdapter, ValidationError

from tests.support.server import Records
from tweet_sentiment.serving import bentoml_hooks
from tweet_sentiment.serving.limits import MAX_BODY_BYTES, logger

JSON = "application/json"
BOUNDARY = "tweetboundary"
PREDICT_HINT = 'send a UTF-8 JSON object with Content-Type: application/json, e.g. {"tweets": ["..."]}'
FEEDBACK_HINT = (
    'send a UTF-8 JSON object with Content-Type: application/json, e.g. {"request_id": "...", "label": "positive"}'
)
TOO_LARGE = (
    f"request body over the limit of {MAX_BODY_BYTES} bytes: "
    "send at most 64 tweets of at most 2000 characters per request"
)


def multipart(name: str, content: bytes, filename: str | None = None) -> tuple[str, bytes]:
    """A well-formed multipart/form-data body with one part (a file part with `filename`)."""
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
    return f"multipart/form-data; boundary={BOUNDARY}", head + content + f"\r\n--{BOUNDARY}--\r\n".encode()


def unreadable(media_type: str, reason: str, hint: str = PREDICT_HINT) -> str:
    return f"cannot read the request body as {media_type} ({reason}); {hint}"


def json_error(reason: str, hint: str = PREDICT_HINT) -> str:
    return f"body: Invalid JSON: {reason}; {hint}"


class Case(NamedTuple):
    method: str
    path: str
    content_type: str
    body: bytes
    status: int
    error: str  # the answer's `error`, exactly
    detail: bool = False  # whether pydantic's `detail` comes with it


NO_GET_BODY = "GET /predict takes no body; send the tweet as ?tweet=..., or use POST /predict with JSON"
MULTIPART = "multipart/form-data"
CASES = {
    "multipart without boundary": Case(
        "POST", "/predict", MULTIPART, b"", 400, unreadable(MULTIPART, "Missing boundary in multipart.")
    ),
    "multipart, body not multipart": Case(
        "POST", "/predict", f"{MULTIPART}; boundary=b", b"x", 400, unreadable(MULTIPART, "Invalid multipart data.")
    ),
    "feedback multipart without boundary": Case(
        "POST", "/feedback", MULTIPART, b"", 400, unreadable(MULTIPART, "Missing boundary in multipart.", FEEDBACK_HINT)
    ),
    "feedback multipart, body not multipart": Case(
        "POST",
        "/feedback",
        f"{MULTIPART}; boundary=b",
        b"x",
        400,
        unreadable(MULTIPART, "Invalid multipart data.", FEEDBACK_HINT),
    ),
    "multipart file part not UTF-8": Case(
        "POST",
        "/predict",
        *multipart("tweets", b"\xff", filename="tweets.json"),
        400,
        unreadable(
            MULTIPART, "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
        ),
    ),
    "multipart field nested 200,000 deep": Case(
        "POST",
        "/predict",
        *multipart("tweets", b"[" * 200_000),
        400,
        unreadable(
            MULTIPART,
            "RecursionError: maximum recursion depth exceeded while decoding a JSON array from a unicode string",
        ),
    ),
    "form field not a list": Case(
        "POST",
        "/predict",
        "application/x-www-form-urlencoded",
        b"tweets=%FF",
        400,
        "tweets: Input should be a valid list",
        detail=True,
    ),
    "truncated JSON": Case(
        "POST",
        "/predict",
        JSON,
        b'{"tweets": ["hi"',
        400,
        json_error("EOF while parsing a list at line 1 column 16"),
        True,
    ),
    "feedback truncated JSON": Case(
        "POST",
        "/feedback",
        JSON,
        b'{"label": "neutral"',
        400,
        json_error("EOF while parsing an object at line 1 column 19", FEEDBACK_HINT),
        detail=True,
    ),
    "latin-1 charset, latin-1 bytes": Case(
        "POST",
        "/predict",
        f"{JSON}; charset=latin-1",
        b'{"tweets": ["caf\xe9"]}',
        400,
        json_error("invalid unicode code point at line 1 column 17"),
        detail=True,
    ),
    "invalid UTF-8": Case(
        "POST",
        "/predict",
        JSON,
        b'{"tweets": ["\xff\xfe"]}',
        400,
        json_error("invalid unicode code point at line 1 column 14"),
        detail=True,
    ),
    "pickle": Case(
        "POST",
        "/predict",
        "application/vnd.bentoml+pickle",
        b"x",
        415,
        "application/vnd.bentoml+pickle is not allowed in main server",
    ),
    "GET with a multipart body": Case("GET", "/predict?tweet=hi", f"{MULTIPART}; boundary=b", b"x", 400, NO_GET_BODY),
    "GET with truncated JSON": Case("GET", "/predict/?tweet=hi", JSON, b'{"tweet": "hi"', 400, NO_GET_BODY),
    "feedback without request_id or tweet": Case(
        "POST",
        "/feedback",
        JSON,
        b'{"label": "neutral"}',
        400,
        "send either `request_id` (from POST /predict) or `tweet`, with `label`",
    ),
    "feedback with an unknown request_id": Case(
        "POST",
        "/feedback",
        JSON,
        b'{"label": "neutral", "request_id": "zzz"}',
        404,
        "unknown request_id 'zzz': not one this service issued",
    ),
    "feedback with an unknown label": Case(
        "POST",
        "/feedback",
        JSON,
        b'{"label": "meh", "tweet": "hi"}',
        400,
        "label: Input should be 'negative', 'neutral' or 'positive'",
        detail=True,
    ),
    "PUT": Case("PUT", "/predict", JSON, b"{}", 405, "PUT /predict is not allowed; /predict takes POST"),
    "unknown path": Case(
        "GET",
        "/predictions",
        JSON,
        b"",
        404,
        "no route GET /predictions; the service answers "
        "POST /predict, GET /predict?tweet=..., POST /feedback, GET /healthz, /readyz, /metrics",
    ),
}


def request(url: str, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> http.client.HTTPResponse:
    """One request over a new connection, exactly these headers and body (no defaults added but Host)."""
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    connection.request(method, path, body=body, headers={**headers, "Content-Length": str(len(body))})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


def send(url: str, case: Case) -> tuple[int, dict]:
    response = request(url, case.method, case.path, {"Content-Type": case.content_type}, case.body)
    assert response.getheader("Content-Type") == JSON, response.getheaders()
    return response.status, json.loads(response.body)


def raw_response(url: str, head: bytes, chunks: Iterable[bytes] = ()) -> http.client.HTTPResponse:
    """Send `head` and `chunks` on a socket, then read the answer: a server still waiting for more times out."""
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(head)
        for chunk in chunks:
            sock.sendall(chunk)
        response = http.client.HTTPResponse(sock)
        response.begin()
        response.body = response.read()
        return response


def scrape(url: str) -> str:
    response = request(url, "GET", "/metrics", {})
    assert response.status == 200
    return response.body.decode()


def sample(metrics: str, prefix: str, contains: str = "") -> float:
    lines = [line for line in metrics.splitlines() if line.startswith(prefix) and contains in line]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


def server_errors(url: str) -> float:
    return sample(scrape(url), "bentoml_service_request_total{", 'http_response_code="5')


@pytest.fixture
def served(service: tuple[str, Path]) -> tuple[str, Path]:
    """The session's `bentoml serve` on the quick model (conftest.py): its URL and log."""
    return service


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_request_is_a_4xx_with_one_error_object(served: tuple[str, Path], case: str):
    url, _ = served
    status, answer = send(url, CASES[case])
    assert (status, answer["error"]) == (CASES[case].status, CASES[case].error)
    assert set(answer) == ({"error", "detail"} if CASES[case].detail else {"error"})


@pytest.mark.slow
def test_the_original_missing_tweet_answer_keeps_fastapis_body(served: tuple[str, Path]):
    url, _ = served
    response = request(url, "GET", "/predict", {})
    missing = {"detail": [{"type": "missing", "loc": ["query", "tweet"], "msg": "Field required", "input": None}]}
    assert (response.status, json.loads(response.body)) == (422, missing)


@pytest.mark.slow
def test_a_well_formed_form_still_predicts(served: tuple[str, Path]):
    url, _ = served
    content_type, body = multipart("tweets", b'["I love this so much"]')
    response = request(url, "POST", "/predict", {"Content-Type": content_type}, body)
    [result] = json.loads(response.body)
    assert (response.status, result["pred_label"]) == (200, "positive")


@pytest.mark.slow
def test_a_declared_body_over_the_limit_is_413_before_it_is_sent(served: tuple[str, Path]):
    """Only the head goes out: a server that waited for the body would time out here."""
    url, _ = served
    head = f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: {JSON}\r\nContent-Length: {30 * 2**20}\r\n\r\n"
    response = raw_response(url, head.encode())
    assert (response.status, json.loads(response.body)) == (413, {"error": TOO_LARGE})


@pytest.mark.slow
def test_a_chunked_body_is_413_as_soon_as_it_runs_past_the_limit(served: tuple[str, Path]):
    """One tweet, then whitespace: the body never ends, the answer comes once the limit is passed."""
    url, _ = served
    head = f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: {JSON}\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b" " * 2**16
    chunks = [b'{"tweets": ["hi"]'] + [chunk] * (MAX_BODY_BYTES // len(chunk) + 1)
    response = raw_response(url, head.encode(), (b"%x\r\n%s\r\n" % (len(c), c) for c in chunks))
    assert (response.status, json.loads(response.body)) == (413, {"error": TOO_LARGE})


@pytest.mark.slow
def test_the_largest_valid_request_is_under_the_limit(served: tuple[str, Path]):
    """64 tweets of 2,000 characters that JSON escapes as `\\u00e9`: 768,268 bytes, answered."""
    url, _ = served
    body = json.dumps({"tweets": ["\u00e9" * 2000] * 64}).encode()
    assert len(body) == 768_268 < MAX_BODY_BYTES
    response = request(url, "POST", "/predict", {"Content-Type": JSON}, body)
    assert (response.status, len(json.loads(response.body))) == (200, 64)


@pytest.mark.slow
@pytest.mark.parametrize(("path", "allow"), [("/predict", "GET, POST"), ("/predict/", "GET")])
def test_head_is_405_and_runs_no_prediction(served: tuple[str, Path], path: str, allow: str):
    url, _ = served
    predictions = sample(scrape(url), "tweet_sentiment_predictions_total")
    response = request(url, "HEAD", f"{path}?tweet=I%20love%20this", {})
    assert (response.status, response.getheader("Allow"), response.body) == (405, allow, b"")
    assert response.getheader("Content-Type") == JSON
    assert sample(scrape(url), "tweet_sentiment_predictions_total") == predictions
    assert request(url, "GET", f"{path}?tweet=I%20love%20this", {}).status == 200
    assert sample(scrape(url), "tweet_sentiment_predictions_total") == predictions + 1  # the counter does count


def log_lines(log: Path, marker: str, timeout: float = 10) -> list[str]:
    """The server log's lines holding `marker`, once there are any (workers log through a pipe)."""
    deadline = time.monotonic() + timeout
    while not (lines := [line for line in log.read_text().splitlines() if marker in line]):
        assert time.monotonic() < deadline, f"no log line with {marker!r}"
        time.sleep(0.2)
    return lines


@pytest.mark.slow
def test_a_client_error_is_one_warning_line_without_traceback(served: tuple[str, Path]):
    url, log = served
    request_id = uuid.uuid4().hex
    body = json.dumps({"label": "neutral", "request_id": request_id}).encode()
    response = request(url, "POST", "/feedback", {"Content-Type": JSON, "X-Request-ID": "client-7"}, body)
    assert response.status == 404
    [line] = log_lines(log, request_id)
    reason = f"unknown request_id {request_id!r}: not one this service issued"
    assert "[WARNING] [entry_service:TweetSentiment:" in line
    assert f"client error POST /feedback -> 404: {reason} (X-Request-ID 'client-7')" in line
    assert "Traceback" not in log.read_text()


@pytest.mark.slow
def test_no_bad_request_counts_as_a_server_error_or_logs_a_traceback(served: tuple[str, Path]):
    """What would fire TweetSentimentHighErrorRate: BentoML's 5xx count, which every case above must leave at 0."""
    url, log = served
    for case in CASES.values():
        send(url, case)
    head = f"POST /feedback HTTP/1.1\r\nHost: x\r\nContent-Length: {2 * MAX_BODY_BYTES}\r\n\r\n"
    assert raw_response(url, head.encode()).status == 413
    assert server_errors(url) == 0
    assert sample(scrape(url), "bentoml_service_request_total{", 'http_response_code="4') >= len(CASES)
    text = log.read_text()
    assert "Traceback" not in text and "[ERROR]" not in text


@pytest.fixture
def serving_log() -> Iterator[Records]:
    handler = Records()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def invalid() -> ValidationError:
    try:
        TypeAdapter(int).validate_python("x")
    except ValidationError as error:
        return error
    raise AssertionError("pydantic took 'x' for an int")


def raised_while_parsing() -> ValidationError:
    """A validation error raised through the guard, as BentoML's parsing of a bad body raises it."""

    async def parse(request: object, serde: object) -> None:
        raise invalid()

    with pytest.raises(ValidationError) as raised:
        asyncio.run(bentoml_hooks.parse_body(parse, None, None))
    return raised.value


def record_of(error: BaseException) -> logging.LogRecord:
    """BentoML's log record of `error`, as `log_exception` writes it inside its `except`."""
    try:
        raise error
    except BaseException:
        return logging.LogRecord(
            "bentoml._internal.server.http_app", logging.ERROR, __file__, 1, "x", (), sys.exc_info()
        )


def test_only_client_errors_lose_bentomls_traceback():
    keep = bentoml_hooks.ClientErrorTracebacks().filter
    assert [keep(record_of(e)) for e in (BadInput("x"), NotFound("x"), raised_while_parsing())] == [False] * 3
    # Server errors: those BentoML answers 5xx, and a validation error raised outside parsing (a bug of the service).
    assert [keep(record_of(e)) for e in (ServiceUnavailable("x"), RuntimeError("x"), invalid())] == [True] * 3


def test_body_parsing_guard_warns_and_keeps_bentoml_as_is_when_its_internals_change(serving_log):
    class ChangedService:  # a later BentoML whose services keep their APIs elsewhere
        pass

    assert bentoml_hooks.guard_body_parsing(ChangedService()) is False
    [record] = serving_log.records
    assert record.levelno == logging.WARNING and "not guarding request parsing" in record.getMessage()


def test_the_service_guards_each_apis_parsing_once():
    import service

    specs = [method.input_spec for method in service.TweetSentiment.apis.values()]
    parsers = [spec.from_http_request for spec in specs]
    assert len(specs) == 3 and all(getattr(parse, "guarded", False) for parse in parsers)  # at import
    assert bentoml_hooks.guard_body_parsing(service.TweetSentiment) is True
    assert [spec.from_http_request.__func__ for spec in specs] == [parse.__func__ for parse in parsers]


def test_traceback_filter_warns_and_keeps_bentoml_as_is_when_its_internals_change(serving_log, monkeypatch):
    from bentoml._internal.server import http_app

    monkeypatch.delattr(http_app, "log_exception")  # a later BentoML that logs its exceptions elsewhere
    assert bentoml_hooks.quiet_client_error_tracebacks() is False
    [record] = serving_log.records
    assert "keeping bentoml's tracebacks for client errors" in record.getMessage()
