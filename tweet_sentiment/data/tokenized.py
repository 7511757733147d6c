"""Compact on-disk token storage: one flat id array plus offsets, no padding.

Tweets are short and vary in length, so padding is done per batch by the
collator; storing unpadded ids keeps the files small and the batches tight.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from transformers import PreTrainedTokenizerBase

from tweet_sentiment.core.labels import LABEL2ID

UNLABELLED = -100  # a row's label id where it has none: the value torch's cross_entropy ignores


class TokenizedSplit(torch.utils.data.Dataset):
    """Token ids and label ids of one split; items are what the HF collators expect."""

    def __init__(self, ids: np.ndarray, offsets: np.ndarray, labels: np.ndarray) -> None:
        self.ids, self.offsets, self.labels = ids, offsets, labels

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, tokenizer: PreTrainedTokenizerBase, max_length: int) -> "TokenizedSplit":
        """Tokenize a prepared split (columns `text`, `label`)."""
        labels = frame["label"].map(LABEL2ID).to_numpy(dtype=np.int64)
        return cls.from_texts(list(frame["text"]), labels, tokenizer, max_length)

    @classmethod
    def from_texts(
        cls, texts: list[str], labels: np.ndarray, tokenizer: PreTrainedTokenizerBase, max_length: int
    ) -> "TokenizedSplit":
        """Tokenize `texts`; `labels` holds a label id per text (UNLABELLED where there is none)."""
        encoded = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
        dtype = np.uint16 if len(tokenizer) <= np.iinfo(np.uint16).max + 1 else np.int32
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(ids) for ids in encoded])
        ids = np.fromiter((i for row in encoded for i in row), dtype=dtype, count=int(offsets[-1]))
        return cls(ids, offsets, labels)

    @classmethod
    def load(cls, path: Path) -> "TokenizedSplit":
        with np.load(path) as arrays:
            return cls(arrays["ids"], arrays["offsets"], arrays["labels"])

    def save(self, path: Path) -> None:
        np.savez_compressed(path, ids=self.ids, offsets=self.offsets, labels=self.labels)

    def subset(self, limit: int | None, seed: int) -> "TokenizedSplit":
        """A seeded random sample of `limit` rows (all rows when `limit` is None)."""
        return self.take(self.subset_rows(limit, seed))

    def subset_rows(self, limit: int | None, seed: int) -> np.ndarray:
        """The row numbers, ascending, of `subset(limit, seed)`: shape (min(limit, len),)."""
        if limit is None or limit >= len(self):
            return np.arange(len(self))
        return np.sort(np.random.default_rng(seed).choice(len(self), size=limit, replace=False))

    def take(self, rows: np.ndarray) -> "TokenizedSplit":
        """These rows, in this order."""
        if len(rows) == len(self) and np.array_equal(rows, np.arange(len(self))):
            return self
        parts = [self.ids[self.offsets[i] : self.offsets[i + 1]] for i in rows]
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(p) for p in parts])
        ids = np.concatenate(parts) if parts else self.ids[:0]
        return TokenizedSplit(ids, offsets, self.labels[rows])

    @classmethod
    def concatenate(cls, splits: list["TokenizedSplit"]) -> "TokenizedSplit":
        """The rows of each split in turn."""
        offsets = [np.zeros(1, dtype=np.int64)]
        for split in splits:
            offsets.append(split.offsets[1:] + offsets[-1][-1])
        return cls(
            np.concatenate([split.ids for split in splits]),
            np.concatenate(offsets),
            np.concatenate([split.labels for split in splits]),
        )

    def lengths(self) -> list[int]:
        return np.diff(self.offsets).tolist()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict:
        ids = self.ids[self.offsets[index] : self.offsets[index + 1]].astype(np.int64)
        return {"input_ids": ids.tolist(), "labels": int(self.labels[index])}
