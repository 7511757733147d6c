"""Batched prediction with a fine-tuned model, used by `evaluate` and the service."""

import math
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from tweet_sentiment.hardware import cpu_has_fast_bf16
from tweet_sentiment.labels import LABELS
from tweet_sentiment.modeling import load_finetuned, load_tokenizer
from tweet_sentiment.querylog import TokenCounts
from tweet_sentiment.text import normalise


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[np.ndarray]:
    """Indices grouped into batches of similar length, so padding stays small."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def encode(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of each normalised text, as the model sees them."""
    return tokenizer([normalise(text) for text in texts], truncation=True)["input_ids"]


def token_counts(tokenizer: PreTrainedTokenizerBase, encoded: list[list[int]]) -> list[TokenCounts]:
    """Word pieces (without the special tokens) and unknown ones of each encoded text."""
    special = tokenizer.num_special_tokens_to_add()
    return [TokenCounts(len(ids) - special, ids.count(tokenizer.unk_token_id)) for ids in encoded]


class _Logits(torch.nn.Module):
    """Logits only, from positional inputs: the signature a trace records."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


@torch.inference_mode()
def trace_logits(model: torch.nn.Module) -> torch.jit.ScriptModule:
    """The classifier as a TorchScript trace mapping (input_ids, attention_mask) to logits.

    Why TorchScript, which torch marks deprecated: a traced forward runs in C++
    without the GIL, so parallel sub-batches really overlap (470 vs 370 tweets/s
    on 2 cores) and one tweet takes 4.5 instead of 6.3 ms. torch.compile gained
    nothing here after a 28 s compile, and AOTInductor builds a binary for the
    build machine's CPU. tests/test_model.py checks the trace against the eager
    model on batches of other shapes, padded and not.
    """
    example_ids = torch.ones((2, 4), dtype=torch.long)
    example_mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    # Tracing reads every attribute, and reading `loss_function` logs a
    # misleading warning about the (unused) training loss.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*(deprecated|Python boolean)")
            return torch.jit.trace(_Logits(model).eval(), (example_ids, example_mask), check_trace=False)
    finally:
        hf_logging.set_verbosity(verbosity)


class Predictor:
    """A fine-tuned classifier plus its tokenizer, ready for batched inference."""

    def __init__(
        self, model_dir: str | Path, batch_size: int = 64, bf16: bool | None = None, parallel_batches: int = 1
    ) -> None:
        """Raises `ModelLoadError` unless `model_dir` holds a fully trained classifier.

        `bf16=None` uses bf16 weights where the CPU has fast bf16 maths.

        bf16 weights rather than autocast: no per-call weight casts, 6% more
        throughput and 12% lower single-tweet latency here, same predictions.
        `parallel_batches > 1` runs that many sub-batches at once on Python
        threads (the traced forward runs without the GIL); with one torch thread
        each, that used two cores better than one sub-batch on two torch threads.
        """
        model = load_finetuned(model_dir).eval()
        self.tokenizer = load_tokenizer(str(model_dir))
        self.bf16 = cpu_has_fast_bf16() if bf16 is None else bf16
        self.logits = trace_logits(model.to(torch.bfloat16) if self.bf16 else model)
        self.batch_size = batch_size
        self.pool = ThreadPoolExecutor(parallel_batches) if parallel_batches > 1 else None
        self.parallel_batches = parallel_batches

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return encode(self.tokenizer, texts)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, shape (len(texts), 3), in input order."""
        return self.proba_of_encoded(self.encode(texts)) if texts else np.zeros((0, len(LABELS)), dtype=np.float32)

    def proba_of_encoded(self, encoded: list[list[int]]) -> np.ndarray:
        probabilities = np.zeros((len(encoded), len(LABELS)), dtype=np.float32)
        # Small batches are split evenly so that every parallel thread gets work.
        batch_size = min(self.batch_size, math.ceil(len(encoded) / self.parallel_batches))
        batches = list(length_sorted_batches([len(ids) for ids in encoded], batch_size))
        run = self.pool.map if self.pool else map
        batch_probabilities = run(self._forward, ([encoded[i] for i in batch] for batch in batches))
        for batch, batch_probability in zip(batches, batch_probabilities, strict=True):
            probabilities[batch] = batch_probability
        return probabilities

    @torch.inference_mode()
    def _forward(self, input_ids: list[list[int]]) -> np.ndarray:
        inputs = self.tokenizer.pad({"input_ids": input_ids}, return_tensors="pt")
        logits = self.logits(inputs["input_ids"], inputs["attention_mask"])
        return torch.softmax(logits.float(), dim=-1).numpy()

    def predict(self, texts: Sequence[str]) -> list[dict]:
        """One `{pred_id, pred_label, scores}` result per text, in order."""
        return results_of(self.predict_proba(texts))

    def predict_with_counts(self, texts: Sequence[str]) -> tuple[list[dict], list[TokenCounts]]:
        """`predict`, plus what the model saw of each text (for the query log)."""
        if not texts:
            return [], []
        encoded = self.encode(texts)
        return results_of(self.proba_of_encoded(encoded)), token_counts(self.tokenizer, encoded)


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
