"""`python -m tweet_sentiment.score INPUT [INPUT ...] --out OUT`: score a corpus of tweets with the served model.

Reads CSV, JSON lines or Parquet shards (local paths, globs, folders or gs://
URLs) chunk by chunk, scores each text through the service's `Predictor` on all
cores, and writes one output shard per input shard (in the input's format, or
`--format`) with `pred_id`, `pred_label`, `score_negative`, `score_neutral`,
`score_positive`, `model_version` and `detected_lang` (the text's language) after the carried
columns, and with `--explain` each word's weight (`explanation`, as `POST /explain`). Shards are
written atomically; a rerun skips the finished ones (`--overwrite` redoes them).
Files are read through the input layer (`tweet_sentiment/inputs/`: what a file
is by its bytes, literal names before globs, separators sniffed or `--delimiter`).
Bad rows are listed in `OUT/_errors/`, and `OUT/_summary.json` counts what became
of every row, by reason. Exit status: 0 every row scored, 1 some rows failed
(listed), 2 nothing could be done as asked (bad arguments, input or model; one
ERROR line says why).
"""

import argparse
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from fsspec.core import url_to_fs

from tweet_sentiment.core import paths
from tweet_sentiment.core.arguments import positive_int
from tweet_sentiment.core.labels import ModelLoadError
from tweet_sentiment.inputs import delimiters
from tweet_sentiment.inputs.errors import InputError
from tweet_sentiment.inputs.tables import read_chunks
from tweet_sentiment.score.formats import FORMATS
from tweet_sentiment.score.progress import Progress
from tweet_sentiment.score.scoring import finish_chunk, score_values
from tweet_sentiment.score.shards import (
    ERRORS_DIR,
    Shard,
    ShardCount,
    expand_inputs,
    finished_errors,
    local_model,
    plan_shards,
    write_shard,
)
from tweet_sentiment.serving.predictor import Predictor
from tweet_sentiment.serving.runtimes import model_version

log = logging.getLogger("tweet_sentiment.score")

EXIT_OK, EXIT_ROWS_FAILED, EXIT_CANNOT = 0, 1, 2
SUMMARY = "_summary.json"  # OUT/_summary.json: this run's rows by outcome, per shard and in all
CHUNK_SIZE = 4096  # rows read, scored and written at once: bounds memory, and batches are length-sorted within it
BATCH_SIZE = 64  # tweets per model call, as in the Runtimes table's in-process ceiling (BENCHMARKS.md)


@dataclass(frozen=True)
class Plan:
    """The shards a run scores, and those an earlier run finished (with their bad-row count)."""

    todo: list[Shard]
    finished: int
    finished_failed: int


def _columns(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def _delimiter(value: str) -> str:
    try:
        return delimiters.parse(value)
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments the command and the Beam pipeline share."""
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="CSV, JSON lines or Parquet files, globs, folders")
    parser.add_argument("--out", required=True, help="output folder (local or gs://)")
    parser.add_argument("--model", default=str(paths.SERVING), help="model folder, local or gs:// [%(default)s]")
    parser.add_argument("--text-column", default="text", help="the column holding the tweets [%(default)s]")
    parser.add_argument("--keep", type=_columns, help="columns to carry through, comma-separated [all]")
    parser.add_argument(
        "--delimiter", type=_delimiter, help="CSV separator: ',' ';' '\\t' or '|' [sniffed from the first lines]"
    )
    parser.add_argument("--format", choices=FORMATS, help="output format [the input's]")
    parser.add_argument("--overwrite", action="store_true", help="score shards an earlier run finished again")
    parser.add_argument("--chunk-size", type=positive_int, default=CHUNK_SIZE, help="rows held at once [%(default)s]")
    parser.add_argument("--batch-size", type=positive_int, default=BATCH_SIZE, help="tweets a model call [%(default)s]")
    parser.add_argument("--parallel", type=positive_int, default=1, help="model calls at once [%(default)s]")
    parser.add_argument("--threads", type=positive_int, default=os.cpu_count(), help="CPU threads in all [all cores]")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tweet_sentiment.score", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument(
        "--explain",
        action="store_true",
        help="add each word's weight, as POST /explain gives it (about 20 times the work of scoring)",
    )
    return parser.parse_args(argv)


def plan_run(args: argparse.Namespace, version: str) -> Plan:
    """The shards to score; raises `InputError` for inputs that cannot be, or outputs of another model."""
    shards = plan_shards(expand_inputs(args.inputs), args.out, args.format)
    if args.overwrite:
        return Plan(shards, 0, 0)
    done = {shard: finished_errors(shard, version) for shard in shards}
    earlier = [count for count in done.values() if count is not None]
    return Plan([shard for shard, count in done.items() if count is None], len(earlier), sum(earlier))


def predictor_of(model_dir: Path, args: argparse.Namespace) -> Predictor:
    """The service's `Predictor` with this run's batching and threads."""
    return Predictor(model_dir, batch_size=args.batch_size, parallel_batches=args.parallel, threads=args.threads)


def write_summary(out: str, plan: Plan, counts: dict[str, ShardCount], status: int) -> None:
    """`OUT/_summary.json`: each shard this run scored (by input), what became of its rows, those an earlier
    run finished, and the exit status. ASCII JSON, so a file name of undecodable bytes still writes."""
    total = ShardCount()
    for count in counts.values():
        total.add(count)
    earlier = {"shards": plan.finished, "failed": plan.finished_failed}  # the exit status counts them too
    shards = {name: count.as_dict() for name, count in counts.items()}
    summary = {"exit_status": status, "total": total.as_dict(), "finished_earlier": earlier, "shards": shards}
    fs, path = url_to_fs(f"{out.rstrip('/')}/{SUMMARY}")
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with fs.open(path, "w", encoding="utf-8") as file:
        file.write(json.dumps(summary, indent=2, allow_nan=False) + "\n")


def summary(plan: Plan, scored: int, failed: int, seconds: float, out: str) -> tuple[str, int]:
    """The closing log line and the exit status (1 if any row of any shard, finished earlier or now, failed)."""
    failed_in_all = failed + plan.finished_failed
    skipped = f", {plan.finished} finished earlier and skipped" if plan.finished else ""
    errors = f"; {failed_in_all:,} rows not scored, listed in {out.rstrip('/')}/{ERRORS_DIR}/" if failed_in_all else ""
    rate = scored / seconds if seconds > 0 else 0.0
    done = f"scored {scored:,} tweets in {len(plan.todo)} shard{'' if len(plan.todo) == 1 else 's'}{skipped}"
    line = f"{done} in {seconds:.1f} s ({rate:,.0f} tweets/s){errors}"
    return line, EXIT_ROWS_FAILED if failed_in_all else EXIT_OK


def score(args: argparse.Namespace) -> int:
    """Run the command on parsed arguments; the exit status."""
    with local_model(args.model) as model_dir:
        version = model_version(model_dir)
        plan = plan_run(args, version)
        predictor = predictor_of(model_dir, args) if plan.todo else None
        earlier = f" ({plan.finished} finished earlier)" if plan.finished else ""
        log.info("scoring %d shard(s)%s with model %s from %s", len(plan.todo), earlier, version, args.model)
        progress, started = Progress(), time.perf_counter()
        counts: dict[str, ShardCount] = {}
        try:
            for shard in plan.todo:
                chunks = read_chunks(shard.input, args.text_column, args.keep, args.chunk_size, args.delimiter)
                explainer = predictor if args.explain else None
                results = (finish_chunk(c, score_values(predictor, c.values), version, explainer) for c in chunks)
                counts[shard.input] = count = write_shard(shard, results, progress.update)
                log.debug("%s: %d scored, %d failed", shard.output, count.scored, count.failed)
        finally:
            progress.close()
    scored, failed = sum(c.scored for c in counts.values()), sum(c.failed for c in counts.values())
    line, status = summary(plan, scored, failed, time.perf_counter() - started, args.out)
    non_finite = sum(c.non_finite for c in counts.values())
    if non_finite:
        log.info("%d NaN or Infinity values written as null (JSON has no such numbers)", non_finite)
    log.info("%s", line)
    write_summary(args.out, plan, counts, status)
    return status


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    args = parse_args(argv)
    try:
        return score(args)
    except (InputError, ModelLoadError) as error:
        log.error("%s", error)
    except OSError as error:
        log.error("%s: %s", error.filename or "input/output", error.strerror or error)
    except Exception as error:  # a fault of this command's, not a bad row: never exit 1, which means "rows failed"
        log.debug("unexpected error", exc_info=True)
        log.error(
            "stopped by an unexpected %s: %s (nothing half-written was kept; please report it with the command line)",
            type(error).__name__,
            error,
        )
    return EXIT_CANNOT
