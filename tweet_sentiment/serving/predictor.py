"""Batched prediction with a fine-tuned model, used by `evaluate`, `optimize` and the service.

No torch here: the runtime (tweet_sentiment/serving/runtimes.py) imports only the engine it needs.
"""

import math
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.serving.runtimes import Logits, load_logits
from tweet_sentiment.serving.tokenizer import TokenCounts, TweetTokenizer


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[np.ndarray]:
    """Indices grouped into batches of similar length, so padding stays small."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)


class Predictor:
    """A fine-tuned classifier plus its tokenizer, ready for batched inference."""

    def __init__(
        self,
        model_dir: str | Path,
        batch_size: int = 64,
        bf16: bool | None = None,
        parallel_batches: int = 1,
        threads: int | None = None,
    ) -> None:
        """Raises `ModelLoadError` unless `model_dir` holds a fully trained classifier.

        `model_dir` is a serving directory (its runtime.json names the runtime)
        or a save_pretrained one (a TorchScript trace). `bf16=None` follows the
        runtime: bf16 maths for bf16 and OpenVINO int8 runtimes where the CPU has
        fast bf16, else fp32. False forces fp32; True asks for bf16 (OpenVINO
        still only where the CPU has it). ONNX Runtime has no bf16 and ignores it.

        `parallel_batches > 1` runs that many sub-batches at once on Python
        threads (every runtime computes without the GIL), sharing `threads`
        CPU threads (None: the engine's default). A call that fits in one
        sub-batch (one client's tweet) runs on the caller's thread instead, on
        the runtime's `lone_logits`: OpenVINO gives it all `threads` while
        nothing else runs in the process, with the same results.
        """
        loaded = load_logits(model_dir, threads, parallel_batches, bf16)
        self.runtime, self.logits, self.bf16 = loaded.runtime, loaded.logits, loaded.bf16
        self.lone_logits = loaded.lone_logits
        self.tokenizer = TweetTokenizer(model_dir)
        self.batch_size = batch_size
        self.pool = ThreadPoolExecutor(parallel_batches) if parallel_batches > 1 else None
        self.parallel_batches = parallel_batches

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tokenizer.encode(texts)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, shape (len(texts), 3), in input order."""
        return self.proba_of_encoded(self.encode(texts)) if texts else np.zeros((0, len(LABELS)), dtype=np.float32)

    def proba_of_encoded(self, encoded: list[list[int]]) -> np.ndarray:
        probabilities = np.zeros((len(encoded), len(LABELS)), dtype=np.float32)
        # Small batches are split evenly so that every parallel thread gets work.
        batch_size = min(self.batch_size, math.ceil(len(encoded) / self.parallel_batches))
        batches = list(length_sorted_batches([len(ids) for ids in encoded], batch_size))
        if len(batches) == 1:  # one sub-batch: on this thread, with every CPU thread the runtime may give it
            probabilities[batches[0]] = self._forward([encoded[i] for i in batches[0]], self.lone_logits)
            return probabilities
        run = self.pool.map if self.pool else map
        sub_batches = ([encoded[i] for i in batch] for batch in batches)
        batch_probabilities = run(lambda input_ids: self._forward(input_ids, self.logits), sub_batches)
        for batch, batch_probability in zip(batches, batch_probabilities, strict=True):
            probabilities[batch] = batch_probability
        return probabilities

    def _forward(self, input_ids: list[list[int]], logits: Logits) -> np.ndarray:
        return softmax(logits(*self.tokenizer.pad(input_ids)))

    def predict(self, texts: Sequence[str]) -> list[dict]:
        """One `{pred_id, pred_label, scores}` result per text, in order."""
        return results_of(self.predict_proba(texts))

    def predict_with_counts(self, texts: Sequence[str]) -> tuple[list[dict], list[TokenCounts]]:
        """`predict`, plus what the model saw of each text (for the query log)."""
        if not texts:
            return [], []
        encoded = self.encode(texts)
        return results_of(self.proba_of_encoded(encoded)), self.tokenizer.counts(encoded)


def results_of(probabilities: np.ndarray) -> list[dict]:
    """One `{pred_id, pred_label, scores}` result per row of class probabilities."""
    return [
        {
            "pred_id": int(row.argmax()),
            "pred_label": LABELS[int(row.argmax())],
            "scores": {label: float(p) for label, p in zip(LABELS, row, strict=True)},
        }
        for row in probabilities
    ]
