"""Where the train/val/test splits come from: the `data.source` param.

- `embedded`: the vendored SemEval-2017 pool (train) and TweetEval val/test.
- `tweeteval`: TweetEval's own files, downloaded from `data.tweeteval_url`.
- `csv`: the user's labelled tweets (train) with the embedded TweetEval val/test,
  so every model is still scored on the same benchmark.
Network sources fail fast, with the URL and the reason, when offline.
"""

import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd

from tweet_sentiment.data import (
    DataError,
    clean_training_pool,
    read_labelled_csv,
    read_semeval_pool,
    read_tweeteval_split,
)
from tweet_sentiment.params import DataParams

Splits = dict[str, pd.DataFrame]


def _tweeteval_split(directory: Path, split: str) -> pd.DataFrame:
    return read_tweeteval_split(directory / f"{split}_text.txt.gz", directory / f"{split}_labels.txt.gz")


def _held_out(val: pd.DataFrame, test: pd.DataFrame) -> list[str]:
    return [*val["text"], *test["text"]]


def embedded_splits(external: Path) -> Splits:
    """Train on the cleaned SemEval pool, minus every val/test tweet."""
    val = _tweeteval_split(external / "tweeteval-sentiment", "val")
    test = _tweeteval_split(external / "tweeteval-sentiment", "test")
    train = clean_training_pool(read_semeval_pool(external / "semeval2017-task4a"), _held_out(val, test))
    return {"train": train, "val": val, "test": test}


def _download(url: str, target: Path, timeout_s: float) -> None:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            target.write_bytes(response.read())
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise DataError(
            f"could not download {url} ({getattr(error, 'reason', error)}). Check the network "
            "and the URL in params.yaml, or use `data.source: embedded` offline."
        ) from error


def tweeteval_splits(params: DataParams) -> Splits:
    """TweetEval's published train/val/test, downloaded."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for split in ("train", "val", "test"):
            for kind in ("text", "labels"):
                name = f"{split}_{kind}.txt"
                _download(f"{params.tweeteval_url.rstrip('/')}/{name}", directory / name, params.timeout_s)
        return {
            split: read_tweeteval_split(directory / f"{split}_text.txt", directory / f"{split}_labels.txt")
            for split in ("train", "val", "test")
        }


def _check_declared(csv_path: Path, external: Path) -> None:
    """A local CSV must live under `data/external/`, the stage's declared dep.

    Anywhere else DVC would not see it change, and `dvc repro` would skip a
    retrain that the new data needs.
    """
    if not csv_path.resolve().is_relative_to(external.resolve()):
        raise DataError(
            f"data.csv_path {str(csv_path)!r} is outside {external}/, which is what DVC tracks for the "
            f"`download` stage, so a change to it would go unnoticed. Copy it to {external}/ (and "
            "`git add` or `dvc add` it), then point data.csv_path there."
        )


def csv_splits(params: DataParams, external: Path) -> Splits:
    """The user's CSV as train, scored on the embedded TweetEval val/test."""
    if not params.csv_path:
        raise DataError("data.source is `csv` but data.csv_path is empty; set it to a CSV path or URL.")
    if "://" not in params.csv_path:
        _check_declared(Path(params.csv_path), external)
    val = _tweeteval_split(external / "tweeteval-sentiment", "val")
    test = _tweeteval_split(external / "tweeteval-sentiment", "test")
    source = Path(params.csv_path)
    with tempfile.TemporaryDirectory() as tmp:
        if "://" in params.csv_path:
            source = Path(tmp) / "tweets.csv"
            _download(params.csv_path, source, params.timeout_s)
        raw = read_labelled_csv(source, params.text_column, params.label_column)
    return {"train": clean_training_pool(raw, _held_out(val, test)), "val": val, "test": test}


def build_splits(params: DataParams, external: Path) -> Splits:
    """The splits for `data.source`."""
    if params.source == "tweeteval":
        return tweeteval_splits(params)
    if params.source == "csv":
        return csv_splits(params, external)
    return embedded_splits(external)
