"""Learning from production, piece by piece: the harvest's accounting, its trust rules, the mixing, the decision.

The loop end to end (a real service, the Apple stream, harvest, a retrain) is
tests/test_live_loop.py.
"""

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from tests.support.repo import REPO
from tweet_sentiment.core.params import load_params
from tweet_sentiment.data.cleaning import DataError, RowCount
from tweet_sentiment.inputs.accounting import ReadCount, Rejection
from tweet_sentiment.monitor.live import retrain
from tweet_sentiment.monitor.live.harvest import harvest
from tweet_sentiment.monitor.live.mixing import add_live
from tweet_sentiment.serving.querylog import RequestIds

SETTINGS = replace(load_params(REPO / "params.yaml").live, min_holdout=10)
SECRET, MODEL = b"the service's secret", "abc123def456"
SIGNED, PUBLIC = RequestIds(SECRET), RequestIds(MODEL.encode())  # the default key is the model version: public


def prediction(request_id: str, text: str | None, minute: int, label: str = "positive") -> dict:
    content = {"text": text} if text is not None else {"text_sha256": "0" * 64}
    time = f"2026-12-01T10:{minute:02d}:00.000Z"
    return {"type": "prediction", "request_id": request_id, "time": time, "model_version": MODEL, "label": label,
            "registry_version": "v0.1.0", **content}  # fmt: skip


def feedback(request_id: str | None, label: str, client: str = "a", **extra) -> dict:
    versions = {"model_version": MODEL, "registry_version": "v0.1.0"}
    return {"type": "feedback", "request_id": request_id, "label": label, "predicted": "positive", "client": client,
            "time": "2026-12-01T11:00:00.000Z", **versions, **extra}  # fmt: skip


def test_every_feedback_record_is_counted_once_for_one_reason():
    ids = [SIGNED.issue(2) for _ in range(8)]
    records = [
        prediction(ids[0], "the new phone is great", 1),
        feedback(ids[0], "positive"),  # joined
        feedback(ids[0], "positive"),  # a replay
        prediction(ids[1], "battery died again", 2),
        feedback(ids[1], "negative"),
        feedback(ids[1], "neutral"),  # the same id, two labels: both dropped
        feedback(ids[2], "neutral"),  # its prediction was sampled out of the log
        prediction(ids[3], None, 3),  # TWEET_SENTIMENT_LOG_TEXT=0
        feedback(ids[3], "neutral"),
        prediction(unsigned := PUBLIC.issue(2), "an id anyone could make", 4),
        feedback(unsigned, "negative"),
        prediction(forged := "0123456789abcdef2deadbeef", "a made-up id", 5),
        feedback(forged, "negative"),
        feedback(None, "neutral", text="sent with its text"),  # by tweet: kept, unverified
        feedback(None, "neutral", text_sha256="1" * 64),  # by tweet, text not kept
        feedback(ids[4], "happy"),  # not a label
    ]
    read = ReadCount()
    for _ in records:
        read.keep()
    read.lose("queries-1.jsonl:18", Rejection("too_deep", "nested"))  # a line the input layer could not read
    result = harvest(records, read, [], SECRET, max_client_share=1.0)
    assert result.metrics["lines"] == len(records) + 1 and result.metrics["unreadable"] == 1
    assert result.metrics["unreadable_by_reason"] == {"too_deep": 1}
    assert result.metrics["predictions"] == 5
    assert result.metrics["feedback"] == {
        "joined": 1,
        "by_tweet": 1,
        "prediction_not_logged": 1,
        "text_not_kept": 2,
        "duplicate_feedback": 1,
        "conflicting_feedback": 2,
        "forged": 1,
        "unsigned": 1,
        "bad_label": 1,
    }
    assert result.metrics["feedback_read"] == sum(1 for r in records if r and r["type"] == "feedback")
    assert result.rows[["text", "label", "source", "verified"]].values.tolist() == [
        ["the new phone is great", "positive", "request_id", True],
        ["sent with its text", "neutral", "tweet", False],
    ]
    assert result.metrics["live_accuracy"]["v0.1.0"]["labelled"] == 2


def test_without_the_secret_nothing_is_verified_and_forgeries_pass_as_unverified():
    forged = "0123456789abcdef2deadbeef"
    records = [prediction(forged, "a made-up id", 1), feedback(forged, "negative")]
    result = harvest(records, ReadCount(), [], secret=None, max_client_share=1.0)
    assert result.metrics["verified"] is False and result.metrics["feedback"]["joined"] == 1
    assert result.rows["verified"].tolist() == [False]  # kept for the live split, never trained on (mixing)


def test_a_flood_of_one_text_or_one_client_is_cut_and_evaluation_tweets_never_kept():
    records, ids = [], [SIGNED.issue(2) for _ in range(14)]
    for i, request_id in enumerate(ids[:6]):  # one text six times, all from client a
        records += [prediction(request_id, "buy $AAPL now!!!", i), feedback(request_id, "positive", client="a")]
    for i, request_id in enumerate(ids[6:12]):  # client a again, six other texts
        records += [prediction(request_id, f"tweet {i} about the iPad", 10 + i), feedback(request_id, "neutral")]
    for i, request_id in enumerate(ids[12:]):
        records += [prediction(request_id, f"b says {i}", 20 + i), feedback(request_id, "negative", client="b")]
    val_tweet = "@user I love the new album"
    records += [prediction(extra := SIGNED.issue(2), val_tweet, 30), feedback(extra, "positive", client="b")]
    result = harvest(records, ReadCount(), [val_tweet], SECRET, max_client_share=0.5)
    rows = result.metrics["rows"]
    assert rows["read"] == 15 and rows["dropped"]["duplicate"] == 5 and rows["dropped"]["in_evaluation_split"] == 1
    # 9 rows left, a's 7 of them over half: a keeps its 4 oldest.
    assert rows["client_cap"] == 3 and rows["kept"] == 6 == len(result.rows)
    assert result.rows["client"].value_counts().to_dict() == {"a": 4, "b": 2}


def harvested(count: int, verified: bool = True, source: str = "request_id") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(count)],
            "text": [f"live tweet number {i}" for i in range(count)],
            "label": ["negative", "neutral", "positive"] * (count // 3) + ["neutral"] * (count % 3),
            "time": [f"2026-12-01T10:{i // 60:02d}:{i % 60:02d}" for i in range(count)],
            "source": source,
            "verified": verified,
        }
    )


def splits() -> dict[str, pd.DataFrame]:
    pool = pd.DataFrame(
        {"id": ["p1", "p2"], "text": ["pool tweet one", "live tweet number 3"], "label": ["neutral"] * 2}
    )
    return {"train": pool, "val": pool.iloc[:0], "test": pool.iloc[:0]}


def test_the_newest_share_is_the_live_split_and_the_rest_trains_oversampled():
    built, counts = splits(), {}
    add_live(built, counts, harvested(100), replace(SETTINGS, train=True, oversample=3, holdout_share=0.3))
    assert built["live"]["id"].tolist() == [f"r{i}" for i in range(70, 100)]  # the newest 30
    trained = built["train"]["id"].tolist()
    assert trained[:2] == ["p1", "p2"] and len(trained) == 2 + 3 * 69  # r3 is already in the pool
    assert set(trained[2:]) == {f"r{i}" for i in range(70) if i != 3}
    assert counts["live"].dropped["duplicate"] == 1


def test_unverified_feedback_is_scored_but_refused_for_training():
    built = splits()
    add_live(built, {}, harvested(100, verified=False), SETTINGS)  # live.train off: the split alone
    assert len(built["live"]) == 30 and len(built["train"]) == 2
    with pytest.raises(DataError, match="not verified: set TWEET_SENTIMENT_REQUEST_ID_KEY"):
        add_live(splits(), {}, harvested(100, verified=False), replace(SETTINGS, train=True))
    by_tweet = harvested(100, verified=False, source="tweet")
    quiet = splits()
    add_live(quiet, {"x": RowCount(0)}, by_tweet, replace(SETTINGS, train=True))  # unsigned by nature: not trained
    assert len(quiet["train"]) == 2
    opted_in = splits()
    add_live(opted_in, {}, by_tweet, replace(SETTINGS, train=True, accept_tweet_feedback=True))
    assert len(opted_in["train"]) == 2 + 3 * 69


def test_too_few_rows_make_no_live_split():
    built = splits()
    add_live(built, {}, harvested(100), replace(SETTINGS, min_holdout=31))
    assert "live" not in built


def live_metrics(kept: int, recall: float) -> dict:
    return {"rows": {"kept": kept}, "live_accuracy": {"v0.1.0": {"labelled": kept, "macro_recall": recall}}}


@pytest.mark.parametrize(
    ("kept", "recall", "drift", "expected"),
    [
        (50, 0.2, True, "fewer than live.min_feedback"),
        (500, 0.75, False, "no drift and live macro recall 0.7500"),
        (500, 0.55, False, "live macro recall 0.5500 is below live.retrain_below"),
        (500, 0.75, True, "the drift report found drift"),
    ],
)
def test_the_retrain_decision_names_its_reason(kept: int, recall: float, drift: bool, expected: str):
    decision = retrain.decide(live_metrics(kept, recall), {"drift_detected": drift}, SETTINGS, "v0.1.0")
    assert decision.retrain is (
        expected not in ("fewer than live.min_feedback", "no drift and live macro recall 0.7500")
    )
    assert expected in decision.reason


def test_the_dry_run_prints_the_loop_and_its_schedule(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/live.json").write_text(json.dumps(live_metrics(500, 0.5)))
    assert retrain.main(["--dry-run", "--project", "my-project"]) == retrain.EXIT_OK
    out = capsys.readouterr().out
    assert "$ dvc repro harvest" in out and "retrain: 500 harvested rows; live macro recall 0.5000" in out
    assert "$ dvc exp run -S live.train=true" in out and "tweet_sentiment.release promote VERSION --to staging" in out
    assert "gcloud scheduler jobs create http tweet-sentiment-retrain" in out and "'--schedule=0 3 * * *'" in out
    assert "--build-config=cloudbuild-retrain.yaml" in out
