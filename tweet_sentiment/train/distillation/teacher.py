"""What the `teacher` stage does with its fine-tuned model: logits for many tweets, fast, and its scores."""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from tqdm import tqdm
from transformers import DataCollatorWithPadding, PreTrainedModel, PreTrainedTokenizerBase

from tweet_sentiment.core.metrics import headline_scores, per_class_scores
from tweet_sentiment.data.tokenized import TokenizedSplit


def predict_logits(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    split: TokenizedSplit,
    batch_size: int,
    bf16: bool,
    description: str,
) -> np.ndarray:
    """The model's logits for every row of `split`, shape (len(split), num_labels), float32, in the split's order.

    Rows are run shortest first, so a batch pads to a length close to each of its
    tweets'; `bf16` runs under bf16 autocast on the model's device, as training did.
    """
    order = np.argsort(split.lengths(), kind="stable")
    collate = DataCollatorWithPadding(tokenizer)
    logits = np.zeros((len(split), model.config.num_labels), dtype=np.float32)
    autocast = torch.autocast(model.device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    model.eval()
    with torch.inference_mode(), autocast:
        for start in tqdm(range(0, len(split), batch_size), desc=description, unit="batch"):
            rows = order[start : start + batch_size]
            batch = collate([{"input_ids": split[int(row)]["input_ids"]} for row in rows])
            batch = {name: tensor.to(model.device) for name, tensor in batch.items()}
            logits[rows] = model(**batch).logits.float().cpu().numpy()
    return logits


def teacher_scores(labels: np.ndarray, logits: np.ndarray) -> dict[str, float]:
    """Headline scores (macro recall first, as `evaluate` reports) and each class's recall, of the argmax labels."""
    predicted = logits.argmax(axis=1)
    recalls = {f"recall_{row['label']}": row["recall"] for row in per_class_scores(labels, predicted)}
    return {**headline_scores(labels, predicted), **recalls}
