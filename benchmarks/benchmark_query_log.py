"""What the query log costs: service throughput with `TWEET_SENTIMENT_QUERY_LOG` off and on.

Runs the same loads as benchmarks/benchmark_service.py against `bentoml serve`,
alternating off / on / off / on so that drift in the machine's speed hits both
sides alike, and writes the "Query log" section of BENCHMARKS.md.

    python benchmarks/benchmark_query_log.py              # about 5 minutes
    python benchmarks/benchmark_query_log.py --duration 10 --rounds 1 --output /tmp/bench.md
"""

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmark_service import REPO, LoadResult, Server, bento_request, drive, free_port
from benchmarks_md import replace_section

from tweet_sentiment.serving.querylog import QueryLog, RequestIds
from tweet_sentiment.serving.tokenizer import TokenCounts

LOADS = ((32, 16), (32, 1))  # (clients, tweets per request)
SECTION = "## Query log"


def measure(
    model_dir: Path, tweets: list[str], log_dir: str | None, duration: float, workers: int
) -> dict[tuple, LoadResult]:
    env = {"TWEET_SENTIMENT_MODEL_DIR": str(model_dir), "TWEET_SENTIMENT_WORKERS": str(workers)}
    env |= {"TWEET_SENTIMENT_QUERY_LOG": log_dir} if log_dir else {}
    port = free_port()
    serve = [sys.executable, "-m", "bentoml", "serve", "service:TweetSentiment", "--host", "127.0.0.1"]
    server = Server([*serve, "--port", str(port)], port, env, "/readyz")
    results = {}
    try:
        asyncio.run(drive(bento_request(port), LoadResult("warm-up", 8, 16), tweets, 3))
        for clients, per_request in LOADS:
            result = LoadResult("on" if log_dir else "off", clients, per_request)
            asyncio.run(drive(bento_request(port), result, tweets, duration))
            print(result.row(), flush=True)
            results[clients, per_request] = result
    finally:
        server.stop()
    return results


def logging_cpu_cost(tweets: list[str], batches: int = 2000, batch: int = 16) -> float:
    """CPU microseconds per logged prediction (all threads), net of building ids and results."""
    scores = {"negative": 0.1, "neutral": 0.2, "positive": 0.7}
    results = [{"pred_id": 2, "pred_label": "positive", "scores": scores}] * batch
    counts = [TokenCounts(20, 0)] * batch
    ids = RequestIds(b"benchmark")

    def cpu_seconds(log: QueryLog) -> float:
        started = time.process_time()
        for i in range(batches):
            texts = tweets[(i * batch) % (len(tweets) - batch) :][:batch]
            log.predictions(texts, results, [ids.issue(2) for _ in texts], counts, 0.01)
        log.close()
        return time.process_time() - started

    with tempfile.TemporaryDirectory() as log_dir:
        logged = cpu_seconds(QueryLog(log_dir, "benchmark"))
    unlogged = cpu_seconds(QueryLog(None, "benchmark"))
    return (logged - unlogged) / (batches * batch) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=REPO / "models/finetuned")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per load")
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs")
    parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument(
        "--workers", type=int, default=1, help="server workers; 1 avoids the noise of uneven connection splits"
    )
    args = parser.parse_args()
    test = pd.read_csv(REPO / "data/prepared/test.csv", dtype=str, keep_default_na=False)
    tweets = test["text"].sample(n=4000, random_state=0).tolist()

    runs: dict[str, list[dict]] = {"off": [], "on": []}
    logged_lines = 0
    for _ in range(args.rounds):
        runs["off"].append(measure(args.model_dir, tweets, None, args.duration, args.workers))
        with tempfile.TemporaryDirectory() as log_dir:
            runs["on"].append(measure(args.model_dir, tweets, log_dir, args.duration, args.workers))
            logged_lines += sum(len(f.read_text().splitlines()) for f in Path(log_dir).glob("queries-*.jsonl*"))

    rows = []
    for load in LOADS:
        speeds = {side: [r[load].tweets / r[load].seconds for r in runs[side]] for side in runs}
        median = {side: float(np.median(values)) for side, values in speeds.items()}
        p99 = {side: np.median([np.percentile(r[load].latencies, 99) * 1000 for r in runs[side]]) for side in runs}
        rounds = {side: ", ".join(f"{v:.0f}" for v in values) for side, values in speeds.items()}
        rows.append(
            f"| {load[0]} x {load[1]} | {rounds['off']} | {rounds['on']} | {median['off']:.0f} | {median['on']:.0f} "
            f"| {median['on'] / median['off'] - 1:+.1%} | {p99['off']:.0f} | {p99['on']:.0f} |"
        )
        print(rows[-1], flush=True)
    cost_us = logging_cpu_cost(tweets)
    best_off = max(np.median([r[load].tweets / r[load].seconds for r in runs["off"]]) for load in LOADS)
    share = cost_us * 1e-6 / ((os.cpu_count() or 1) / best_off)
    text = "\n".join(
        [
            SECTION,
            "",
            "Produced by `python benchmarks/benchmark_query_log.py`: the same server with the query log off and on",
            f"(text logged, every prediction), {args.rounds} alternating off/on rounds of {args.duration:.0f} s per",
            f"load, {args.workers} worker(s) (the service's default is 2: with one, uneven splits of the 32",
            "keep-alive connections between workers cannot blur the comparison; with two, rounds differed by up",
            f"to 10% either way). {logged_lines:,} prediction lines were written in the logged runs.",
            f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs.",
            "",
            "| clients x tweets/request | tweets/s off, each round | on, each round | off, median | on, median "
            "| change | p99 ms off | p99 ms on |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"Measured directly, in one process: logging a prediction takes {cost_us:.1f} µs of CPU (building,",
            "serialising and writing the record, one write per batch), which is",
            f"{share:.1%} of the CPU time a tweet costs at the best median throughput above.",
        ]
    )
    replace_section(args.output, SECTION, text)
    print(f"wrote the query-log section of {args.output}")


if __name__ == "__main__":
    main()
