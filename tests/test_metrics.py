"""Scores against hand-computed values, TweetEval's macro recall first."""

import pytest

from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.core.metrics import LABEL_IDS, headline_scores, per_class_scores

# negative=0, neutral=1, positive=2
Y_TRUE = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2]
Y_PRED = [0, 1, 1, 1, 1, 2, 2, 2, 0, 1]


def test_headline_scores_by_hand():
    scores = headline_scores(Y_TRUE, Y_PRED)
    recalls = [1 / 3, 2 / 2, 3 / 5]
    precisions = [1 / 2, 2 / 5, 3 / 3]
    f1 = [2 * p * r / (p + r) for p, r in zip(precisions, recalls, strict=True)]
    assert list(scores) == ["macro_recall", "macro_f1", "accuracy"]
    assert scores["macro_recall"] == pytest.approx(sum(recalls) / 3)
    assert scores["macro_f1"] == pytest.approx(sum(f1) / 3)
    assert scores["accuracy"] == pytest.approx(6 / 10)
    assert all(type(value) is float for value in scores.values())  # JSON-ready, not numpy scalars


def test_all_neutral_baseline_scores_a_third_macro_recall():
    """TweetEval's all-neutral baseline (0.333): an absent class counts as recall 0, not an error."""
    scores = headline_scores(Y_TRUE, [1] * len(Y_TRUE))
    assert scores["macro_recall"] == pytest.approx(1 / 3)
    assert scores["accuracy"] == pytest.approx(2 / 10)


def test_per_class_rows_are_in_label_order_with_support():
    rows = per_class_scores(Y_TRUE, Y_PRED)
    assert [row["label"] for row in rows] == list(LABELS)
    assert [row["support"] for row in rows] == [3, 2, 5]
    assert [row["recall"] for row in rows] == pytest.approx([1 / 3, 1.0, 3 / 5])
    assert [row["precision"] for row in rows] == pytest.approx([1 / 2, 2 / 5, 1.0])
    assert all(type(row["support"]) is int and type(row["f1"]) is float for row in rows)


def test_a_class_missing_from_both_sides_still_gets_a_row():
    rows = per_class_scores([1, 1, 2], [1, 2, 2])
    assert len(rows) == len(LABEL_IDS) == 3
    assert rows[0] == {"label": LABELS[0], "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
