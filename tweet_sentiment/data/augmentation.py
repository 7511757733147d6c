"""Emoji for training tweets: a weak signal of what emoji mean, from the Emoji Sentiment Ranking.

The SemEval training pool holds no emoji, so fine-tuning alone cannot teach the
model that `enraged face` is negative. `add_emoji` appends emoji to a seeded
share of the training tweets, each drawn from the distribution of emoji in
tweets of that tweet's label, P(emoji | label), as counted in about 1.6M
labelled tweets (Kralj Novak et al., 2015; `data/emoji_sentiment/README.md`).
An emoji's frequency across labels is then what it was in real tweets: 😍 is
appended to positive tweets about 4x as often (per tweet) as to negative ones,
😂 to all three. Only the training split is changed; evaluation never is.
"""

import csv
import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import emoji
import numpy as np

from tweet_sentiment.core.labels import LABEL2ID, LABELS
from tweet_sentiment.core.text import normalise

RANKING = Path("data/emoji_sentiment/Emoji_Sentiment_Data_v1.0.csv.gz")
MIN_OCCURRENCES = 5  # the paper ranks the 751 characters seen at least 5 times; 615 of them are emoji
MAX_EMOJI = 3  # per tweet: 1, 2 or 3, equally likely
REPEAT_SHARE = 0.5  # of augmented tweets, those whose emoji is one emoji repeated (😂😂😂)


@dataclass(frozen=True)
class EmojiRanking:
    """Emoji and their occurrences by label: `counts` has shape (len(emoji), 3), columns in LABELS order."""

    emoji: list[str]
    counts: np.ndarray

    @classmethod
    def load(cls, path: Path = RANKING, min_occurrences: int = MIN_OCCURRENCES) -> "EmojiRanking":
        """Read the ranking's CSV (gzip): the emoji seen `min_occurrences` times or more.

        Only what the `emoji` package calls an emoji is kept (615 of the 751):
        the ranking also counts symbols such as ★, ♪ and box-drawing characters,
        which `normalise` leaves as they are. Raises ValueError naming the file
        if a column is missing.
        """
        with gzip.open(path, "rt", encoding="utf-8", newline="") as file:
            rows = list(csv.DictReader(file))
        columns = ["Emoji", "Occurrences", *(label.capitalize() for label in LABELS)]
        if not rows or any(column not in rows[0] for column in columns):
            raise ValueError(f"{path}: expected the columns {columns} of the Emoji Sentiment Ranking.")
        kept = [row for row in rows if int(row["Occurrences"]) >= min_occurrences and emoji.is_emoji(row["Emoji"])]
        counts = np.array([[float(row[label.capitalize()]) for label in LABELS] for row in kept])
        return cls([row["Emoji"] for row in kept], counts)

    def given_label(self) -> np.ndarray:
        """P(emoji | label), shape (3, len(emoji)); each row sums to 1."""
        return (self.counts / self.counts.sum(axis=0)).T


def add_emoji(texts: Sequence[str], labels: Sequence[str], share: float, seed: int, ranking: EmojiRanking) -> list[str]:
    """`texts` with emoji appended to a seeded `share` of them, drawn from P(emoji | label), then normalised.

    `labels` are names from LABELS, one per text. A chosen tweet gets 1 to
    MAX_EMOJI emoji, one repeated or each drawn anew (REPEAT_SHARE); the same
    arguments give the same list. Raises ValueError for a share outside [0, 1].
    """
    if not 0 <= share <= 1:
        raise ValueError(f"the emoji share must be between 0 and 1, got {share}.")
    texts, labels = list(texts), list(labels)  # by position: a sampled frame's column keeps its row labels
    rng = np.random.default_rng(seed)
    chosen = rng.random(len(texts)) < share
    probabilities = ranking.given_label()
    augmented = texts.copy()
    for row in np.flatnonzero(chosen):
        count = int(rng.integers(1, MAX_EMOJI + 1))
        draws = rng.choice(len(ranking.emoji), size=count, p=probabilities[LABEL2ID[labels[row]]])
        if rng.random() < REPEAT_SHARE:
            draws[:] = draws[0]
        augmented[row] = normalise(f"{texts[row]} {''.join(ranking.emoji[i] for i in draws)}")
    return augmented
