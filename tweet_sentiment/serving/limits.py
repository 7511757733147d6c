"""What the HTTP service accepts and how it batches: request limits, the tweet validator, batching knobs.

Kept apart from `service.py` so the limits are importable (tests, docs, the scoring
command) without starting BentoML; the hooks into BentoML's internals that apply some
of them are in `bentoml_hooks.py`.
"""

import logging
from typing import Annotated

from pydantic import AfterValidator, Field

from tweet_sentiment.core.text import normalise

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
