"""The `finetune` stage's work: fine-tune the base model, keep the best epoch, save it.

With `train.processes` above 1 it runs itself again under torchrun (DDP); only
global rank 0 writes the DVCLive metrics and the model.
"""

import logging
import shutil
import sys

from dvclive import Live
from transformers import set_seed

from tweet_sentiment.core import paths
from tweet_sentiment.core.hardware import use_bf16_training
from tweet_sentiment.core.params import Params
from tweet_sentiment.data.tokenized import TokenizedSplit
from tweet_sentiment.train.ddp import (
    is_main_process,
    is_node_main_process,
    launched_by_torchrun,
    nodes,
    per_process_batch,
    run_under_torchrun,
    wants_torchrun,
    world_size,
)
from tweet_sentiment.train.distillation.student import training_set
from tweet_sentiment.train.models import load_classifier, load_tokenizer
from tweet_sentiment.train.trainer import build_trainer, finetune
from tweet_sentiment.train.wheels import resolve_base_model

log = logging.getLogger("finetune")


def run_finetune(params: Params) -> None:
    if wants_torchrun(params.train.processes) and not launched_by_torchrun():
        per_process_batch(params.batch_size, params.train.processes * nodes())  # a bad split fails here, once
        sys.exit(run_under_torchrun(params.train.processes, "stages.finetune"))
    set_seed(params.seed)
    full_train = TokenizedSplit.load(paths.TOKENIZED / "train.npz")
    rows = full_train.subset_rows(params.max_train_samples, params.seed)
    val = TokenizedSplit.load(paths.TOKENIZED / "val.npz").subset(params.max_eval_samples, params.seed)
    base_model = resolve_base_model(params.base_model)
    tokenizer = load_tokenizer(base_model)
    tokenizer.model_max_length = params.tokenize.max_length  # serving truncates as training did
    # With teacher.weight > 0, the frozen teacher's logits too (docs/distillation.md).
    train = training_set(
        full_train,
        rows,
        params.teacher.weight,
        paths.TEACHER,
        paths.PREPARED / "train.csv",
        tokenizer,
        params.tokenize.max_length,
    )
    model = load_classifier(base_model)
    live = None  # ranks above 0 train their shard and write nothing
    if is_main_process():
        log.info("fine-tuning %s (%s) on %d tweets", params.base_model, params.train.mode, len(train))
        if params.teacher.weight > 0:
            log.info(
                "distilling %s: %d of them labelled by the teacher only, weight %g, temperature %g",
                params.teacher.model,
                len(train) - len(rows),
                params.teacher.weight,
                params.teacher.temperature,
            )
        live = Live(str(paths.TRAIN_LIVE), dvcyaml=False, save_dvc_exp=False)
        # Whether bf16 was used changes the weights: one dvc.lock must mean one result.
        live.summary["bf16"] = use_bf16_training(params.train.bf16)
    # A fixed, relative checkpoint dir: the Trainer's arguments (output_dir included)
    # are logged to metrics/train/params.yaml, a tracked out. One per machine.
    if is_node_main_process():
        shutil.rmtree(paths.CHECKPOINTS, ignore_errors=True)
    trainer = finetune(build_trainer(params, model, tokenizer, train, val, live, paths.CHECKPOINTS))
    if is_node_main_process():  # the best epoch is in memory on every rank now
        shutil.rmtree(paths.CHECKPOINTS, ignore_errors=True)
    if not is_main_process():
        return
    log.info(
        "trained for %d optimizer steps on %d processes (batch %d each)",
        trainer.state.global_step,
        world_size(),
        trainer.args.per_device_train_batch_size,
    )
    shutil.rmtree(paths.MODEL, ignore_errors=True)
    # Weights, config and tokenizer only: trainer.save_model() would add
    # training_args.bin, a pickle whose bytes change from run to run.
    trainer.model.save_pretrained(paths.MODEL)
    tokenizer.save_pretrained(paths.MODEL)
    log.info("saved the best model to %s", paths.MODEL)
