"""DVC stage `harvest`: the query log's feedback as labelled tweets (data/live/feedback.csv) and metrics/live.json.

Reads `live.log_dir` (tweet_sentiment/monitor/live/harvest.py says what is kept and why
not). The request-id key comes from `TWEET_SENTIMENT_REQUEST_ID_KEY`, as the
service reads it; it is not a DVC dependency, so after setting it run
`dvc repro --force -s harvest`.
"""

from tweet_sentiment.core.stage import run_stage
from tweet_sentiment.monitor.live.harvest import run_harvest

if __name__ == "__main__":
    run_stage(run_harvest)
