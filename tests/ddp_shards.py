"""Run under torchrun by tests/test_distributed.py: which tweets does each rank train on, at what loss?

Builds the Trainer `finetune` builds, with synthetic tweets whose second token is
their row number, and writes to `<out dir>/rank-<RANK>.json` the rows its train
dataloader yields in one epoch, the batch sizes it saw, and the training loss of
one real DDP step.
"""

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from tweet_sentiment.core.params import load_params
from tweet_sentiment.data.tokenized import TokenizedSplit
from tweet_sentiment.train.models import load_classifier, load_tokenizer
from tweet_sentiment.train.trainer import build_trainer

ROWS = 256
FIRST_ROW_TOKEN = 1000  # token id of row 0; real ids, so the collator handles them as any tweet


def synthetic_split(rows: int) -> TokenizedSplit:
    """Tweets [CLS] <row> [SEP] of varied lengths (padding with the row token) and balanced labels."""
    parts = [[101, FIRST_ROW_TOKEN + row] + [FIRST_ROW_TOKEN + row] * (row % 7) + [102] for row in range(rows)]
    offsets = np.cumsum([0] + [len(part) for part in parts])
    return TokenizedSplit(np.concatenate(parts), offsets, np.arange(rows) % 3)


def main(model_dir: str, out_dir: str) -> None:
    params = replace(load_params(), batch_size=32, epochs=1)
    split = synthetic_split(ROWS)
    trainer = build_trainer(
        params, load_classifier(model_dir), load_tokenizer(model_dir), split, split, None, Path(out_dir) / "ckpt"
    )
    rows, sizes = [], []
    for batch in trainer.get_train_dataloader():
        rows += (batch["input_ids"][:, 1] - FIRST_ROW_TOKEN).tolist()
        sizes.append(len(batch["input_ids"]))
    trainer.args.max_steps = 1
    loss = trainer.train().training_loss
    record = {"rows": rows, "batch_sizes": sizes, "world_size": trainer.args.world_size, "loss": loss}
    (Path(out_dir) / f"rank-{os.environ['RANK']}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(*sys.argv[1:])
