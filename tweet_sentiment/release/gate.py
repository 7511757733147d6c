"""The promotion gate: a candidate version against the one in the stage, criterion by criterion.

GTO records promotions but checks nothing (iterative/gto#292 asks for
"promotion requirements"); this gate is ours. Each criterion's limit comes from
`params.yaml`'s `release` section (docs/releases.md says why each has its value):

- absolute floors, always: TweetEval test macro recall at least
  `min_test_macro_recall`;
- against the version in the stage, when there is one: test macro recall not
  lower by more than `max_test_drop`, no class's test recall lower by more than
  `max_class_drop`, the user's `custom` split and the `live` split (where both
  versions have it) not lower by more than `max_split_drop`, and served
  throughput not lower by more than the share `max_throughput_drop`;
- order: a version reaches `prod` only after `staging`.

Metrics are the committed ones at each version's commit (`metrics/eval/`), read
as `dvc metrics diff` reads revisions. Throughput is not committed (it varies run
to run, and `dvc.lock` stays reproducible), so the gate times both versions'
served runtimes on this machine, one after the other, as `optimize` does; two
versions whose `dvc.lock` records the same `models/serving` serve the same bytes,
so they pass without a timing (which on a busy machine can differ by 10% or more).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.core.params import ReleaseParams
from tweet_sentiment.core.paths import SERVING

EVAL_METRICS = "metrics/eval/metrics.json"
PER_CLASS_TEST = "metrics/eval/plots/custom/per_class_test.json"
HELD_OUT_SPLITS = ("custom", "live")  # the user's own held-out tweets, and the served traffic's (harvested feedback)


@dataclass(frozen=True)
class Scores:
    """What the gate compares of one version: committed test scores, and throughput where measured."""

    test_macro_recall: float
    class_recall: dict[str, float]  # label -> test recall
    splits: dict[str, float]  # held-out split -> macro recall, for those the version has
    tweets_per_s: float | None = None
    served_model: str | None = None  # DVC's hash of models/serving in the version's dvc.lock


@dataclass(frozen=True)
class Criterion:
    """One row of the gate's table: what is compared, both values, the limit, and whether it holds."""

    name: str
    candidate: str
    incumbent: str
    limit: str
    passed: bool | None  # None: not checked (nothing to compare with)


def scores_at(read_text: Callable[[str], str]) -> Scores:
    """A version's `Scores` from its committed files; `read_text(path)` reads a file at that revision.

    Raises `KeyError` / `FileNotFoundError` where the revision lacks them.
    """
    metrics = json.loads(read_text(EVAL_METRICS))
    per_class = {row["label"]: row["recall"] for row in json.loads(read_text(PER_CLASS_TEST))}
    splits = {name: metrics[name]["macro_recall"] for name in HELD_OUT_SPLITS if name in metrics}
    return Scores(metrics["test"]["macro_recall"], per_class, splits)


def served_model_hash(lock_text: str) -> str | None:
    """DVC's hash of `models/serving` as the `optimize` stage recorded it in a `dvc.lock`; None if absent."""
    try:
        outs = yaml.safe_load(lock_text)["stages"]["optimize"]["outs"]
        return next(out["md5"] for out in outs if out["path"] == str(SERVING))
    except (yaml.YAMLError, LookupError, TypeError, StopIteration):  # not a lock that records it
        return None


def same_served_model(candidate: Scores, incumbent: Scores | None) -> bool:
    """Whether both versions serve the very same runtime bytes (so the same speed: nothing to time)."""
    return (
        incumbent is not None
        and candidate.served_model is not None
        and candidate.served_model == incumbent.served_model
    )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _drop(name: str, candidate: float, incumbent: float | None, max_drop: float) -> Criterion:
    passed = None if incumbent is None else candidate >= incumbent - max_drop
    return Criterion(name, _fmt(candidate), _fmt(incumbent), f"drop <= {max_drop:g}", passed)


def check(
    candidate: Scores, incumbent: Scores | None, params: ReleaseParams, was_in_staging: bool | None
) -> list[Criterion]:
    """Every criterion for `candidate` over `incumbent` (None: the stage is empty).

    With no incumbent only the floor (and the order) are checked; the comparisons
    are listed as not checked. `was_in_staging` is the order criterion of a
    promotion to prod (None: no order to check, as for staging or a report).
    """
    floor = params.min_test_macro_recall
    rows = [
        Criterion(
            "test macro recall (floor)",
            _fmt(candidate.test_macro_recall),
            "",
            f">= {floor:g}",
            candidate.test_macro_recall >= floor,
        ),
        _drop(
            "test macro recall",
            candidate.test_macro_recall,
            incumbent.test_macro_recall if incumbent else None,
            params.max_test_drop,
        ),
    ]
    for label in LABELS:
        before = incumbent.class_recall.get(label) if incumbent else None
        rows.append(_drop(f"test recall: {label}", candidate.class_recall[label], before, params.max_class_drop))
    for split in HELD_OUT_SPLITS:
        if split in candidate.splits:
            before = incumbent.splits.get(split) if incumbent else None
            rows.append(_drop(f"{split} macro recall", candidate.splits[split], before, params.max_split_drop))
    rows.append(_throughput(candidate, incumbent, params.max_throughput_drop))
    if was_in_staging is not None:
        order = "was in staging" if was_in_staging else "never in staging"
        rows.append(Criterion("staging before prod", order, "", "in staging first", was_in_staging))
    return rows


def _throughput(candidate: Scores, incumbent: Scores | None, max_share: float) -> Criterion:
    new, old = candidate.tweets_per_s, incumbent.tweets_per_s if incumbent else None
    limit = f"drop <= {max_share:.0%}"
    if same_served_model(candidate, incumbent):
        return Criterion("served tweets/s (this machine)", "same runtime", "same runtime", limit, True)
    if new is None or old is None:
        return Criterion("served tweets/s (this machine)", "-" if new is None else f"{new:.0f}", "-", limit, None)
    return Criterion("served tweets/s (this machine)", f"{new:.0f}", f"{old:.0f}", limit, new >= old * (1 - max_share))


def failed(criteria: Sequence[Criterion]) -> list[str]:
    """The names of the criteria that do not hold."""
    return [row.name for row in criteria if row.passed is False]


def measure_throughput(serving_dirs: Sequence[Path], texts: Sequence[str], rounds: int = 3) -> list[float]:
    """In-process tweets/s of each served runtime on `texts`, timed as the `optimize` stage times candidates.

    The runtimes are loaded together and timed in turns, round by round, so a
    burst of load elsewhere on the machine hits all of them alike.
    """
    from tweet_sentiment.optimize.choose import as_served, tweets_per_second

    predictors = [as_served(path) for path in serving_dirs]
    best = [0.0] * len(predictors)
    for _ in range(rounds):
        for i, predictor in enumerate(predictors):
            best[i] = max(best[i], tweets_per_second(predictor, texts, rounds=1))
    return best
