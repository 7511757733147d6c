"""Request validation and monitoring metrics for the HTTP service.

Kept apart from `service.py` so the limits are importable (tests, docs) without
starting BentoML, and so the metrics are created lazily: prometheus_client
must be imported after BentoML sets PROMETHEUS_MULTIPROC_DIR in the worker.
"""

from typing import Annotated

from pydantic import AfterValidator, Field

MAX_TWEET_CHARS = 2000  # tweets are at most 280 chars; longer input is rejected, not truncated
MAX_TWEETS_PER_REQUEST = 64
INPUT_LENGTH_BUCKETS = (10, 20, 40, 80, 140, 280, 560, 1000, MAX_TWEET_CHARS)


def _has_text(tweet: str) -> str:
    if not tweet.strip():
        raise ValueError("tweet is empty or whitespace only; send the text of a tweet")
    return tweet


Tweet = Annotated[str, Field(max_length=MAX_TWEET_CHARS), AfterValidator(_has_text)]


class ServiceMetrics:
    """Prometheus series for monitoring what the model sees and says."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self.predictions = Counter(
            "tweet_sentiment_predictions", "Predicted labels, one per tweet.", labelnames=["label"]
        )
        self.input_chars = Histogram(
            "tweet_sentiment_input_chars", "Length of each input tweet in characters.", buckets=INPUT_LENGTH_BUCKETS
        )

    def observe(self, tweets: list[str], results: list[dict]) -> None:
        for tweet, result in zip(tweets, results, strict=True):
            self.input_chars.observe(len(tweet))
            self.predictions.labels(label=result["pred_label"]).inc()
