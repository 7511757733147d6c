"""DVC stage `download`: build the train/val/test splits (and `custom`, `live`, when held out) from `data.source`.

Harvested feedback (the `harvest` stage) adds the `live` split and, with
`live.train`, training rows (tweet_sentiment/monitor/live/mixing.py).

`metrics/data.json` holds each split's size and labels, and under `sources`
what became of every row each source read (kept, or dropped by reason).
"""

import json
import logging

from tweet_sentiment.core import paths
from tweet_sentiment.core.params import Params
from tweet_sentiment.core.stage import run_stage
from tweet_sentiment.data.cleaning import RowCount, split_statistics
from tweet_sentiment.data.sources import USER_SOURCE, build_splits
from tweet_sentiment.evaluate.splits import HELD_OUT_SPLITS
from tweet_sentiment.monitor.live.mixing import add_live, read_harvested

log = logging.getLogger("download")


def log_counts(counts: dict[str, RowCount], csv_path: str | None) -> None:
    """A line per source; a WARNING when more than half of the user's rows were dropped."""
    for name, count in counts.items():
        log.info("%s: %s", name, count.summary())
    users = counts.get(USER_SOURCE)
    if users is not None and 2 * (users.read - users.kept) > users.read:
        reason = users.top_reason()
        log.warning(
            "%d of the %d rows of %s were dropped, most as %s (%d); see `sources` in metrics/data.json",
            users.read - users.kept,
            users.read,
            csv_path,
            reason,
            users.dropped[reason],
        )


def main(params: Params) -> None:
    splits, counts = build_splits(params.data, paths.EXTERNAL)
    add_live(splits, counts, read_harvested(paths.HARVESTED), params.live)
    paths.PREPARED.mkdir(parents=True, exist_ok=True)
    for held_out in HELD_OUT_SPLITS:  # from an earlier run that held some out
        (paths.PREPARED / f"{held_out}.csv").unlink(missing_ok=True)
    for name, frame in splits.items():
        frame.to_csv(paths.PREPARED / f"{name}.csv", index=False)
    statistics = split_statistics(splits)
    paths.METRICS.mkdir(exist_ok=True)
    metrics = statistics | {"sources": {name: count.as_dict() for name, count in counts.items()}}
    (paths.METRICS / "data.json").write_text(json.dumps(metrics, indent=2) + "\n")
    log.info("splits: %s", statistics)
    log_counts(counts, params.data.csv_path)


if __name__ == "__main__":
    run_stage(main)
