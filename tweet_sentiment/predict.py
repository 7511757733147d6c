"""Batched prediction with a fine-tuned model, used by `evaluate` and the service."""

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from tweet_sentiment.hardware import cpu_has_fast_bf16
from tweet_sentiment.labels import LABELS
from tweet_sentiment.modeling import load_classifier, load_tokenizer
from tweet_sentiment.text import normalise


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[np.ndarray]:
    """Indices grouped into batches of similar length, so padding stays small."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


class Predictor:
    """A fine-tuned classifier plus its tokenizer, ready for batched inference."""

    def __init__(self, model_dir: str | Path, batch_size: int = 64, bf16: bool | None = None) -> None:
        """`bf16=None` uses bf16 weights where the CPU has fast bf16 maths.

        bf16 weights rather than autocast: no per-call weight casts, 6% more
        throughput and 12% lower single-tweet latency here, same predictions.
        """
        self.tokenizer = load_tokenizer(str(model_dir))
        self.model = load_classifier(str(model_dir)).eval()
        self.batch_size = batch_size
        self.bf16 = cpu_has_fast_bf16() if bf16 is None else bf16
        if self.bf16:
            self.model = self.model.to(torch.bfloat16)

    @torch.inference_mode()
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, shape (len(texts), 3), in input order."""
        if not texts:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        encoded = self.tokenizer([normalise(text) for text in texts], truncation=True)["input_ids"]
        probabilities = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        for batch in length_sorted_batches([len(ids) for ids in encoded], self.batch_size):
            inputs = self.tokenizer.pad({"input_ids": [encoded[i] for i in batch]}, return_tensors="pt")
            logits = self.model(**inputs).logits
            probabilities[batch] = torch.softmax(logits.float(), dim=-1).numpy()
        return probabilities

    def predict(self, texts: Sequence[str]) -> list[dict]:
        """One `{pred_id, pred_label, scores}` result per text, in order."""
        return [
            {
                "pred_id": int(row.argmax()),
                "pred_label": LABELS[int(row.argmax())],
                "scores": {label: float(p) for label, p in zip(LABELS, row, strict=True)},
            }
            for row in self.predict_proba(texts)
        ]
