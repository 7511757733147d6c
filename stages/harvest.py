"""DVC stage `harvest`: the query log's feedback as labelled tweets (data/live/feedback.csv) and metrics/live.json.

Reads `live.log_dir` (tweet_sentiment/monitor/live/harvest.py says what is kept and why
not). The request-id key comes from `TWEET_SENTIMENT_REQUEST_ID_KEY`, as the
service reads it; it is not a DVC dependency, so after setting it run
`dvc repro --force -s harvest`.
"""

import json
import logging
import os
from pathlib import Path

from tweet_sentiment.core import paths
from tweet_sentiment.core.params import Params
from tweet_sentiment.core.stage import run_stage
from tweet_sentiment.data.cleaning import DataError
from tweet_sentiment.data.sources import embedded_evaluation_texts
from tweet_sentiment.inputs.accounting import ReadCount
from tweet_sentiment.inputs.errors import InputError
from tweet_sentiment.inputs.query_log import read_log
from tweet_sentiment.monitor.live.harvest import harvest
from tweet_sentiment.serving.querylog import KEY_ENV

log = logging.getLogger("harvest")


def main(params: Params) -> None:
    secret = os.environ.get(KEY_ENV, "").encode() or None
    read = ReadCount()
    try:
        result = harvest(
            read_log(Path(params.live.log_dir), read),
            read,
            embedded_evaluation_texts(paths.EXTERNAL),
            secret,
            params.live.max_client_share,
        )
    except InputError as error:
        raise DataError(f"live.log_dir: {error}") from None
    for directory in (paths.LIVE, paths.LIVE_METRICS.parent):
        directory.mkdir(parents=True, exist_ok=True)
    result.rows.to_csv(paths.HARVESTED, index=False)
    paths.LIVE_METRICS.write_text(json.dumps(result.metrics, indent=2) + "\n")
    feedback = result.metrics["feedback"]
    log.info("query log %s: %s", params.live.log_dir, read.summary())
    for example in read.examples:
        log.warning("unreadable log line %s", example)
    log.info(
        "%d predictions, %d feedback records: %d labelled rows kept; %s",
        result.metrics["predictions"],
        result.metrics["feedback_read"],
        len(result.rows),
        ", ".join(f"{name} {n}" for name, n in feedback.items() if n) or "no feedback",
    )
    if not secret and len(result.rows):
        log.warning(
            "%s is not set: request ids were not verified, so these rows can be scored but not trained on", KEY_ENV
        )


if __name__ == "__main__":
    run_stage(main)
