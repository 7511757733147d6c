"""Request validation and monitoring metrics for the HTTP service.

Kept apart from `service.py` so the limits are importable (tests, docs) without
starting BentoML, and so the metrics are created lazily: prometheus_client
must be imported after BentoML sets PROMETHEUS_MULTIPROC_DIR in the worker.
"""

import collections
import logging
from collections import deque
from typing import Annotated

from pydantic import AfterValidator, Field

from tweet_sentiment.labels import LABELS

# A child of BentoML's logger, so `bentoml serve` prints it like its own lines.
logger = logging.getLogger("bentoml.tweet_sentiment")

MAX_TWEET_CHARS = 2000  # tweets are at most 280 chars; longer input is rejected, not truncated
MAX_TWEETS_PER_REQUEST = 64
# Adaptive batching merges requests into up to MAX_BATCH tweets; the model then
# runs them in length-sorted sub-batches of SUB_BATCH. On random 128-tweet
# batches, sub-batches of 16 ran 1.4x faster than 64 (less padding).
MAX_BATCH = 128
SUB_BATCH = 16
PARALLEL_BATCHES = 2  # sub-batches a worker runs at once, one CPU thread each (service.py, BENCHMARKS.md)
# BentoML's batcher holds a lone request for about the average queue wait it
# last measured; after a burst that is hundreds of ms. Batches still form while
# a batch runs (one runs at a time), so capping the deliberate wait costs no
# throughput and keeps light traffic fast.
MAX_BATCH_WAIT_S = 0.005
LABEL_SHARE_WINDOW = 1000  # predictions behind `tweet_sentiment_predicted_label_share`
INPUT_LENGTH_BUCKETS = (10, 20, 40, 80, 140, 280, 560, 1000, MAX_TWEET_CHARS)


def _has_text(tweet: str) -> str:
    if not tweet.strip():
        raise ValueError("tweet is empty or whitespace only; send the text of a tweet")
    return tweet


Tweet = Annotated[str, Field(max_length=MAX_TWEET_CHARS), AfterValidator(_has_text)]


# `cap_batching_wait` patches a private part of BentoML, written against 1.4.40:
# `Optimizer.trigger_refresh` sets `self.wait`, which `CorkDispatcher` then holds
# lone requests for. Another series may change either; check, then update this.
BENTOML_SERIES = "1.4."


def check_bentoml_version(version: str | None = None) -> bool:
    """False, with a warning, unless BentoML is the series the batching hook was written for."""
    if version is None:
        import bentoml

        version = bentoml.__version__
    if version.startswith(BENTOML_SERIES):
        return True
    logger.warning(
        "bentoml %s: the cap on adaptive batching's wait (tweet_sentiment/serving.py) was written for bentoml "
        "%sx; check that bentoml._internal.marshal.dispatcher.Optimizer.trigger_refresh still sets `wait`, "
        "then update BENTOML_SERIES",
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


class ServiceMetrics:
    """Prometheus series for monitoring what the model sees and says, and how right it was."""

    def __init__(self, registry=None, share_window: int = LABEL_SHARE_WINDOW) -> None:
        """`registry=None` is prometheus_client's default one, which BentoML's /metrics serves."""
        from prometheus_client import REGISTRY, Counter, Gauge, Histogram

        registry = REGISTRY if registry is None else registry
        self.predictions = Counter(
            "tweet_sentiment_predictions", "Predicted labels, one per tweet.", labelnames=["label"], registry=registry
        )
        self.input_chars = Histogram(
            "tweet_sentiment_input_chars",
            "Length of each input tweet in characters.",
            buckets=INPUT_LENGTH_BUCKETS,
            registry=registry,
        )
        self.feedback = Counter(
            "tweet_sentiment_feedback",
            "True labels received on POST /feedback, by true and predicted label.",
            labelnames=["label", "predicted"],
            registry=registry,
        )
        # Across worker processes, the share last written wins (BentoML runs
        # prometheus_client in multiprocess mode); each worker sees a random half.
        self.label_share = Gauge(
            "tweet_sentiment_predicted_label_share",
            f"Share of each predicted label over the last {share_window} predictions of a worker.",
            labelnames=["label"],
            multiprocess_mode="livemostrecent",
            registry=registry,
        )
        self.recent_labels: deque[str] = deque(maxlen=share_window)

    def observe(self, tweets: list[str], results: list[dict]) -> None:
        for tweet, result in zip(tweets, results, strict=True):
            self.input_chars.observe(len(tweet))
            self.predictions.labels(label=result["pred_label"]).inc()
            self.recent_labels.append(result["pred_label"])
        counts = collections.Counter(self.recent_labels)
        for label in LABELS if self.recent_labels else ():
            self.label_share.labels(label=label).set(counts[label] / len(self.recent_labels))

    def observe_feedback(self, label: str, predicted: str) -> None:
        self.feedback.labels(label=label, predicted=predicted).inc()
