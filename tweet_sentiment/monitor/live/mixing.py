"""Harvested feedback in the splits: the newest share as the `live` split, the rest (optionally) trained on.

`download` calls `add_live` after the `data.source` splits are built. The rows
are `harvest`'s (data/live/feedback.csv, oldest first). The newest
`live.holdout_share` of them, when at least `live.min_holdout`, are the `live`
split, scored by `evaluate` beside TweetEval. With `live.train`, the older rows
join the training split `live.oversample` times, after the own-data rules
(de-duplicated against the pool, no tweet of any evaluation split, `live`
included). Training needs request ids verified with the service's secret key;
feedback sent with the tweet trains only with `live.accept_tweet_feedback`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tweet_sentiment.core.params import LiveParams
from tweet_sentiment.data.cleaning import COLUMNS, DataError, RowCount, clean_training_pool
from tweet_sentiment.evaluate.splits import LIVE_SPLIT

LIVE_SOURCE = "live"  # the count of the harvested rows trained on, in metrics/data.json


def read_harvested(path: Path) -> pd.DataFrame:
    """`harvest`'s rows; an empty frame when it harvested none."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frame.assign(verified=frame["verified"].eq("True"))


def _trainable(rows: pd.DataFrame, settings: LiveParams) -> pd.DataFrame:
    """The rows that may train; `DataError` when signed feedback could not be verified."""
    by_id = rows[rows["source"] == "request_id"]
    if not by_id["verified"].all():
        raise DataError(
            f"live.train is on, but {int((~by_id['verified']).sum())} harvested request ids were not verified: set "
            "TWEET_SENTIMENT_REQUEST_ID_KEY to the service's secret key and run `dvc repro --force -s harvest` "
            "(without it, anyone who can reach /feedback could choose the training labels)"
        )
    return rows if settings.accept_tweet_feedback else by_id


def add_live(
    splits: dict[str, pd.DataFrame], counts: dict[str, RowCount], rows: pd.DataFrame, settings: LiveParams
) -> None:
    """Add the `live` split and, with `live.train`, the harvested training rows, to `splits` (and their count)."""
    held = round(settings.holdout_share * len(rows))
    if held < settings.min_holdout:
        held = 0
    older, newest = rows.iloc[: len(rows) - held], rows.iloc[len(rows) - held :]
    if held:
        splits[LIVE_SPLIT] = newest[COLUMNS].reset_index(drop=True)
    if not settings.train:
        return
    evaluation = [text for name, frame in splits.items() if name != "train" for text in frame["text"]]
    train, count = clean_training_pool(
        _trainable(older, settings)[COLUMNS], evaluation, taken_texts=splits["train"]["text"]
    )
    splits["train"] = pd.concat([splits["train"], *[train] * settings.oversample], ignore_index=True)
    counts[LIVE_SOURCE] = count
