"""The tweets `evaluate` and `optimize` score: the same splits and the same sample in both."""

import numpy as np
import pandas as pd

from tweet_sentiment import paths
from tweet_sentiment.labels import LABEL2ID
from tweet_sentiment.params import Params

EVAL_SPLITS = ("val", "test")  # TweetEval's: what `optimize` gates on, and every run is scored on
CUSTOM_SPLIT = "custom"  # the user's held-out rows (data.eval_share), written by `download` only when there are some


def scored_splits() -> tuple[str, ...]:
    """What `evaluate` scores: EVAL_SPLITS, then `custom` when data/prepared/custom.csv exists."""
    return (*EVAL_SPLITS, CUSTOM_SPLIT) if (paths.PREPARED / f"{CUSTOM_SPLIT}.csv").is_file() else EVAL_SPLITS


def evaluation_frame(name: str, params: Params) -> pd.DataFrame:
    """One split's tweets: all, or a seeded `max_eval_samples` sample."""
    frame = pd.read_csv(paths.PREPARED / f"{name}.csv", dtype=str, keep_default_na=False)
    if params.max_eval_samples is not None and params.max_eval_samples < len(frame):
        frame = frame.sample(n=params.max_eval_samples, random_state=params.seed)
    return frame


def labels_of(frame: pd.DataFrame) -> np.ndarray:
    return frame["label"].map(LABEL2ID).to_numpy()
