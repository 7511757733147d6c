"""DVC stage `reference`: what the model sees and says on training tweets, for the drift report."""

import json
import logging

import pandas as pd

from tweet_sentiment.core import paths
from tweet_sentiment.core.params import Params
from tweet_sentiment.core.stage import run_stage
from tweet_sentiment.monitor.drift.checks import DriftSettings
from tweet_sentiment.monitor.drift.reference import build_reference, save_reference

log = logging.getLogger("reference")


def main(params: Params) -> None:
    monitor = params.monitor
    settings = DriftSettings(
        alpha=monitor.alpha,
        min_predictions=monitor.min_predictions,
        embedding_sample=monitor.embedding_sample,
        permutations=monitor.permutations,
        seed=params.seed,
        min_label_shift=monitor.min_effect.label_shift,
        min_ks=monitor.min_effect.ks,
        min_mmd2=monitor.min_effect.mmd2,
    )
    train = pd.read_csv(paths.PREPARED / "train.csv", dtype=str, keep_default_na=False)
    # Never more training tweets than the run trained on, so a quick run stays quick.
    size = min(monitor.reference_size, params.max_train_samples or monitor.reference_size)
    reference = build_reference(train, paths.MODEL, size, settings)
    save_reference(reference, paths.DRIFT_REFERENCE)
    summary = reference.summary()
    paths.REFERENCE_METRICS.write_text(json.dumps(summary, indent=2) + "\n")
    log.info("reference of %d training tweets: %s", len(reference.features), summary)


if __name__ == "__main__":
    run_stage(main)
