"""Harvest: the query log's predictions joined to their feedback, as labelled tweets, every record accounted for.

A feedback record names its prediction by `request_id` (what `POST /predict`
answered) or carries the tweet itself (`POST /feedback {"tweet": ...}`). A
labelled row is the prediction's text with the feedback's label, what was
predicted, the model and registry versions that served it, and when.

What stops a row, and is counted (`metrics/live.json`):

- feedback whose prediction is not in the log (`prediction_not_logged`: sampled
  out by `TWEET_SENTIMENT_QUERY_LOG_SAMPLE`, or logs missing) or whose text was
  not kept (`text_not_kept`: `TWEET_SENTIMENT_LOG_TEXT=0` logs only a hash);
- the same request id again (`duplicate_feedback`), or with another label
  (`conflicting_feedback`: all of that id's feedback is dropped);
- request ids this harvest cannot trust. With `TWEET_SENTIMENT_REQUEST_ID_KEY`
  set to the service's secret, an id whose signature fails is `forged`, and one
  signed with the public default key (the model version: a service run without
  a secret, so anyone could mint ids) is `unsigned`. Without the key nothing can
  be verified: rows are kept for the `live` split but marked unverified, and
  training on them is refused (`mixing.py`).
- then the own-data rules (`data.clean_training_pool`): conflicting labels for
  one text (majority vote, ties dropped), duplicates, tweets of val or test;
- and a cap per client: at most `live.max_client_share` of the rows.

Feedback sent with the tweet (no request id) cannot be signed: its rows are
unverified and train only with `live.accept_tweet_feedback`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tweet_sentiment.core import paths
from tweet_sentiment.core.labels import LABEL2ID
from tweet_sentiment.core.params import Params
from tweet_sentiment.data.cleaning import DataError, clean_training_pool
from tweet_sentiment.data.sources import embedded_evaluation_texts
from tweet_sentiment.inputs.accounting import ReadCount
from tweet_sentiment.inputs.errors import InputError
from tweet_sentiment.inputs.query_log import read_log
from tweet_sentiment.monitor.live.accuracy import live_accuracy
from tweet_sentiment.serving.querylog import KEY_ENV, RequestIds

ROW_COLUMNS = [
    "id",
    "text",
    "label",
    "predicted",
    "model_version",
    "registry_version",
    "time",
    "client",
    "source",
    "verified",
]
FEEDBACK_OUTCOMES = (
    "joined",
    "by_tweet",
    "prediction_not_logged",
    "text_not_kept",
    "duplicate_feedback",
    "conflicting_feedback",
    "forged",
    "unsigned",
    "bad_label",
)


@dataclass
class Accounting:
    """Every record read and what became of it: `feedback` sums to the feedback records read.

    `lines` and `unreadable` come from the input layer's count of the log's lines
    (`inputs.query_log.read_log`), with the unreadable ones by reason.
    """

    lines: int = 0
    unreadable: int = 0
    unreadable_by_reason: dict = field(default_factory=dict)
    predictions: int = 0
    duplicate_predictions: int = 0
    feedback: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "lines": self.lines,
            "unreadable": self.unreadable,
            "unreadable_by_reason": dict(self.unreadable_by_reason),
            "predictions": self.predictions,
            "duplicate_predictions": self.duplicate_predictions,
            "feedback_read": sum(self.feedback.values()),
            "feedback": {outcome: self.feedback[outcome] for outcome in FEEDBACK_OUTCOMES},
        }


@dataclass(frozen=True)
class Harvest:
    """The labelled rows (ROW_COLUMNS, oldest first) and `metrics/live.json`'s content."""

    rows: pd.DataFrame
    metrics: dict


class _Signatures:
    """Which request ids this harvest trusts: signed with the service's secret key."""

    def __init__(self, secret: bytes | None) -> None:
        self.secret = RequestIds(secret) if secret else None

    def verdict(self, request_id: str, model_version: str) -> str | None:
        """None if trusted; `forged`, `unsigned` or `unverified` (no key to check with)."""
        if self.secret is None:
            return "unverified"
        if self.secret.predicted_id(request_id) is not None:
            return None
        return "unsigned" if RequestIds(model_version.encode()).predicted_id(request_id) is not None else "forged"


def _client(record: dict) -> str:
    return str(record.get("client") or "unknown")


def _row(request_id: str, text: str, feedback: dict, prediction: dict | None, source: str, verified: bool) -> dict:
    served = prediction or feedback
    return {
        "id": request_id,
        "text": text,
        "label": feedback["label"],
        "predicted": feedback.get("predicted"),
        "model_version": served.get("model_version", ""),
        "registry_version": served.get("registry_version", "unregistered"),
        "time": served.get("time", ""),
        "client": _client(feedback),
        "source": source,
        "verified": verified,
    }


def join(records: Iterable[dict], secret: bytes | None) -> tuple[list[dict], Accounting]:
    """Labelled rows from log records (predictions and feedback), and the accounting of every record."""
    accounting, signatures = Accounting(), _Signatures(secret)
    predictions: dict[str, dict] = {}
    feedback_by_id: dict[str, list[dict]] = {}
    by_tweet: list[dict] = []
    for record in records:
        if record["type"] == "prediction":
            request_id = str(record.get("request_id", "")).lower()
            accounting.predictions += 1
            if request_id in predictions:
                accounting.duplicate_predictions += 1
            else:
                predictions[request_id] = record
        elif record.get("label") not in LABEL2ID:
            accounting.feedback["bad_label"] += 1
        elif record.get("request_id"):
            feedback_by_id.setdefault(str(record["request_id"]).lower(), []).append(record)
        else:
            by_tweet.append(record)
    rows = []
    for request_id, given in feedback_by_id.items():
        if len({f["label"] for f in given}) > 1:
            accounting.feedback["conflicting_feedback"] += len(given)
            continue
        accounting.feedback["duplicate_feedback"] += len(given) - 1
        first, prediction = given[0], predictions.get(request_id)
        if prediction is None:
            accounting.feedback["prediction_not_logged"] += 1
            continue
        verdict = signatures.verdict(request_id, str(prediction.get("model_version", "")))
        if verdict in ("forged", "unsigned"):
            accounting.feedback[verdict] += 1
        elif not isinstance(prediction.get("text"), str):
            accounting.feedback["text_not_kept"] += 1
        else:
            accounting.feedback["joined"] += 1
            rows.append(_row(request_id, prediction["text"], first, prediction, "request_id", verdict is None))
    for feedback in by_tweet:
        if not isinstance(feedback.get("text"), str):
            accounting.feedback["text_not_kept"] += 1
            continue
        accounting.feedback["by_tweet"] += 1
        digest = hashlib.sha256(feedback["text"].encode()).hexdigest()[:16]
        rows.append(_row(f"tweet-{digest}", feedback["text"], feedback, None, "tweet", False))
    return sorted(rows, key=lambda row: row["time"]), accounting


def cap_clients(frame: pd.DataFrame, max_share: float) -> tuple[pd.DataFrame, int]:
    """At most `max_share` of the rows (at least one) from each client, its oldest; (rows kept, rows dropped)."""
    limit = max(1, math.floor(max_share * len(frame)))
    kept = frame[frame.groupby("client").cumcount() < limit]
    return kept, len(frame) - len(kept)


def harvest(
    records: Iterable[dict],
    read: ReadCount,
    evaluation_texts: Iterable[str],
    secret: bytes | None,
    max_client_share: float,
) -> Harvest:
    """Join, clean (the own-data rules, against `evaluation_texts`), cap per client; the rows and the metrics.

    `records` come through the input layer, which counts the log's lines in `read`
    (complete once `records` is exhausted): `lines` and `unreadable` in the metrics.
    """
    joined, accounting = join(records, secret)
    accounting.lines, accounting.unreadable = read.read, read.read - read.kept
    accounting.unreadable_by_reason = read.by_reason()
    frame = pd.DataFrame(joined, columns=ROW_COLUMNS)
    accuracy = {
        version: live_accuracy(group.to_dict("records")) for version, group in frame.groupby("registry_version")
    }
    cleaned, count = clean_training_pool(frame, evaluation_texts)
    capped, over_cap = cap_clients(cleaned.sort_values("time", kind="stable"), max_client_share)
    metrics = accounting.as_dict() | {
        "rows": {**count.as_dict(), "client_cap": over_cap, "kept": len(capped)},
        "verified": bool(secret),
        "live_accuracy": accuracy,
    }
    return Harvest(capped[ROW_COLUMNS].reset_index(drop=True), metrics)


log = logging.getLogger("harvest")


def run_harvest(params: Params) -> None:
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
