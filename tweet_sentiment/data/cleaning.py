"""Reading, validating and cleaning the labelled tweet sources (the user's own CSV: `own_data.py`).

Every reader checks what it reads and raises `DataError` naming the file, the
line and the fix, so a malformed file stops the pipeline before training.
Frames have the columns `id`, `text` (normalised) and `label` (a name from
`LABELS`). Cleaning accounts for every row it reads in a `RowCount`: kept, or
dropped for one of `DROP_REASONS`.
"""

import gzip
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tweet_sentiment.core.labels import ID2LABEL, LABELS
from tweet_sentiment.core.text import decode_escapes, match_key, normalise

COLUMNS = ["id", "text", "label"]
# Why a row is not trained on, in the order they are tested (a row counts once, for the first): `unreadable`
# is the input layer's (a record it could not read, or with no value), the rest cleaning's.
DROP_REASONS = (
    "unreadable",
    "empty_label",
    "label_dropped",
    "empty_text",
    "conflicting_labels",
    "duplicate",
    "in_evaluation_split",
)
SPLIT_SEED = 0  # fixed, not `seed`: runs that change the training seed are scored on the same held-out tweets


class DataError(ValueError):
    """A data source is missing or malformed; the message says where and how to fix it."""


@dataclass
class RowCount:
    """What became of one source's rows: `read` = `kept` + the sum of `dropped` (by reason)."""

    read: int
    kept: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_REASONS, 0))
    # The input layer's reasons behind `unreadable`, for a source read through it (the user's CSV); None for others.
    unreadable_by_reason: dict[str, int] | None = None

    def keep(self, frame: pd.DataFrame, mask: pd.Series, reason: str) -> pd.DataFrame:
        """`frame[mask]`; the rows left out count as dropped for `reason`."""
        self.dropped[reason] += int((~mask).sum())
        return frame[mask]

    def as_dict(self) -> dict:
        """For `metrics/data.json`: read, kept and dropped (every reason, zeros too), and why unreadable if known."""
        counts = {"read": self.read, "kept": self.kept, "dropped": dict(self.dropped)}
        if self.unreadable_by_reason is not None:
            counts["unreadable_by_reason"] = dict(self.unreadable_by_reason)
        return counts

    def top_reason(self) -> str:
        """The reason that dropped the most rows (the first of DROP_REASONS on a tie)."""
        return max(DROP_REASONS, key=lambda reason: self.dropped[reason])

    def summary(self) -> str:
        """One log line's worth: `1956 read, 3 kept; dropped: duplicate 1953`."""
        dropped = ", ".join(f"{reason} {n}" for reason, n in self.dropped.items() if n) or "none"
        return f"{self.read} read, {self.kept} kept; dropped: {dropped}"


def all_kept(frame: pd.DataFrame) -> RowCount:
    """The count of a source taken as it is (TweetEval's splits)."""
    return RowCount(read=len(frame), kept=len(frame))


def restore_hint(path: Path) -> str:
    """`<path>: file not found; restore it with `git checkout -- <path>``, the path quoted for bash."""
    return f"{path}: file not found; restore it with `git checkout -- {shlex.quote(str(path))}`."


def read_text(path: Path) -> str:
    """Read a UTF-8 text file, transparently gunzipping `.gz` files."""
    if not path.is_file():
        raise DataError(restore_hint(path))
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise DataError(f"{path}: not a valid gzip file ({error}).") from error
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not valid UTF-8 ({error.reason}); re-save it as UTF-8.") from error


def _check_label(label: str, where: str) -> str:
    if label not in LABELS:
        raise DataError(f"{where}: unknown label {label!r}; expected one of {', '.join(LABELS)}.")
    return label


def read_semeval_tsv(path: Path) -> pd.DataFrame:
    """Read one SemEval-2017 4A file: `id<TAB>label<TAB>text[<TAB>]`, raw text."""
    rows = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        fields = line.split("\t")
        if len(fields) < 3 or not fields[0].strip():
            raise DataError(f"{path}:{number}: expected `id<TAB>label<TAB>text`, got {line[:80]!r}.")
        rows.append((fields[0].strip(), fields[2], _check_label(fields[1].strip(), f"{path}:{number}")))
    if not rows:
        raise DataError(f"{path}: no rows.")
    return pd.DataFrame(rows, columns=COLUMNS)


def read_tweeteval_split(text_path: Path, labels_path: Path) -> pd.DataFrame:
    """Read a TweetEval split: one tweet a line, and its label id (0/1/2) a line.

    Texts stay as a client would send them (only the export's `\\uXXXX` escapes
    decoded): emoji included, so `evaluate` can score the tweets that have
    some; every model path normalises them (`tokenize`, `Predictor`).
    """
    texts = read_text(text_path).splitlines()
    label_lines = read_text(labels_path).splitlines()
    if len(texts) != len(label_lines):
        raise DataError(
            f"{text_path} has {len(texts)} lines but {labels_path} has {len(label_lines)}; "
            "they must pair up line by line."
        )
    labels = []
    for number, value in enumerate(label_lines, start=1):
        try:
            labels.append(ID2LABEL[int(value)])
        except (ValueError, KeyError):
            raise DataError(f"{labels_path}:{number}: unknown label id {value!r}; expected 0, 1 or 2.") from None
    ids = [f"{text_path.name.split('_')[0]}-{i}" for i in range(len(texts))]
    frame = pd.DataFrame({"id": ids, "text": [decode_escapes(t) for t in texts], "label": labels})
    return frame[COLUMNS]


def resolve_conflicts(frame: pd.DataFrame, count: RowCount) -> pd.DataFrame:
    """Keep one row per tweet: majority label across copies; drop ties.

    Copies are found by `match_key`, which also catches re-posts under a new id.
    The vote comes before de-duplication by id: each distinct (id, label) pair
    is one vote, so a tweet listed in two files with two labels is a tie, not
    whichever file came first. In `count`, rows that lose the vote (or tie)
    are `conflicting_labels`; later copies, by id or by key, are `duplicate`
    (a row whose id and label already voted under another text gets no vote).
    """
    frame = frame.assign(key=frame["text"].map(match_key))
    votes = frame.drop_duplicates(["id", "label"]).groupby(["key", "label"]).size().unstack(fill_value=0)
    tied = votes.eq(votes.max(axis=1), axis=0).sum(axis=1) > 1
    winner = votes.idxmax(axis=1)[~tied]
    frame = count.keep(frame, frame["key"].isin(votes.index), "duplicate")
    frame = count.keep(frame, frame["key"].map(winner) == frame["label"], "conflicting_labels")
    frame = count.keep(frame, ~frame.duplicated("id"), "duplicate")
    frame = count.keep(frame, ~frame.duplicated("key"), "duplicate")
    return frame.drop(columns="key")


def clean_training_pool(
    raw: pd.DataFrame, held_out_texts: Iterable[str], taken_texts: Iterable[str] = (), unreadable: int = 0
) -> tuple[pd.DataFrame, RowCount]:
    """Decode, deduplicate, resolve conflicts, drop held-out tweets, normalise.

    `raw` has COLUMNS; an empty label (a blank cell of the user's CSV) drops the row
    as `empty_label`, a None label (data.label_map drops it) as `label_dropped`.
    `unreadable` counts the source's records the input layer could not read:
    read, and dropped as `unreadable`.
    Tweets in `held_out_texts` (evaluation splits) are dropped as
    `in_evaluation_split`, those in `taken_texts` (another source's training
    rows) as `duplicate`. Returns the rows kept and what became of every row.
    """
    count = RowCount(read=len(raw) + unreadable)
    count.dropped["unreadable"] = unreadable
    frame = count.keep(raw, raw["label"] != "", "empty_label")
    frame = count.keep(frame, frame["label"].notna(), "label_dropped")
    frame = frame.assign(text=frame["text"].map(decode_escapes))
    frame = count.keep(frame, frame["text"].map(normalise) != "", "empty_text")
    frame = resolve_conflicts(frame, count)
    frame = frame.assign(key=frame["text"].map(match_key))
    frame = count.keep(frame, ~frame["key"].isin({match_key(text) for text in held_out_texts}), "in_evaluation_split")
    frame = count.keep(frame, ~frame["key"].isin({match_key(text) for text in taken_texts}), "duplicate")
    frame = frame.drop(columns="key").assign(text=frame["text"].map(normalise)).reset_index(drop=True)
    count.kept = len(frame)
    return frame, count


def hold_out(frame: pd.DataFrame, share: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split `frame` into (train, held out): `share` of each label's rows, drawn with SPLIT_SEED.

    Stratified: each label gives round(share x its rows) but always leaves at
    least one row in train. Both parts keep the rows' order. Raises DataError
    when nothing would be held out.
    """
    rng = np.random.default_rng(SPLIT_SEED)
    labels = frame["label"].to_numpy()
    chosen = np.zeros(len(frame), dtype=bool)
    for label in LABELS:
        rows = np.flatnonzero(labels == label)
        size = max(0, min(int(share * len(rows) + 0.5), len(rows) - 1))
        chosen[rng.permutation(rows)[:size]] = True
    if not chosen.any():
        raise DataError(
            f"data.eval_share {share} of {len(frame)} rows holds out no tweet (each label keeps one row for "
            "training); raise it, add rows, or set it to null."
        )
    return frame[~chosen].reset_index(drop=True), frame[chosen].reset_index(drop=True)


def read_semeval_pool(directory: Path) -> pd.DataFrame:
    """Read every SemEval 2013-2016 file of the vendored snapshot."""
    files = sorted(directory.glob("twitter-*-A.tsv*"))
    if not files:
        raise DataError(f"{directory}: no twitter-*-A.tsv files; is the data snapshot checked out?")
    return pd.concat([read_semeval_tsv(path) for path in files], ignore_index=True)


def split_statistics(splits: dict[str, pd.DataFrame]) -> dict[str, dict[str, int]]:
    """Row and per-label counts of each split, for `metrics/data.json`."""
    return {
        name: {"rows": len(frame)} | {label: int((frame["label"] == label).sum()) for label in LABELS}
        for name, frame in splits.items()
    }
