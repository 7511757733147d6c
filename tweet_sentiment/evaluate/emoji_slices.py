"""The emoji slices `evaluate` scores, shared with the recipe sweep so both score the same tweets.

- `<split>_emoji` and `<split>_no_emoji`: a split's tweets with emoji (the `emoji`
  package's count: 809 of TweetEval test's 12,284) and the rest;
- `val_synthetic_emoji`: validation has no emoji, so every val tweet gets 1-3
  emoji drawn for its label as training's are, with another seed (seed + 1);
- `emoji_accuracy_<split>`: the accuracy by emoji (`emoji_accuracy.py`).
"""

import numpy as np
import pandas as pd

from tweet_sentiment.data.augmentation import EmojiRanking, add_emoji


def emoji_subsets(name: str, with_emoji: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """`(<name>_emoji, rows)` and `(<name>_no_emoji, rows)` (boolean masks); none when either would be empty."""
    if with_emoji.all() or not with_emoji.any():
        return []
    return [(f"{name}_emoji", with_emoji), (f"{name}_no_emoji", ~with_emoji)]


def synthetic_emoji_texts(val: pd.DataFrame, seed: int) -> list[str]:
    """Every val tweet (`text`, `label` columns) with 1-3 emoji drawn for its label, seed + 1: not training's draws."""
    return add_emoji(val["text"], val["label"], 1.0, seed + 1, EmojiRanking.load())
