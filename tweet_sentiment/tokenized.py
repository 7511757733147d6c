"""Compact on-disk token storage: one flat id array plus offsets, no padding.

Tweets are short and vary in length, so padding is done per batch by the
collator; storing unpadded ids keeps the files small and the batches tight.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from transformers import PreTrainedTokenizerBase

from tweet_sentiment.labels import LABEL2ID


class TokenizedSplit(torch.utils.data.Dataset):
    """Token ids and label ids of one split; items are what the HF collators expect."""

    def __init__(self, ids: np.ndarray, offsets: np.ndarray, labels: np.ndarray) -> None:
        self.ids, self.offsets, self.labels = ids, offsets, labels

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, tokenizer: PreTrainedTokenizerBase, max_length: int) -> "TokenizedSplit":
        """Tokenize a prepared split (columns `text`, `label`)."""
        encoded = tokenizer(list(frame["text"]), truncation=True, max_length=max_length)["input_ids"]
        dtype = np.uint16 if len(tokenizer) <= np.iinfo(np.uint16).max + 1 else np.int32
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(ids) for ids in encoded])
        ids = np.fromiter((i for row in encoded for i in row), dtype=dtype, count=int(offsets[-1]))
        labels = frame["label"].map(LABEL2ID).to_numpy(dtype=np.int64)
        return cls(ids, offsets, labels)

    @classmethod
    def load(cls, path: Path) -> "TokenizedSplit":
        with np.load(path) as arrays:
            return cls(arrays["ids"], arrays["offsets"], arrays["labels"])

    def save(self, path: Path) -> None:
        np.savez_compressed(path, ids=self.ids, offsets=self.offsets, labels=self.labels)

    def subset(self, limit: int | None, seed: int) -> "TokenizedSplit":
        """A seeded random sample of `limit` rows (all rows when `limit` is None)."""
        if limit is None or limit >= len(self):
            return self
        rows = np.sort(np.random.default_rng(seed).choice(len(self), size=limit, replace=False))
        parts = [self.ids[self.offsets[i] : self.offsets[i + 1]] for i in rows]
        offsets = np.zeros(limit + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(p) for p in parts])
        return TokenizedSplit(np.concatenate(parts), offsets, self.labels[rows])

    def lengths(self) -> list[int]:
        return np.diff(self.offsets).tolist()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict:
        ids = self.ids[self.offsets[index] : self.offsets[index + 1]].astype(np.int64)
        return {"input_ids": ids.tolist(), "labels": int(self.labels[index])}
