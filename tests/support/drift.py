"""Synthetic drift features and the test settings of the drift checks."""

import numpy as np

from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.monitor.drift.checks import DriftSettings
from tweet_sentiment.monitor.drift.features import Features

SETTINGS = DriftSettings(0.05, 50, 300, 100, 0, min_label_shift=0.1, min_ks=0.1, min_mmd2=0.01)


def synthetic(n: int, seed: int, shares=(0.2, 0.4, 0.4), confidence_shift: float = 0.0) -> Features:
    rng = np.random.default_rng(seed)
    return Features(
        predicted=rng.choice(len(LABELS), n, p=shares),
        confidence=np.clip(rng.beta(5, 2, n) - confidence_shift, 0.34, 1).astype(np.float32),
        chars=rng.integers(20, 140, n).astype(np.int32),
        unknown_share=np.zeros(n, dtype=np.float32),
        embedding=rng.normal(size=(n, 8)).astype(np.float32),
    )
