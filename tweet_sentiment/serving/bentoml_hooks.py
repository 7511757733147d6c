"""Hooks into BentoML 1.4's internals, each checked and each optional: where BentoML differs, they warn and
leave it as it is, never crash (`check_bentoml_version` names what each relies on).

- `cap_batching_wait`: adaptive batching holds a lone request for the wait its
  optimizer learned, hundreds of ms after a burst; capped at `MAX_BATCH_WAIT_S`.
- `guard_body_parsing`: a body BentoML cannot parse (malformed multipart or form
  data, a form field that is not UTF-8, ...) is the client's error, a 400, where
  BentoML 1.4 answers 500 and counts it as a server error.
- `cache_response_media_types`: each API's response media type worked out once.
- `quiet_client_error_tracebacks`: BentoML logs an ERROR traceback for each
  exception it answers, 4xx included; those go, `RequestGuard`'s line says it all.
  Server errors keep their traceback.

The bounded `/metrics` labels are the fourth hook, in `bentoml_instruments.py`.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bentoml.exceptions import BadInput, BentoMLException
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request

from tweet_sentiment.serving.http_edge import json_hint
from tweet_sentiment.serving.limits import MAX_BATCH_WAIT_S, logger

# `cap_batching_wait` patches a private part of BentoML, written against 1.4.40:
# `Optimizer.trigger_refresh` sets `self.wait`, which `CorkDispatcher` then holds
# lone requests for. The hooks below rely on two more: each API's
# `input_spec.from_http_request` parses its requests, and `http_app.log_exception`
# logs each exception the app answers; serving/bentoml_instruments.py on a third:
# `RunnerTrafficMetricsMiddleware` labels the request series with `scope["path"]`.
# Another series may change any; check, then update this.
BENTOML_SERIES = "1.4."


def check_bentoml_version(version: str | None = None) -> bool:
    """False, with a warning, unless BentoML is the series the hooks into its internals were written for."""
    if version is None:
        import bentoml

        version = bentoml.__version__
    if version.startswith(BENTOML_SERIES):
        return True
    logger.warning(
        "bentoml %s: the hooks into its internals (tweet_sentiment/serving/bentoml_hooks.py) were written for bentoml "
        "%sx; check that bentoml._internal.marshal.dispatcher.Optimizer.trigger_refresh still sets `wait`, "
        "that an API's input_spec.from_http_request still parses its requests, that "
        "bentoml._internal.server.http_app.log_exception still logs what the app answers "
        "and that RunnerTrafficMetricsMiddleware still labels by scope['path'] "
        "(tweet_sentiment/serving/bentoml_instruments.py), then update BENTOML_SERIES",
        version,
        BENTOML_SERIES,
    )
    return False


def cap_batching_wait(max_wait_s: float = MAX_BATCH_WAIT_S) -> bool:
    """Bound the wait that BentoML's adaptive batching optimizer learns (bentoml 1.4).

    Returns whether the cap applies; where BentoML's internals differ it warns
    and leaves BentoML as it is (lone requests may then wait longer), never crashes.
    """
    check_bentoml_version()
    try:
        from bentoml._internal.marshal.dispatcher import Optimizer

        refresh = Optimizer.trigger_refresh
        problem = "" if hasattr(Optimizer(max_latency=1.0), "wait") else "Optimizer has no `wait` attribute"
    except (ImportError, AttributeError, TypeError) as error:
        problem = f"{type(error).__name__}: {error}"
    if problem:
        logger.warning(
            "not capping adaptive batching's wait, bentoml's internals changed (%s); "
            "lone requests may be held for the whole learned batching wait",
            problem,
        )
        return False
    if getattr(refresh, "capped", False):
        return True

    def capped_refresh(self) -> None:
        refresh(self)
        self.wait = min(self.wait, max_wait_s)

    capped_refresh.capped = True
    Optimizer.trigger_refresh = capped_refresh
    return True


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
