"""What the try-it page, `POST /explain` and `lang` cost the service: before against after, one machine.

Serves the service of a baseline commit (a `git worktree`, by default the last one
before these features) and of the working tree, on the same model (models/serving),
one after the other, `--rounds` times in turn (before, after, before, after, ...) so
that a drift of the machine shows as a gap between rounds; the medians of the rounds
are compared. Each server: cold start (process start to `/readyz`), a lone client
sending one tweet at a time (p50, p99) and 32 clients sending 16 tweets each
(tweets/s), and its peak RSS. Then, on the working tree's server: a lone `POST
/explain` (p50) and `GET /ui`'s bytes. In-process, less noisy than HTTP on a shared
machine: what `lang` adds to a lone prediction, `detect_language` against the
service's one-tweet `Predictor` call, medians over the same tweets. Writes its section
of BENCHMARKS.md.

    python -m benchmarks.benchmark_face [--baseline c71cb7d] [--duration 15] [--rounds 4]
"""

import argparse
import asyncio
import json
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp

from benchmarks.benchmark_service import REPO, LoadResult, bento_request, drive, sample_test_tweets, start_bento
from benchmarks.benchmarks_md import machine, replace_section

HEADING = "## The try-it page, /explain and lang: what they cost"
BASELINE = "c71cb7d"  # the last commit before the page, /explain and lang
LOADS = ((1, 1), (32, 16))  # (clients, tweets per request)


def explain_request(port: int):
    url = f"http://127.0.0.1:{port}/explain"

    async def send(session: aiohttp.ClientSession, batch: list[str]) -> tuple[int, int]:
        async with session.post(url, json={"tweet": batch[0]}) as response:
            await response.read()
            return response.status, 1 if response.status == 200 else 0

    return send


def run(label: str, source: Path, tweets: list[str], duration: float, explain: bool) -> dict:
    server = start_bento(REPO / "models/serving", source)
    try:
        row = {"label": label, "cold_start_s": server.cold_start}
        for clients, per_request in LOADS:
            result = LoadResult(label, clients, per_request)
            server.reset_peak()
            asyncio.run(drive(bento_request(server.port), result, tweets, duration))
            row[(clients, per_request)] = result
        row["peak_rss_mib"] = server.peak_rss / 2**20
        if explain:
            result = LoadResult(label, 1, 1)
            asyncio.run(drive(explain_request(server.port), result, tweets, duration / 2))
            row["explain_p50_ms"], row["explain_p99_ms"] = result.p50_ms, result.p99_ms
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/ui", timeout=10) as page:
                row["page_bytes"] = len(page.read())
        lone, busy = row[(1, 1)], row[(32, 16)]
        print(
            f"{label}: cold start {row['cold_start_s']:.1f} s, 1 x 1 p50 {lone.p50_ms:.2f} ms, "
            f"32 x 16 {busy.tweets_per_s:.0f} tweets/s, peak RSS {row['peak_rss_mib']:.0f} MiB",
            flush=True,
        )
        return row
    finally:
        server.stop()


def in_process_cost(tweets: list[str]) -> tuple[float, float]:
    """Median µs of `detect_language` and of the service's lone-tweet prediction, over the same 1,000 tweets."""
    from tweet_sentiment.core.language import detect_language
    from tweet_sentiment.serving.limits import PARALLEL_BATCHES, SUB_BATCH
    from tweet_sentiment.serving.predictor import Predictor

    predictor = Predictor(
        REPO / "models/serving", SUB_BATCH, parallel_batches=PARALLEL_BATCHES, threads=PARALLEL_BATCHES
    )
    sample = tweets[:1000]
    detect_language(sample[0])  # load the detector
    predictor.predict(sample[:10])
    medians = []
    for call in (detect_language, lambda tweet: predictor.predict([tweet])):
        timings = []
        for tweet in sample:
            started = time.perf_counter()
            call(tweet)
            timings.append(1e6 * (time.perf_counter() - started))
        medians.append(statistics.median(timings))
    return medians[0], medians[1]


def size_paragraph(baseline: str) -> str:
    """What the Bento and the image gain: models/bento.json at `baseline` and now, and the packages added."""
    from importlib.metadata import distribution

    before = json.loads(subprocess.check_output(["git", "show", f"{baseline}:models/bento.json"], cwd=REPO))
    after = json.loads((REPO / "models/bento.json").read_text())
    langid = distribution("py3langid")
    installed = sum(file.locate().stat().st_size for file in langid.files or [] if file.locate().is_file())
    return (
        f"The Bento grew from {before['bento_bytes']:,} to {after['bento_bytes']:,} bytes "
        f"({after['bento_bytes'] - before['bento_bytes']:+,}: the page, /explain, the model card); the image "
        f"gains one package, py3langid {langid.version} ({installed / 1e6:.1f} MB installed, numpy its only "
        "dependency, which the image has). Gradio, the page it replaced, would have added 193 MB "
        "(docs/explanations.md)."
    )


def section(rows: list[dict], baseline: str, duration: float, cost: tuple[float, float]) -> str:
    rounds = len(rows) // 2
    lines = [
        HEADING,
        "",
        f"`python -m benchmarks.benchmark_face` on {machine()}: the service of {baseline} (before) and of",
        f"this commit (after), each on models/serving, two workers, {rounds} rounds in turn; each load ran",
        f"{duration:.0f} s, clients and server on one machine.",
        "",
        "| round | service | cold start s | 1 x 1 p50 ms | 1 x 1 p99 ms | 32 x 16 tweets/s | peak RSS MiB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for index, row in enumerate(rows):
        lone, busy = row[(1, 1)], row[(32, 16)]
        lines.append(
            f"| {index // 2 + 1} | {row['label']} | {row['cold_start_s']:.1f} | {lone.p50_ms:.2f} | {lone.p99_ms:.2f} "
            f"| {busy.tweets_per_s:.0f} | {row['peak_rss_mib']:.0f} |"
        )
    before = [row for row in rows if row["label"] == "before"]
    after = [row for row in rows if row["label"] == "after"]

    def median(side: list[dict], value) -> float:
        return statistics.median(value(row) for row in side)

    p50 = [median(side, lambda row: row[(1, 1)].p50_ms) for side in (before, after)]
    rate = [median(side, lambda row: row[(32, 16)].tweets_per_s) for side in (before, after)]
    rss = [median(side, lambda row: row["peak_rss_mib"]) for side in (before, after)]
    cold = [median(side, lambda row: row["cold_start_s"]) for side in (before, after)]
    p50_range = [(min(r[(1, 1)].p50_ms for r in side), max(r[(1, 1)].p50_ms for r in side)) for side in (before, after)]
    detect_us, predict_us = cost
    lines += [
        "",
        f"Medians of the rounds, before and after: lone-tweet p50 {p50[0]:.2f} and {p50[1]:.2f} ms "
        f"({100 * (p50[1] / p50[0] - 1):+.1f}%; the rounds ranged {p50_range[0][0]:.2f}-{p50_range[0][1]:.2f} and "
        f"{p50_range[1][0]:.2f}-{p50_range[1][1]:.2f} ms); 32 x 16 throughput {rate[0]:.0f} and {rate[1]:.0f} tweets/s "
        f"({100 * (rate[1] / rate[0] - 1):+.1f}%); cold start {cold[0]:.1f} and {cold[1]:.1f} s; peak RSS "
        f"{rss[0]:.0f} and {rss[1]:.0f} MiB ({rss[1] - rss[0]:+.0f} MiB: each worker holds the language detector).",
        "",
        f"In-process, the same 1,000 test tweets one at a time: `detect_language` takes {detect_us:.0f} µs at the "
        f"median, the service's one-tweet prediction {predict_us:.0f} µs, so `lang` adds "
        f"{100 * detect_us / predict_us:.1f}% to the model's time of a lone tweet.",
        "",
        f"A lone `POST /explain`: p50 {median(after, lambda row: row['explain_p50_ms']):.1f} ms, "
        f"p99 {median(after, lambda row: row['explain_p99_ms']):.1f} ms. `GET /ui` is "
        f"{after[0]['page_bytes']:,} bytes; its script and style come from the Bento too.",
        "",
        size_paragraph(baseline),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help="the commit to compare with [%(default)s]")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per load [%(default)s]")
    parser.add_argument("--rounds", type=int, default=4, help="before-after pairs [%(default)s]")
    parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args()
    tweets = sample_test_tweets()
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(worktree), args.baseline], cwd=REPO, check=True)
        try:
            rows = []
            for _ in range(args.rounds):
                rows.append(run("before", worktree, tweets, args.duration, explain=False))
                time.sleep(2)
                rows.append(run("after", REPO, tweets, args.duration, explain=True))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO, check=True)
    text = section(rows, args.baseline, args.duration, in_process_cost(tweets))
    print(text)
    replace_section(args.output, HEADING, text)


if __name__ == "__main__":
    main()
