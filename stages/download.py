"""DVC stage `download`: build the train/val/test splits from `data.source`."""

import json
import logging

from tweet_sentiment import paths
from tweet_sentiment.data import split_statistics
from tweet_sentiment.params import Params
from tweet_sentiment.sources import build_splits
from tweet_sentiment.stage import run_stage

log = logging.getLogger("download")


def main(params: Params) -> None:
    splits = build_splits(params.data, paths.EXTERNAL)
    paths.PREPARED.mkdir(parents=True, exist_ok=True)
    for name, frame in splits.items():
        frame.to_csv(paths.PREPARED / f"{name}.csv", index=False)
    statistics = split_statistics(splits)
    paths.METRICS.mkdir(exist_ok=True)
    (paths.METRICS / "data.json").write_text(json.dumps(statistics, indent=2) + "\n")
    log.info("splits: %s", statistics)


if __name__ == "__main__":
    run_stage(main)
