"""Score and time candidate runtimes through the service's predictor, gate them, choose one.

Every candidate is scored exactly as `evaluate` scores what is served
(`Predictor`, batch `evaluate.batch_size`), timed as a service worker runs it,
and gated against the fp32 model: test macro recall at most `max_recall_drop`
below it, and at least `min_agreement` of the test tweets labelled as it labels them.
"""

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tweet_sentiment.core import paths
from tweet_sentiment.core.metrics import headline_scores
from tweet_sentiment.core.params import OptimizeParams, Params, ParamsError
from tweet_sentiment.evaluate.splits import labels_of
from tweet_sentiment.optimize.quantize import BATCH_DEPENDENT
from tweet_sentiment.serving.limits import PARALLEL_BATCHES, SUB_BATCH
from tweet_sentiment.serving.predictor import Predictor

BASELINE = "torchscript-fp32"  # the fp32 model: what every candidate is gated against


def calibration_tweets(params: Params) -> list[str]:
    """The seeded sample of training tweets that calibrates the static int8 candidates.

    `optimize.calibration_samples` of them, or fewer: never more than the run
    trained on (`max_train_samples`), so a quick run calibrates quickly too.
    """
    train = pd.read_csv(paths.PREPARED / "train.csv", dtype=str, keep_default_na=False)
    samples = min(params.optimize.calibration_samples, params.max_train_samples or len(train), len(train))
    return list(train["text"].sample(n=samples, random_state=params.seed))


@dataclass(frozen=True)
class Candidate:
    """One runtime's scores on val and test, and its agreement with the fp32 model on test."""

    name: str
    predictions: dict[str, np.ndarray]  # split -> predicted label ids
    scores: dict[str, dict[str, float]]  # split -> headline scores
    agreement: float
    tweets_per_s: float  # in-process, as the service runs it: varies between runs, so only logged

    def recall_drop(self, baseline: "Candidate") -> float:
        return baseline.scores["test"]["macro_recall"] - self.scores["test"]["macro_recall"]

    def passes(self, baseline: "Candidate", gate: OptimizeParams) -> bool:
        # Rounded: a drop of exactly the allowed size must not fail on float noise.
        return round(self.recall_drop(baseline), 9) <= gate.max_recall_drop and self.agreement >= gate.min_agreement


def tweets_per_second(predictor: Predictor, texts: Sequence[str], rounds: int = 3) -> float:
    """Median in-process throughput over `rounds` passes (after one warm-up batch)."""
    predictor.predict_proba(texts[: predictor.batch_size])
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        predictor.predict_proba(texts)
        times.append(time.perf_counter() - started)
    return len(texts) / statistics.median(times)


def as_served(model_dir: Path) -> Predictor:
    """`model_dir` run as one service worker runs it: sub-batches of 16, two at once, a CPU thread each."""
    return Predictor(model_dir, batch_size=SUB_BATCH, parallel_batches=PARALLEL_BATCHES, threads=PARALLEL_BATCHES)


def assess(
    model_dir: Path,
    batch_size: int,
    frames: dict[str, pd.DataFrame],
    baseline: Candidate | None,
    timing_texts: Sequence[str],
) -> Candidate:
    """Score `model_dir` on every split as `evaluate` would, compare with the baseline's test labels, time it."""
    predictor = Predictor(model_dir, batch_size=batch_size)
    predictions = {split: predictor.predict_proba(list(f["text"])).argmax(axis=1) for split, f in frames.items()}
    scores = {split: headline_scores(labels_of(frames[split]), predictions[split]) for split in frames}
    agreement = 1.0 if baseline is None else float(np.mean(predictions["test"] == baseline.predictions["test"]))
    speed = tweets_per_second(as_served(model_dir), timing_texts)
    return Candidate(predictor.runtime.name, predictions, scores, agreement, speed)


def check_candidates(settings: OptimizeParams, known: Sequence[str]) -> None:
    """Every name a candidate, none twice, the baseline not among them; a pinned runtime is servable."""
    problems = (
        [f"unknown runtime(s) {unknown}; known: {list(known)}"]
        if (unknown := [name for name in settings.candidates if name not in known])
        else []
    )
    if BASELINE in settings.candidates:
        problems.append(f"{BASELINE} is the fp32 baseline, built and scored always; leave it out of `candidates`")
    if len(set(settings.candidates)) < len(settings.candidates):
        problems.append("a runtime is listed twice")
    if settings.runtime not in ("auto", BASELINE, *settings.candidates):
        problems.append(f"`optimize.runtime` is {settings.runtime!r}: `auto`, {BASELINE} or one of `candidates`")
    if settings.runtime in BATCH_DEPENDENT:
        problems.append(f"{settings.runtime} answers a tweet differently with other tweets in its batch: not servable")
    if problems:
        raise ParamsError("params.yaml: optimize: " + "; ".join(problems) + ".")


def choose(candidates: Sequence[Candidate], baseline: Candidate, settings: OptimizeParams) -> Candidate:
    """The runtime to serve: the one named, else the first (or fastest) within the gate, else the fp32 model.

    Batch-dependent runtimes are scored but never served: the service merges
    concurrent requests, so their answers would not be the evaluated ones.
    """
    if settings.runtime != "auto":
        return next(c for c in [baseline, *candidates] if c.name == settings.runtime)
    passing = [c for c in candidates if c.name not in BATCH_DEPENDENT and c.passes(baseline, settings)]
    if settings.select == "measured":
        passing.sort(key=lambda c: -c.tweets_per_s)
    return passing[0] if passing else baseline
