"""The `teacher` stage's work (frozen): fine-tune a larger model, write its logits on the
training and transfer tweets.

It trains `teacher.model` (all-mpnet-base-v2 by default: 110M parameters, about
an hour per epoch on 2 CPU cores) with `finetune`'s own Trainer code on the same
training split, keeps the best epoch by val macro recall, and writes:
- data/teacher/train.csv: its logits on every prepared training tweet;
- data/teacher/transfer.csv: its logits on `teacher.transfer_samples` transfer tweets;
- metrics/teacher: its training curves and its val and test scores.
`dvc.yaml` freezes it, so `dvc repro` uses the committed logits (docs/distillation.md says how to rerun it).
"""

import logging
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
from dvclive import Live
from transformers import set_seed

from tweet_sentiment.core import paths
from tweet_sentiment.core.hardware import use_bf16_training
from tweet_sentiment.core.params import Params
from tweet_sentiment.core.text import normalise
from tweet_sentiment.data.tokenized import UNLABELLED, TokenizedSplit
from tweet_sentiment.train.distillation.soft_targets import TRAIN_FILE, TRANSFER_FILE, write_logits
from tweet_sentiment.train.distillation.teacher import predict_logits, teacher_scores
from tweet_sentiment.train.distillation.transfer import transfer_set
from tweet_sentiment.train.models import load_classifier, load_tokenizer
from tweet_sentiment.train.trainer import build_trainer, finetune
from tweet_sentiment.train.wheels import resolve_base_model

log = logging.getLogger("teacher")


def read_prepared(name: str) -> pd.DataFrame:
    frame = pd.read_csv(paths.PREPARED / f"{name}.csv", dtype=str, keep_default_na=False)
    return frame.assign(text=frame["text"].map(normalise))


def run_teacher(params: Params) -> None:
    set_seed(params.seed)
    # The teacher trains with finetune's recipe, its own model, learning rate and epochs.
    teacher = params.teacher
    teacher_params = replace(params, base_model=teacher.model, lr=teacher.lr, epochs=teacher.epochs)
    frames = {name: read_prepared(name) for name in paths.SPLITS}
    transfer = transfer_set(
        paths.TRANSFER,
        exclude=pd.concat([frame["text"] for frame in frames.values()]),
        limit=teacher.transfer_samples,
        seed=params.seed,
    )
    log.info("transfer set: %d tweets from %s", len(transfer), paths.TRANSFER)
    model_source = resolve_base_model(teacher.model)
    tokenizer = load_tokenizer(model_source)
    max_length = params.tokenize.max_length
    splits = {name: TokenizedSplit.from_frame(frame, tokenizer, max_length) for name, frame in frames.items()}
    transfer_split = TokenizedSplit.from_texts(transfer, np.full(len(transfer), UNLABELLED), tokenizer, max_length)
    train = splits["train"].subset(teacher.max_train_samples, params.seed)
    val = splits["val"].subset(teacher.max_eval_samples, params.seed)
    log.info("fine-tuning the teacher %s on %d tweets", teacher.model, len(train))
    shutil.rmtree(paths.TEACHER_LIVE, ignore_errors=True)
    live = Live(str(paths.TEACHER_LIVE), dvcyaml=False, save_dvc_exp=False)
    bf16 = use_bf16_training(params.train.bf16)
    live.summary["bf16"] = bf16
    shutil.rmtree(paths.TEACHER_CHECKPOINTS, ignore_errors=True)
    model = load_classifier(model_source)
    trainer = finetune(build_trainer(teacher_params, model, tokenizer, train, val, live, paths.TEACHER_CHECKPOINTS))
    shutil.rmtree(paths.TEACHER_CHECKPOINTS, ignore_errors=True)

    def logits_of(split: TokenizedSplit, name: str) -> np.ndarray:
        return predict_logits(trainer.model, tokenizer, split, params.train.eval_batch_size, bf16, f"teacher on {name}")

    for name, split in {"val": val, "test": splits["test"].subset(teacher.max_eval_samples, params.seed)}.items():
        scores = teacher_scores(split.labels, logits_of(split, name))
        live.summary[name] = scores
        log.info("teacher %s macro recall %.4f", name, scores["macro_recall"])
    live.make_summary()
    write_logits(paths.TEACHER / TRAIN_FILE, "id", frames["train"]["id"].tolist(), logits_of(splits["train"], "train"))
    write_logits(paths.TEACHER / TRANSFER_FILE, "text", transfer, logits_of(transfer_split, "transfer"))
    log.info("wrote the teacher's logits to %s", paths.TEACHER)
