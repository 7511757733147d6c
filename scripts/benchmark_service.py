"""Benchmark of the runtimes and the services: the served runtime, today's trace, the original approach.

1. Runtime table: every candidate of the `optimize` stage, built as the stage
   builds them, timed in-process (batch 1, 16, 64, both cores) on real test
   tweets, beside the stage's test macro recall and agreement with fp32.
2. HTTP loads: the BentoML service on the runtime the pipeline serves
   (models/serving), the same service on the TorchScript bf16 trace it served
   before (models/finetuned), and the original FastAPI + pipeline, one after
   another in the same run. Bounded asyncio clients on loopback; each server's
   memory is sampled and its cold start (process start to ready) timed.
3. Served = evaluated: the whole test split through the served runtime's
   HTTP API, scored against the committed metrics/eval numbers.

    python scripts/benchmark_service.py            # about 12 minutes
    python scripts/benchmark_service.py --duration 10 --output /tmp/bench.md
"""

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import numpy as np
import pandas as pd
import psutil
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks_md import replace_preamble, replace_section  # noqa: E402

from tweet_sentiment.hardware import cpu_has_fast_bf16  # noqa: E402
from tweet_sentiment.labels import LABEL2ID  # noqa: E402
from tweet_sentiment.optimize import calibration_tweets, tweets_per_second  # noqa: E402
from tweet_sentiment.params import load_params  # noqa: E402
from tweet_sentiment.quantize import build_candidates  # noqa: E402
from tweet_sentiment.scores import headline_scores  # noqa: E402
from tweet_sentiment.serving.predictor import Predictor  # noqa: E402
from tweet_sentiment.serving.runtimes import read_runtime  # noqa: E402
from tweet_sentiment.serving.tokenizer import TweetTokenizer  # noqa: E402


@dataclass
class LoadResult:
    name: str
    clients: int
    tweets_per_request: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    tweets: int = 0
    errors_5xx: int = 0
    other_failures: int = 0
    peak_rss_mb: float = 0.0

    def row(self) -> str:
        p50, p99 = (np.percentile(self.latencies, q) * 1000 for q in (50, 99))
        return (
            f"| {self.name} | {self.clients} | {self.tweets_per_request} | {len(self.latencies) / self.seconds:.0f} "
            f"| {self.tweets / self.seconds:.0f} | {p50:.1f} | {p99:.1f} | {self.errors_5xx} | {self.other_failures} "
            f"| {self.peak_rss_mb:.0f} |"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server subprocess with readiness wait and memory sampling of its process tree."""

    def __init__(self, args: list[str], port: int, env: dict[str, str], ready_path: str) -> None:
        self.port, self.ready_path, self.peak_rss = port, ready_path, 0
        started = time.perf_counter()
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.process = subprocess.Popen(args, cwd=REPO, env=os.environ | env, start_new_session=True, **quiet)
        self._wait_ready()
        self.cold_start = time.perf_counter() - started
        self._sampling = True
        threading.Thread(target=self._sample_memory, daemon=True).start()

    def _wait_ready(self) -> None:
        import urllib.request

        for _ in range(600):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{self.ready_path}", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not become ready")

    def _sample_memory(self) -> None:
        root = psutil.Process(self.process.pid)
        while self._sampling:
            try:
                rss = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
                self.peak_rss = max(self.peak_rss, rss)
            except psutil.Error:
                pass
            time.sleep(0.2)

    def reset_peak(self) -> None:
        self.peak_rss = 0

    def stop(self) -> None:
        self._sampling = False
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


async def drive(request_maker, result: LoadResult, tweets: list[str], duration: float) -> None:
    """`clients` loops sending back-to-back requests until `duration` is up."""
    deadline = time.perf_counter() + duration
    connector = aiohttp.TCPConnector(limit=result.clients)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def client(index: int) -> None:
            cursor = index * 997
            while time.perf_counter() < deadline:
                batch = [tweets[(cursor + i) % len(tweets)] for i in range(result.tweets_per_request)]
                cursor += result.tweets_per_request
                started = time.perf_counter()
                try:
                    status, answered = await request_maker(session, batch)
                except aiohttp.ClientError:
                    result.other_failures += 1
                    continue
                result.latencies.append(time.perf_counter() - started)
                if status >= 500:
                    result.errors_5xx += 1
                elif status != 200 or answered != len(batch):
                    result.other_failures += 1
                else:
                    result.tweets += answered

        started = time.perf_counter()
        await asyncio.gather(*(client(i) for i in range(result.clients)))
        result.seconds = time.perf_counter() - started


def bento_request(port: int):
    url = f"http://127.0.0.1:{port}/predict"

    async def send(session: aiohttp.ClientSession, batch: list[str]) -> tuple[int, int]:
        async with session.post(url, json={"tweets": batch}) as response:
            body = await response.json(content_type=None)
            return response.status, len(body) if response.status == 200 else 0

    return send


def original_request(port: int):
    """The original API takes one tweet per GET; a batch is sent as sequential calls."""

    async def send(session: aiohttp.ClientSession, batch: list[str]) -> tuple[int, int]:
        answered, status = 0, 200
        for tweet in batch:
            url = f"http://127.0.0.1:{port}/predict/?tweet={urllib.parse.quote(tweet)}"
            async with session.get(url) as response:
                await response.read()
                status = max(status, response.status)
                answered += response.status == 200
        return status, answered

    return send


def run_loads(server: Server, request_maker, label: str, tweets: list[str], duration: float) -> list[LoadResult]:
    results = []
    loads = (
        (1, 1, duration / 3, ""),
        (32, 1, duration, ""),
        (32, 16, duration, ""),
        (1, 1, duration / 3, " (after load)"),
    )
    for clients, per_request, seconds, note in loads:
        result = LoadResult(f"{label}{note}", clients, per_request)
        server.reset_peak()
        asyncio.run(drive(request_maker, result, tweets, seconds))
        result.peak_rss_mb = server.peak_rss / 2**20
        print(result.row(), flush=True)
        results.append(result)
    return results


def runtime_table(tweets: list[str]) -> list[dict]:
    """Each candidate in-process at batch 1, 16 and 64, with the `optimize` stage's quality numbers."""
    params = load_params(REPO / "params.yaml")
    quality = json.loads((REPO / "metrics/optimize/metrics.json").read_text())
    names = ["torchscript-fp32", *params.optimize.candidates]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        calibration = TweetTokenizer(REPO / "models/finetuned").encode(calibration_tweets(params))
        float_ops = params.optimize.openvino_int8_float_ops
        for name, path in build_candidates(names, REPO / "models/finetuned", Path(tmp), calibration, float_ops):
            row = {"runtime": name, **quality[name]}
            for batch_size, count in ((1, 300), (16, 2000), (64, 2000)):
                predictor = Predictor(path, batch_size=batch_size, threads=os.cpu_count())  # one call on all cores
                row[f"batch {batch_size}"] = tweets_per_second(predictor, tweets[:count])
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def start_bento(model_dir: Path) -> Server:
    port = free_port()
    serve = [sys.executable, "-m", "bentoml", "serve", "service:TweetSentiment", "--host", "127.0.0.1"]
    return Server([*serve, "--port", str(port)], port, {"TWEET_SENTIMENT_MODEL_DIR": str(model_dir)}, "/readyz")


def serve_and_load(label: str, model_dir: Path, tweets: list[str], duration: float) -> tuple[list[LoadResult], float]:
    server = start_bento(model_dir)
    print(f"{label}: cold start {server.cold_start:.1f} s", flush=True)
    try:
        return run_loads(server, bento_request(server.port), label, tweets, duration), server.cold_start
    finally:
        server.stop()


def served_test_scores(model_dir: Path) -> dict[str, float]:
    """The whole test split through a fresh server's POST /predict, 64 tweets a request."""
    test = pd.read_csv(REPO / "data/prepared/test.csv", dtype=str, keep_default_na=False)
    server = start_bento(model_dir)
    predicted = []
    try:
        for start in range(0, len(test), 64):
            body = json.dumps({"tweets": list(test["text"][start : start + 64])}).encode()
            request = urllib.request.Request(f"http://127.0.0.1:{server.port}/predict", body, method="POST")
            request.add_header("Content-Type", "application/json")
            with urllib.request.urlopen(request, timeout=60) as response:
                predicted += [LABEL2ID[result["pred_label"]] for result in json.loads(response.read())]
    finally:
        server.stop()
    return headline_scores(test["label"].map(LABEL2ID).to_numpy(), predicted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per concurrent load (max 120)")
    parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args()
    os.chdir(REPO)  # the pipeline's paths are relative to the repository root
    duration = min(args.duration, 120.0)
    test = pd.read_csv(REPO / "data/prepared/test.csv", dtype=str, keep_default_na=False)
    tweets = test["text"].sample(n=4000, random_state=0).tolist()

    runtimes = runtime_table(tweets)
    served = REPO / "models/serving"
    served_name = read_runtime(served).name
    results, cold_new = serve_and_load(f"BentoML, {served_name} (served)", served, tweets, duration)
    before, cold_old = serve_and_load("BentoML, torchscript-bf16 (before)", REPO / "models/finetuned", tweets, duration)
    results += before

    port = free_port()
    uvicorn = [sys.executable, "-m", "uvicorn", "scripts.original_app:app", "--host", "127.0.0.1"]
    env = {"MODEL_DIR": str(REPO / "models/finetuned")}
    original = Server([*uvicorn, "--port", str(port)], port, env, "/docs")
    try:
        results += run_loads(original, original_request(port), "original (FastAPI + pipeline, GET)", tweets, duration)
    finally:
        original.stop()

    scores = served_test_scores(served)
    committed = json.loads((REPO / "metrics/eval/metrics.json").read_text())["test"]
    exact = all(scores[name] == committed[name] for name in scores)
    print(json.dumps({"served_test": scores, "committed_test": committed, "exact": exact}), flush=True)
    cold_starts = {served_name: cold_new, "torchscript-bf16": cold_old}
    write_report(args.output, runtimes, results, cold_starts, (scores, exact), duration)


def write_report(
    path: Path,
    runtimes: list[dict],
    results: list[LoadResult],
    cold_starts: dict[str, float],
    exactness: tuple[dict[str, float], bool],
    duration: float,
) -> None:
    runtime_rows = [
        f"| {r['runtime']} | {r['batch 1']:.0f} | {r['batch 16']:.0f} | {r['batch 64']:.0f} "
        f"| {r['test']['macro_recall']:.4f} | {r['test']['agreement']:.2%} | {'yes' if r['passes_gate'] else 'no'} "
        f"| {'**served**' if r['served'] else ''} |"
        for r in runtimes
    ]
    scores, exact = exactness
    header = (
        "| server | clients | tweets/request | requests/s | tweets/s | p50 ms | p99 ms | 5xx | other failures "
        "| peak server RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    preamble = [
        "# Benchmarks",
        "",
        "`python scripts/benchmark_service.py` writes the Runtimes and HTTP sections, `python",
        "scripts/benchmark_query_log.py` the Query log one, `scripts/benchmark_image.sh` the Serving image one.",
        "",
        f"- Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}, fast bf16 on this CPU: {cpu_has_fast_bf16()}",
    ]
    runtimes_section = [
        "## Runtimes",
        "",
        "Every candidate of the `optimize` stage, built as the stage builds them, timed in-process on real",
        "TweetEval test tweets (tweets/s, both cores, median of 3 passes); test macro recall and agreement",
        "with the fp32 model are the stage's (metrics/optimize). The gate: recall at most 0.005 below fp32,",
        "agreement at least 99%.",
        "",
        "| runtime | batch 1 | batch 16 | batch 64 | test macro recall | agreement with fp32 | within gate | |",
        "|---|---|---|---|---|---|---|---|",
        *runtime_rows,
    ]
    http_section = [
        "## HTTP",
        "",
        "Load generator and server share the machine; each concurrent load runs for "
        f"{duration:.0f} s, the single-client ones for {duration / 3:.0f} s: first on the fresh server, then",
        "again right after the concurrent loads. Cold start is process start to `/readyz` 200: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in cold_starts.items())
        + ".",
        "",
        header,
        *(result.row() for result in results),
        "",
        "The original approach takes one tweet per call, so its 16-tweet load sends 16 sequential GETs.",
        "Both BentoML services run two workers, each running two sub-batches at once on one CPU thread",
        "apiece (every runtime computes without the GIL). Tuning runs for openvino-int8 (15 s, 2026-11-27,",
        "2-core AMD EPYC with AVX512-BF16 and VNNI, no AMX), tweets/s at 32 x 16 / 32 x 1 and single-client",
        "p50: workers x parallel sub-batches 2 x 2: 983 / 396 / 9.7 ms (after load); 1 x 2: 1015 / 382 /",
        "10.0 ms; 2 x 1: 602 / 322 / 7.4 ms; 3 x 1: 662 / 317 / 5.8 ms. A 1 ms cap on the batcher's wait",
        "(instead of 5 ms) gave 1003 / 368 / 7.5 ms. The in-process ceiling at batch 64 is in the table above.",
        "",
        "Served = evaluated: the whole test split through the served runtime's POST /predict scores macro",
        f"recall {scores['macro_recall']:.6f}, macro F1 {scores['macro_f1']:.6f}, accuracy "
        f"{scores['accuracy']:.6f}: {'exactly' if exact else 'NOT'} the committed metrics/eval numbers.",
    ]
    replace_preamble(path, "\n".join(preamble))
    replace_section(path, "## Runtimes", "\n".join(runtimes_section))
    replace_section(path, "## HTTP", "\n".join(http_section))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
