"""`python -m tweet_sentiment.monitor.drift LOG_DIR --out OUT_DIR`: has the served traffic drifted?

Compares a window of the query log (see tweet_sentiment/serving/querylog.py) with the
training reference of the `reference` stage and writes `OUT_DIR/drift.json`
(top-level `drift_detected`, each check's statistic, threshold and verdict,
live accuracy from feedback) and `OUT_DIR/report.html`. Exit status: 0 no
drift, 1 drift, 2 no verdict (bad input, or too few predictions).
"""

import argparse
import json
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tweet_sentiment.core import paths
from tweet_sentiment.core.arguments import positive_int, share
from tweet_sentiment.core.labels import LABEL2ID, LABELS
from tweet_sentiment.core.params import ParamsError
from tweet_sentiment.inputs.accounting import ReadCount
from tweet_sentiment.inputs.errors import InputError
from tweet_sentiment.inputs.query_log import read_log
from tweet_sentiment.monitor.drift import language_check
from tweet_sentiment.monitor.drift.checks import Check, DriftSettings, run_checks
from tweet_sentiment.monitor.drift.features import Encoder, Features, from_log
from tweet_sentiment.monitor.drift.html_report import render_report
from tweet_sentiment.monitor.drift.language_check import LanguageCounts, ceiling_from_params
from tweet_sentiment.monitor.drift.reference import DriftReferenceError, Reference, load_reference
from tweet_sentiment.monitor.live.accuracy import live_accuracy

log = logging.getLogger("tweet_sentiment.monitor.drift")


class NoVerdict(ValueError):
    """The log cannot be judged (too few predictions, unreadable records); the message says why."""


@dataclass(frozen=True)
class Window:
    """The logged records a report judges, and what became of the log's other lines.

    `skipped_lines` = the lines the input layer could not read (`read`, by reason)
    + the records with a field the checks cannot use (`invalid_records`).
    """

    predictions: list[dict]
    feedback: list[dict]
    read: ReadCount
    invalid_records: int

    @property
    def skipped_lines(self) -> int:
        return self.read.read - self.read.kept + self.invalid_records

    def lines(self) -> dict:
        """drift.json's account of the log: lines read, unreadable by reason, invalid records, a few examples."""
        lost = self.read.by_reason()
        return {
            "read": self.read.read,
            "unreadable": lost,
            "invalid_records": self.invalid_records,
            "examples": list(self.read.examples),
        }


def _time(record: dict) -> str:
    return str(record.get("time", ""))


def _utc(moment: datetime) -> datetime:
    """`moment` as an aware UTC time; a naive one is read as UTC, as the log writes."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _logged_at(record: dict) -> datetime | None:
    try:
        return _utc(datetime.fromisoformat(_time(record)))
    except ValueError:
        return None


def _valid_prediction(record: dict) -> bool:
    """Whether a prediction record has every field the checks read, with the right types."""
    try:
        scores = [float(record["scores"][label]) for label in LABELS]
        counts = [record[name] for name in ("chars", "tokens", "unknown_tokens")]
    except (KeyError, TypeError, ValueError):
        return False
    numbers = all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts)
    return record.get("label") in LABEL2ID and numbers and all(0.0 <= score <= 1.0 for score in scores)


def read_window(log_path: Path, last: int | None, since: datetime | None) -> Window:
    """Predictions and feedback logged at or after `since`, and only the `last` predictions.

    Raises `InputError` for a missing log or a log file that is not text.
    """
    predictions, feedback, invalid, read = [], [], 0, ReadCount()
    for record in read_log(log_path, read):
        logged_at = _logged_at(record)
        if logged_at is None or (record["type"] == "prediction" and not _valid_prediction(record)):
            invalid += 1
        elif since is None or logged_at >= _utc(since):
            (predictions if record["type"] == "prediction" else feedback).append(record)
    predictions.sort(key=_time)
    if last is not None:
        predictions = predictions[-last:]
        if predictions:  # feedback given since the window began
            start = _logged_at(predictions[0])
            feedback = [f for f in feedback if _logged_at(f) >= start]
    return Window(predictions, feedback, read, invalid)


def window_features(window: Window, model_dir: Path | None) -> Features:
    """Features of the logged predictions, with embeddings where the text was logged and a model is at hand."""
    features = from_log(window.predictions)
    texts = [p.get("text") for p in window.predictions]
    if model_dir is None or any(not isinstance(text, str) for text in texts):
        return features
    embedding = Encoder(model_dir).features(texts, progress="embedding the logged tweets").embedding
    return replace(features, embedding=embedding)


def require_enough(window: Window, settings: DriftSettings) -> None:
    if len(window.predictions) < settings.min_predictions:
        raise NoVerdict(
            f"only {len(window.predictions)} logged predictions in the window; a verdict needs at least "
            f"{settings.min_predictions} (send more traffic, widen --since/--last, or lower --min-predictions)"
        )


def judge(
    window: Window, current: Features, reference: Reference, model_dir: Path | None, ceiling: float | None
) -> dict:
    """drift.json's content for one window whose features are `current`; `ceiling`: the non-English share's."""
    settings = reference.settings
    languages = LanguageCounts.of(window.predictions)
    language_skipped = language_check.why_skipped(languages, ceiling, settings.min_predictions)
    checks: list[Check] = run_checks(reference.features, current, settings, other_checks=int(language_skipped is None))
    if language_skipped is None:
        checks.append(language_check.non_english_check(languages, ceiling, checks[0].threshold["p_value"]))
    skipped = {} if current.embedding is not None else {"embedding_drift": _why_no_embeddings(model_dir)}
    if language_skipped is not None:
        skipped[language_check.NAME] = language_skipped
    versions = sorted({str(p.get("model_version")) for p in window.predictions})
    latencies = np.array([p.get("latency_ms", np.nan) for p in window.predictions], dtype=float)
    return {
        "drift_detected": any(check.drift for check in checks),
        "predictions": len(window.predictions),
        "feedback": len(window.feedback),
        "skipped_lines": window.skipped_lines,
        "lines": window.lines(),
        "window": {"from": _time(window.predictions[0]), "to": _time(window.predictions[-1])},
        "model_versions": versions,
        "reference_model_version": reference.model_version,
        "reference_tweets": len(reference.features),
        "alpha": settings.alpha,
        "checks": {check.name: check.as_dict() for check in checks},
        "skipped_checks": skipped,
        "live_accuracy": live_accuracy(window.feedback),
        "latency_ms": {
            f"p{q}": round(float(np.nanpercentile(latencies, q)), 2)
            for q in (50, 95, 99)
            if not np.isnan(latencies).all()
        },
    }


def _why_no_embeddings(model_dir: Path | None) -> str:
    if model_dir is None:
        return "no model given (--model-dir)"
    return "the log holds no text (TWEET_SENTIMENT_LOG_TEXT=0)"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tweet_sentiment.monitor.drift", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("log", type=Path, help="query-log directory (TWEET_SENTIMENT_QUERY_LOG) or one log file")
    parser.add_argument("--out", type=Path, required=True, help="where to write drift.json and report.html")
    parser.add_argument("--reference", type=Path, default=paths.DRIFT_REFERENCE, help="the `reference` stage's out")
    parser.add_argument("--model-dir", type=Path, default=paths.MODEL, help="the model, for embeddings of logged text")
    parser.add_argument("--last", type=positive_int, help="judge only the last N predictions")
    parser.add_argument("--since", type=datetime.fromisoformat, help="judge only records from this UTC time on")
    parser.add_argument("--min-predictions", type=positive_int, help="override the reference's minimum window size")
    parser.add_argument(
        "--max-non-english-share",
        type=share,
        help="ceiling of the non-English share check (default: monitor.max_non_english_share of ./params.yaml)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    args = parse_args(argv)
    try:
        reference = load_reference(args.reference)
        if args.min_predictions is not None:
            reference = replace(reference, settings=replace(reference.settings, min_predictions=args.min_predictions))
        window = read_window(args.log, args.last, args.since)
        if window.skipped_lines:
            log.warning(
                "skipped %d of %d log lines: %s",
                window.skipped_lines,
                window.read.read,
                ", ".join(
                    f"{reason} {n}"
                    for reason, n in {**window.lines()["unreadable"], "invalid_records": window.invalid_records}.items()
                    if n
                ),
            )
            for example in window.read.examples:
                log.warning("unreadable log line %s", example)
        require_enough(window, reference.settings)
        if unknown := LanguageCounts.of(window.predictions).unknown:
            log.warning(
                "%d of %d predictions carry no `lang` (logged before the service detected languages): "
                "counted as unknown and left out of the non-English share",
                unknown,
                len(window.predictions),
            )
        model_dir = args.model_dir if (args.model_dir / "config.json").is_file() else None
        current = window_features(window, model_dir)
        ceiling = args.max_non_english_share or ceiling_from_params()
        result = judge(window, current, reference, model_dir, ceiling)
    except (NoVerdict, InputError, DriftReferenceError, ParamsError) as error:
        log.error("%s", error)
        return 2
    except OSError as error:
        log.error("cannot read %s: %s", error.filename or args.log, error.strerror or error)
        return 2
    except Exception:  # exit 1 means drift: a failure must not read as a verdict
        log.exception("the drift report failed; no verdict")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "drift.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "report.html").write_text(render_report(result, reference.features, current), encoding="utf-8")
    drifted = [name for name, check in result["checks"].items() if check["drift"]]
    log.info(
        "%s over %d predictions: %s; wrote %s and %s",
        "DRIFT" if drifted else "no drift",
        result["predictions"],
        ", ".join(drifted) or "every check passed",
        args.out / "drift.json",
        args.out / "report.html",
    )
    return 1 if drifted else 0
