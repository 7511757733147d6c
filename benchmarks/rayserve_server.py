"""Ray Serve 2.60 serving models/serving through this project's `Predictor`: a benchmark peer, not product code.

Answers what `benchmarks/benchmark_service.py` sends the BentoML service: `POST /predict`
`{"tweets": [...]}` (1 to 64 tweets, validated by the same `Tweet` rules) with a JSON list
of `{pred_id, pred_label, scores}`, one per tweet, in order; `GET /health` is 200 once a
replica answers (`serve.run` returns only when every replica is running).

Set up as Ray Serve's docs advise (https://docs.ray.io/en/latest/serve/advanced-guides/dyn-req-batch.html,
`ray.serve.batch`): a FastAPI ingress, `num_replicas` replicas of one CPU each, an `async`
`@serve.batch` method with `max_batch_size` and `batch_wait_timeout_s`, `batch_size_fn`
counting tweets (so a batch holds up to the service's 128 tweets, however they arrive), and
`max_ongoing_requests` at least `max_batch_size * max_concurrent_batches` (the check
`ray.serve.batching` logs). The batch runs on a thread, so the replica's event loop keeps
taking requests (and forming the next batch) meanwhile, as BentoML's does.

Runs in benchmarks/.venv-peers (benchmarks/setup_peers.sh), which holds only what
`Predictor` imports (numpy, tokenizers, openvino) besides Ray Serve. It starts a local Ray
instance and stops it on SIGTERM or SIGINT. Ray's defaults apply: its logs go to /tmp/ray, and its
first start writes an auth token to ~/.ray/auth_token.

    benchmarks/.venv-peers/bin/python benchmarks/rayserve_server.py --port 8200
"""

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# Ray's workers start in another directory: give them the repository's modules too.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))

import ray  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402
from ray import serve  # noqa: E402

from tweet_sentiment.serving.limits import (  # noqa: E402
    MAX_BATCH,
    MAX_BATCH_WAIT_S,
    MAX_TWEETS_PER_REQUEST,
    PARALLEL_BATCHES,
    SUB_BATCH,
    Tweet,
)
from tweet_sentiment.serving.predictor import Predictor  # noqa: E402

REPLICAS = 2  # as the service's 2 workers (TWEET_SENTIMENT_WORKERS)
BATCH_WAIT_S = MAX_BATCH_WAIT_S  # 5 ms: the cap on the service's own batching wait
# A request of 64 tweets must fit one batch (batch_size_fn refuses an item over max_batch_size).
assert MAX_BATCH >= MAX_TWEETS_PER_REQUEST

app = FastAPI()


class TweetsRequest(BaseModel):
    """The body of `POST /predict`, with the service's limits (1 to 64 tweets of 1 to 2,000 characters)."""

    tweets: Annotated[list[Tweet], Field(min_length=1, max_length=MAX_TWEETS_PER_REQUEST)]


def tweets_in(batch: list[list[str]]) -> int:
    """`batch_size_fn`: a batch's size in tweets, not requests."""
    return sum(len(tweets) for tweets in batch)


@serve.deployment(num_replicas=REPLICAS, ray_actor_options={"num_cpus": 1}, max_ongoing_requests=MAX_BATCH)
@serve.ingress(app)
class TweetSentiment:
    """One replica: a `Predictor` run as a service worker runs it (sub-batches of 16, two at once)."""

    def __init__(self, model_dir: str) -> None:
        self.predictor = Predictor(
            model_dir, batch_size=SUB_BATCH, parallel_batches=PARALLEL_BATCHES, threads=PARALLEL_BATCHES
        )

    @app.get("/health")
    def health(self) -> str:
        return "ok"

    @app.post("/predict")
    async def predict(self, body: TweetsRequest) -> list[dict]:
        """Sentiment of each tweet, in order (`classify` merges concurrent requests)."""
        return await self.classify(body.tweets)

    @serve.batch(max_batch_size=MAX_BATCH, batch_wait_timeout_s=BATCH_WAIT_S, batch_size_fn=tweets_in)
    async def classify(self, batch: list[list[str]]) -> list[list[dict]]:
        """All tweets of the batch's requests in one `Predictor` call, on a thread; one list per request."""
        results = await asyncio.to_thread(self.predictor.predict, [tweet for tweets in batch for tweet in tweets])
        split, start = [], 0
        for tweets in batch:
            split.append(results[start : start + len(tweets)])
            start += len(tweets)
        return split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    model_dir = os.environ.get("TWEET_SENTIMENT_MODEL_DIR", str(REPO / "models/serving"))
    # Logical CPUs: the 2 one-CPU replicas fit even where os.cpu_count() is smaller; the proxy
    # and controller take none. A small object store: requests and results are a few KB.
    ray.init(
        num_cpus=max(REPLICAS, os.cpu_count() or 1),
        include_dashboard=False,
        object_store_memory=100 * 2**20,
        log_to_driver=False,
    )
    serve.start(http_options={"host": args.host, "port": args.port})
    serve.run(TweetSentiment.bind(model_dir), route_prefix="/", blocking=False)
    print(f"Ray Serve ready on http://{args.host}:{args.port}", flush=True)

    async def wait() -> None:
        stop, loop = asyncio.Event(), asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    asyncio.run(wait())
    serve.shutdown()
    ray.shutdown()


if __name__ == "__main__":
    main()
