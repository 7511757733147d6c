"""DVC stage `finetune`: fine-tune the base model, keep the best epoch, save it."""

import logging
import shutil
import tempfile
from pathlib import Path

from dvclive import Live
from transformers import set_seed

from tweet_sentiment import paths
from tweet_sentiment.modeling import load_classifier, load_tokenizer
from tweet_sentiment.params import Params
from tweet_sentiment.stage import run_stage
from tweet_sentiment.tokenized import TokenizedSplit
from tweet_sentiment.training import finetune

log = logging.getLogger("finetune")


def main(params: Params) -> None:
    set_seed(params.seed)
    train = TokenizedSplit.load(paths.TOKENIZED / "train.npz").subset(params.max_train_samples, params.seed)
    val = TokenizedSplit.load(paths.TOKENIZED / "val.npz").subset(params.max_eval_samples, params.seed)
    tokenizer = load_tokenizer(params.base_model)
    tokenizer.model_max_length = params.tokenize.max_length  # serving truncates as training did
    model = load_classifier(params.base_model)
    log.info("fine-tuning %s (%s) on %d tweets", params.base_model, params.train.mode, len(train))
    live = Live(str(paths.TRAIN_LIVE), dvcyaml=False, save_dvc_exp=False)
    with tempfile.TemporaryDirectory(prefix="finetune-checkpoints-") as checkpoints:
        trainer = finetune(params, model, tokenizer, train, val, live, Path(checkpoints))
        shutil.rmtree(paths.MODEL, ignore_errors=True)
        trainer.save_model(str(paths.MODEL))
    log.info("saved the best model to %s", paths.MODEL)


if __name__ == "__main__":
    run_stage(main)
