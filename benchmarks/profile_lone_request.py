"""Where the time of one tweet goes: each step of the service's path in-process, then over HTTP.

1. In-process, the steps `POST /predict` runs for one tweet, each timed alone on
   real test tweets with the service's own objects (parse the JSON body, validate
   it with the API's pydantic rules, normalise, tokenize, pad and infer with the
   served runtime as a worker loads it, request id, Prometheus, query log, the
   response's JSON).
2. Over HTTP, one client sending one tweet at a time to a fresh `bentoml serve`:
   `POST /predict` and the original `GET /predict/?tweet=`, p50 and p99.

What HTTP takes beyond the sum of the steps is the server's own path: uvicorn's
parsing, BentoML's middleware, the adaptive batcher and the thread hops.
Prints one Markdown table and, with --output, puts it in BENCHMARKS.md.

    python benchmarks/profile_lone_request.py                      # about 1 minute
    python benchmarks/profile_lone_request.py --output BENCHMARKS.md
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from benchmark_service import LoadResult, bento_request, drive, original_request, start_bento  # noqa: E402
from benchmarks_md import machine, replace_section  # noqa: E402

from tweet_sentiment.core.text import normalise  # noqa: E402
from tweet_sentiment.serving.limits import PARALLEL_BATCHES, SUB_BATCH  # noqa: E402
from tweet_sentiment.serving.predictor import Predictor, results_of, softmax  # noqa: E402
from tweet_sentiment.serving.prometheus import ServiceMetrics  # noqa: E402
from tweet_sentiment.serving.querylog import QueryLog, RequestIds  # noqa: E402
from tweet_sentiment.serving.runtimes import model_version, read_runtime  # noqa: E402

HEADING = "## One tweet, one client: where the time goes"


def p50_ms(step: Callable[[str], object], tweets: list[str], repeats: int = 3) -> float:
    """Median over `repeats` passes of each tweet through `step`, in ms."""
    times = []
    for _ in range(repeats):
        for tweet in tweets:
            started = time.perf_counter()
            step(tweet)
            times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000)


def in_process_steps(model_dir: Path, tweets: list[str]) -> list[tuple[str, float]]:
    """Each step of the service's path for one tweet, as service.py runs it."""
    import service

    predictor = Predictor(model_dir, batch_size=SUB_BATCH, parallel_batches=PARALLEL_BATCHES, threads=PARALLEL_BATCHES)
    tokenizer = predictor.tokenizer
    bodies = {tweet: json.dumps({"tweets": [tweet]}).encode() for tweet in tweets}
    validate = service.TweetSentiment.apis["predict"].input_spec.model_validate
    encoded = {tweet: tokenizer.encode([tweet]) for tweet in tweets}
    padded = {tweet: tokenizer.pad(encoded[tweet]) for tweet in tweets}
    logits = {tweet: predictor.logits(*padded[tweet]) for tweet in tweets}
    ids = RequestIds(b"profile-key")
    metrics = ServiceMetrics()
    results = {tweet: predictor.predict([tweet]) for tweet in tweets}
    with tempfile.TemporaryDirectory() as log_dir:
        query_log = QueryLog(log_dir, model_version(model_dir))  # the service's defaults, into a folder
        counts = {tweet: tokenizer.counts(encoded[tweet]) for tweet in tweets}
        steps = [
            ("parse the JSON body", lambda t: json.loads(bodies[t])),
            ("validate (pydantic, the Tweet rules: normalise once)", lambda t: validate({"tweets": [t]})),
            ("normalise", normalise),
            ("tokenize (normalise + tokenizers)", lambda t: tokenizer.encode([t])),
            ("pad", lambda t: tokenizer.pad(encoded[t])),
            ("inference, one stream's threads (a sub-batch under load)", lambda t: predictor.logits(*padded[t])),
            ("inference, lone call (every thread)", lambda t: predictor.lone_logits(*padded[t])),
            ("softmax and result dicts", lambda t: results_of(softmax(logits[t]))),
            ("the whole Predictor call", lambda t: predictor.predict_with_counts([t])),
            ("request id (HMAC)", lambda t: ids.issue(results[t][0]["pred_id"])),
            ("Prometheus metrics", lambda t: metrics.observe([t], results[t])),
            ("query log record", lambda t: query_log.predictions([t], results[t], ["x" * 40], counts[t], 0.004)),
            ("response JSON", lambda t: json.dumps([{**results[t][0], "request_id": "x" * 40}]).encode()),
        ]
        measured = [(name, p50_ms(step, tweets)) for name, step in steps]
    return measured


def over_http(model_dir: Path, tweets: list[str], seconds: float) -> list[LoadResult]:
    """1 client x 1 tweet against a fresh `bentoml serve` (no query log): POST /predict, then GET /predict/?tweet=."""
    server = start_bento(model_dir, TWEET_SENTIMENT_QUERY_LOG="")
    loads = []
    try:
        for name, request in (("POST /predict", bento_request), ("GET /predict/?tweet=", original_request)):
            load = LoadResult(name, 1, 1)
            asyncio.run(drive(request(server.port), load, tweets, 3.0))  # warm-up
            load = LoadResult(name, 1, 1)
            asyncio.run(drive(request(server.port), load, tweets, seconds))
            loads.append(load)
    finally:
        server.stop()
    return loads


def table(model_dir: Path, steps: list[tuple[str, float]], loads: list[LoadResult]) -> str:
    lines = [
        HEADING,
        "",
        f"Written by `python benchmarks/profile_lone_request.py`. Machine: {machine()}; the client shares it.",
        f"Served runtime: `{read_runtime(model_dir).name}` (weights {model_version(model_dir)}), "
        f"{SUB_BATCH}-tweet sub-batches, {PARALLEL_BATCHES} at once "
        "(service.py's defaults). Each step timed alone, p50 over real test tweets:",
        "",
        "| step, in-process | p50 ms |",
        "|---|---:|",
        *[f"| {name} | {ms:.3f} |" for name, ms in steps],
        "",
        "| 1 client x 1 tweet, HTTP | requests/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|",
        *[
            f"| {load.name} | {len(load.latencies) / load.seconds:.0f} | {load.p50_ms:.2f} | {load.p99_ms:.2f} |"
            for load in loads
        ],
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=REPO / "models/serving", help="the runtime dir to serve")
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds of each HTTP load")
    parser.add_argument("--output", type=Path, help="put the table in this Markdown file (BENCHMARKS.md)")
    args = parser.parse_args()
    os.chdir(REPO)
    test = pd.read_csv(REPO / "data/prepared/test.csv", dtype=str, keep_default_na=False)
    tweets = test["text"].sample(n=280, random_state=0).tolist()
    steps = in_process_steps(args.model.resolve(), tweets)
    loads = over_http(args.model.resolve(), tweets, args.seconds)
    report = table(args.model.resolve(), steps, loads)
    print(report, flush=True)
    if args.output:
        replace_section(args.output, HEADING, report)


if __name__ == "__main__":
    main()
