"""LitServe 0.2.19 serving models/serving through this project's `Predictor`: a benchmark peer, not product code.

Answers what `benchmarks/benchmark_service.py` sends the BentoML service: `POST /predict`
`{"tweets": [...]}` (1 to 64 tweets, validated by the same `Tweet` rules) with a JSON list
of `{pred_id, pred_label, scores}`, one per tweet, in order; `GET /health` is 200 once every
inference worker has loaded the model.

Set up as LitServe's docs advise for throughput (LitServer's docstring, "Production Setup";
https://lightning.ai/docs/litserve/features/batching): batching on the `LitAPI`
(`max_batch_size`, `batch_timeout`), `workers_per_device` inference processes and
`fast_queue=True` (ZeroMQ responses, "for >100 RPS"). LitServe batches requests, not tweets:
each request is one item, `predict` runs every tweet of the batch's requests in one
`Predictor` call and hands each request its own results back.

Runs in benchmarks/.venv-peers (benchmarks/setup_peers.sh), which holds only what
`Predictor` imports (numpy, tokenizers, openvino) besides LitServe:

    benchmarks/.venv-peers/bin/python benchmarks/litserve_server.py --port 8100
"""

import argparse
import os
import sys
from pathlib import Path
from typing import Annotated

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # spawned inference workers re-import this file, so this runs in them too

import litserve as ls  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

from tweet_sentiment.serving.limits import (  # noqa: E402
    MAX_BATCH_WAIT_S,
    MAX_TWEETS_PER_REQUEST,
    PARALLEL_BATCHES,
    SUB_BATCH,
    Tweet,
)
from tweet_sentiment.serving.predictor import Predictor  # noqa: E402

WORKERS = 2  # inference processes, as the service's 2 workers (TWEET_SENTIMENT_WORKERS)
# Requests per batch: 32 clients over 2 workers keep about 16 requests waiting on each, so
# a batch takes all of them (16 one-tweet requests, or 256 tweets in 16 sub-batches).
MAX_BATCH_REQUESTS = 16
BATCH_TIMEOUT_S = MAX_BATCH_WAIT_S  # 5 ms: the cap on the service's own batching wait


class TweetsRequest(BaseModel):
    """The body of `POST /predict`, with the service's limits (1 to 64 tweets of 1 to 2,000 characters)."""

    tweets: Annotated[list[Tweet], Field(min_length=1, max_length=MAX_TWEETS_PER_REQUEST)]


class TweetSentimentAPI(ls.LitAPI):
    """One inference worker: a `Predictor` run as a service worker runs it (sub-batches of 16, two at once)."""

    def setup(self, device: str) -> None:
        """Load the model once per worker process; `device` is "cpu" (LitServe's accelerator)."""
        model_dir = Path(os.environ.get("TWEET_SENTIMENT_MODEL_DIR", REPO / "models/serving"))
        self.predictor = Predictor(
            model_dir, batch_size=SUB_BATCH, parallel_batches=PARALLEL_BATCHES, threads=PARALLEL_BATCHES
        )

    def decode_request(self, request: TweetsRequest) -> list[str]:
        """FastAPI has validated the body against `TweetsRequest` in the API server process."""
        return request.tweets

    def predict(self, batch: list[list[str]]) -> list[list[dict]]:
        """All tweets of the batch's requests in one call; one list of results per request, in order."""
        results = self.predictor.predict([tweet for tweets in batch for tweet in tweets])
        split, start = [], 0
        for tweets in batch:
            split.append(results[start : start + len(tweets)])
            start += len(tweets)
        return split

    def encode_response(self, output: list[dict]) -> list[dict]:
        """One request's results, as the service answers them (without its `request_id`)."""
        return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    api = TweetSentimentAPI(max_batch_size=MAX_BATCH_REQUESTS, batch_timeout=BATCH_TIMEOUT_S)
    server = ls.LitServer(api, accelerator="cpu", workers_per_device=WORKERS, fast_queue=True, timeout=60)
    server.run(host=args.host, port=args.port, log_level="warning", generate_client_file=False)


if __name__ == "__main__":
    main()
