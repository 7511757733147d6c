"""The non-English share check: is the model, trained on English tweets, sent tweets in other languages?

Each prediction record of the query log carries `lang`, the tweet's language
(`tweet_sentiment/core/language.py`: an ISO 639-1 code, `und` where the text
cannot tell). The share is that of records whose `lang` is neither `en` nor
`und`, among the records that carry one; records logged before the service
wrote `lang` count as `unknown`: drift.json reports how many, and they are left
out of the share.

Unlike the other checks it compares the window with a ceiling, not with the
reference (training tweets are English by construction):
`monitor.max_non_english_share` of params.yaml, read when the report runs, so
that a new ceiling needs no `reference` rerun. The test is one-sided and
exact: binomial, of "the traffic's share is at most the ceiling"; drift when
its p-value is below the report's per-check threshold (`alpha / k`) and the
window's share reaches the ceiling. params.yaml's ceiling, 0.1, is 8 times the
share on English tweets: `python -m benchmarks.language_detectors` gave 1.2%
of 2,000 English TweetEval test tweets another language, and 100% of the 65
Spanish tweets of tests/data/language_sample.tsv.
"""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from scipy.stats import binomtest

from tweet_sentiment.core.language import UNDETERMINED
from tweet_sentiment.core.params import load_params
from tweet_sentiment.monitor.drift.checks import Check

NAME = "non_english_share"
ENGLISH = "en"
SHOWN_LANGUAGES = 10  # drift.json lists the window's most frequent languages, at most this many


@dataclass(frozen=True)
class LanguageCounts:
    """The languages of a window's prediction records."""

    languages: Counter[str]  # `lang` -> records, of those that carry one
    unknown: int  # records without `lang` (logged before the service detected languages)

    @classmethod
    def of(cls, predictions: list[dict]) -> "LanguageCounts":
        found = Counter(p["lang"] for p in predictions if isinstance(p.get("lang"), str))
        return cls(found, len(predictions) - found.total())

    @property
    def known(self) -> int:
        return self.languages.total()

    @property
    def non_english(self) -> int:
        return self.known - self.languages[ENGLISH] - self.languages[UNDETERMINED]


def ceiling_from_params(path: Path = Path("params.yaml")) -> float | None:
    """`monitor.max_non_english_share` of `path`, or None where there is no such file (the check is skipped).

    Raises `ParamsError` for a params.yaml that is invalid or lacks the key.
    """
    return load_params(path).monitor.max_non_english_share if path.is_file() else None


def why_skipped(counts: LanguageCounts, ceiling: float | None, min_predictions: int) -> str | None:
    """Why the check cannot run on this window, or None when it can."""
    if ceiling is None:
        return "no ceiling: pass --max-non-english-share, or run where params.yaml is"
    if counts.known < min_predictions:
        return (
            f"only {counts.known} predictions carry `lang` ({counts.unknown} were logged without it); "
            f"the check needs {min_predictions}"
        )
    return None


def non_english_check(counts: LanguageCounts, ceiling: float, p_threshold: float) -> Check:
    """Drift when significantly more than `ceiling` of the records with a `lang` are neither `en` nor `und`."""
    share = counts.non_english / counts.known
    p_value = binomtest(counts.non_english, counts.known, ceiling, alternative="greater").pvalue
    return Check(
        name=NAME,
        question="are the tweets in other languages than English, which the model was not trained on?",
        test="one-sided binomial test of the count of predictions in a language other than en and und "
        "against the ceiling; effect: their share",
        statistic=float(counts.non_english),
        p_value=float(p_value),
        effect=round(share, 6),
        threshold={"p_value": p_threshold, "effect": ceiling},
        drift=bool(p_value < p_threshold and share >= ceiling),
        reference={"max_non_english_share": ceiling},
        current={
            "non_english_share": round(share, 4),
            "with_lang": counts.known,
            "unknown": counts.unknown,
            "languages": dict(counts.languages.most_common(SHOWN_LANGUAGES)),
        },
    )
