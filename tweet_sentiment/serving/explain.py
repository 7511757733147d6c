"""Why this label: each word's contribution, by occlusion, on the served runtime itself.

A tweet's words are its whitespace-separated tokens, with each emoji (a ZWJ
sequence or a skin-toned one included) split out as a word of its own, so
`great😀` is two words. Word *i*'s weight is how much the predicted class's
probability falls when the tweet is scored with that word left out:
`p(c | tweet) - p(c | tweet without word i)`, where `c` is the predicted class.
Positive: the word pushed the tweet towards its label; negative: away from it.

The tweet and its one-word-out variants are scored in one batched call through
the same `Predictor` that answers `/predict` (leave-one-out occlusion, Zeiler and
Fergus 2014; Li, Monroe and Jurafsky 2016, "Understanding Neural Networks through
Representation Erasure"), so no gradients and no torch are needed and the cost is
bounded: at most `MAX_EXPLAIN_WORDS + 1` texts per explanation. How faithful it is,
measured by a deletion curve on 500 test tweets, is in docs/explanations.md
(`python -m benchmarks.explain_faithfulness`).
"""

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import emoji

from tweet_sentiment.core.text import normalise
from tweet_sentiment.serving.predictor import Predictor, results_of

# 280 characters hold at most about 60 words of English; the cap bounds one
# explanation to 65 scored texts (about 5 sub-batches of the service's 16).
MAX_EXPLAIN_WORDS = 64
_TOKEN = re.compile(r"\S+")


class TooManyWords(ValueError):
    """The tweet has more words than an explanation scores; the message gives both counts."""


@dataclass(frozen=True)
class Word:
    """One word of the tweet: its text, where it is (`tweet[start:end]`), its weight, what the model reads."""

    word: str
    start: int
    end: int
    weight: float
    reads_as: str  # what the normaliser gives the model: an emoji's name, `@user` for a handle, `http` for a link


def word_spans(tweet: str) -> list[tuple[int, int]]:
    """`(start, end)` of each word: whitespace-separated tokens, each emoji a word of its own."""
    spans = []
    for token in _TOKEN.finditer(tweet):
        position = token.start()
        for found in emoji.emoji_list(token.group()):
            start, end = token.start() + found["match_start"], token.start() + found["match_end"]
            if start > position:
                spans.append((position, start))
            spans.append((start, end))
            position = end
        if position < token.end():
            spans.append((position, token.end()))
    return spans


def without_words(tweet: str, spans: Sequence[tuple[int, int]]) -> str:
    """The tweet with the words at `spans` (`(start, end)` each) cut out, the rest of it as it was."""
    for start, end in sorted(spans, reverse=True):
        tweet = tweet[:start] + tweet[end:]
    return tweet


def explain_prediction(predictor: Predictor, tweet: str, max_words: int = MAX_EXPLAIN_WORDS) -> dict:
    """The prediction `/predict` gives (`pred_id`, `pred_label`, `scores`) plus `words`, one `Word` dict each.

    Raises `TooManyWords` for a tweet of more than `max_words` words.
    """
    spans = word_spans(tweet)
    if len(spans) > max_words:
        raise TooManyWords(
            f"the tweet has {len(spans)} words; an explanation scores one variant per word, "
            f"at most {max_words} words: send a shorter text"
        )
    probabilities = predictor.predict_proba([tweet, *(without_words(tweet, [span]) for span in spans)])
    [prediction] = results_of(probabilities[:1])
    predicted = prediction["pred_id"]
    weights = probabilities[0, predicted] - probabilities[1:, predicted]
    words = [
        Word(tweet[start:end], start, end, round(float(weight), 6), reads_as(tweet[start:end]))
        for (start, end), weight in zip(spans, weights, strict=True)
    ]
    return {**prediction, "words": [asdict(word) for word in words]}


def reads_as(word: str) -> str:
    """What the model reads of one word (`normalise`), or the word where that is nothing (punctuation kept)."""
    return normalise(word) or word
