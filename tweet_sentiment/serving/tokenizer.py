"""Tweets to token ids, with the `tokenizers` library alone.

The serving image carries no torch and no transformers, so the service reads
the fine-tuned model's `tokenizer.json` directly. It gives the same ids as
transformers' tokenizer of that directory (tests/test_runtimes.py checks),
and normalises each tweet first, as training did.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from tweet_sentiment.core.labels import ModelLoadError
from tweet_sentiment.core.text import normalise


@dataclass(frozen=True)
class TokenCounts:
    """What the model saw of one text: its word pieces and how many were unknown to the vocabulary."""

    tokens: int
    unknown: int


class TweetTokenizer:
    """Normalise, tokenize and truncate tweets; pad batches of them for a runtime."""

    def __init__(self, model_dir: str | Path) -> None:
        """Raises `ModelLoadError` if the directory's tokenizer files are missing or unreadable."""
        model_dir = Path(model_dir)
        try:
            self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
            config = json.loads((model_dir / "tokenizer_config.json").read_text())
            max_length, pad, unk = config["model_max_length"], config["pad_token"], config["unk_token"]
        except Exception as error:  # tokenizers raises a bare Exception for a missing or malformed file
            raise ModelLoadError(f"{model_dir}: no usable tokenizer ({type(error).__name__}: {error}).") from None
        # `save_pretrained` stores padding to max_length in tokenizer.json; batches pad to their longest.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        self.pad_id, self.unk_id = self.tokenizer.token_to_id(pad), self.tokenizer.token_to_id(unk)
        self.special_tokens = self.tokenizer.post_processor.num_special_tokens_to_add(False)

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each normalised text, as the model sees them."""
        return [encoding.ids for encoding in self.tokenizer.encode_batch([normalise(text) for text in texts])]

    def pad(self, encoded: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        """`input_ids` and `attention_mask` (int64), right-padded to the longest sequence."""
        width = max(len(ids) for ids in encoded)
        input_ids = np.full((len(encoded), width), self.pad_id, dtype=np.int64)
        attention_mask = np.zeros((len(encoded), width), dtype=np.int64)
        for row, ids in enumerate(encoded):
            input_ids[row, : len(ids)] = ids
            attention_mask[row, : len(ids)] = 1
        return input_ids, attention_mask

    def counts(self, encoded: Sequence[Sequence[int]]) -> list[TokenCounts]:
        """Word pieces (without the special tokens) and unknown ones of each encoded text."""
        return [TokenCounts(len(ids) - self.special_tokens, list(ids).count(self.unk_id)) for ids in encoded]
