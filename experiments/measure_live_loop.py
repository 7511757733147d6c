"""Does the learning-from-production loop pay? Macro recall on a domain-shifted stream before and after one loop.

For each N, a query log as the service writes it (signed request ids, one
prediction and one feedback record per tweet) holds the N tweets of the Apple
stream (data/live-demo/) just before its newest HOLDOUT, then those HOLDOUT;
`dvc exp run evaluate -S live.train=true` in a clone harvests it, holds the newest
out as the `live` split and trains on the rest at full params (of the runtimes,
only `openvino-int8`, the one served by default, is built). Before: the committed
served model on that run's `live` split; after: the retrained one (evaluate's
own score). TweetEval test beside both. Prints a table and writes the results
(JSON), a Markdown table and a PNG plot.

    python experiments/measure_live_loop.py --sizes 500 1000 2000 --out docs/live-loop
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tweet_sentiment.core.metrics import headline_scores  # noqa: E402
from tweet_sentiment.evaluate.splits import labels_of  # noqa: E402
from tweet_sentiment.monitor.live.stream import read_stream  # noqa: E402
from tweet_sentiment.serving.predictor import Predictor  # noqa: E402
from tweet_sentiment.serving.querylog import RequestIds  # noqa: E402
from tweet_sentiment.serving.runtimes import model_version  # noqa: E402

KEY = "measure-live-loop"


def write_log(stream: pd.DataFrame, path: Path, version: str) -> None:
    """A query log of `stream`: each tweet predicted (signed id) and given its label as feedback."""
    ids = RequestIds(KEY.encode())
    lines = []
    for row in stream.itertuples():
        request_id, time = ids.issue(1), row.time.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        served = {"request_id": request_id, "time": time, "model_version": version, "registry_version": "v-served"}
        lines.append({"type": "prediction", **served, "text": row.text, "label": "neutral"})
        lines.append({"type": "feedback", **served, "label": row.label, "predicted": "neutral", "client": "crowd"})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def run(command: list[str], cwd: Path, **env: str) -> str:
    result = subprocess.run(command, cwd=cwd, env=os.environ | env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def macro_recall(serving: Path, split: Path) -> float:
    frame = pd.read_csv(split, dtype=str, keep_default_na=False)
    predicted = Predictor(serving, batch_size=64).predict_proba(list(frame["text"])).argmax(axis=1)
    return headline_scores(labels_of(frame), predicted)["macro_recall"]


def plot(results: list[dict], path: Path) -> None:
    import vl_convert

    values = [
        {"feedback": r["n"], "score": r[key], "split": split, "model": model}
        for r in results
        for key, split, model in (
            ("live_before", "live (Apple stream, held out)", "before"),
            ("live_after", "live (Apple stream, held out)", "after one loop"),
            ("test_before", "TweetEval test", "before"),
            ("test_after", "TweetEval test", "after one loop"),
        )
    ]
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": "Macro recall before and after one loop, by feedback items trained on",
        "data": {"values": values},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "feedback", "type": "quantitative", "title": "feedback items (N)"},
            "y": {"field": "score", "type": "quantitative", "scale": {"zero": False}, "title": "macro recall"},
            "color": {"field": "split", "type": "nominal"},
            "strokeDash": {"field": "model", "type": "nominal"},
        },
        "width": 480,
        "height": 280,
    }
    path.write_bytes(vl_convert.vegalite_to_png(spec, scale=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000])
    parser.add_argument("--holdout", type=int, default=1000, help="newest stream tweets held out [%(default)s]")
    parser.add_argument("--work", type=Path, default=Path("/tmp/measure-live-loop"))
    parser.add_argument("--out", type=Path, default=REPO / "docs/live-loop")
    args = parser.parse_args()
    stream = read_stream(REPO / "data/live-demo/Apple-Twitter-Sentiment-DFE.csv.gz")
    served = REPO / "models/serving"
    version = model_version(served)
    test_before = json.loads((REPO / "metrics/eval/metrics.json").read_text())["test"]["macro_recall"]
    repo = args.work / "repo"
    if not repo.exists():
        run(["git", "clone", "--quiet", str(REPO), str(repo)], cwd=REPO)
        run(["dvc", "cache", "dir", "--local", str(REPO / ".dvc/cache")], cwd=repo)
        run(["dvc", "checkout", "--quiet"], cwd=repo)
    results = []
    for n in args.sizes:
        window = stream.iloc[len(stream) - args.holdout - n :]
        log_dir = f"data/query-log-{n}"
        write_log(window, repo / log_dir / "queries-1.jsonl", version)
        share = args.holdout / (n + args.holdout)
        settings = ["-S", f"live.log_dir={log_dir}", "-S", "live.train=true", "-S", f"live.holdout_share={share:.6f}"]
        # Full training params; of the runtimes only the one served by default, and up to `evaluate`.
        # The crowd's labels come from one "client" here: no per-client cap.
        settings += ["-S", "optimize.candidates=[openvino-int8]", "-S", "live.max_client_share=1.0"]
        print(f"N={n}: dvc exp run evaluate {' '.join(settings)}", flush=True)
        run(["dvc", "exp", "run", "evaluate", *settings], cwd=repo, TWEET_SENTIMENT_REQUEST_ID_KEY=KEY)
        metrics = json.loads((repo / "metrics/eval/metrics.json").read_text())
        trained = json.loads((repo / "metrics/data.json").read_text())["sources"]["live"]["kept"]
        live_split = repo / "data/prepared/live.csv"
        result = {
            "n": n,
            "trained_rows": trained,
            "live_tweets": len(pd.read_csv(live_split)),
            "live_before": macro_recall(served, live_split),
            "live_after": metrics["live"]["macro_recall"],
            "runtime": json.loads((repo / "models/serving/runtime.json").read_text())["name"],
            "test_before": test_before,
            "test_after": metrics["test"]["macro_recall"],
        }
        results.append(result)
        print(json.dumps(result), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    header = (
        "| N feedback items | trained on (after cleaning) | live tweets held out | live before | live after "
        "| TweetEval test before | test after |"
    )
    rows = [
        f"| {r['n']:,} | {r['trained_rows']:,} | {r['live_tweets']:,} | {r['live_before']:.4f} | {r['live_after']:.4f} "
        f"| {r['test_before']:.4f} | {r['test_after']:.4f} |"
        for r in results
    ]
    table = "\n".join([header, "|---|---|---|---|---|---|---|", *rows])
    (args.out / "results.md").write_text(table + "\n")
    plot(results, args.out / "live-loop.png")
    print(table)


if __name__ == "__main__":
    main()
