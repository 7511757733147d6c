"""Emoji for training tweets, drawn from the vendored Emoji Sentiment Ranking."""

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tweet_sentiment.core.text import normalise
from tweet_sentiment.data.augmentation import EmojiRanking, add_emoji

RANKING = EmojiRanking.load()


def test_the_ranking_keeps_the_emoji_seen_five_times_or_more():
    assert len(RANKING.emoji) == 615 and RANKING.counts.shape == (615, 3)
    row = RANKING.emoji.index("😡")
    assert RANKING.counts[row].tolist() == [403, 81, 272]  # negative, neutral, positive, as the paper's table
    assert "★" not in RANKING.emoji  # ranked, but not an emoji: normalise would leave it as it is
    np.testing.assert_allclose(RANKING.given_label().sum(axis=1), 1.0)


def test_no_share_changes_nothing_and_a_full_share_changes_every_tweet():
    texts, labels = ["good day", "bad day", "a day"], ["positive", "negative", "neutral"]
    assert add_emoji(texts, labels, 0.0, seed=1, ranking=RANKING) == texts
    augmented = add_emoji(texts, labels, 1.0, seed=1, ranking=RANKING)
    assert all(new.startswith(old + " ") and new == normalise(new) for old, new in zip(texts, augmented, strict=True))
    assert augmented == add_emoji(texts, labels, 1.0, seed=1, ranking=RANKING)  # seeded
    assert augmented != add_emoji(texts, labels, 1.0, seed=2, ranking=RANKING)


def test_a_share_of_tweets_gets_emoji_drawn_for_their_label():
    quarter = add_emoji(["day"] * 4000, ["neutral"] * 4000, 0.25, seed=0, ranking=RANKING)
    assert sum(text != "day" for text in quarter) == pytest.approx(1000, rel=0.1)
    texts = ["day"] * 4000
    negative = add_emoji(texts, ["negative"] * len(texts), 1.0, seed=0, ranking=RANKING)
    positive = add_emoji(texts, ["positive"] * len(texts), 1.0, seed=0, ranking=RANKING)
    # The ranking: P(😡 | negative) = 403/24,102, P(😡 | positive) = 272/85,414, 5.3 times less.
    angry = [sum("enraged face" in text for text in side) for side in (negative, positive)]
    assert angry[0] > 3 * angry[1]
    hearts = [sum("smiling face with heart-eyes" in text for text in side) for side in (negative, positive)]
    assert hearts[1] > 2 * hearts[0]  # 4,640/85,414 against 329/24,102: 4 times


def test_a_sampled_frame_is_read_by_position_not_by_its_row_labels():
    """`evaluate` passes a sampled val frame (row labels 7, 3, 5): the draws are those of the plain lists."""
    frame = pd.DataFrame({"text": ["good day", "bad day", "a day"], "label": ["positive", "negative", "neutral"]})
    frame.index = [7, 3, 5]
    by_position = add_emoji(list(frame["text"]), list(frame["label"]), 1.0, seed=1, ranking=RANKING)
    assert add_emoji(frame["text"], frame["label"], 1.0, seed=1, ranking=RANKING) == by_position


def test_a_share_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match=r"between 0 and 1, got 1\.5"):
        add_emoji(["x"], ["neutral"], 1.5, seed=0, ranking=RANKING)


def test_a_file_that_is_not_the_ranking_is_named(tmp_path: Path):
    path = tmp_path / "other.csv.gz"
    with gzip.open(path, "wt") as file:
        file.write("Emoji,Count\n😂,3\n")
    with pytest.raises(ValueError, match=r"other\.csv\.gz: expected the columns"):
        EmojiRanking.load(path)


def test_accuracy_by_emoji_lists_each_frequent_emoji_worst_first_one_count_per_tweet():
    import numpy as np

    from tweet_sentiment.evaluate.emoji_accuracy import MIN_EMOJI_TWEETS, accuracy_by_emoji

    n = MIN_EMOJI_TWEETS
    texts = ["so sad 😭😭"] * n + ["love it ❤️"] * (n // 2) + ["love ❤ it"] * (n // 2) + ["rare 🦄"] * (n - 1)
    actual = np.zeros(len(texts), dtype=int)
    predicted = np.array([0] * (n // 2) + [1] * (n // 2) + [0] * n + [0] * (n - 1))
    rows = accuracy_by_emoji(texts, actual, predicted)
    # 😭 twice in a tweet counts once; ❤ and ❤️ are one emoji; 🦄 in too few tweets is left out
    assert rows == [
        {"emoji": "😭 loudly crying face", "tweets": n, "accuracy": 0.5},
        {"emoji": "❤ red heart", "tweets": n, "accuracy": 1.0},
    ]
