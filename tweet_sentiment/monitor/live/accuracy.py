"""Live accuracy: how right the served model was on the tweets whose true label came back."""

import numpy as np
from sklearn.metrics import confusion_matrix, recall_score

from tweet_sentiment.core.labels import LABEL2ID, LABELS


def live_accuracy(feedback: list[dict]) -> dict | None:
    """Macro recall and the confusion matrix of the predictions whose true label came back.

    `feedback`: records with `label` (true) and `predicted`; None when none has both.
    Macro recall averages over the classes that have a true label so far.
    """
    labelled = [f for f in feedback if f.get("label") in LABEL2ID and f.get("predicted") in LABEL2ID]
    if not labelled:
        return None
    actual = [f["label"] for f in labelled]
    predicted = [f["predicted"] for f in labelled]
    present = sorted(set(actual), key=LABELS.index)  # a class with no true label yet has no recall
    return {
        "labelled": len(labelled),
        "macro_recall": round(float(recall_score(actual, predicted, labels=present, average="macro")), 4),
        "classes": present,
        "accuracy": round(float(np.mean(np.array(actual) == np.array(predicted))), 4),
        "labels": list(LABELS),
        "confusion_matrix": confusion_matrix(actual, predicted, labels=LABELS).tolist(),  # rows: true label
    }
