"""Reading, validating and cleaning the labelled tweet sources.

Every reader checks what it reads and raises `DataError` naming the file, the
line and the fix, so a malformed file stops the pipeline before training.
Frames have the columns `id`, `text` (normalised) and `label` (a name from
`LABELS`).
"""

import gzip
import io
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from tweet_sentiment.labels import ID2LABEL, LABELS
from tweet_sentiment.text import decode_escapes, match_key, normalise, strip_wrapping_quotes

COLUMNS = ["id", "text", "label"]


class DataError(ValueError):
    """A data source is missing or malformed; the message says where and how to fix it."""


def read_text(path: Path) -> str:
    """Read a UTF-8 text file, transparently gunzipping `.gz` files."""
    if not path.is_file():
        raise DataError(f"{path}: file not found; restore it with `git checkout -- {path}`.")
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
    """Read a TweetEval split: one tweet a line, and its label id (0/1/2) a line."""
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
    frame = pd.DataFrame({"id": ids, "text": [normalise(t) for t in texts], "label": labels})
    return frame[COLUMNS]


def read_labelled_csv(source: Path, text_column: str, label_column: str) -> pd.DataFrame:
    """Read a user's CSV with a text and a label column (label names or ids 0/1/2)."""
    try:
        frame = pd.read_csv(io.StringIO(read_text(source)), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataError(f"{source}: not a valid CSV ({error}).") from error
    missing = [c for c in (text_column, label_column) if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {missing}; it has {list(frame.columns)}. "
            "Set data.text_column / data.label_column in params.yaml."
        )
    names = {str(i): name for i, name in ID2LABEL.items()} | {name: name for name in LABELS}
    labels = []
    for number, value in enumerate(frame[label_column].str.strip(), start=2):
        labels.append(_check_label(names.get(value.lower(), value), f"{source}:{number}"))
    ids = frame["id"] if "id" in frame.columns else [f"csv-{i}" for i in range(len(frame))]
    return pd.DataFrame({"id": ids, "text": frame[text_column], "label": labels})


def resolve_conflicts(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep one row per tweet: majority label across copies; drop ties.

    Copies are found by `match_key`, which also catches re-posts under a new id.
    The vote comes before de-duplication by id: each distinct (id, label) pair
    is one vote, so a tweet listed in two files with two labels is a tie, not
    whichever file came first.
    """
    frame = frame.assign(key=frame["text"].map(match_key))
    votes = frame.drop_duplicates(["id", "label"]).groupby(["key", "label"]).size().unstack(fill_value=0)
    tied = votes.eq(votes.max(axis=1), axis=0).sum(axis=1) > 1
    winner = votes.idxmax(axis=1)[~tied]
    frame = frame[frame["key"].map(winner) == frame["label"]]
    return frame.drop_duplicates("id").drop_duplicates("key").drop(columns="key")


def clean_training_pool(raw: pd.DataFrame, held_out_texts: Iterable[str]) -> pd.DataFrame:
    """Decode, deduplicate, resolve conflicts, drop held-out tweets, normalise."""
    frame = raw.assign(text=raw["text"].map(lambda t: strip_wrapping_quotes(decode_escapes(t)).strip()))
    frame = frame[frame["text"] != ""]
    frame = resolve_conflicts(frame)
    held_out = {match_key(text) for text in held_out_texts}
    frame = frame[~frame["text"].map(match_key).isin(held_out)]
    return frame.assign(text=frame["text"].map(normalise)).reset_index(drop=True)


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
