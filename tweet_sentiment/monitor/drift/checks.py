"""The drift tests: is a window of logged predictions drawn from the reference's distribution?

A check flags drift when its difference is both significant and large enough
to matter. Significant: its two-sample test's p-value is below `alpha / number
of checks` (Bonferroni), which bounds the false-alarm rate of a whole report by
`alpha` however the checks correlate, when the traffic is like the reference.
Large enough: its effect size reaches a minimum (`monitor.min_effect` in
params.yaml). Without that floor, a large window makes any tiny difference
significant: TweetEval validation differs from the training tweets by 5% of
its length distribution (13% of its tweets keep the quotes their export
wrapped them in) and by 4 points of predicted neutral (the model fits tweets it
trained on better), which flagged 11% of its 500-tweet windows.

- prediction drift: chi-square test of the predicted-label counts; effect: the
  total variation distance of the label shares;
- confidence, length and unknown-token drift: two-sample Kolmogorov-Smirnov;
  effect: the KS statistic (the largest gap between the two CDFs);
- input drift: maximum mean discrepancy (MMD) of the sentence embeddings with a
  Gaussian kernel (median-distance bandwidth) and a permutation test, as in
  alibi-detect's MMDDrift (which does not install with this stack); effect: MMD².
- language drift (`language_check.py`): a one-sided binomial test of the share
  of predictions in another language than English against a ceiling; effect: the share.

`python -m tweet_sentiment.monitor.drift.rates` measures the false-alarm and detection rates.
"""

from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import chi2_contingency, ks_2samp

from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.monitor.drift.features import Features


@dataclass(frozen=True)
class DriftSettings:
    """The knobs of a drift report (params.yaml's `monitor`), saved with the reference."""

    alpha: float
    min_predictions: int
    embedding_sample: int
    permutations: int
    seed: int
    min_label_shift: float  # total variation distance of predicted-label shares
    min_ks: float  # Kolmogorov-Smirnov statistic
    min_mmd2: float  # squared MMD of embeddings


@dataclass(frozen=True)
class Check:
    """One test's outcome, as written to drift.json."""

    name: str
    question: str
    test: str
    statistic: float
    p_value: float
    effect: float
    threshold: dict  # drift when p_value < threshold["p_value"] and effect >= threshold["effect"]
    drift: bool
    reference: dict
    current: dict

    def as_dict(self) -> dict:
        return asdict(self)


def label_shares(predicted: np.ndarray) -> dict[str, float]:
    counts = np.bincount(predicted, minlength=len(LABELS))
    return {label: round(float(c) / max(len(predicted), 1), 4) for label, c in zip(LABELS, counts, strict=True)}


def _summary(values: np.ndarray) -> dict[str, float]:
    quantiles = np.quantile(values, [0.1, 0.5, 0.9])
    return {"mean": round(float(values.mean()), 4)} | {
        f"p{q}": round(float(v), 4) for q, v in zip((10, 50, 90), quantiles, strict=True)
    }


def mmd_permutation_test(
    x: np.ndarray, y: np.ndarray, permutations: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Squared MMD of samples `x` and `y` and its permutation p-value."""
    z = np.vstack([x, y]).astype(np.float64)
    squared_norms = (z**2).sum(axis=1)
    distances = np.maximum(squared_norms[:, None] + squared_norms[None, :] - 2 * z @ z.T, 0.0)
    bandwidth = np.median(distances[np.triu_indices(len(z), k=1)])
    kernel = np.exp(-distances / bandwidth)
    weights = np.concatenate([np.full(len(x), 1 / len(x)), np.full(len(y), -1 / len(y))])
    shuffled = np.stack([rng.permutation(weights) for _ in range(permutations)])
    observed = float(weights @ kernel @ weights)
    null = ((shuffled @ kernel) * shuffled).sum(axis=1)
    return observed, float((1 + np.sum(null >= observed)) / (1 + permutations))


def _check(name: str, question: str, test: str, statistic: float, p_value: float, effect: float, **context) -> dict:
    return {
        "name": name,
        "question": question,
        "test": test,
        "statistic": round(float(statistic), 6),
        "p_value": float(p_value),
        "effect": round(float(effect), 6),
    } | context


def _judge(found: dict, p_threshold: float, min_effect: float) -> Check:
    threshold = {"p_value": p_threshold, "effect": min_effect}
    drift = bool(found["p_value"] < p_threshold and found["effect"] >= min_effect)
    return Check(**found, threshold=threshold, drift=drift)


def run_checks(
    reference: Features, current: Features, settings: DriftSettings, seed: int | None = None, other_checks: int = 0
) -> list[Check]:
    """Every check the data allows; the embedding one needs logged text.

    `other_checks`: how many checks the report runs beside these (the non-English
    share, `language_check.py`), which share `alpha` with them.
    """
    with_embeddings = current.embedding is not None and reference.embedding is not None
    p_threshold = settings.alpha / ((5 if with_embeddings else 4) + other_checks)
    reference_counts = np.bincount(reference.predicted, minlength=len(LABELS))
    current_counts = np.bincount(current.predicted, minlength=len(LABELS))
    present = (reference_counts + current_counts) > 0
    chi2, p_value, _, _ = chi2_contingency(np.stack([reference_counts, current_counts])[:, present])
    shares = label_shares(reference.predicted), label_shares(current.predicted)
    total_variation = sum(abs(shares[0][label] - shares[1][label]) for label in LABELS) / 2
    checks = [
        _judge(
            _check(
                "prediction_drift",
                "has the mix of predicted labels changed?",
                "chi-square test of predicted-label counts; effect: total variation distance of the shares",
                chi2,
                p_value,
                total_variation,
                reference=shares[0],
                current=shares[1],
            ),
            p_threshold,
            settings.min_label_shift,
        )
    ]
    for name, question, attribute in (
        ("confidence_drift", "is the model more or less sure of itself?", "confidence"),
        ("length_drift", "are the texts longer or shorter?", "chars"),
        ("unknown_token_drift", "do more words fall outside the model's vocabulary?", "unknown_share"),
    ):
        reference_values, current_values = getattr(reference, attribute), getattr(current, attribute)
        result = ks_2samp(reference_values, current_values)
        found = _check(
            name,
            question,
            f"two-sample Kolmogorov-Smirnov test of {attribute}; effect: the KS statistic",
            result.statistic,
            result.pvalue,
            result.statistic,
            reference=_summary(reference_values),
            current=_summary(current_values),
        )
        checks.append(_judge(found, p_threshold, settings.min_ks))
    if with_embeddings:
        rng = np.random.default_rng(settings.seed if seed is None else seed)
        reference_rows = rng.permutation(len(reference))[: settings.embedding_sample]
        current_rows = rng.permutation(len(current))[: settings.embedding_sample]
        mmd2, p_value = mmd_permutation_test(
            reference.embedding[reference_rows], current.embedding[current_rows], settings.permutations, rng
        )
        found = _check(
            "embedding_drift",
            "are the inputs about other things, or in another style?",
            f"MMD of sentence embeddings, {settings.permutations} permutations; effect: MMD²",
            mmd2,
            p_value,
            mmd2,
            reference={"rows": len(reference_rows)},
            current={"rows": len(current_rows)},
        )
        checks.append(_judge(found, p_threshold, settings.min_mmd2))
    return checks
