"""The service's HTTP edge: a request-body limit, one error shape, client errors logged as one line.

- `RequestGuard`, an ASGI middleware around every route (BentoML's APIs and the
  mounted `GET /predict`): refuses a body over the limit with a 413 before
  anything parses it, rewrites each error answer into one JSON object
  `{"error": "<what was wrong and how to fix it>", ...}` and logs each 4xx as one
  WARNING line.
- `guard_body_parsing`: a body BentoML cannot parse (malformed multipart or form
  data, a form field that is not UTF-8, ...) is the client's error, a 400, where
  BentoML 1.4 answers 500 and counts it as a server error.
- `quiet_client_error_tracebacks`: BentoML logs an ERROR traceback for each
  exception it answers, 4xx included; those go, `RequestGuard`'s line says it all.
  Server errors keep their traceback.

The last two rely on private parts of BentoML 1.4 (see `check_bentoml_version`);
where those differ they warn and leave BentoML as it is, never crash.
"""

import json
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from bentoml.exceptions import BadInput, BentoMLException
from pydantic import ValidationError
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tweet_sentiment.serving.requests import MAX_TWEET_CHARS, MAX_TWEETS_PER_REQUEST, logger

ROUTES = "POST /predict, GET /predict?tweet=..., POST /feedback, GET /healthz, /readyz, /metrics"
EXAMPLES = {"/feedback": '{"request_id": "...", "label": "positive"}'}  # a JSON body each API takes
EXAMPLE = '{"tweets": ["..."]}'  # POST /predict's, and the one to name elsewhere
MAX_REASONS = 3  # pydantic errors listed in one `error` line; all stay in `detail`


class BodyTooLarge(Exception):
    """The request body runs past the limit."""


class ClientGone(Exception):
    """The client disconnected before it sent the whole body."""


class RequestGuard:
    """ASGI middleware: body limit first, then the app, with its error answers in the service's shape."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = shape_errors(scope, send)
        try:
            body = await read_body(scope, receive, self.max_body_bytes)
        except BodyTooLarge:
            await send_error(send, 413, too_large(self.max_body_bytes))
            return
        except ClientGone:
            return
        await self.app(scope, replay(body, receive), send)


def too_large(limit: int) -> str:
    return (
        f"request body over the limit of {limit} bytes: send at most {MAX_TWEETS_PER_REQUEST} tweets "
        f"of at most {MAX_TWEET_CHARS} characters per request"
    )


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body, read before anything parses it; `BodyTooLarge` as soon as it is declared or runs past `limit`.

    A declared `Content-Length` over the limit is refused unread; a chunked body
    is refused at the first chunk past it, so at most `limit` bytes are held.
    """
    if int(Headers(scope=scope).get("content-length") or 0) > limit:  # the HTTP parser checked it is a number
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """`receive` for the app: the body read already, then the client's own messages (a disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


async def send_error(send: Send, status: int, error: str) -> None:
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": json.dumps({"error": error}).encode()})


def shape_errors(scope: Scope, send: Send) -> Send:
    """`send` that holds each error answer (status >= 400), rewrites it into the service's shape and logs a 4xx."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def shaped(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start" and message["status"] >= 400:
            start = message
            return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        headers = MutableHeaders(scope=start)
        answer = error_answer(start["status"], b"".join(chunks), scope, headers)
        body = json.dumps(answer).encode()
        headers["content-type"] = "application/json"
        headers["content-length"] = str(len(body))
        log_client_error(scope, start["status"], answer)
        await send(start)
        await send({"type": "http.response.body", "body": body})

    return shaped


def error_answer(status: int, body: bytes, scope: Scope, headers: Headers) -> dict[str, Any]:
    """The service's error object for an error answer's body, whichever part of the stack wrote it."""
    try:
        answer = json.loads(body)
    except ValueError:  # Starlette's plain-text 404 and 405, or another text
        answer = None
    if isinstance(answer, list) and len(answer) == 1 and isinstance(answer[0], dict):
        answer = answer[0]  # BentoML 1.4 answers a 4xx BentoMLException as a one-item list
    if not isinstance(answer, dict):
        return {"error": plain_reason(status, body, scope, headers)}
    if "error" not in answer and status == 422:
        return answer  # GET /predict without `tweet`: FastAPI's {"detail": [...]}, which its callers parse
    if isinstance(answer.get("detail"), list) and "validation error" in str(answer.get("error")):
        # BentoML's `error` is "1 validation error for Input"; say which and how to fix it
        return {**answer, "error": validation_reason(answer["detail"], scope["path"])}
    return answer if "error" in answer else {"error": plain_reason(status, body, scope, headers), **answer}


def plain_reason(status: int, body: bytes, scope: Scope, headers: Headers) -> str:
    route = f"{scope['method']} {scope['path']}"
    if status == 404:
        return f"no route {route}; the service answers {ROUTES}"
    if status == 405:
        return f"{route} is not allowed; {scope['path']} takes {headers.get('allow', 'other methods')}"
    text = " ".join(body.decode("utf-8", "replace").split())
    return text or HTTPStatus(status).phrase


def validation_reason(errors: list[dict[str, Any]], path: str | None = None) -> str:
    """Pydantic's errors as one line, `tweets.0: Value error, tweet is empty ...; ...` (how to send JSON to `path`)."""
    reasons = [f"{'.'.join(map(str, e.get('loc', ()))) or 'body'}: {e.get('msg', '')}" for e in errors[:MAX_REASONS]]
    if len(errors) > MAX_REASONS:
        reasons.append(f"{len(errors) - MAX_REASONS} more in `detail`")
    if path is not None and any(e.get("type") == "json_invalid" for e in errors):
        reasons.append(json_hint(path))
    return "; ".join(reasons)


def json_hint(path: str) -> str:
    return f"send a UTF-8 JSON object with Content-Type: application/json, e.g. {EXAMPLES.get(path, EXAMPLE)}"


def log_client_error(scope: Scope, status: int, answer: dict[str, Any]) -> None:
    """One WARNING line for a 4xx (server errors have BentoML's traceback); no traceback, whatever raised it."""
    if not 400 <= status < 500:
        return
    reason = answer.get("error") or validation_reason(answer.get("detail") or [])
    request_id = Headers(scope=scope).get("x-request-id")
    suffix = f" (X-Request-ID {request_id[:64]!r})" if request_id else ""
    logger.warning("client error %s %s -> %d: %s%s", scope["method"], scope["path"], status, reason, suffix)


async def parse_body(parse: Callable[[Request, Any], Awaitable[Any]], request: Request, serde: Any) -> Any:
    """BentoML's parsing of a request into an API's input, any failure but a validation error made a `BadInput`."""
    try:
        return await parse(request, serde)
    except (ValidationError, BentoMLException):
        raise  # BentoML answers these 400 (or their own 4xx) already, with pydantic's `detail`
    except Exception as error:  # the body is read in full already: whatever fails here is in the request
        reason = error.detail if isinstance(error, HTTPException) else f"{type(error).__name__}: {error}"
        media_type = request.headers.get("content-type", "application/json").split(";")[0].strip()[:100]
        hint = json_hint(request.url.path)
        raise BadInput(f"cannot read the request body as {media_type} ({reason}); {hint}") from error


def guarded(parse: Callable[[Request, Any], Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def from_http_request(cls: type, request: Request, serde: Any) -> Any:
        return await parse_body(parse, request, serde)

    from_http_request.guarded = True
    return from_http_request


def guard_body_parsing(service: Any) -> bool:
    """Make a body that BentoML cannot parse a 400 on each of `service`'s APIs (bentoml 1.4).

    BentoML 1.4 turns a request into an API's input with `input_spec.from_http_request`
    and answers anything but a validation error or a `BentoMLException` raised there
    with 500. Returns whether the guard applies; where BentoML differs it warns and
    leaves BentoML as it is.
    """
    try:
        specs = [method.input_spec for method in service.apis.values()]
        parsers = [spec.from_http_request for spec in specs]
    except AttributeError as error:
        logger.warning(
            "not guarding request parsing, bentoml's internals changed (%s); "
            "a malformed multipart or form body may be answered 500",
            error,
        )
        return False
    for spec, parse in zip(specs, parsers, strict=True):
        if not getattr(parse, "guarded", False):
            spec.from_http_request = classmethod(guarded(parse))
    return True


def cache_response_media_types(service: Any) -> bool:
    """Work out each API's response media type once, not on every response (bentoml 1.4).

    BentoML 1.4 derives it from the output's JSON schema, which pydantic builds anew
    for each response: 11% of a worker's Python time at 32 clients x 1 tweet
    (py-spy, BENCHMARKS.md). The type is the same every time, so it is fixed at
    start-up as the output spec's `media_type`, which BentoML answers with as is.
    Returns whether it applies; where BentoML differs it warns and changes nothing.
    """
    try:
        specs = [method.output_spec for method in service.apis.values()]
        media_types = [spec.mime_type() for spec in specs]
    except AttributeError as error:
        logger.warning("not caching response media types, bentoml's internals changed (%s)", error)
        return False
    for spec, media_type in zip(specs, media_types, strict=True):
        spec.media_type = media_type  # also listed in the API's entry of BentoML's /schema.json from then on
    return True


def raised_while_parsing(error: BaseException) -> bool:
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code is parse_body.__code__:
            return True
        traceback = traceback.tb_next
    return False


def is_client_error(error: BaseException | None) -> bool:
    """Whether BentoML answers `error` with a 4xx: its own 4xx exceptions, and anything raised parsing the request."""
    if isinstance(error, BentoMLException):
        return error.error_code < 500
    return error is not None and raised_while_parsing(error)


class ClientErrorTracebacks(logging.Filter):
    """Drops BentoML's ERROR record, traceback and all, of an exception it answers with a 4xx."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and is_client_error(record.exc_info[1]))


def quiet_client_error_tracebacks() -> bool:
    """Filter client errors out of BentoML's exception log (bentoml 1.4: `http_app.log_exception`'s logger).

    Returns whether the filter applies; where BentoML differs it warns and keeps
    BentoML's tracebacks.
    """
    try:  # the function BentoML's app calls for each exception it answers, and the logger it writes to
        from bentoml._internal.server.http_app import log_exception  # noqa: F401
        from bentoml._internal.server.http_app import logger as bentoml_logger
    except ImportError as error:
        logger.warning("keeping bentoml's tracebacks for client errors, bentoml's internals changed (%s)", error)
        return False
    if not any(isinstance(f, ClientErrorTracebacks) for f in bentoml_logger.filters):
        bentoml_logger.addFilter(ClientErrorTracebacks())
    # python-multipart logs each parse error as a WARNING before raising it, a second line for one 400.
    logging.getLogger("python_multipart").setLevel(logging.ERROR)
    return True
