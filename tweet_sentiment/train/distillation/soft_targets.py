"""The teacher's logits on disk: a CSV per set of tweets, a key column then one logit column per label.

Logits, not probabilities, so that `teacher.temperature` is applied in
`finetune` and changing it does not rerun the teacher. Four decimals: the
files are small enough for git (the frozen `teacher` stage's outs are
`cache: false`), and the same logits always give the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.data.cleaning import DataError

TRAIN_FILE = "train.csv"  # key `id`: every prepared training tweet, in data/prepared/train.csv's order
TRANSFER_FILE = "transfer.csv"  # key `text`: the normalised transfer tweets the teacher labelled


def write_logits(path: Path, key: str, keys: list, logits: np.ndarray) -> None:
    """Write `keys` (n,) beside `logits` (n, len(LABELS)) as `path`."""
    frame = pd.DataFrame(logits, columns=list(LABELS)).round(4)
    frame.insert(0, key, keys)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format="%.4f", lineterminator="\n")


def read_logits(path: Path, key: str) -> tuple[list[str], np.ndarray]:
    """The keys (n,) and logits (n, len(LABELS)) of a file `write_logits` wrote; DataError naming what is wrong."""
    # A frozen stage: `dvc repro teacher` alone skips it.
    rerun = (
        "rerun the teacher (`dvc unfreeze teacher && dvc repro teacher && dvc freeze teacher`), "
        "or set teacher.weight: 0 to train without a teacher"
    )
    try:
        frame = pd.read_csv(path, dtype={key: str}, keep_default_na=False)
    except FileNotFoundError as error:
        raise DataError(f"{path}: the teacher's logits are missing; {rerun}") from error
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: not a CSV of the teacher's logits ({error}); {rerun}") from error
    expected = [key, *LABELS]
    if list(frame.columns) != expected:
        raise DataError(f"{path}: columns {list(frame.columns)}, expected {expected}; {rerun}")
    logits = frame[list(LABELS)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float32)
    if not np.isfinite(logits).all():
        row = int(np.flatnonzero(~np.isfinite(logits).all(axis=1))[0])
        raise DataError(f"{path}: row {row + 2} holds a logit that is not a finite number; {rerun}")
    return frame[key].tolist(), logits
