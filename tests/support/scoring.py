"""The scoring command as a test runs it, and what it wrote: scores and listed errors."""

from pathlib import Path

import numpy as np
import pandas as pd

from tweet_sentiment.score import command
from tweet_sentiment.score.scoring import SCORE_COLUMNS


def run_cli(model_dir: Path, *args: str) -> int:
    return command.main([*args, "--model", str(model_dir), "--threads", "2"])


def scores_of(frame: pd.DataFrame) -> np.ndarray:
    return frame[list(SCORE_COLUMNS)].to_numpy(dtype=np.float64)


def errors_of(out: Path, name: str) -> list[tuple[int, str]]:
    errors = pd.read_csv(out / "_errors" / f"{name}.csv", dtype={"row": int})
    return list(zip(errors["row"], errors["reason"], strict=True))
