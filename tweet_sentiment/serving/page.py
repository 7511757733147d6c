"""The try-it page at `/ui`: a tweet's label, scores and explanation, feedback buttons, many tweets to a CSV.

Files in `serving/ui/` (the page; its script and style in `ui/static/`) that ship in the
Bento (no web fonts, no CDN: it works with no network) and call the service's own `POST /predict`, `POST /explain` and
`POST /feedback`. A Content-Security-Policy of `'self'` keeps it that way: the
browser refuses anything the page would fetch from elsewhere.
`TWEET_SENTIMENT_UI=0` turns it off (a 404).

Gradio, the field's convention (`bentoml.gradio.mount_gradio_app`), was measured
and not used: docs/serving.md, "The try-it page", gives its cost.
"""

from pathlib import Path
from string import Template

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from tweet_sentiment.serving.limits import MAX_TWEETS_PER_REQUEST

UI_DIR = Path(__file__).with_name("ui")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
}


def page_routes() -> list[BaseRoute]:
    """`GET /ui` (and `/ui/`): the page; `/ui/static/*`: its script and style."""
    html = Template((UI_DIR / "index.html").read_text(encoding="utf-8")).substitute(max_tweets=MAX_TWEETS_PER_REQUEST)

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    return [
        Route("/ui", page, methods=["GET"]),
        Route("/ui/", page, methods=["GET"]),
        Mount("/ui/static", StaticFiles(directory=UI_DIR / "static"), name="ui-static"),
    ]
