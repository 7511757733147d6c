"""`POST /explain`'s word weights: the tweet's own words, one batched call, and faithful to the model."""

from pathlib import Path

import pandas as pd
import pytest

from tweet_sentiment.evaluate.faithfulness import deletion_curve
from tweet_sentiment.serving.explain import (
    MAX_EXPLAIN_WORDS,
    TooManyWords,
    explain_prediction,
    reads_as,
    without_words,
    word_spans,
)
from tweet_sentiment.serving.predictor import Predictor


def words(tweet: str) -> list[str]:
    return [tweet[start:end] for start, end in word_spans(tweet)]


@pytest.mark.parametrize(
    ("tweet", "expected"),
    [
        ("The food was awful", ["The", "food", "was", "awful"]),
        ("great😀 day!", ["great", "😀", "day!"]),  # an emoji glued to a word is a word of its own
        ("😡😡", ["😡", "😡"]),
        ("nice 👍🏽👨‍👩‍👧 ok", ["nice", "👍🏽", "👨‍👩‍👧", "ok"]),  # skin tone and ZWJ family stay whole
        ("  spaced\tout \n text ", ["spaced", "out", "text"]),
        ("@bob see http://x.co/a?b=1", ["@bob", "see", "http://x.co/a?b=1"]),
        ("", []),
    ],
)
def test_words_are_the_tweets_own_with_each_emoji_one_word(tweet: str, expected: list[str]):
    assert words(tweet) == expected


def test_removing_words_keeps_the_rest_byte_for_byte():
    tweet = "so  good 😍 really"
    spans = word_spans(tweet)
    assert without_words(tweet, [spans[2], spans[1]]) == "so    really"
    assert without_words(tweet, []) == tweet


@pytest.fixture(scope="module")
def served(quick_pipeline: Path) -> Predictor:
    """The quick pipeline's serving runtime (what its Bento ships), as the service loads it."""
    return Predictor(quick_pipeline / "models/serving", batch_size=16, parallel_batches=2, threads=2)


@pytest.mark.slow
def test_a_tweet_whose_only_sentiment_word_is_awful_weighs_awful_most(served: Predictor):
    explanation = explain_prediction(served, "The food at that place was awful")
    assert explanation["pred_label"] == "negative"
    [top] = sorted(explanation["words"], key=lambda word: word["weight"])[-1:]
    assert top["word"] == "awful" and top["weight"] > 0
    [predicted] = served.predict(["The food at that place was awful"])  # alone, not batched with its variants
    assert explanation["pred_id"] == predicted["pred_id"]
    assert explanation["scores"] == pytest.approx(predicted["scores"], abs=1e-4)


def test_reads_as_is_what_the_normaliser_gives_the_model():
    bold_great = "".join(chr(0x1D41A + ord(letter) - ord("a")) for letter in "great")  # styled letters
    assert [reads_as(word) for word in ("😡", "@bob", "http://t.co/x", "&amp;", bold_great, "plain")] == [
        "enraged face",
        "@user",
        "http",
        "&",
        "great",
        "plain",
    ]


@pytest.mark.slow
def test_the_word_cap_is_a_clear_error(served: Predictor):
    with pytest.raises(TooManyWords, match=f"{MAX_EXPLAIN_WORDS + 1} words.*at most {MAX_EXPLAIN_WORDS}"):
        explain_prediction(served, " ".join(["fine"] * (MAX_EXPLAIN_WORDS + 1)))


@pytest.mark.slow
def test_top_words_change_the_prediction_more_than_random_words_on_500_test_tweets(quick_pipeline: Path, served):
    """The deletion curve (k = 1..3) of docs/explanations.md, on the quick pipeline's model."""
    test = pd.read_csv(quick_pipeline / "data/prepared/test.csv", dtype=str, keep_default_na=False)
    tweets = test.sample(n=500, random_state=0)["text"].tolist()
    curve = deletion_curve(served, tweets)
    assert [point.k for point in curve] == [1, 2, 3]
    for point in curve:
        assert point.tweets >= 490, point  # only a handful of test tweets have fewer than 3 words
        assert point.top_drop > 2 * point.random_drop and point.top_wins > 0.6, point
