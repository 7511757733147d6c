"""The emoji the model still reads wrong: the accuracy on the tweets holding each emoji, worst first.

`evaluate` logs it per split (`emoji_accuracy_<split>`, a bar plot); the model card lists
test's worst. Light on purpose (emoji and numpy): the card's code imports its threshold.
"""

from collections.abc import Sequence

import emoji
import numpy as np

from tweet_sentiment.core.text import decode_entities, emoji_as_words

# An accuracy on fewer tweets is mostly noise: at 20 tweets its standard error is up to 0.11.
MIN_EMOJI_TWEETS = 20


def accuracy_by_emoji(texts: Sequence[str], actual: np.ndarray, predicted: np.ndarray) -> list[dict]:
    """Each emoji in at least `MIN_EMOJI_TWEETS` texts: `{emoji: "<emoji> <its name>", tweets, accuracy}`,
    lowest accuracy first (ties by emoji). A tweet counts once per distinct emoji it holds; ❤ and ❤️
    (with the emoji variation selector) are one emoji, as the model reads them."""
    holders: dict[str, list[int]] = {}
    for index, text in enumerate(texts):
        for found in {_unqualified(match["emoji"]) for match in emoji.emoji_list(decode_entities(text))}:
            holders.setdefault(found, []).append(index)
    rows = [
        {
            "emoji": f"{found} {emoji_as_words(found).strip()}",
            "tweets": len(rows),
            "accuracy": float((actual[rows] == predicted[rows]).mean()),
        }
        for found, rows in holders.items()
        if len(rows) >= MIN_EMOJI_TWEETS
    ]
    return sorted(rows, key=lambda row: (row["accuracy"], row["emoji"]))


def _unqualified(sequence: str) -> str:
    return sequence.replace("\ufe0f", "").replace("\ufe0e", "")
