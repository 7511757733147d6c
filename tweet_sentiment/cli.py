"""`tweet-sentiment`: the product's commands as one, with subcommands, as `dvc`, `gto` and `bentoml` are.

Each subcommand takes the arguments of, and exits with the status of, the module it runs
(`tweet-sentiment score --help` shows them); the `python -m tweet_sentiment.X` forms keep
working. The exit statuses, one table for all (docs/commands.md):

| status | score | drift | release | report | retrain |
|---|---|---|---|---|---|
| 0 | every row scored | no drift | done | written | done, or not needed |
| 1 | some rows failed (each counted) | drift | the gate refused | - | the gate refused |
| 2 | not done: one ERROR line says why | same | same | same | same |
| 3 | - | - | a fault of the command (its traceback) | - | - |
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from typing import NamedTuple


class Command(NamedTuple):
    module: str  # its `main(argv) -> int`
    summary: str


COMMANDS = {
    "score": Command("tweet_sentiment.score.command", "score a corpus of tweets (CSV, JSON lines, Parquet; gs://)"),
    "drift": Command(
        "tweet_sentiment.monitor.drift.command", "has the served traffic drifted? drift.json, report.html"
    ),
    "release": Command("tweet_sentiment.release.command", "the model registry: register, promote, show, rollback"),
    "report": Command("tweet_sentiment.release.report", "what a change does to the model: report.md and plots"),
    "retrain": Command("tweet_sentiment.monitor.live.retrain", "the live loop: retrain on harvested feedback if due"),
}


def parser() -> argparse.ArgumentParser:
    commands = "\n".join(f"  {name:<9} {command.summary}" for name, command in COMMANDS.items())
    result = argparse.ArgumentParser(
        prog="tweet-sentiment",
        description="Tweet sentiment's commands; `tweet-sentiment COMMAND --help` for one.",
        epilog=f"commands:\n{commands}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    result.add_argument("command", choices=COMMANDS, metavar="COMMAND", help=", ".join(COMMANDS))
    result.add_argument("args", nargs=argparse.REMAINDER, help="the command's own arguments")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; its exit status (argparse's 2 for an unknown one)."""
    args = parser().parse_args(argv)
    command = COMMANDS[args.command]
    return importlib.import_module(command.module).main(args.args)


if __name__ == "__main__":
    raise SystemExit(main())
