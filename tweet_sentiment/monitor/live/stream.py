"""The demo stream of served traffic: 3,886 crowd-labelled tweets about Apple, December 2014 (data/live-demo/).

A domain the SemEval training pool lacks (stock talk, product launches,
`$AAPL`), for the loop's test and its measurement (experiments/measure_live_loop.py).
Its README gives the source and the measured facts: latin-1, labels `1`
negative, `3` neutral, `5` positive, `not_relevant`.
"""

from pathlib import Path

import pandas as pd

DEMO_STREAM = Path("data/live-demo/Apple-Twitter-Sentiment-DFE.csv.gz")
LABELS = {"1": "negative", "3": "neutral", "5": "positive"}


def read_stream(path: Path = DEMO_STREAM) -> pd.DataFrame:
    """Its relevant tweets in `date` order: `text`, `label`, `time` (UTC); `not_relevant` rows left out."""
    frame = pd.read_csv(path, encoding="latin-1", dtype=str, keep_default_na=False)
    frame = frame[frame["sentiment"].isin(LABELS)]
    frame = frame.assign(
        label=frame["sentiment"].map(LABELS), time=pd.to_datetime(frame["date"], format="%a %b %d %H:%M:%S %z %Y")
    )
    return frame.sort_values("time", kind="stable")[["text", "label", "time"]].reset_index(drop=True)
