"""The learning-from-production loop end to end, with the real service and the real pipeline.

A `bentoml serve` of the quick model with a query log and a secret request-id
key takes a domain-shifted stream (the Apple tweets of data/live-demo/, in date
order) and feedback for two thirds of it; the log goes into a clone of the quick
pipeline, `dvc exp run -S live.train=true` harvests it, trains on it and scores
the newest third as the `live` split. Every log record must be accounted for once.
"""

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.support.repo import ONE_CANDIDATE, call, run
from tests.support.server import serving
from tweet_sentiment.monitor.live.stream import read_stream

pytestmark = pytest.mark.slow
SECRET = "a-secret-for-the-tests"
SENT = 600  # tweets of the stream served
BY_TWEET = 20  # of them, feedback sent with the text instead of the request id


def test_feedback_from_a_served_stream_is_harvested_trained_on_and_scored(
    quick_pipeline: Path, quick_model: Path, tmp_path: Path
):
    stream = read_stream(quick_pipeline / "data/live-demo/Apple-Twitter-Sentiment-DFE.csv.gz").head(SENT)
    log_dir = tmp_path / "query-log"
    env = {"TWEET_SENTIMENT_QUERY_LOG": str(log_dir), "TWEET_SENTIMENT_REQUEST_ID_KEY": SECRET}
    with serving(quick_model, tmp_path / "server.log", **env) as url:
        results = []
        for start in range(0, SENT, 50):
            status, body = call(
                f"{url}/predict", json.dumps({"tweets": list(stream["text"][start : start + 50])}).encode()
            )
            assert status == 200, body
            results += body
        labelled = [i for i in range(SENT) if i % 3 != 2]  # feedback for two thirds, spread over time
        for i in labelled[BY_TWEET:]:
            body = {"request_id": results[i]["request_id"], "label": stream["label"][i]}
            assert call(f"{url}/feedback", json.dumps(body).encode())[0] == 200
        for i in labelled[:BY_TWEET]:
            body = {"tweet": stream["text"][i], "label": stream["label"][i]}
            assert call(f"{url}/feedback", json.dumps(body).encode())[0] == 200
        replay = {"request_id": results[labelled[-1]]["request_id"], "label": stream["label"][labelled[-1]]}
        assert call(f"{url}/feedback", json.dumps(replay).encode())[1]["duplicate"] is True  # not logged again

    repo = tmp_path / "repo"
    run(["git", "clone", "--quiet", str(quick_pipeline), str(repo)], cwd=tmp_path)
    run(["dvc", "cache", "dir", "--local", str(quick_pipeline / ".dvc/cache")], cwd=repo)
    run(["dvc", "checkout", "--quiet"], cwd=repo)
    for file in log_dir.glob("queries-*.jsonl"):
        (repo / "data/query-log" / file.name).write_bytes(file.read_bytes())
    settings = ["-S", "live.train=true", "-S", "live.max_client_share=1.0", "-S", "live.min_holdout=20"]
    command = ["dvc", "exp", "run", "evaluate", *settings, *ONE_CANDIDATE]  # up to evaluate: what is checked
    run(command, cwd=repo, timeout=1200, TWEET_SENTIMENT_REQUEST_ID_KEY=SECRET)

    live = json.loads((repo / "metrics/live.json").read_text())
    by_id = len(labelled) - BY_TWEET
    assert (live["predictions"], live["feedback_read"], live["unreadable"]) == (SENT, len(labelled), 0)
    assert live["feedback"] == {
        "joined": by_id,
        "by_tweet": BY_TWEET,
        "prediction_not_logged": 0,
        "text_not_kept": 0,
        "duplicate_feedback": 0,
        "conflicting_feedback": 0,
        "forged": 0,
        "unsigned": 0,
        "bad_label": 0,
    }
    rows = live["rows"]
    assert rows["read"] == len(labelled) and live["verified"] is True
    assert rows["read"] == rows["kept"] + sum(rows["dropped"].values()) + rows["client_cap"]
    assert rows["dropped"]["duplicate"] > 0  # the stream's retweets and repeated texts
    assert live["live_accuracy"]["unregistered"]["labelled"] == len(labelled)

    live_split = (repo / "data/prepared/live.csv").read_text().splitlines()
    assert len(live_split) - 1 == round(0.3 * rows["kept"])
    scores = json.loads((repo / "metrics/eval/metrics.json").read_text())
    assert set(scores["live"]) >= {"macro_recall", "macro_f1", "accuracy"}
    assert (repo / "metrics/eval/plots/sklearn/confusion_matrix_live.json").is_file()
    harvested = pd.read_csv(repo / "data/live/feedback.csv", dtype=str, keep_default_na=False)
    assert len(harvested) == rows["kept"]
    older = harvested.iloc[: len(harvested) - (len(live_split) - 1)]
    trained = json.loads((repo / "metrics/data.json").read_text())["sources"]["live"]
    assert trained["read"] == (older["source"] == "request_id").sum()  # feedback sent with the tweet is unsigned
