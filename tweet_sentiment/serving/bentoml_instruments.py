"""Bounded `endpoint` labels on BentoML's HTTP metrics: the route template, or `other` (bentoml 1.4).

BentoML 1.4 labels its request series (`bentoml_service_request_total`,
`..._request_duration_seconds`, `..._request_in_progress`) with the raw request
path, in `RunnerTrafficMetricsMiddleware` of `bentoml._internal.server.http.instruments`.
Any scanner then grows `/metrics` without bound: thirty unknown paths added 600
series and 125 KB (as BerriAI/litellm#35666 reports for another server). Here the
label is the template of the route the request matches, found with Starlette's own
matching over the app's routes (`/predict`, `/static_content/{path}`), and `other`
for a path no route takes; so the series are bounded by the routes, whatever clients
send. The app itself still sees the real path.

`bound_endpoint_labels` relies on private parts of BentoML 1.4 (see
`check_bentoml_version`); where those differ it warns and leaves BentoML as it is.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from tweet_sentiment.serving.limits import logger

OTHER = "other"  # the label of every path that no route takes
REAL_PATH = "tweet_sentiment.real_path"  # the scope key that carries the real path past the metrics
MAX_APP_DEPTH = 32  # middlewares between BentoML's metrics middleware and the router (6 in bentoml 1.4.40)


def route_template(routes: list[BaseRoute], scope: Scope) -> str | None:
    """The template of the route `scope` goes to (a method mismatch counts: its answer is that route's 405), or None."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if not isinstance(route, Mount):
            return getattr(route, "path", OTHER)
        inner = getattr(route.app, "routes", None)
        if inner is None:  # StaticFiles and other apps without routes
            return f"{route.path}/{{path}}"
        template = route_template(inner, {**scope, **child})
        if template is not None:
            return route.path + template
    return None


def find_routes(app: Any) -> list[BaseRoute] | None:
    """The routes of the router at the end of a middleware chain (each middleware keeps the next in `.app`)."""
    for _ in range(MAX_APP_DEPTH):
        if isinstance(getattr(app, "routes", None), list):
            return app.routes
        app = getattr(app, "app", None)
    return None


class RestoreRealPath:
    """The app behind the metrics middleware: puts back the real path the label replaced."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if REAL_PATH in scope:
            scope = {key: value for key, value in scope.items() if key != REAL_PATH} | {"path": scope[REAL_PATH]}
        await self.app(scope, receive, send)


def bound_endpoint_labels() -> bool:
    """Make BentoML's request series label each request by its route template, or `other`.

    Returns whether it applies; where BentoML's internals differ it warns and
    leaves BentoML as it is (labels are then raw paths, unbounded).
    """
    try:
        from bentoml._internal.server.http.instruments import RunnerTrafficMetricsMiddleware

        call = RunnerTrafficMetricsMiddleware.__call__
    except (ImportError, AttributeError) as error:
        logger.warning("not bounding /metrics endpoint labels, bentoml's internals changed (%s)", error)
        return False
    if getattr(call, "bounded", False):
        return True

    @wraps(call)
    async def bounded_call(self: Any, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] == "/metrics":
            await call(self, scope, receive, send)
            return
        if not isinstance(self.app, RestoreRealPath):  # the first request of this worker
            self.routes = find_routes(self.app)
            self.app = RestoreRealPath(self.app)
            if self.routes is None:
                logger.warning("not bounding /metrics endpoint labels: no router behind bentoml's metrics middleware")
        if self.routes is None:  # the label stays the raw path
            await call(self, scope, receive, send)
            return
        template = route_template(self.routes, scope) or OTHER
        labelled = scope if template == scope["path"] else {**scope, "path": template, REAL_PATH: scope["path"]}
        await call(self, labelled, receive, send)

    bounded_call.bounded = True
    RunnerTrafficMetricsMiddleware.__call__ = bounded_call
    return True
