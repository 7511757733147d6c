"""What the try-it page, `POST /explain` and `lang` cost the service: before against after, one machine.

Serves the service of a baseline commit (a `git worktree`, by default the last one
before these features) and of the working tree, on the same model (models/serving),
one after the other, twice (before, after, before, after) so that a drift of the
machine shows as a gap between rounds. Each server: cold start (process start to
`/readyz`), a lone client sending one tweet at a time (p50, p99) and 32 clients
sending 16 tweets each (tweets/s), and its peak RSS. Then, on the working tree's
server: a lone `POST /explain` (p50) and `GET /ui`'s bytes. Writes its section of
BENCHMARKS.md.

    python -m benchmarks.benchmark_face [--baseline c71cb7d] [--duration 20]
"""

import argparse
import asyncio
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
        print(row, flush=True)
        return row
    finally:
        server.stop()


def section(rows: list[dict], baseline: str, duration: float) -> str:
    lines = [
        HEADING,
        "",
        f"`python -m benchmarks.benchmark_face` on {machine()}: the service of {baseline} (before) and of",
        "this commit (after), each on models/serving, two workers, two rounds in turn; each load ran",
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
    p50 = [statistics.mean(row[(1, 1)].p50_ms for row in side) for side in (before, after)]
    rate = [statistics.mean(row[(32, 16)].tweets_per_s for row in side) for side in (before, after)]
    explained = [row for row in after if "explain_p50_ms" in row]
    lines += [
        "",
        f"Mean of the rounds: lone-tweet p50 {p50[0]:.2f} ms before, {p50[1]:.2f} ms after "
        f"({100 * (p50[1] / p50[0] - 1):+.1f}%); 32 x 16 throughput {rate[0]:.0f} and {rate[1]:.0f} tweets/s "
        f"({100 * (rate[1] / rate[0] - 1):+.1f}%).",
        f"A lone `POST /explain`: p50 {statistics.mean(r['explain_p50_ms'] for r in explained):.1f} ms, "
        f"p99 {statistics.mean(r['explain_p99_ms'] for r in explained):.1f} ms; `GET /ui` is "
        f"{explained[0]['page_bytes']:,} bytes, its script and style are fetched from the Bento too.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help="the commit to compare with [%(default)s]")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per load [%(default)s]")
    parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args()
    tweets = sample_test_tweets()
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(worktree), args.baseline], cwd=REPO, check=True)
        try:
            rows = []
            for _ in range(2):
                rows.append(run("before", worktree, tweets, args.duration, explain=False))
                time.sleep(2)
                rows.append(run("after", REPO, tweets, args.duration, explain=True))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO, check=True)
    text = section(rows, args.baseline, args.duration)
    print(text)
    replace_section(args.output, HEADING, text)


if __name__ == "__main__":
    main()
