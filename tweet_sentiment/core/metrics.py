"""Classification scores, with TweetEval's headline metric (macro recall) first."""

from collections.abc import Sequence

from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support, recall_score

from tweet_sentiment.core.labels import LABELS

LABEL_IDS = list(range(len(LABELS)))


def headline_scores(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    """Macro recall (the TweetEval metric), macro F1 and accuracy."""
    macro = {"labels": LABEL_IDS, "average": "macro", "zero_division": 0}
    return {
        "macro_recall": float(recall_score(y_true, y_pred, **macro)),
        "macro_f1": float(f1_score(y_true, y_pred, **macro)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
    }


def per_class_scores(y_true: Sequence[int], y_pred: Sequence[int]) -> list[dict]:
    """Precision, recall, F1 and support of each class, as table rows."""
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=LABEL_IDS, zero_division=0)
    return [
        {"label": label, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(LABELS, precision, recall, f1, support, strict=True)
    ]
