"""The feedback ledger: one label per request id, across threads, processes (workers) and restarts."""

import multiprocessing
from pathlib import Path

import pytest

from tweet_sentiment.serving import feedback
from tweet_sentiment.serving.feedback import FeedbackLedger


@pytest.mark.parametrize("shared", [True, False])
def test_the_first_label_is_kept_and_reported_back(tmp_path: Path, shared: bool):
    ledger = FeedbackLedger(tmp_path if shared else None)
    assert ledger.shared is shared
    assert ledger.record("a1", "positive") is None
    assert ledger.record("a1", "positive") == "positive"  # a replay
    assert ledger.record("a1", "negative") == "positive"  # a conflict: the service answers 409
    assert ledger.record("b2", "negative") is None


def test_a_restarted_server_sees_the_feedback_logged_before(tmp_path: Path):
    first = FeedbackLedger(tmp_path)
    first.record("a1", "neutral")
    first.close()
    assert FeedbackLedger(tmp_path).record("a1", "neutral") == "neutral"
    assert FeedbackLedger(None).record("a1", "neutral") is None  # without a log directory: nothing carried over


def _record(directory: str, label: str, queue) -> None:
    queue.put((label, FeedbackLedger(Path(directory)).record("same-id", label)))


def test_workers_racing_on_one_id_keep_exactly_one_label(tmp_path: Path):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    labels = ["negative", "neutral", "positive"] * 2
    workers = [context.Process(target=_record, args=(str(tmp_path), label, queue)) for label in labels]
    for worker in workers:
        worker.start()
    answers = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    kept = [label for label, earlier in answers if earlier is None]
    assert len(kept) == 1
    assert {earlier for _, earlier in answers if earlier is not None} == set(kept)


def test_without_a_log_directory_a_worker_remembers_a_bounded_number(monkeypatch):
    monkeypatch.setattr(feedback, "MEMORY_SIZE", 3)
    ledger = FeedbackLedger(None)
    for request_id in "abcd":
        ledger.record(request_id, "positive")
    assert ledger.record("a", "negative") is None  # the oldest was forgotten
    assert ledger.record("d", "negative") == "positive"
