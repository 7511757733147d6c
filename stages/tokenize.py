"""DVC stage `tokenize`: token ids of each split with the base model's tokenizer."""

import logging

import pandas as pd

from tweet_sentiment import paths
from tweet_sentiment.modeling import load_tokenizer
from tweet_sentiment.params import Params
from tweet_sentiment.stage import run_stage
from tweet_sentiment.tokenized import TokenizedSplit

log = logging.getLogger("tokenize")


def main(params: Params) -> None:
    tokenizer = load_tokenizer(params.base_model)
    paths.TOKENIZED.mkdir(parents=True, exist_ok=True)
    for name in paths.SPLITS:
        frame = pd.read_csv(paths.PREPARED / f"{name}.csv", dtype=str, keep_default_na=False)
        split = TokenizedSplit.from_frame(frame, tokenizer, params.tokenize.max_length)
        split.save(paths.TOKENIZED / f"{name}.npz")
        log.info("%s: %d tweets, %d tokens", name, len(split), len(split.ids))


if __name__ == "__main__":
    run_stage(main)
