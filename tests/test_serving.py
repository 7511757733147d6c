"""Request validation, the batching-wait cap and the monitoring series, on the real libraries."""

import pytest
from bentoml._internal.marshal.dispatcher import Optimizer
from prometheus_client import CollectorRegistry
from pydantic import TypeAdapter, ValidationError

from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.core.language import LANGUAGE_LABELS
from tweet_sentiment.serving.bentoml_hooks import cap_batching_wait
from tweet_sentiment.serving.limits import MAX_BATCH_WAIT_S, MAX_TWEET_CHARS, Tweet
from tweet_sentiment.serving.prometheus import INPUT_LENGTH_BUCKETS, ServiceMetrics

TWEET = TypeAdapter(Tweet)


@pytest.mark.parametrize("text", ["great game!", " x ", "é" * MAX_TWEET_CHARS])
def test_real_text_up_to_the_limit_is_accepted_unchanged(text: str):
    assert TWEET.validate_python(text) == text


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty or whitespace only"),
        (" \n\t ", "empty or whitespace only"),
        ("&nbsp;\u200b", "empty or whitespace only"),  # nothing left once normalised
        ("\ufeff\u00ad", "empty or whitespace only"),
        ("a" * (MAX_TWEET_CHARS + 1), f"at most {MAX_TWEET_CHARS} characters"),
        (42, "valid string"),
        (None, "valid string"),
    ],
)
def test_bad_tweets_are_rejected_with_a_reason(value, reason: str):
    with pytest.raises(ValidationError) as error:
        TWEET.validate_python(value)
    assert reason in error.value.errors()[0]["msg"]


def _optimizer_after(waits: list[float]) -> Optimizer:
    optimizer = Optimizer(max_latency=30.0)
    optimizer.o_stat.extend((n, 0.01 * n, wait) for n, wait in zip(range(1, len(waits) + 1), waits, strict=True))
    optimizer.trigger_refresh()
    return optimizer


def test_batching_wait_is_capped_once_and_short_waits_are_kept():
    cap_batching_wait()
    patched = Optimizer.trigger_refresh
    cap_batching_wait()  # idempotent: service.py runs it in every worker import
    assert Optimizer.trigger_refresh is patched
    assert _optimizer_after([0.4, 0.6, 0.5]).wait == MAX_BATCH_WAIT_S  # BentoML alone would wait 0.5 s
    assert _optimizer_after([0.001, 0.002, 0.003]).wait == pytest.approx(0.002)
    optimizer = _optimizer_after([0.4, 0.6, 0.5])
    assert optimizer.o_a == pytest.approx(0.01, abs=1e-6)  # the rest of BentoML's fit is untouched


@pytest.fixture
def registry() -> CollectorRegistry:
    """A registry of the test's own: the process-wide one may already hold the service's series."""
    return CollectorRegistry()


def test_metrics_count_labels_and_tweet_lengths(registry: CollectorRegistry):
    metrics = ServiceMetrics(registry)
    tweets = ["great game!", "worst day ever", "a" * 300]
    results = [
        {"pred_label": "positive", "lang": "en"},
        {"pred_label": "negative", "lang": "sw"},
        {"pred_label": "positive", "lang": "und"},
    ]
    metrics.observe(tweets, results)
    sample = registry.get_sample_value
    assert sample("tweet_sentiment_predictions_total", {"label": "positive"}) == 2
    assert sample("tweet_sentiment_predictions_total", {"label": "negative"}) == 1
    by_language = {
        lang: sample("tweet_sentiment_predictions_by_language_total", {"lang": lang}) for lang in LANGUAGE_LABELS
    }
    assert {lang: count for lang, count in by_language.items() if count is not None} == {
        "en": 1,
        "other": 1,
        "und": 1,
    }  # Swahili is counted as `other`: a bounded label set
    assert sample("tweet_sentiment_input_chars_count") == 3
    assert sample("tweet_sentiment_input_chars_sum") == 11 + 14 + 300
    assert sample("tweet_sentiment_input_chars_bucket", {"le": "20.0"}) == 2
    assert sample("tweet_sentiment_input_chars_bucket", {"le": "280.0"}) == 2
    assert sample("tweet_sentiment_input_chars_bucket", {"le": str(float(INPUT_LENGTH_BUCKETS[-1]))}) == 3
    with pytest.raises(ValueError):
        metrics.observe(tweets, results[:2])  # a result per tweet, or nothing adds up


def test_label_share_rolls_over_the_last_predictions_and_feedback_is_counted(registry: CollectorRegistry):
    metrics = ServiceMetrics(registry, share_window=4)
    metrics.observe(["a"] * 4, [{"pred_label": "negative", "lang": "und"}] * 4)
    metrics.observe(["b"] * 3, [{"pred_label": "positive", "lang": "und"}] * 3)  # pushes three negatives out
    share = {
        label: registry.get_sample_value("tweet_sentiment_predicted_label_share", {"label": label}) for label in LABELS
    }
    assert share == {"negative": 0.25, "neutral": 0.0, "positive": 0.75}
    metrics.observe_feedback("negative", "positive")
    metrics.observe_feedback("negative", "positive")
    count = registry.get_sample_value("tweet_sentiment_feedback_total", {"label": "negative", "predicted": "positive"})
    assert count == 2
