"""The query log: request ids, what a record holds, privacy, sampling, and reading logs back."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.inputs.accounting import ReadCount
from tweet_sentiment.inputs.errors import InputError
from tweet_sentiment.inputs.query_log import log_files, read_log
from tweet_sentiment.serving.querylog import QueryLog, QueryLogError, RequestIds
from tweet_sentiment.serving.tokenizer import TokenCounts

RESULTS = [
    {
        "pred_id": 2,
        "pred_label": "positive",
        "scores": {"negative": 0.1, "neutral": 0.2, "positive": 0.7},
        "lang": "en",
    },
    {
        "pred_id": 0,
        "pred_label": "negative",
        "scores": {"negative": 0.8, "neutral": 0.1, "positive": 0.1},
        "lang": "es",
    },
]
TEXTS = ["what a great game", "lost my keys again"]
COUNTS = [TokenCounts(4, 0), TokenCounts(5, 1)]


def written(directory: Path) -> list[dict]:
    return [json.loads(line) for file in sorted(directory.glob("queries-*.jsonl")) for line in file.open()]


def log_two(log: QueryLog, ids: RequestIds) -> list[str]:
    request_ids = [ids.issue(r["pred_id"]) for r in RESULTS]
    log.predictions(TEXTS, RESULTS, request_ids, COUNTS, latency_s=0.0125)
    return request_ids


def test_request_ids_carry_the_prediction_and_reject_made_up_ones():
    ids = RequestIds(b"key")
    for pred_id in range(len(LABELS)):
        assert ids.predicted_id(ids.issue(pred_id)) == pred_id
    issued = ids.issue(1)
    tampered = issued[:16] + "2" + issued[17:]  # claims another prediction
    assert ids.predicted_id(tampered) is None
    assert ids.predicted_id("0" * 25) is None
    assert ids.predicted_id(issued + "0") is None
    assert RequestIds(b"other key").predicted_id(issued) is None
    assert len({ids.issue(0) for _ in range(100)}) == 100


def test_a_prediction_record_holds_what_drift_and_audits_need(tmp_path: Path):
    log, ids = QueryLog(str(tmp_path), "abc123"), RequestIds(b"k")
    request_ids = log_two(log, ids)
    log.feedback("neutral", "positive", request_ids[0])
    log.close()
    first, second, feedback = written(tmp_path)
    assert first["type"] == "prediction" and first["request_id"] == request_ids[0]
    assert (first["text"], first["chars"], first["label"]) == (TEXTS[0], len(TEXTS[0]), "positive")
    assert first["scores"] == RESULTS[0]["scores"] and first["model_version"] == "abc123"
    assert (first["lang"], second["lang"]) == ("en", "es")  # for the drift report's non-English share
    assert first["registry_version"] == feedback["registry_version"] == "unregistered"  # no version was set
    assert (second["tokens"], second["unknown_tokens"], second["latency_ms"]) == (5, 1, 12.5)
    assert first["time"].endswith("Z")
    assert feedback == feedback | {"type": "feedback", "label": "neutral", "predicted": "positive"}


def test_without_text_logging_only_the_hash_and_length_are_kept(tmp_path: Path):
    log = QueryLog(str(tmp_path), "v", log_text=False)
    log_two(log, RequestIds(b"k"))
    log.close()
    records = written(tmp_path)
    assert all("text" not in record for record in records)
    assert records[1]["text_sha256"] == hashlib.sha256(TEXTS[1].encode()).hexdigest()
    assert records[1]["chars"] == len(TEXTS[1])


@pytest.mark.parametrize("log_text", [True, False])
def test_feedback_sent_with_a_tweet_carries_its_text_under_the_same_rule(tmp_path: Path, log_text: bool):
    log = QueryLog(str(tmp_path), "abc123", log_text=log_text, registry_version="v0.3.0")
    log.feedback("negative", "neutral", None, "lost my keys again")
    log.feedback("positive", "positive", "0123456789abcdef2deadbeef")  # by request id: the prediction has the text
    log.close()
    by_text, by_id = written(tmp_path)
    content = (
        {"text": "lost my keys again"} if log_text else {"text_sha256": hashlib.sha256(TEXTS[1].encode()).hexdigest()}
    )
    assert by_text == by_text | content | {"request_id": None, "registry_version": "v0.3.0", "model_version": "abc123"}
    assert "text" not in by_id and "text_sha256" not in by_id and by_id["registry_version"] == "v0.3.0"


def test_sampling_zero_logs_no_prediction_but_keeps_feedback(tmp_path: Path):
    log = QueryLog(str(tmp_path), "v", sample_rate=0.0)
    log_two(log, RequestIds(b"k"))
    log.feedback("negative", "negative", None)
    log.close()
    assert [r["type"] for r in written(tmp_path)] == ["feedback"]


def test_no_destination_logs_nothing_and_says_so(tmp_path: Path):
    log = QueryLog(None, "v")
    log_two(log, RequestIds(b"k"))
    assert not log.enabled and list(tmp_path.iterdir()) == []


def test_stdout_lines_are_cloud_logging_structured_entries():
    code = (
        "from tweet_sentiment.serving.querylog import QueryLog; "
        "log = QueryLog('stdout', 'v'); log.feedback('negative', 'neutral', None); log.close()"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    [entry] = [json.loads(line) for line in output.splitlines()]
    assert (entry["severity"], entry["message"], entry["label"]) == ("INFO", "feedback", "negative")


def test_an_unwritable_log_directory_is_a_clear_error(tmp_path: Path):
    (tmp_path / "file").write_text("")
    with pytest.raises(QueryLogError, match="cannot write there"):
        QueryLog(str(tmp_path / "file" / "log"), "v")


def test_reading_unwraps_cloud_logging_exports_and_flags_bad_lines(tmp_path: Path):
    record = {"type": "feedback", "time": "2026-11-27T04:00:00.000Z", "label": "negative", "predicted": "neutral"}
    (tmp_path / "queries-1.jsonl").write_text(json.dumps(record) + "\nnot json\n\n" + json.dumps({"type": "x"}) + "\n")
    export = tmp_path / "run.googleapis.com" / "stdout" / "2026" / "11" / "27"
    export.mkdir(parents=True)
    # Cloud Logging keeps a structured line's `time` as the entry's timestamp, not in jsonPayload.
    payload = {key: value for key, value in record.items() if key != "time"} | {"severity": "INFO"}
    entry = {"jsonPayload": payload, "timestamp": record["time"], "severity": "INFO"}
    (export / "04:00:00_04:59:59_S0.json").write_bytes(json.dumps(entry).encode() + b"\n\xff\xfe broken\n")
    (tmp_path / "drift.json").write_text("{}")  # a report written next to the log is not log
    assert len(log_files(tmp_path)) == 2
    count = ReadCount()
    records = list(read_log(tmp_path, count))
    # "not json", the blank line, `\xff\xfe broken` (cp1252 in a file of no UTF-8), and a JSON of another type
    assert (count.read, count.kept, dict(count.lost)) == (6, 2, {"bad_record": 3, "not_a_log_record": 1})
    assert [r["time"] for r in records] == [record["time"], record["time"]]


def test_stdout_writes_one_line_per_record_so_workers_cannot_interleave_them():
    code = (
        "from tweet_sentiment.serving.querylog import QueryLog, RequestIds; "
        "from tweet_sentiment.serving.tokenizer import TokenCounts; "
        "log = QueryLog('stdout', 'v'); ids = RequestIds(b'k'); "
        "scores = {'negative': 0.1, 'neutral': 0.8, 'positive': 0.1}; "
        "result = {'pred_id': 1, 'pred_label': 'neutral', 'scores': scores, 'lang': 'en'}; "
        "log.predictions(['a', 'b'], [result, result], [ids.issue(1), ids.issue(1)], [TokenCounts(1, 0)] * 2, 0.01)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert [json.loads(line)["text"] for line in output.splitlines()] == ["a", "b"]


def test_ids_are_read_case_blind_and_anything_else_is_unknown():
    ids = RequestIds(b"key")
    issued = ids.issue(2)
    assert ids.predicted_id(issued.upper()) == 2
    assert ids.predicted_id("é" * 25) is None
    assert ids.predicted_id("") is None


def test_reading_a_missing_log_says_what_to_pass(tmp_path: Path):
    with pytest.raises(InputError, match="pass the query-log directory"):
        log_files(tmp_path / "nowhere")
