"""Where a run reads and writes: input shards, one output shard each, written atomically, and the model.

Paths are local paths or fsspec URLs (`gs://bucket/dir/*.csv` through gcsfs).

- Inputs: each argument is a file, a folder (its files of a known format) or, only
  when no such path exists, a glob: the input layer decides (`inputs/locate.py`),
  so `tweets[1].csv` is that file. All on one filesystem.
- Outputs: `OUT/<path relative to the inputs' common folder>`, with the output
  format's extension when `--format` changes it; the bad rows of a shard go to
  `OUT/_errors/<that path>.csv` (`input,row,reason,detail`), only when it has any.
- Atomic: a shard is written to `.<name>.partial` beside it and renamed once
  complete (on GCS, a copy then a delete: the object appears only complete). Its
  errors file is committed first, so a finished shard always has its errors beside
  it, and a killed run leaves only `.partial` files, which the next run overwrites.
"""

import csv
import io
import posixpath
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import fsspec
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from tweet_sentiment.inputs import locate
from tweet_sentiment.inputs.errors import InputError
from tweet_sentiment.inputs.tables import compression_suffix, first_value
from tweet_sentiment.score.formats import EXTENSIONS, compression_of, format_of, open_writer
from tweet_sentiment.score.scoring import ChunkResult

ERRORS_DIR = "_errors"
ERROR_COLUMNS = ("input", "row", "reason", "detail")


@dataclass(frozen=True)
class Shard:
    """One input file and the files scoring it writes: the scored rows and, if any, the bad rows."""

    input: str
    output: str
    errors: str


def expand_inputs(patterns: list[str]) -> list[str]:
    """Every input file the arguments name (`inputs.locate.expand`); a folder gives its CSV, JSON lines, Parquet files.

    Raises `InputError` when an argument names nothing, or arguments are on different filesystems.
    """
    return locate.expand(patterns, _known, "CSV, JSON lines or Parquet file")


def _known(path: str) -> bool:
    try:
        format_of(path)
    except InputError:
        return False
    return True


def _output_name(relative: str, output_format: str | None) -> str:
    """The output's path: the input's, with `output_format`'s extension when it changes the format.

    Only `.gz` output is written compressed: a `.bz2`, `.xz` or `.zip` input's output
    loses that suffix. Raises `InputError` for a name that does not say a format
    when `--format` is not given.
    """
    fmt = output_format or format_of(relative)
    suffix = compression_suffix(relative)
    stem = relative[: len(relative) - len(suffix)]
    if _known(relative):
        if format_of(relative) == fmt:
            return stem + (suffix if suffix.lower() == ".gz" else "")
        stem = stem[: stem.rfind(".")]
    return stem + EXTENSIONS[fmt]


def plan_shards(inputs: list[str], out: str, output_format: str | None) -> list[Shard]:
    """One `Shard` per input, its output named by its path relative to the inputs' common folder.

    Raises `InputError` if two inputs would write one output, or an output would overwrite an input.
    """
    paths = [url_to_fs(url)[1] for url in inputs]
    common = posixpath.dirname(paths[0]) if len(paths) == 1 else posixpath.commonpath(paths)
    out = out.rstrip("/")
    shards = []
    for url, path in zip(inputs, paths, strict=True):
        relative = _output_name(posixpath.relpath(path, common), output_format)
        shards.append(Shard(url, f"{out}/{relative}", f"{out}/{ERRORS_DIR}/{relative}.csv"))
    outputs = [shard.output for shard in shards]
    if len(set(outputs)) < len(outputs):
        raise InputError("two inputs would write the same output (a .csv and a .csv.gz of one name?); rename one")
    clashes = set(outputs) & set(inputs)
    if clashes:
        raise InputError(f"{sorted(clashes)[0]}: the output would overwrite the input; choose another --out")
    return shards


def partial_of(url: str) -> str:
    """The hidden file a shard is written to before it is renamed into place."""
    folder, name = url.rsplit("/", 1) if "/" in url else ("", url)
    return f"{folder}/.{name}.partial" if folder else f".{name}.partial"


def _exists(url: str) -> bool:
    fs, path = url_to_fs(url)
    return fs.exists(path)


def _commit(partial: str, final: str) -> None:
    """Local files are renamed (atomic); remote objects copied server-side, then the partial deleted.

    (gcsfs's `mv` tries GCS's move API first; where that is missing, as on the GCS
    emulator the tests use, it retries for over a minute before copying.)
    """
    fs, partial_path = url_to_fs(partial)
    final_path = url_to_fs(final)[1]
    if isinstance(fs, LocalFileSystem):
        fs.mv(partial_path, final_path)
    else:
        fs.copy(partial_path, final_path)
        fs.rm(partial_path)


def _remove(url: str) -> None:
    fs, path = url_to_fs(url)
    if fs.exists(path):
        fs.rm(path)


def finished_errors(shard: Shard, model_version: str) -> int | None:
    """The bad-row count of a shard an earlier run finished, None if it is not finished.

    Raises `InputError` if that run scored it with another model (pass --overwrite to redo it).
    """
    if not _exists(shard.output):
        return None
    version = first_value(shard.output, "model_version")
    if version is not None and version != model_version:
        raise InputError(
            f"{shard.output} was scored by model {version}, this run's model is {model_version}: "
            "pass --overwrite to score it again, or choose another --out"
        )
    if not _exists(shard.errors):
        return 0
    with fsspec.open(shard.errors, "rt", encoding="utf-8", newline="") as file:
        return sum(1 for _ in csv.reader(file)) - 1


@contextmanager
def _atomic(url: str) -> Iterator[IO[bytes]]:
    """A binary file to write `url` through: `.partial` beside it, renamed into place on success, removed on error."""
    fs, path = url_to_fs(url)
    fs.makedirs(posixpath.dirname(path) or ".", exist_ok=True)
    partial = partial_of(url)
    try:
        with fsspec.open(partial, "wb", compression=compression_of(url)) as file:
            yield file
    except BaseException:
        _remove(partial)
        raise
    _commit(partial, url)


@dataclass
class ShardCount:
    """What became of a shard's rows: scored, or failed by reason; `non_finite`: NaN/Infinity written as JSON null."""

    scored: int = 0
    failed: int = 0
    reasons: Counter = field(default_factory=Counter)
    non_finite: int = 0

    def add(self, other: "ShardCount") -> None:
        self.scored += other.scored
        self.failed += other.failed
        self.reasons.update(other.reasons)
        self.non_finite += other.non_finite

    def as_dict(self) -> dict:
        reasons = {reason: n for reason, n in sorted(self.reasons.items()) if n}
        return {
            "scored": self.scored,
            "failed": self.failed,
            "failed_by_reason": reasons,
            "non_finite": self.non_finite,
        }


def write_shard(shard: Shard, results: Iterable[ChunkResult], progress: Callable[[int], None]) -> ShardCount:
    """Write a shard's chunk results, in order, as its output and errors file; what became of its rows.

    `results` may be a generator that scores as it goes: rows are written chunk by
    chunk, and bad rows stream to the errors file's `.partial`. `progress` gets the
    number of input rows of each chunk once it is written.
    """
    count = ShardCount()
    _remove(shard.errors)  # a stale list from a run that is being redone
    with tempfile.TemporaryFile() as bad_rows_file:  # on local disk, so memory stays bounded
        bad_rows = io.TextIOWrapper(bad_rows_file, encoding="utf-8", errors="surrogateescape", newline="")
        errors = csv.writer(bad_rows)
        errors.writerow(ERROR_COLUMNS)
        with _atomic(shard.output) as file:
            writer = open_writer(file, shard.output)
            for result in results:
                writer.write(result.frame)
                errors.writerows((shard.input, row, r.reason, r.detail) for row, r in result.errors)
                count.scored, count.failed = count.scored + len(result.frame), count.failed + len(result.errors)
                count.reasons.update(r.reason for _, r in result.errors)
                progress(len(result.frame) + len(result.errors))
            writer.close()
            count.non_finite = getattr(writer, "non_finite", 0)
            if count.failed:  # committed before the shard itself: a finished shard always has its errors beside it
                bad_rows.flush()
                bad_rows_file.seek(0)
                with _atomic(shard.errors) as errors_file:
                    shutil.copyfileobj(bad_rows_file, errors_file)
    return count


@contextmanager
def local_model(url: str | Path) -> Iterator[Path]:
    """The model directory at `url` on local disk: itself, or a temporary copy of a remote one (gs://...)."""
    fs, path = url_to_fs(str(url))
    if isinstance(fs, LocalFileSystem):
        yield Path(path)
        return
    with tempfile.TemporaryDirectory(prefix="tweet-sentiment-model-") as folder:
        if not fs.isdir(path):
            raise InputError(f"{url}: no such model folder")
        fs.get(path.rstrip("/") + "/", folder, recursive=True)
        yield Path(folder)
