"""An exponential moving average (EMA) of the weights: what is evaluated, saved and served.

Averaging the weights of the last few hundred optimizer steps lands nearer the
middle of the minimum SGD circles around than the last step does, and
generalises a little better (Polyak & Juditsky 1992; SWA, Izmailov et al. 2018;
the EMA form is timm's `ModelEmaV3`). `train.ema_epochs` sets its time constant
as a share of an epoch, so a 16-step quick run and the 2,962-step default run
average over the same part of their epochs.

At each epoch's end the callback scores the raw weights and the average on
validation (logged as `eval/raw_macro_recall` and `eval/average_macro_recall`)
and leaves the better in place, so the run itself shows whether averaging
helped and keeps it only where validation says so: the Trainer then evaluates,
checkpoints and, at the end, keeps the best epoch's weights. The raw weights
come back before the next epoch trains.
"""

import logging
import math

import torch
from transformers import Trainer, TrainerCallback

log = logging.getLogger(__name__)


def ema_decay(ema_epochs: float, steps_per_epoch: float) -> float:
    """The per-step decay whose time constant is `ema_epochs` x `steps_per_epoch` optimizer steps.

    >>> round(ema_decay(1 / 3, 1481), 4)  # the default run: a time constant of 494 steps
    0.998
    """
    return math.exp(-1.0 / max(ema_epochs * steps_per_epoch, 1.0))


class WeightAveraging(TrainerCallback):
    """Keeps a bias-corrected EMA of `trainer.model`'s trainable weights (fp32, one copy).

    Bias correction (as Adam's) divides by 1 - decay**steps, so the average
    holds only weights that were trained, never the untrained classifier head.
    """

    def __init__(self, trainer: Trainer, ema_epochs: float):
        self.trainer = trainer
        self.ema_epochs = ema_epochs
        self.params = [param for param in trainer.model.parameters() if param.requires_grad]
        self.average = [torch.zeros_like(param, dtype=torch.float32) for param in self.params]
        self.raw: list[torch.Tensor] | None = None
        self.decay = 0.0
        self.steps = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.decay = ema_decay(self.ema_epochs, state.max_steps / args.num_train_epochs)
        log.info("averaging the weights: EMA decay %.5f per step (%.2f epochs)", self.decay, self.ema_epochs)

    def on_step_end(self, args, state, control, **kwargs):
        with torch.no_grad():
            torch._foreach_lerp_(self.average, [param.float() for param in self.params], 1.0 - self.decay)
        self.steps += 1

    def on_epoch_end(self, args, state, control, **kwargs):
        raw_score = self.val_macro_recall("eval_raw")
        correction = 1.0 - self.decay**self.steps
        with torch.no_grad():
            self.raw = [param.detach().clone() for param in self.params]
            torch._foreach_copy_(self.params, [average / correction for average in self.average])
        average_score = self.val_macro_recall("eval_average")
        kept = "average" if average_score >= raw_score else "raw"
        log.info("val macro recall: raw weights %.4f, average %.4f: the %s is kept", raw_score, average_score, kept)
        if kept == "raw":
            self.restore_raw()

    def val_macro_recall(self, prefix: str) -> float:
        """Validation macro recall of the weights in place now, logged as `<prefix>_macro_recall`."""
        key = f"{prefix}_macro_recall"
        # A DataLoader draws its seed from torch's global generator: forked, the scoring leaves
        # training's random stream as it was, so the raw weights are a run without averaging.
        with torch.random.fork_rng(devices=[]):
            score = self.trainer.predict(self.trainer.eval_dataset, metric_key_prefix=prefix).metrics[key]
        self.trainer.log({key: score})
        return score

    def restore_raw(self) -> None:
        with torch.no_grad():
            torch._foreach_copy_(self.params, self.raw)
        self.raw = None

    def on_epoch_begin(self, args, state, control, **kwargs):
        if self.raw is not None:  # train on from where the optimizer left the raw weights
            self.restore_raw()
