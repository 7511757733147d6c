"""The tweets `evaluate` and `optimize` score: the same splits and the same sample in both."""

import numpy as np
import pandas as pd

from tweet_sentiment.core import paths
from tweet_sentiment.core.labels import LABEL2ID
from tweet_sentiment.core.params import Params

EVAL_SPLITS = ("val", "test")  # TweetEval's: what `optimize` gates on, and every run is scored on
CUSTOM_SPLIT = "custom"  # the user's held-out rows (data.eval_share), written by `download` only when there are some
LIVE_SPLIT = "live"  # the newest harvested feedback (live.holdout_share), likewise
HELD_OUT_SPLITS = (CUSTOM_SPLIT, LIVE_SPLIT)


def scored_splits() -> tuple[str, ...]:
    """What `evaluate` scores: EVAL_SPLITS, then `custom` and `live` where data/prepared/ has them."""
    return (*EVAL_SPLITS, *(name for name in HELD_OUT_SPLITS if (paths.PREPARED / f"{name}.csv").is_file()))


def evaluation_frame(name: str, params: Params) -> pd.DataFrame:
    """One split's tweets: all, or a seeded `max_eval_samples` sample."""
    frame = pd.read_csv(paths.PREPARED / f"{name}.csv", dtype=str, keep_default_na=False)
    if params.max_eval_samples is not None and params.max_eval_samples < len(frame):
        frame = frame.sample(n=params.max_eval_samples, random_state=params.seed)
    return frame


def labels_of(frame: pd.DataFrame) -> np.ndarray:
    return frame["label"].map(LABEL2ID).to_numpy()
