"""Where the train/val/test splits come from: the `data.source` param.

- `embedded`: the vendored SemEval-2017 pool (train) and TweetEval val/test.
- `tweeteval`: TweetEval's own files, downloaded from `data.tweeteval_url`.
- `csv`: the user's labelled tweets (train) with the embedded TweetEval val/test,
  so every model is still scored on the same benchmark; optionally mixed with
  the embedded pool (`data.mix_embedded`), and with a share of the user's rows
  held out as a fourth split, `custom` (`data.eval_share`).
Network sources fail fast, with the URL and the reason, when offline. Each
source also returns what became of every row it read, by source name.
"""

import logging
import re
import shlex
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.core.params import DataParams
from tweet_sentiment.data.cleaning import (
    DataError,
    RowCount,
    all_kept,
    clean_training_pool,
    hold_out,
    read_semeval_pool,
    read_tweeteval_split,
    restore_hint,
)
from tweet_sentiment.data.own_data import read_labelled_csv
from tweet_sentiment.inputs.accounting import ReadCount
from tweet_sentiment.inputs.containers import is_web_page

log = logging.getLogger(__name__)

Splits = dict[str, pd.DataFrame]
Counts = dict[str, RowCount]  # source name -> what became of its rows
USER_SOURCE = "csv"  # the count of the user's own rows (data.source csv)
CUSTOM_SPLIT = "custom"  # the user's held-out rows; `evaluate` scores data/prepared/custom.csv when it exists
# The knobs that only data.source csv reads, with their defaults (params.yaml).
CSV_ONLY = {"id_column": None, "delimiter": None, "label_map": None, "mix_embedded": False, "eval_share": None}


def _tweeteval_split(directory: Path, split: str) -> pd.DataFrame:
    return read_tweeteval_split(directory / f"{split}_text.txt.gz", directory / f"{split}_labels.txt.gz")


def _evaluation_splits(external: Path) -> tuple[Splits, Counts]:
    """The embedded TweetEval val and test, taken as they are."""
    splits = {split: _tweeteval_split(external / "tweeteval-sentiment", split) for split in ("val", "test")}
    return splits, {f"tweeteval_{split}": all_kept(frame) for split, frame in splits.items()}


def embedded_evaluation_texts(external: Path) -> list[str]:
    """The embedded TweetEval val and test tweets: what no training source may hold."""
    return _texts(_evaluation_splits(external)[0])


def _texts(splits: Splits) -> list[str]:
    return [text for frame in splits.values() for text in frame["text"]]


def embedded_splits(external: Path) -> tuple[Splits, Counts]:
    """Train on the cleaned SemEval pool, minus every val/test tweet."""
    evaluation, counts = _evaluation_splits(external)
    train, pool = clean_training_pool(read_semeval_pool(external / "semeval2017-task4a"), _texts(evaluation))
    return {"train": train, **evaluation}, {"semeval": pool, **counts}


# github.com/OWNER/REPO/blob/REF/PATH, the page GitHub shows for a file; its raw bytes are elsewhere.
_GITHUB_BLOB = re.compile(r"https?://github\.com/([^/]+)/([^/]+)/blob/(.+)")


def _file_url(url: str) -> str:
    """The URL of the file itself: GitHub's raw host for a blob page, else `url`."""
    blob = _GITHUB_BLOB.match(url)
    if blob:
        owner, repo, rest = blob.groups()
        return f"https://raw.githubusercontent.com/{owner}/{repo}/{rest}"
    return url


def _raw_url_hint(url: str) -> str:
    """Where the file behind a web page's URL is: GitHub's raw host for a blob page, else the page's Raw link."""
    if _file_url(url) != url:
        return f"use the raw file's URL, {_file_url(url)}"
    return "use the URL of the file itself (a page's Raw or Download link), or save it under data/external/"


def _check_not_html(url: str, content_type: str, body: bytes) -> None:
    """Refuse a web page where a data file was expected: a GitHub blob page, a login or error page.

    Read as CSV, its markup would be a header and rows of nonsense, or a
    confusing "missing column" error (CSSEGISandData/COVID-19#1722); say what it is instead.
    """
    if "html" in content_type.lower() or is_web_page(body[:64]):
        raise DataError(f"{url} is a web page (HTML), not a data file; {_raw_url_hint(url)}.")


def _download(url: str, target: Path, timeout_s: float) -> None:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            body = response.read()
            content_type = response.headers.get("Content-Type", "")
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise DataError(
            f"could not download {url} ({getattr(error, 'reason', error)}). Check the network "
            "and the URL in params.yaml, or use `data.source: embedded` offline."
        ) from error
    _check_not_html(url, content_type, body)
    target.write_bytes(body)


def tweeteval_splits(params: DataParams) -> tuple[Splits, Counts]:
    """TweetEval's published train/val/test, downloaded."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for split in ("train", "val", "test"):
            for kind in ("text", "labels"):
                name = f"{split}_{kind}.txt"
                _download(f"{params.tweeteval_url.rstrip('/')}/{name}", directory / name, params.timeout_s)
        splits = {
            split: read_tweeteval_split(directory / f"{split}_text.txt", directory / f"{split}_labels.txt")
            for split in ("train", "val", "test")
        }
    return splits, {f"tweeteval_{split}": all_kept(frame) for split, frame in splits.items()}


def _check_declared(csv_path: Path, external: Path) -> None:
    """A local CSV must live under `data/external/`, the stage's declared dep.

    Anywhere else DVC would not see it change, and `dvc repro` would skip a
    retrain that the new data needs.
    """
    if not csv_path.resolve().is_relative_to(external.resolve()):
        raise DataError(
            f"data.csv_path {str(csv_path)!r} is outside {external}/, which is what DVC tracks for the "
            f"`download` stage, so a change to it would go unnoticed. Copy it to {external}/ (and "
            "`git add` or `dvc add` it), then point data.csv_path there."
        )


def _tracked_by_git(path: Path) -> bool:
    try:
        listed = subprocess.run(["git", "ls-files", "--error-unmatch", "--", str(path)], capture_output=True)
    except FileNotFoundError:  # no git on this machine
        return False
    return listed.returncode == 0


def _tracked_by_dvc(path: Path) -> bool:
    """A `.dvc` file for the path or a folder above it (`dvc add data/external/mine.csv` writes mine.csv.dvc)."""
    return any(Path(f"{tracked}.dvc").is_file() for tracked in (path, *path.parents) if tracked.name)


def missing_csv_message(path: Path) -> str:
    """Why a local data.csv_path is absent and the fix, by how it is tracked (run from the repository root).

    Untracked is the queued-experiment case: the queue runs a copy of the
    repository with the files git tracks or has staged, so it never had the file.
    """
    if _tracked_by_dvc(path):
        return f"data.csv_path {str(path)!r} is tracked by DVC but not here; run `dvc checkout` (or `dvc pull`)."
    if _tracked_by_git(path):
        return restore_hint(path)
    return (
        f"data.csv_path {str(path)!r} is not here and not in git or DVC, so a queued experiment cannot see it: "
        "`git add` it (or `dvc add` it and `git add` its .dvc file), then queue the experiment again; or fix the path."
    )


def url_import_commands(url: str, external: Path) -> tuple[str, str]:
    """The commands that track `url` the DVC way, and where they put the copy to point data.csv_path at.

    `dvc import-url` records the server's ETag, Content-MD5, Digest or Last-Modified
    and size; `dvc unfreeze` makes every `dvc repro` compare them (one HEAD request)
    and fetch the file again when they change (treeverse/dvc#10258: imports are frozen).
    """
    url = _file_url(url)
    name = Path(urlparse(url).path).name or "tweets.csv"
    target = (external / name).as_posix()
    commands = [["dvc", "import-url", url, target], ["dvc", "unfreeze", f"{target}.dvc"]]
    return " && ".join(shlex.join(argv) for argv in commands), target


def _read_users_csv(params: DataParams, external: Path) -> tuple[pd.DataFrame, ReadCount]:
    """The rows of data.csv_path, a file under `external`, and their count.

    A URL is refused with the DVC commands that track it: fetched by the stage, it
    was never fetched again (DVC cannot see a change behind a URL a stage reads).
    """
    if not params.csv_path:
        raise DataError("data.source is `csv` but data.csv_path is empty; set it to a CSV path under data/external/.")
    if "://" in params.csv_path:
        commands, target = url_import_commands(params.csv_path, external)
        raise DataError(
            f"data.csv_path {params.csv_path!r} is a URL, which this stage would read once and never again "
            f"(DVC cannot see it change); let DVC fetch and watch it, then run again with "
            f"-S {shlex.quote(f'data.csv_path={target}')}: {commands}"
        )
    formats = {"id_column": params.id_column, "delimiter": params.delimiter, "label_map": params.label_map}
    source = Path(params.csv_path)
    _check_declared(source, external)
    if not source.is_file():
        raise DataError(missing_csv_message(source))
    return read_labelled_csv(str(source), params.text_column, params.label_column, **formats)


def _check_every_class(train: pd.DataFrame, params: DataParams, users: RowCount) -> None:
    """Training needs every label (its class weights do); name the first one missing and both ways out."""
    missing = [label for label in LABELS if not (train["label"] == label).any()]
    if missing:
        raise DataError(
            f"{params.csv_path}: no {missing[0]!r} tweets to train on (its rows: {users.summary()}); map a label "
            "to it with data.label_map, or train alongside the embedded pool: -S data.mix_embedded=true."
        )


def csv_splits(params: DataParams, external: Path) -> tuple[Splits, Counts]:
    """The user's CSV as train (with the embedded pool when mixed), scored on TweetEval val/test.

    With data.eval_share, part of the user's rows is held out as the `custom`
    split; the pool is then cleaned against it too, so no evaluation tweet leaks
    into train. Raises DataError when train would lack a label.
    """
    evaluation, counts = _evaluation_splits(external)
    rows, read = _read_users_csv(params, external)
    for example in read.examples:  # each names its file and line
        log.warning("not read: %s", example)
    train, users = clean_training_pool(rows, _texts(evaluation), unreadable=read.read - read.kept)
    users.unreadable_by_reason = read.by_reason()
    if params.eval_share is not None:
        train, evaluation[CUSTOM_SPLIT] = hold_out(train, params.eval_share)
    counts = {USER_SOURCE: users, **counts}
    if params.mix_embedded:
        raw_pool = read_semeval_pool(external / "semeval2017-task4a")
        pool, counts["semeval"] = clean_training_pool(raw_pool, _texts(evaluation), taken_texts=train["text"])
        train = pd.concat([train, pool], ignore_index=True)
    _check_every_class(train, params, users)
    return {"train": train, **evaluation}, counts


def _check_csv_only(params: DataParams) -> None:
    """The csv-only knobs, set away from their defaults for another source, would be silently ignored."""
    changed = [f"data.{name}" for name, default in CSV_ONLY.items() if getattr(params, name) != default]
    if changed and params.source != "csv":
        raise DataError(
            f"data.source {params.source!r} ignores {', '.join(changed)}, which are for data.source csv: "
            "set data.source to csv, or set them back to their defaults (params.yaml)."
        )


def build_splits(params: DataParams, external: Path) -> tuple[Splits, Counts]:
    """The splits for `data.source` (train, val, test, and `custom` when held out) and each source's row counts."""
    _check_csv_only(params)
    if params.source == "tweeteval":
        return tweeteval_splits(params)
    if params.source == "csv":
        return csv_splits(params, external)
    return embedded_splits(external)
