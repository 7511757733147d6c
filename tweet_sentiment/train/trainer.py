"""Fine-tuning with transformers' Trainer: class-weighted loss, weight averaging, early stopping, DVCLive."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from sklearn.utils.class_weight import compute_class_weight
from transformers import (
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    EvalPrediction,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Trainer,
    TrainingArguments,
)
from transformers.integrations import DVCLiveCallback

from tweet_sentiment.core.hardware import use_bf16_training
from tweet_sentiment.core.metrics import LABEL_IDS, headline_scores
from tweet_sentiment.core.params import Params
from tweet_sentiment.data.tokenized import UNLABELLED, TokenizedSplit
from tweet_sentiment.train.ddp import per_process_batch, world_size
from tweet_sentiment.train.distillation.student import DistillationTrainer, WithTeacherLogits
from tweet_sentiment.train.ema import WeightAveraging

if TYPE_CHECKING:  # only `finetune` logs: a sweep elsewhere (experiments/sweep_recipes.py) needs no dvclive
    from dvclive import Live

log = logging.getLogger(__name__)
BEST_METRIC = "macro_recall"
# Trainer logs how long things took; that varies run to run, so it goes to the
# log only: a tracked out must be the same bytes when the inputs are the same.
TIMING_SUFFIXES = ("runtime", "samples_per_second", "steps_per_second")
# Loss and learning rate are logged every LOGGING_STEPS optimizer steps, or more
# often on a short run, so that its plots still get MIN_LOGGED_POINTS points
# (a 512-tweet, 1-epoch run has 16 steps; the default run's 2,962 are unchanged).
LOGGING_STEPS = 20
MIN_LOGGED_POINTS = 20


def logging_steps(train_size: int, params: Params) -> int:
    """Optimizer steps between logged losses: LOGGING_STEPS, fewer when the whole run has under 20 x that."""
    optimizer_steps = -(-train_size // params.batch_size) * params.epochs
    return max(1, min(LOGGING_STEPS, optimizer_steps // MIN_LOGGED_POINTS))


class DeterministicDVCLiveCallback(DVCLiveCallback):
    """transformers' DVCLive callback without the run timings."""

    def on_log(self, args, state, control, model=None, logs=None, **kwargs):
        logs = {key: value for key, value in (logs or {}).items() if not key.endswith(TIMING_SUFFIXES)}
        super().on_log(args, state, control, model=model, logs=logs, **kwargs)


def class_weights(labels: np.ndarray, scheme: str) -> torch.Tensor | None:
    """Loss weights inversely proportional to class frequency ('balanced'), or None.

    Training is 16% negative while TweetEval test is 32%; macro recall rewards
    not neglecting the rare class.
    A class absent from `labels` (a small sample that missed a rare class)
    gets weight 1, what 'balanced' gives a tweet on average: it is never a
    target, and label smoothing weighs it like a class of average frequency.
    UNLABELLED rows (distillation's transfer tweets) do not count.
    """
    if scheme == "none":
        return None
    labels = labels[labels != UNLABELLED]
    present = np.unique(labels)
    weights = np.ones(len(LABEL_IDS))
    weights[present] = compute_class_weight("balanced", classes=present, y=labels)
    return torch.tensor(weights, dtype=torch.float32)


def weighted_cross_entropy(weights: torch.Tensor | None, label_smoothing: float = 0.0):
    """A Trainer `compute_loss_func` applying the class weights and label smoothing.

    Smoothing moves a share of each target onto the other classes, which keeps
    the model from growing over-confident on noisy crowd labels.
    """

    def loss(outputs, labels, num_items_in_batch=None):
        logits = outputs.logits
        weight = None if weights is None else weights.to(logits.device)
        return torch.nn.functional.cross_entropy(logits.float(), labels, weight=weight, label_smoothing=label_smoothing)

    return loss


def compute_metrics(prediction: EvalPrediction) -> dict[str, float]:
    return headline_scores(prediction.label_ids, np.argmax(prediction.predictions, axis=-1))


def freeze_encoder(model: PreTrainedModel) -> None:
    """Head-only training: only the classification head keeps gradients."""
    for parameter in model.base_model.parameters():
        parameter.requires_grad = False


def training_arguments(
    params: Params, output_dir: Path, train_size: int, distilling: bool = False
) -> TrainingArguments:
    """The Trainer's arguments for `train_size` training tweets (it sets how often loss is logged).

    `distilling` keeps the items' `teacher_logits`, which the model's forward does not take.
    """
    return TrainingArguments(
        output_dir=str(output_dir),
        learning_rate=params.lr,
        num_train_epochs=params.epochs,
        # Under torchrun each process takes its share: the effective batch stays `batch_size`.
        per_device_train_batch_size=per_process_batch(params.batch_size, world_size()),
        per_device_eval_batch_size=params.train.eval_batch_size,
        weight_decay=params.train.weight_decay,
        warmup_steps=params.train.warmup_ratio,
        lr_scheduler_type="linear",
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=1,
        load_best_model_at_end=True,
        metric_for_best_model=BEST_METRIC,
        greater_is_better=True,
        logging_steps=logging_steps(train_size, params),
        train_sampling_strategy="group_by_length",
        seed=params.seed,
        data_seed=params.seed,
        use_cpu=not torch.cuda.is_available(),
        bf16=use_bf16_training(params.train.bf16),  # 1.6x faster steps on an AVX512-BF16 CPU
        report_to="none",
        dataloader_num_workers=0,
        save_on_each_node=True,  # each node reloads the best checkpoint from its own disk
        # Our loss is a per-batch mean. Left True, the Trainer would multiply it by the number
        # of processes (expecting a sum over tokens divided by a global count): 2x gradients on 2.
        average_tokens_across_devices=False,
        **({"remove_unused_columns": False} if distilling else {}),
    )


def build_trainer(
    params: Params,
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    train: TokenizedSplit | WithTeacherLogits,
    val: TokenizedSplit,
    live: Live | None,
    output_dir: Path,
) -> Trainer:
    """The Trainer `finetune` runs; `live` is None on the processes that log nothing (ranks above 0).

    A `train` WithTeacherLogits distils: its loss mixes in the teacher's (`params.teacher`).
    """
    if params.train.mode == "head":
        freeze_encoder(model)
    callbacks = [EarlyStoppingCallback(early_stopping_patience=params.train.early_stopping_patience)]
    if live is not None:
        callbacks.append(DeterministicDVCLiveCallback(live=live))
    distilling = isinstance(train, WithTeacherLogits)
    arguments = {
        "model": model,
        "args": training_arguments(params, output_dir, len(train), distilling),
        "train_dataset": train,
        "eval_dataset": val,
        "processing_class": tokenizer,
        "data_collator": DataCollatorWithPadding(tokenizer),
        "compute_metrics": compute_metrics,
        "compute_loss_func": weighted_cross_entropy(
            class_weights(train.labels, params.train.class_weighting), params.train.label_smoothing
        ),
        "callbacks": callbacks,
    }
    if distilling:
        trainer = DistillationTrainer(weight=params.teacher.weight, temperature=params.teacher.temperature, **arguments)
    else:
        trainer = Trainer(**arguments)
    if params.train.ema_epochs > 0:
        trainer.add_callback(WeightAveraging(trainer, params.train.ema_epochs))
    return trainer


def finetune(trainer: Trainer) -> Trainer:
    """Train, keep the best epoch by validation macro recall, return the Trainer."""
    trainer.train()
    # Every rank has reloaded the best checkpoint before rank 0 may delete it.
    trainer.accelerator.wait_for_everyone()
    log.info("best val %s: %.4f", BEST_METRIC, trainer.state.best_metric)
    return trainer
