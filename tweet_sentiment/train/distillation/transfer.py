"""The transfer set: tweets without sentiment labels that the teacher labels for the student.

TweetEval's other six tasks (emoji, emotion, hate, irony, offensive, stance;
data/external/tweeteval-other, 140,886 tweets as vendored) are from the same
benchmark and time as its sentiment task. Their texts are normalised as every
other tweet is, and any that matches a sentiment tweet after that (by
`match_key`) is dropped, as are repeats: the student must never learn a val or
test tweet from the teacher.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from tweet_sentiment.core.text import match_key, normalise
from tweet_sentiment.data.cleaning import DataError


def read_texts(root: Path) -> list[str]:
    """Every line of every `*_text.txt.gz` under `root`, in sorted path order; DataError if there is none."""
    files = sorted(root.rglob("*_text.txt.gz"))
    if not files:
        raise DataError(f"{root}: no *_text.txt.gz files; it ships with the repository: git checkout {root}")
    texts = []
    for path in files:
        try:
            with gzip.open(path, "rt", encoding="utf-8") as lines:
                texts.extend(line.rstrip("\n") for line in lines)
        except (OSError, UnicodeDecodeError, EOFError) as error:
            raise DataError(f"{path}: not a gzipped UTF-8 text file ({error}); restore it with git checkout") from error
    return texts


def transfer_set(root: Path, exclude: Iterable[str], limit: int | None, seed: int) -> list[str]:
    """Normalised transfer tweets, none empty, repeated or matching `exclude`; a seeded sample of `limit` (None: all).

    Returns them in the order they are read, sampled rows kept in that order.
    """
    seen = {match_key(text) for text in exclude}
    kept = []
    for text in map(normalise, read_texts(root)):
        key = match_key(text)
        if key and key not in seen:
            seen.add(key)
            kept.append(text)
    if limit is None or limit >= len(kept):
        return kept
    rows = np.sort(np.random.default_rng(seed).choice(len(kept), size=limit, replace=False))
    return [kept[row] for row in rows]
