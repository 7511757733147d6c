"""BentoML service for tweet sentiment: `bentoml serve` from the repository root.

- `POST /predict` `{"tweets": [...]}`: one `{pred_id, pred_label, scores}` per tweet,
  requests merged by adaptive batching.
- `GET /predict/?tweet=...`: the original FastAPI contract,
  `{"pred_id": "1", "pred_label": "neutral"}`, kept for its callers.
- `/healthz`, `/readyz`, `/metrics` come from BentoML; `/metrics` also carries
  the predicted-label counter and the input-length histogram.
"""

import os
from pathlib import Path
from typing import Annotated

import bentoml
import torch
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tweet_sentiment.predict import Predictor
from tweet_sentiment.serving import (
    MAX_BATCH,
    MAX_TWEETS_PER_REQUEST,
    SUB_BATCH,
    ServiceMetrics,
    Tweet,
    cap_batching_wait,
)

MODEL_DIR = Path(os.environ.get("TWEET_SENTIMENT_MODEL_DIR", "models/finetuned"))
# Tuned on 2 cores (BENCHMARKS.md): two worker processes, each running two
# sub-batches at once on one torch thread apiece. Each keep-alive connection
# sticks to one worker and clients rarely split evenly, so each worker must be
# able to use both cores on its own; with one torch thread per worker, uneven
# splits cost up to half the throughput, and a single worker spends too much of
# its time on HTTP to keep up with one-tweet requests.
WORKERS = int(os.environ.get("TWEET_SENTIMENT_WORKERS", "2"))
PARALLEL = int(os.environ.get("TWEET_SENTIMENT_PARALLEL", "2"))


class Prediction(BaseModel):
    pred_id: int
    pred_label: str
    scores: dict[str, float]


TWEET = TypeAdapter(Tweet)  # the same rules as each tweet of `POST /predict`


async def legacy_predict(request: Request) -> JSONResponse:
    """The original `GET /predict/?tweet=...` endpoint, ids as strings as it answered."""
    tweet = request.query_params.get("tweet", "")
    try:
        TWEET.validate_python(tweet)
    except ValidationError as error:
        return JSONResponse({"error": f"query parameter `tweet`: {error.errors()[0]['msg']}"}, status_code=400)
    service = bentoml.get_current_service()
    [result] = await service.predict_one(tweet)
    return JSONResponse({"pred_id": str(result["pred_id"]), "pred_label": result["pred_label"]})


cap_batching_wait()
legacy_app = Starlette(routes=[Route("/", legacy_predict, methods=["GET"])])


@bentoml.service(
    resources={"cpu": "2"},
    traffic={"timeout": 60, "concurrency": 64},
    workers=WORKERS,
)
@bentoml.asgi_app(legacy_app, path="/predict")
class TweetSentiment:
    def __init__(self) -> None:
        if not (MODEL_DIR / "config.json").is_file():
            raise RuntimeError(
                f"no fine-tuned model at {MODEL_DIR.resolve()}: run `dvc repro` (or `dvc pull`) first, "
                "or set TWEET_SENTIMENT_MODEL_DIR"
            )
        torch.set_num_threads(1)
        self.predictor = Predictor(MODEL_DIR, batch_size=SUB_BATCH, parallel_batches=PARALLEL)
        self.metrics = ServiceMetrics()

    @bentoml.api(route="/predict", batchable=True, max_batch_size=MAX_BATCH, max_latency_ms=30_000)
    def predict(
        self, tweets: Annotated[list[Tweet], Field(min_length=1, max_length=MAX_TWEETS_PER_REQUEST)]
    ) -> list[Prediction]:
        """Sentiment of each tweet, in order (adaptive batching merges concurrent requests)."""
        return [Prediction(**result) for result in self.classify(tweets)]

    async def predict_one(self, tweet: str) -> list[dict]:
        return await run_in_threadpool(self.classify, [tweet])

    def classify(self, tweets: list[str]) -> list[dict]:
        """Predict and record the monitoring metrics: the one path of both endpoints."""
        results = self.predictor.predict(tweets)
        self.metrics.observe(tweets, results)
        return results
