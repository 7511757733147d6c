"""The service's HTTP edge: a request-body limit, one error shape, client errors logged as one line.

- `RequestGuard`, an ASGI middleware around every route (BentoML's APIs and the
  mounted `GET /predict`): refuses a body over the limit with a 413 before
  anything parses it, rewrites each error answer into one JSON object
  `{"error": "<what was wrong and how to fix it>", ...}` and logs each 4xx as one
  WARNING line.

`bentoml_hooks.py` makes BentoML's own parsing and logging fit this shape.
"""

import json
from http import HTTPStatus
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tweet_sentiment.serving.limits import MAX_TWEET_CHARS, MAX_TWEETS_PER_REQUEST, logger

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
