"""What drift is measured on: per-text features, from the model or from the query log.

The `reference` stage computes them for training tweets and the drift command
for logged queries, with these same functions, so both sides of every test are
measured alike: the predicted label, its confidence (the top class
probability), the length in characters, the share of word pieces unknown to the
vocabulary, and the model's own sentence embedding (the mean of its last hidden
layer, the representation its classifier head reads).
"""

from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from tweet_sentiment.core.labels import LABEL2ID, LABELS
from tweet_sentiment.serving.predictor import length_sorted_batches
from tweet_sentiment.serving.tokenizer import TokenCounts, TweetTokenizer
from tweet_sentiment.train.models import load_finetuned


@dataclass(frozen=True)
class Features:
    """One row per text; `embedding` is None where the texts are not known (hashed in the log)."""

    predicted: np.ndarray  # label ids
    confidence: np.ndarray
    chars: np.ndarray
    unknown_share: np.ndarray
    embedding: np.ndarray | None

    def __len__(self) -> int:
        return len(self.predicted)

    def subset(self, rows: np.ndarray) -> "Features":
        return Features(**{f.name: None if (v := getattr(self, f.name)) is None else v[rows] for f in fields(self)})


def unknown_shares(counts: Sequence[TokenCounts]) -> np.ndarray:
    return np.array([c.unknown / c.tokens if c.tokens else 0.0 for c in counts], dtype=np.float32)


def from_probabilities(
    probabilities: np.ndarray, texts_chars: Sequence[int], counts: Sequence[TokenCounts], embedding: np.ndarray | None
) -> Features:
    return Features(
        predicted=probabilities.argmax(axis=1),
        confidence=probabilities.max(axis=1).astype(np.float32),
        chars=np.asarray(texts_chars, dtype=np.int32),
        unknown_share=unknown_shares(counts),
        embedding=embedding,
    )


def from_log(predictions: list[dict]) -> Features:
    """Features of logged predictions, without embeddings (the drift command adds them from the text)."""
    return Features(
        predicted=np.array([LABEL2ID[p["label"]] for p in predictions], dtype=np.int64),
        confidence=np.array([max(p["scores"].values()) for p in predictions], dtype=np.float32),
        chars=np.array([p["chars"] for p in predictions], dtype=np.int32),
        unknown_share=unknown_shares([TokenCounts(p["tokens"], p["unknown_tokens"]) for p in predictions]),
        embedding=None,
    )


class Encoder:
    """The fine-tuned model in fp32, returning class probabilities and sentence embeddings in one pass.

    fp32 so that the reference and a later report agree on any CPU.
    """

    def __init__(self, model_dir: str | Path, batch_size: int = 64) -> None:
        self.model = load_finetuned(model_dir).eval()
        self.tokenizer = TweetTokenizer(model_dir)
        self.batch_size = batch_size

    @torch.inference_mode()
    def _forward(self, input_ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        ids, attention_mask = (torch.from_numpy(array) for array in self.tokenizer.pad(input_ids))
        output = self.model(input_ids=ids, attention_mask=attention_mask, output_hidden_states=True)
        mask = attention_mask.unsqueeze(-1).float()
        embedding = (output.hidden_states[-1] * mask).sum(dim=1) / mask.sum(dim=1)
        return torch.softmax(output.logits, dim=-1).numpy(), embedding.numpy()

    def features(self, texts: Sequence[str], progress: str | None = None) -> Features:
        """Every feature of `texts`, computed as the service would see them."""
        encoded = self.tokenizer.encode(texts)
        probabilities = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        embedding = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        batches = list(length_sorted_batches([len(ids) for ids in encoded], self.batch_size))
        for batch in tqdm(batches, desc=progress, unit="batch", disable=progress is None):
            probabilities[batch], embedding[batch] = self._forward([encoded[i] for i in batch])
        counts = self.tokenizer.counts(encoded)
        return from_probabilities(probabilities, [len(text) for text in texts], counts, embedding)
