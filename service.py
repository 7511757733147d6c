"""BentoML service for tweet sentiment: `bentoml serve` from the repository root.

- `POST /predict` `{"tweets": [...]}`: one `{pred_id, pred_label, scores, request_id, lang}` per
  tweet, requests merged by adaptive batching; `lang` is the tweet's language (the model reads English).
- `GET /predict?tweet=...` and `GET /predict/?tweet=...`: the original FastAPI
  contract, `{"pred_id": "1", "pred_label": "neutral"}`, kept for its callers
  (a missing `tweet` is a 422 with FastAPI's body).
- `POST /feedback` `{"request_id": ..., "label": ...}` (or `{"tweet": ..., "label": ...}`):
  the true label of an earlier prediction, for live accuracy. Once per request id:
  the same label again is answered `"duplicate": true` and not counted, another
  label is a 409 (tweet_sentiment/serving/feedback.py).
- `POST /explain` `{"tweet": ...}`: the prediction plus each word's weight, by occlusion on
  the served runtime (tweet_sentiment/serving/explain.py); not logged, not counted as predictions.
- `GET /ui`: a page to try the model (tweet_sentiment/serving/page.py); `TWEET_SENTIMENT_UI=0` turns it off.
- `GET /card`: the model card `package` wrote beside the served model (`models/model_card.md`,
  Hugging Face's format), with the registry version this service runs added to its metadata.
- `GET /version`: what is served: the registry version, the Bento's, the weights'
  digest and the runtime (tweet_sentiment/serving/identity.py).
- `/healthz`, `/readyz`, `/metrics` come from BentoML; `/metrics` also carries
  the predicted-label counter and rolling share, the input-length histogram,
  the feedback counter and `tweet_sentiment_model_info`.

Every `TWEET_SENTIMENT_*` setting is checked before any worker starts: a bad one
ends `bentoml serve` with one line naming it and the fix (tweet_sentiment/serving/settings.py).

Every error is one JSON object, `{"error": "<what was wrong and how to fix it>", ...}`
(the 422 above excepted), a body over `TWEET_SENTIMENT_MAX_BODY_BYTES` is a 413 before
anything parses it, and a client error is one WARNING line in the log, no traceback
(tweet_sentiment/serving/http_edge.py).

Each prediction gets a `request_id`; with `TWEET_SENTIMENT_QUERY_LOG` set, each
is also written to the query log (tweet_sentiment/serving/querylog.py) that
`python -m tweet_sentiment.monitor.drift` reads.

The model is loaded strictly: before any worker starts, `bentoml serve` checks
it once and exits with one line naming the problem (no head, wrong labels, no
model at all) instead of workers restarting with tracebacks forever.
"""

import gc
import sys
import time
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Literal

import bentoml
from bentoml.exceptions import BadInput, BentoMLException, NotFound
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from tweet_sentiment.card.metadata import card_for
from tweet_sentiment.core.labels import LABELS, ModelLoadError
from tweet_sentiment.core.language import detect_language, detect_languages
from tweet_sentiment.serving.bentoml_hooks import (
    cache_response_media_types,
    cap_batching_wait,
    guard_body_parsing,
    quiet_client_error_tracebacks,
)
from tweet_sentiment.serving.bentoml_instruments import bound_endpoint_labels
from tweet_sentiment.serving.explain import TooManyWords, Word, explain_prediction
from tweet_sentiment.serving.feedback import FeedbackLedger
from tweet_sentiment.serving.http_edge import RequestGuard
from tweet_sentiment.serving.identity import UNREGISTERED, ServedModel
from tweet_sentiment.serving.limits import (
    MAX_BATCH,
    MAX_TWEETS_PER_REQUEST,
    SUB_BATCH,
    Tweet,
    logger,
)
from tweet_sentiment.serving.page import page_routes
from tweet_sentiment.serving.predictor import Predictor
from tweet_sentiment.serving.prometheus import ServiceMetrics
from tweet_sentiment.serving.querylog import QueryLog, RequestIds, client_id, request_id_key
from tweet_sentiment.serving.runtimes import model_version, read_runtime
from tweet_sentiment.serving.settings import Settings, SettingsError, check_query_log

try:  # at import: TWEET_SENTIMENT_WORKERS shapes @bentoml.service below
    SETTINGS = Settings.from_env()
except SettingsError as error:
    sys.exit(f"cannot serve: {error}")  # one line on stderr, exit status 1, before any worker starts

# Next to this file by default: in a container `bentoml serve` (where the
# deployment check runs) starts in the Bento's root, not in src/ with the model.
# models/serving is the runtime the `optimize` stage chose (its runtime.json says
# which); a save_pretrained directory such as models/finetuned is served as a trace.
MODEL_DIR = SETTINGS.model_dir or Path(__file__).resolve().parent / "models/serving"
# Tuned on 2 cores (BENCHMARKS.md, "The service's knobs"): two worker processes
# (TWEET_SENTIMENT_WORKERS), each running two sub-batches at once on one CPU thread
# apiece (TWEET_SENTIMENT_PARALLEL), the fastest of six settings at every load in one
# run. Two threads let a worker use both cores when the keep-alive connections split
# unevenly between workers, and give a lone tweet both threads (runtimes.py); a single
# worker's Python and event loop keep it near 1.7 busy cores.


class Prediction(BaseModel):
    pred_id: int
    pred_label: str
    scores: dict[str, float]
    request_id: str  # give it back to POST /feedback with the true label
    lang: str  # the tweet's language, ISO 639-1, or "und" (tweet_sentiment/core/language.py); the model reads English


class Explanation(BaseModel):
    pred_id: int
    pred_label: str
    scores: dict[str, float]
    lang: str
    words: list[Word]  # each word's weight: how much the predicted label's probability falls without it


TrueLabel = Literal[LABELS]  # the label map, so feedback validates against it


class FeedbackReceipt(BaseModel):
    request_id: str | None
    label: str
    predicted: str
    correct: bool
    logged: bool  # whether a query log is configured
    duplicate: bool  # this request id had this label already: not logged or counted again


class FeedbackConflict(BentoMLException):
    """Another label for a request id that has feedback already (HTTP 409)."""

    error_code = HTTPStatus.CONFLICT


TWEET = TypeAdapter(Tweet)  # the same rules as each tweet of `POST /predict`
# FastAPI's answer to the original endpoint called without `tweet`.
MISSING_TWEET = {"detail": [{"type": "missing", "loc": ["query", "tweet"], "msg": "Field required", "input": None}]}


async def legacy_predict(request: Request) -> JSONResponse:
    """The original `GET /predict/?tweet=...` endpoint, ids as strings as it answered.

    `HEAD` is a 405: its headers would need the prediction (length, request id), so it would run one.
    """
    if request.method == "HEAD":
        allow = "GET, POST" if request.url.path == "/predict" else "GET"
        error = f"HEAD runs no prediction; use GET {request.url.path}?tweet=..."
        return JSONResponse({"error": error}, status_code=405, headers={"Allow": allow})
    tweet = request.query_params.get("tweet")
    if tweet is None:
        return JSONResponse(MISSING_TWEET, status_code=422)
    if await request.body():
        error = "GET /predict takes no body; send the tweet as ?tweet=..., or use POST /predict with JSON"
        return JSONResponse({"error": error}, status_code=400)
    try:
        TWEET.validate_python(tweet)
    except ValidationError as error:
        return JSONResponse({"error": f"query parameter `tweet`: {error.errors()[0]['msg']}"}, status_code=400)
    service = bentoml.get_current_service()
    [result] = await service.predict_one(tweet)
    body = {"pred_id": str(result["pred_id"]), "pred_label": result["pred_label"]}
    return JSONResponse(body, headers={"X-Request-ID": result["request_id"]})


async def version(request: Request) -> JSONResponse:
    """What this service serves: registry, Bento and weights versions and the runtime."""
    return JSONResponse(bentoml.get_current_service().served.as_dict())


async def model_card(request: Request) -> PlainTextResponse | JSONResponse:
    """The card of what this service runs (Markdown with YAML metadata), or a 404 saying where it was looked for."""
    service = bentoml.get_current_service()
    if service.card is None:
        error = (
            f"no model card of the served weights at {card_path(MODEL_DIR)}: "
            "`dvc repro package` writes the card of models/serving there"
        )
        return JSONResponse({"error": error}, status_code=404)
    return PlainTextResponse(service.card, media_type="text/markdown; charset=utf-8")


def card_path(model_dir: Path) -> Path:
    """Where the card of `model_dir` is: beside it, as `package` writes models/model_card.md and the Bento ships it."""
    return model_dir.resolve().parent / "model_card.md"


def require_model_dir(model_dir: Path) -> None:
    if not (model_dir / "config.json").is_file():
        raise ModelLoadError(
            f"no model at {model_dir.resolve()}: run `dvc repro` (or `dvc pull`) first, "
            "or set TWEET_SENTIMENT_MODEL_DIR"
        )


def check_model(model_dir: Path) -> None:
    """Load the model once, strictly; raises `ModelLoadError` with one line saying what is wrong."""
    require_model_dir(model_dir)
    Predictor(model_dir, threads=1)  # what each worker loads: runtime, weights, tokenizer
    model_version(model_dir)
    gc.collect()  # the serving process keeps no copy; the workers load their own


cap_batching_wait()
quiet_client_error_tracebacks()
bound_endpoint_labels()
# Mounted at the root, the app sees only what no BentoML route takes in full: both
# original paths for GET (with or without the slash, as FastAPI's redirect allowed)
# while `POST /predict` stays BentoML's batched API.
legacy_app = Starlette(
    routes=[
        Route("/predict", legacy_predict, methods=["GET"]),
        Route("/predict/", legacy_predict, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/card", model_card, methods=["GET"]),
        *(page_routes() if SETTINGS.ui else []),
    ]
)


@bentoml.service(
    resources={"cpu": "2"},
    traffic={"timeout": 60, "concurrency": 64},
    workers=SETTINGS.workers,
)
@bentoml.asgi_app(legacy_app, path="/")
class TweetSentiment:
    @bentoml.on_deployment
    def refuse_a_bad_model_or_query_log() -> None:
        """Runs once in the `bentoml serve` process, before the workers start.

        BentoML 1.4 treats a failing `__init__` as a worker crash: each worker
        logs three tracebacks and is restarted every few seconds, forever, while
        the server stays up and never ready. Checking here ends `bentoml serve`
        with one line and exit status 1 instead.
        """
        try:
            check_query_log(SETTINGS)
        except SettingsError as error:
            logger.error("cannot serve: %s", error)
            raise SystemExit(1) from None
        try:
            check_model(MODEL_DIR)
        except ModelLoadError as error:
            logger.error("cannot serve the model: %s", error)
            raise SystemExit(1) from None

    def __init__(self) -> None:
        require_model_dir(MODEL_DIR)
        parallel = SETTINGS.parallel
        self.predictor = Predictor(MODEL_DIR, batch_size=SUB_BATCH, parallel_batches=parallel, threads=parallel)
        detect_language("warm up")  # load the language detector now (0.4 s), not on the first request after ready
        weights = model_version(MODEL_DIR)
        bento = bentoml.server_context.bento_version
        self.served = ServedModel(
            SETTINGS.registry_version or UNREGISTERED,
            "source" if bento == "not available" else bento,
            weights,
            read_runtime(MODEL_DIR).name,
        )
        card = card_path(MODEL_DIR)
        card_text = card.read_text(encoding="utf-8") if card.is_file() else ""
        self.card = card_for(card_text, weights, self.served.runtime, self.served.registry_version)
        self.metrics = ServiceMetrics()
        self.metrics.model_info(self.served.as_dict())
        self.request_ids = RequestIds(request_id_key(SETTINGS.request_id_key, weights))
        self.query_log = QueryLog(
            SETTINGS.query_log, weights, SETTINGS.log_text, SETTINGS.query_log_sample, self.served.registry_version
        )
        self.feedback_ledger = FeedbackLedger(self.query_log.directory)

    @bentoml.api(route="/predict", batchable=True, max_batch_size=MAX_BATCH, max_latency_ms=30_000)
    def predict(
        self, tweets: Annotated[list[Tweet], Field(min_length=1, max_length=MAX_TWEETS_PER_REQUEST)]
    ) -> list[Prediction]:
        """Sentiment of each tweet, in order (adaptive batching merges concurrent requests)."""
        return [Prediction(**result) for result in self.classify(tweets)]

    async def predict_one(self, tweet: str) -> list[dict]:
        return await run_in_threadpool(self.classify, [tweet])

    def classify(self, tweets: list[str]) -> list[dict]:
        """Predict, issue request ids, log and count: the one path of both endpoints."""
        started = time.perf_counter()
        results, counts = self.predictor.predict_with_counts(tweets)
        latency_s = time.perf_counter() - started
        for result, lang in zip(results, detect_languages(tweets), strict=True):
            result["lang"] = lang
        request_ids = [self.request_ids.issue(result["pred_id"]) for result in results]
        self.query_log.predictions(tweets, results, request_ids, counts, latency_s)
        self.metrics.observe(tweets, results)
        return [{**result, "request_id": request_id} for result, request_id in zip(results, request_ids, strict=True)]

    @bentoml.api(route="/explain")
    def explain(self, tweet: Tweet) -> Explanation:
        """Why this label: the prediction plus each word's weight (at most `MAX_EXPLAIN_WORDS`, 64 words).

        The one-word-out variants are scored in one batched call; none is logged or counted as a prediction.
        """
        try:
            explanation = explain_prediction(self.predictor, tweet)
        except TooManyWords as error:
            raise BadInput(str(error)) from None
        self.metrics.observe_explanation()
        return Explanation(**explanation, lang=detect_language(tweet))

    @bentoml.api(route="/feedback")
    def feedback(
        self, ctx: bentoml.Context, label: TrueLabel, request_id: str | None = None, tweet: Tweet | None = None
    ) -> FeedbackReceipt:
        """The true label of an earlier prediction: by its `request_id` (once), or by the tweet's text."""
        if (request_id is None) == (tweet is None):
            raise BadInput("send either `request_id` (from POST /predict) or `tweet`, with `label`")
        duplicate = False
        if request_id is not None:
            predicted_id = self.request_ids.predicted_id(request_id)
            if predicted_id is None:
                raise NotFound(f"unknown request_id {request_id[:64]!r}: not one this service issued")
            predicted = LABELS[predicted_id]
            earlier = self.feedback_ledger.record(request_id.lower(), label)
            if earlier is not None and earlier != label:
                raise FeedbackConflict(
                    f"request_id {request_id!r} already has the label {earlier!r}; one label per prediction is kept"
                )
            duplicate = earlier is not None
        else:
            [result] = self.predictor.predict([tweet])
            predicted = result["pred_label"]
        if not duplicate:
            peer = ctx.request.client.host if ctx.request.client else None
            client = client_id(ctx.request.headers.get("x-forwarded-for"), peer)
            self.query_log.feedback(label, predicted, request_id, tweet, client)
            self.metrics.observe_feedback(label, predicted)
        return FeedbackReceipt(
            request_id=request_id,
            label=label,
            predicted=predicted,
            correct=label == predicted,
            logged=self.query_log.enabled,
            duplicate=duplicate,
        )


guard_body_parsing(TweetSentiment)
cache_response_media_types(TweetSentiment)
# Inside BentoML's metrics, timeout and concurrency middleware: its 413s and the
# errors it reshapes are counted with the status they are answered with.
TweetSentiment.add_asgi_middleware(RequestGuard, max_body_bytes=SETTINGS.max_body_bytes)
