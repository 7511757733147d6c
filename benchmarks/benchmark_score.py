"""Benchmark of scoring a corpus: the command and the Beam DirectRunner against the runtime's in-process ceiling.

1. In-process ceiling: the served runtime's `Predictor.predict_proba` on
   pre-loaded real tweets, with the command's batch size, parallel calls and
   threads (median of 3 passes, as the Runtimes table times it).
2. `python -m tweet_sentiment.score` on N real tweets (TweetEval test and
   training tweets, repeated as needed) in CSV shards: tweets/s as the command
   reports it (model loaded, end to end over the shards) and its wall time,
   peak RSS of its process sampled every 50 ms; then on a larger N, to show
   that memory is bounded by the chunk size, not the input.
3. `python -m tweet_sentiment.score.beam` (DirectRunner) on the N-tweet input.

    python benchmarks/benchmark_score.py                        # 100,000 and 1,000,000 tweets (about 30 min on 2 cores)
    python benchmarks/benchmark_score.py --tweets 2000 --large 4000 --shard-rows 1000   # a smoke test
    python benchmarks/benchmark_score.py --write                # also rewrite BENCHMARKS.md's section
"""

import argparse
import itertools
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks_md import machine, replace_section  # noqa: E402

from tweet_sentiment.optimize.choose import tweets_per_second  # noqa: E402
from tweet_sentiment.score.command import BATCH_SIZE  # noqa: E402
from tweet_sentiment.serving.predictor import Predictor  # noqa: E402
from tweet_sentiment.serving.runtimes import read_runtime  # noqa: E402

HEADING = "## Scoring a corpus"
CEILING_TWEETS = 2000  # pre-loaded tweets timed for the ceiling (at most --tweets), as the Runtimes table's
RATE = re.compile(r"scored ([\d,]+) tweets .* \(([\d,]+) tweets/s\)")


@dataclass
class Measured:
    name: str
    tweets: int
    shards: int
    tweets_per_s: float
    wall_s: float | None = None
    peak_rss_mib: float | None = None


def real_tweets() -> list[str]:
    """TweetEval test tweets, then the training tweets (data/prepared, from `dvc repro` or `dvc pull`)."""
    frames = []
    for split in ("test", "train"):
        path = REPO / "data/prepared" / f"{split}.csv"
        if not path.is_file():
            raise SystemExit(f"benchmark_score.py: no {path}; run `dvc repro` (or `dvc pull`) first")
        frames.append(pd.read_csv(path, dtype=str, keep_default_na=False)["text"])
    return pd.concat(frames).tolist()


def write_corpus(folder: Path, tweets: list[str], count: int, shard_rows: int) -> int:
    """`count` tweets (the list repeated as needed) as CSV shards of `shard_rows`; the number of shards."""
    folder.mkdir(parents=True)
    cycle = itertools.cycle(tweets)
    shards = 0
    for start in range(0, count, shard_rows):
        rows = min(shard_rows, count - start)
        frame = pd.DataFrame({"id": range(start, start + rows), "text": list(itertools.islice(cycle, rows))})
        frame.to_csv(folder / f"part-{shards:05d}.csv", index=False)
        shards += 1
    return shards


def run_sampled(args: list[str]) -> tuple[str, float, float]:
    """Run a command; its stderr, wall seconds and the peak RSS (MiB) of its process tree, sampled every 50 ms."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log)
        peak = 0
        watched = psutil.Process(process.pid)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                try:
                    tree = [watched, *watched.children(recursive=True)]
                    peak = max(peak, sum(p.memory_info().rss for p in tree))
                except psutil.Error:
                    pass
                done.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        status = process.wait()
        done.set()
        sampler.join()
        wall = time.perf_counter() - started
        log.seek(0)
        output = log.read()
    if status not in (0, 1):
        raise SystemExit(f"{' '.join(args)} exited {status}:\n{output[-3000:]}")
    return output, wall, peak / 2**20


def reported_rate(output: str) -> tuple[int, float]:
    """Tweets scored and tweets/s from the command's summary line."""
    match = RATE.search(output)
    if not match:
        raise SystemExit(f"no summary line in the command's output:\n{output[-3000:]}")
    return int(match[1].replace(",", "")), float(match[2].replace(",", ""))


def score(module: str, corpus: Path, out: Path, options: list[str], name: str, shards: int) -> Measured:
    args = [sys.executable, "-m", module, f"{corpus}/*.csv", "--out", str(out), *options]
    output, wall, peak = run_sampled(args)
    tweets, rate = reported_rate(output)
    measured = Measured(name, tweets, shards, rate, wall, peak)
    print(measured, flush=True)
    return measured


def ceiling(model: Path, tweets: list[str], args: argparse.Namespace) -> Measured:
    predictor = Predictor(model, batch_size=args.batch_size, parallel_batches=args.parallel, threads=args.threads)
    texts = tweets[: min(CEILING_TWEETS, args.tweets)]
    rate = tweets_per_second(predictor, texts)
    measured = Measured("in-process ceiling: Predictor.predict_proba", len(texts), 0, rate)
    print(measured, flush=True)
    return measured


def report(rows: list[Measured], args: argparse.Namespace, runtime: str) -> str:
    top = rows[0].tweets_per_s

    def cell(value: float | None, digits: int = 0) -> str:
        return "" if value is None else f"{value:,.{digits}f}"

    lines = [
        HEADING,
        "",
        f"Written by `python benchmarks/benchmark_score.py`: the served runtime ({runtime}) "
        f"at batch {args.batch_size}, "
        f"{args.parallel} call(s) at once on {args.threads} thread(s), chunks of {args.chunk_size:,} rows, "
        f"real tweets (TweetEval test, then training tweets, repeated) in CSV shards of {args.shard_rows:,} rows. "
        "tweets/s is the command's own figure (scoring, after the model is loaded); wall time includes start-up. "
        "Peak RSS is the process tree's, sampled every 50 ms. "
        f"Machine: {machine()}.",
        "",
        "| run | tweets | shards | tweets/s | of the in-process ceiling | wall s | peak RSS MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        share = f"{row.tweets_per_s / top:.0%}" if row is not rows[0] else ""
        lines.append(
            f"| {row.name} | {row.tweets:,} | {row.shards or ''} | {row.tweets_per_s:,.0f} | {share} "
            f"| {cell(row.wall_s, 1)} | {cell(row.peak_rss_mib)} |"
        )
    cli = [row for row in rows if row.name.startswith("python -m tweet_sentiment.score ")]
    if len(cli) == 2 and cli[0].peak_rss_mib:
        change = cli[1].peak_rss_mib / cli[0].peak_rss_mib - 1
        lines += ["", f"Peak RSS at {cli[1].tweets:,} tweets against {cli[0].tweets:,}: {change:+.1%}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tweets", type=int, default=100_000, help="tweets in the corpus [%(default)s]")
    parser.add_argument("--large", type=int, default=1_000_000, help="the larger corpus, for memory; 0 skips it")
    parser.add_argument("--shard-rows", type=int, default=10_000, help="tweets per input shard [%(default)s]")
    parser.add_argument("--model", type=Path, default=REPO / "models/serving")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--chunk-size", type=int, default=4096)
    parser.add_argument("--no-beam", action="store_true", help="skip the Beam DirectRunner")
    parser.add_argument("--write", action="store_true", help="rewrite the section of --output")
    parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args()
    tweets = real_tweets()
    options = ["--model", str(args.model), "--batch-size", str(args.batch_size), "--parallel", str(args.parallel)]
    options += ["--threads", str(args.threads), "--chunk-size", str(args.chunk_size)]
    rows = [ceiling(args.model, tweets, args)]
    with tempfile.TemporaryDirectory(prefix="benchmark-score-") as work:
        work = Path(work)
        shards = write_corpus(work / "corpus", tweets, args.tweets, args.shard_rows)
        name = f"python -m tweet_sentiment.score ({args.tweets:,} tweets)"
        rows.append(score("tweet_sentiment.score", work / "corpus", work / "cli", options, name, shards))
        if not args.no_beam:
            name = "python -m tweet_sentiment.score.beam, DirectRunner"
            beam = [*options, "--runner", "DirectRunner"]
            rows.append(score("tweet_sentiment.score.beam", work / "corpus", work / "beam", beam, name, shards))
        if args.large:
            shards = write_corpus(work / "large", tweets, args.large, args.shard_rows)
            name = f"python -m tweet_sentiment.score ({args.large:,} tweets)"
            rows.append(score("tweet_sentiment.score", work / "large", work / "cli-large", options, name, shards))
    text = report(rows, args, read_runtime(args.model).name)
    print(text)
    if args.write:
        replace_section(args.output, HEADING, text)
        print(f"wrote the section {HEADING!r} of {args.output}")


if __name__ == "__main__":
    main()
