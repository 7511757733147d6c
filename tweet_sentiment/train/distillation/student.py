"""Distillation in `finetune`: the training set with the teacher's logits, and the loss that mixes them in.

The loss is Hinton et al.'s (2015, "Distilling the Knowledge in a Neural
Network"): (1 - weight) x finetune's own cross-entropy on the labelled tweets +
weight x T^2 x KL(teacher's softmax(z / T) || student's softmax(z / T)) on every
tweet, labelled or not. T^2 keeps the soft term's gradients on the scale of the
hard term's as T changes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from transformers import PreTrainedTokenizerBase, Trainer

from tweet_sentiment.data.cleaning import DataError
from tweet_sentiment.data.tokenized import UNLABELLED, TokenizedSplit
from tweet_sentiment.train.distillation.soft_targets import TRAIN_FILE, TRANSFER_FILE, read_logits


class WithTeacherLogits(torch.utils.data.Dataset):
    """A TokenizedSplit whose items also hold the teacher's logits (`teacher_logits`, len(LABELS) floats)."""

    def __init__(self, split: TokenizedSplit, logits: np.ndarray) -> None:
        if len(split) != len(logits):
            raise ValueError(f"{len(split)} tweets but {len(logits)} rows of teacher logits")
        self.split, self.logits = split, logits

    @property
    def labels(self) -> np.ndarray:
        return self.split.labels

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, index: int) -> dict:
        return {**self.split[index], "teacher_logits": self.logits[index].tolist()}


def distillation_set(
    train: TokenizedSplit,
    rows: np.ndarray,
    teacher_dir: Path,
    prepared_train: Path,
    tokenizer: PreTrainedTokenizerBase,
    max_length: int,
) -> WithTeacherLogits:
    """`train.take(rows)` with the teacher's logits, then as large a share of the transfer set, unlabelled.

    `train` is the whole tokenized training split (in `prepared_train`'s order),
    `rows` the rows finetune trains on. The transfer set is cut to the share of
    the training split those rows are (all of it for a full run, 1% for a
    1%-sample quick run), its first rows: the teacher stored a seeded sample.
    Raises DataError when the teacher's logits are not for this training split.
    """
    ids, train_logits = read_logits(teacher_dir / TRAIN_FILE, "id")
    prepared_ids = pd.read_csv(prepared_train, usecols=["id"], dtype=str, keep_default_na=False)["id"].tolist()
    if ids != prepared_ids or len(ids) != len(train):
        raise DataError(
            f"{teacher_dir / TRAIN_FILE} holds the teacher's logits for another training split than "
            f"{prepared_train} ({len(ids)} against {len(prepared_ids)} tweets, or other ids); rerun the teacher "
            "(dvc unfreeze teacher && dvc repro teacher && dvc freeze teacher) or set teacher.weight: 0"
        )
    texts, transfer_logits = read_logits(teacher_dir / TRANSFER_FILE, "text")
    keep = round(len(texts) * len(rows) / len(train))
    transfer = TokenizedSplit.from_texts(texts[:keep], np.full(keep, UNLABELLED), tokenizer, max_length)
    return WithTeacherLogits(
        TokenizedSplit.concatenate([train.take(rows), transfer]),
        np.concatenate([train_logits[rows], transfer_logits[:keep]]),
    )


def training_set(
    train: TokenizedSplit,
    rows: np.ndarray,
    weight: float,
    teacher_dir: Path,
    prepared_train: Path,
    tokenizer: PreTrainedTokenizerBase,
    max_length: int,
) -> TokenizedSplit | WithTeacherLogits:
    """What `finetune` trains on: `train.take(rows)`, or with a teacher `weight` > 0 their `distillation_set`."""
    if weight > 0:
        return distillation_set(train, rows, teacher_dir, prepared_train, tokenizer, max_length)
    return train.take(rows)


def soft_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 x KL(softmax(teacher / T) || softmax(student / T)), the mean over the batch; both (batch, classes)."""
    log_student = torch.nn.functional.log_softmax(student_logits.float() / temperature, dim=-1)
    log_teacher = torch.nn.functional.log_softmax(teacher_logits.float() / temperature, dim=-1)
    divergence = torch.nn.functional.kl_div(log_student, log_teacher, reduction="batchmean", log_target=True)
    return divergence * temperature**2


class DistillationTrainer(Trainer):
    """A Trainer whose training loss mixes in the teacher's; evaluation (no teacher logits) keeps the hard loss.

    The hard loss is the Trainer's `compute_loss_func` (finetune's class-weighted
    cross-entropy, which skips UNLABELLED rows) over the batch's labelled tweets,
    zero when it has none.
    """

    def __init__(self, *args, weight: float, temperature: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.weight, self.temperature = weight, temperature

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        teacher_logits = inputs.pop("teacher_logits", None)
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        # cross_entropy skips UNLABELLED rows (its ignore_index); with none labelled it would be nan.
        hard = self.compute_loss_func(outputs, labels) if (labels != UNLABELLED).any() else outputs.logits.sum() * 0.0
        if teacher_logits is None:
            loss = hard
        else:
            loss = (1 - self.weight) * hard + self.weight * soft_loss(outputs.logits, teacher_logits, self.temperature)
        return (loss, outputs) if return_outputs else loss
