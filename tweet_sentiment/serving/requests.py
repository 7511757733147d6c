"""What the HTTP service accepts and how it batches: request limits, the tweet validator, batching knobs.

Kept apart from `service.py` so the limits are importable (tests, docs) without
starting BentoML.
"""

import logging
from typing import Annotated

from pydantic import AfterValidator, Field

from tweet_sentiment.text import normalise

# A child of BentoML's logger, so `bentoml serve` prints it like its own lines.
logger = logging.getLogger("bentoml.tweet_sentiment")

MAX_TWEET_CHARS = 2000  # tweets are at most 280 chars; longer input is rejected, not truncated
MAX_TWEETS_PER_REQUEST = 64
# Bodies over this are refused (413) before anything parses them; TWEET_SENTIMENT_MAX_BODY_BYTES
# overrides it. The largest valid request, 64 tweets of 2,000 characters each JSON-escaped
# as `\uXXXX` (6 bytes), is 768,000 bytes and some framing.
MAX_BODY_BYTES = 1024 * 1024
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


def _has_text(tweet: str) -> str:
    # On the text the model would see: `&nbsp;`, a zero-width space or a BOM alone is blank too.
    if not normalise(tweet):
        raise ValueError(
            "tweet is empty or whitespace only (invisible characters and entities such as &nbsp; count as "
            "whitespace); send the text of a tweet"
        )
    return tweet


Tweet = Annotated[str, Field(max_length=MAX_TWEET_CHARS), AfterValidator(_has_text)]


# `cap_batching_wait` patches a private part of BentoML, written against 1.4.40:
# `Optimizer.trigger_refresh` sets `self.wait`, which `CorkDispatcher` then holds
# lone requests for. serving/http.py relies on two more: each API's
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
        "bentoml %s: the cap on adaptive batching's wait (tweet_sentiment/serving/requests.py) was written for bentoml "
        "%sx; check that bentoml._internal.marshal.dispatcher.Optimizer.trigger_refresh still sets `wait`, "
        "that an API's input_spec.from_http_request still parses its requests and that "
        "bentoml._internal.server.http_app.log_exception still logs what the app answers "
        "(tweet_sentiment/serving/http.py) and that RunnerTrafficMetricsMiddleware still labels by scope['path'] "
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
