"""`python -m tweet_sentiment.monitor.drift.rates`: how often the drift report is right, measured.

Runs the drift checks on many windows of in-distribution traffic (false-alarm
rate: windows wrongly flagged) and of shifted traffic (detection rate: windows
rightly flagged), against the `reference` stage's out, and prints one table.

In distribution: training tweets held out from the reference (the model saw
them in training, the reference did not), and TweetEval validation tweets
(never trained on). Shifted: only the tweets whose true label is negative; one
topic (tweets of the 2017 test set that mention Trump); the 2017 test year as
a whole; sentences from Python's documentation (not tweets at all); and one
in-period topic (held-out training tweets about a game), harder to tell apart.
"""

import argparse
import gzip
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tweet_sentiment.core import paths
from tweet_sentiment.monitor.drift.checks import run_checks
from tweet_sentiment.monitor.drift.features import Encoder, Features
from tweet_sentiment.monitor.drift.reference import Reference, load_reference

log = logging.getLogger("tweet_sentiment.monitor.drift.rates")
DOCS_SENTENCES = Path("data/monitoring/docs_sentences.txt.gz")


@dataclass(frozen=True)
class Stream:
    """Rows `rows` of the texts of `source`."""

    name: str
    shifted: bool
    source: str
    rows: np.ndarray
    description: str


def _split(name: str) -> pd.DataFrame:
    return pd.read_csv(paths.PREPARED / f"{name}.csv", dtype=str, keep_default_na=False)


def _where(mask: pd.Series) -> np.ndarray:
    return np.flatnonzero(mask.to_numpy())


def build_streams(reference_ids: np.ndarray, heldout_size: int, seed: int) -> tuple[dict[str, list[str]], list[Stream]]:
    """The texts of each source, and the streams as rows of them (each text is embedded once)."""
    train, val, test = _split("train"), _split("val"), _split("test")
    not_in_reference = train[~train["id"].isin(set(reference_ids))]
    heldout = not_in_reference.sample(n=min(heldout_size, len(not_in_reference)), random_state=seed)
    game = not_in_reference[not_in_reference["text"].str.contains(r"\bgame", case=False)]
    with gzip.open(DOCS_SENTENCES, "rt", encoding="utf-8") as lines:
        docs = [line.strip() for line in lines if line.strip()]
    sources = {"heldout": list(heldout["text"]), "val": list(val["text"]), "test": list(test["text"]), "docs": docs}
    sources["game"] = list(game["text"])
    streams = [
        Stream("heldout_train", False, "heldout", np.arange(len(heldout)), "training tweets not in the reference"),
        Stream("val", False, "val", np.arange(len(val)), "TweetEval validation (2013-2016, never trained on)"),
        Stream("negative_only", True, "test", _where(test["label"] == "negative"), "true label negative only"),
        Stream("topic_trump", True, "test", _where(test["text"].str.contains(r"\btrump", case=False)), "on Trump"),
        Stream("test_2017", True, "test", np.arange(len(test)), "TweetEval test (2017)"),
        Stream("docs", True, "docs", np.arange(len(docs)), "Python documentation sentences"),
        Stream("topic_game", True, "game", np.arange(len(game)), "training-period tweets on a game (hard)"),
    ]
    return sources, streams


def window_rows(size: int, window: int, windows: int, seed: int) -> list[np.ndarray]:
    """`windows` random windows of `window` rows each (rows differ within a window, windows overlap)."""
    return [np.random.default_rng(seed + i).choice(size, window, replace=False) for i in range(windows)]


def measure(
    reference: Reference, streams: list[Stream], features: dict[str, Features], window: int, windows: int
) -> list[dict]:
    """One row per stream: the share of windows flagged, overall and by check."""
    settings = reference.settings
    rows = []
    for stream in streams:
        name, stream_features = stream.name, features[stream.name]
        if len(stream_features) < window:
            log.warning("%s: %d texts, fewer than a window of %d; skipped", name, len(stream_features), window)
            continue
        verdicts = []
        for i, selected in enumerate(window_rows(len(stream_features), window, windows, settings.seed)):
            checks = run_checks(reference.features, stream_features.subset(selected), settings, seed=settings.seed + i)
            verdicts.append({"any": any(c.drift for c in checks)} | {c.name: c.drift for c in checks})
        flagged = pd.DataFrame(verdicts).mean().round(3).to_dict()
        about = {"stream": name, "what": stream.description, "shifted": stream.shifted, "texts": len(stream_features)}
        rows.append(about | {"windows": windows} | flagged)
    return rows


def markdown(rows: list[dict]) -> str:
    checks = [key for key in rows[0] if key not in {"stream", "what", "shifted", "texts", "windows", "any"}]
    header = "| stream | what | kind | texts | windows | flagged | " + " | ".join(checks) + " |"
    lines = [header, "|" + "---|" * (6 + len(checks))]
    for row in rows:
        kind = "shifted: detection" if row["shifted"] else "in-distribution: false alarm"
        cells = [row["stream"], row["what"], kind, f"{row['texts']:,}", str(row["windows"]), f"{row['any']:.0%}"]
        lines.append("| " + " | ".join(cells + [f"{row[c]:.0%}" for c in checks]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    parser = argparse.ArgumentParser(
        prog="python -m tweet_sentiment.monitor.drift.rates", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--window", type=int, default=500, help="predictions per window")
    parser.add_argument("--windows", type=int, default=20, help="windows per stream")
    parser.add_argument("--heldout", type=int, default=10_000, help="held-out training tweets to draw windows from")
    parser.add_argument("--out", type=Path, default=Path("build/drift_rates.json"))
    parser.add_argument("--features-dir", type=Path, help="also save each stream's features here (npz)")
    args = parser.parse_args(argv)

    reference = load_reference(paths.DRIFT_REFERENCE)
    encoder = Encoder(paths.MODEL)
    sources, streams = build_streams(reference.ids, args.heldout, reference.settings.seed)
    by_source = {name: encoder.features(texts, progress=name) for name, texts in sources.items()}
    features = {stream.name: by_source[stream.source].subset(stream.rows) for stream in streams}
    if args.features_dir:
        save_features(args.features_dir, reference.features, features)
    rows = measure(reference, streams, features, args.window, args.windows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2) + "\n")
    print(markdown(rows))


def save_features(directory: Path, reference: Features, streams: dict[str, Features]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, features in {"reference": reference, **streams}.items():
        np.savez(directory / f"{name}.npz", **{k: v for k, v in features.__dict__.items() if v is not None})
    (directory / "READY").touch()


if __name__ == "__main__":
    main()
