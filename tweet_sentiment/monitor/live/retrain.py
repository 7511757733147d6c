"""`tweet-sentiment retrain [--drift DRIFT_JSON] [--dry-run]`: retrain on production feedback when it pays.

1. `dvc update` the imported query log (when `live.log_dir` came in with
   `dvc import-url`), then `dvc repro harvest`: metrics/live.json.
2. Decide: retrain when at least `live.min_feedback` harvested rows are kept and
   either the drift report (`python -m tweet_sentiment.monitor.drift`'s drift.json) says
   drift, or the served version's live macro recall is below `live.retrain_below`.
   Otherwise say why not and exit 0.
3. Retrain: `dvc exp run -S live.train=true` (in the workspace), commit it, then
   `python -m tweet_sentiment.release register` and `promote ... --to staging`:
   the registry's gate decides whether it reaches staging.

`--dry-run` prints the decision and the commands, and the Cloud Scheduler job
that runs this command every day through the Cloud Build config
`cloudbuild-retrain.yaml`. Exit status: 0 done or not needed, 1 the gate
refused the retrained model, 2 not done (one ERROR line says why).
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tweet_sentiment.core import paths
from tweet_sentiment.core.params import LiveParams, ParamsError, load_params

log = logging.getLogger("tweet_sentiment.retrain")

EXIT_OK, EXIT_REFUSED, EXIT_CANNOT = 0, 1, 2
SCHEDULE = "0 3 * * *"  # every day at 03:00 (Cloud Scheduler's cron syntax)


@dataclass(frozen=True)
class Decision:
    retrain: bool
    reason: str


def decide(live: dict, drift: dict | None, settings: LiveParams, served_version: str | None) -> Decision:
    """Whether to retrain, from `metrics/live.json`, a drift report (or None) and the served registry version."""
    rows = live["rows"]["kept"]
    if rows < settings.min_feedback:
        return Decision(False, f"{rows} harvested rows, fewer than live.min_feedback ({settings.min_feedback})")
    accuracy = (live.get("live_accuracy") or {}).get(served_version or "", None)
    if accuracy is None and live.get("live_accuracy"):  # no version given: the one with the most feedback
        accuracy = max(live["live_accuracy"].values(), key=lambda a: a["labelled"] if a else 0)
    recall = accuracy["macro_recall"] if accuracy else None
    reasons = []
    if drift is not None and drift.get("drift_detected"):
        reasons.append("the drift report found drift")
    if recall is not None and recall < settings.retrain_below:
        reasons.append(f"live macro recall {recall:.4f} is below live.retrain_below ({settings.retrain_below})")
    if not reasons:
        measured = f"live macro recall {recall:.4f}" if recall is not None else "no live accuracy"
        return Decision(False, f"no drift and {measured} (live.retrain_below {settings.retrain_below})")
    return Decision(True, f"{rows} harvested rows; " + " and ".join(reasons))


def _run(command: list[str], dry_run: bool, check: bool = True) -> int:
    print("$ " + shlex.join(command), flush=True)
    if dry_run:
        return 0
    return subprocess.run(command, check=check).returncode


def _release(*args: str) -> list[str]:
    return [sys.executable, "-m", "tweet_sentiment.release", *args]


def scheduler_commands(project: str, region: str) -> list[list[str]]:
    """The Cloud Build trigger of `cloudbuild-retrain.yaml` and the Cloud Scheduler job that runs it daily."""
    trigger = "tweet-sentiment-retrain"
    uri = f"https://cloudbuild.googleapis.com/v1/projects/{project}/locations/{region}/triggers/{trigger}:run"
    account = f"retrain@{project}.iam.gserviceaccount.com"
    create_trigger = ["gcloud", "builds", "triggers", "create", "manual", f"--name={trigger}", f"--region={region}"]
    create_trigger += ["--build-config=cloudbuild-retrain.yaml", "--repo=https://github.com/OWNER/REPO"]
    create_trigger += ["--repo-type=GITHUB", "--branch=main"]
    create_job = ["gcloud", "scheduler", "jobs", "create", "http", trigger, f"--location={region}"]
    create_job += [f"--schedule={SCHEDULE}", f"--uri={uri}", "--http-method=POST"]
    create_job += [f"--oauth-service-account-email={account}"]
    return [create_trigger, create_job]


def _served_version() -> str | None:
    try:
        result = subprocess.run(["gto", "show", "tweet-sentiment#prod", "--version"], capture_output=True, text=True)
    except FileNotFoundError:
        return None
    return result.stdout.strip() or None


def retrain(args: argparse.Namespace) -> int:
    settings = load_params().live
    imported = Path(f"{settings.log_dir.rstrip('/')}.dvc")
    if imported.is_file():
        _run(["dvc", "update", str(imported)], args.dry_run)
    _run(["dvc", "repro", "harvest"], args.dry_run)
    if not paths.LIVE_METRICS.is_file():
        print(f"no {paths.LIVE_METRICS} yet: run `dvc repro harvest` (a --dry-run does not)")
        return EXIT_OK if args.dry_run else EXIT_CANNOT
    live = json.loads(paths.LIVE_METRICS.read_text())
    drift = json.loads(args.drift.read_text()) if args.drift else None
    decision = decide(live, drift, settings, _served_version())
    print(("retrain: " if decision.retrain else "no retrain: ") + decision.reason)
    if args.dry_run:
        for command in scheduler_commands(args.project, args.region):
            print("$ " + shlex.join(command))
    if not decision.retrain:
        return EXIT_OK
    _run(["dvc", "exp", "run", "-S", "live.train=true"], args.dry_run)
    _run(["git", "add", "-A"], args.dry_run)
    _run(["git", "commit", "--quiet", "-m", f"retrain on production feedback: {decision.reason}"], args.dry_run)
    _run(_release("register"), args.dry_run)
    version = "VERSION" if args.dry_run else _latest_registered()
    status = _run(_release("promote", version, "--to", "staging"), args.dry_run, check=False)
    return EXIT_OK if status == 0 else EXIT_REFUSED


def _latest_registered() -> str:
    from tweet_sentiment.release import registry
    from tweet_sentiment.release.revisions import repo_root

    return registry.releases(repo_root(Path.cwd()))[-1].version


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    parser = argparse.ArgumentParser(prog="tweet-sentiment retrain", description=__doc__.split("\n\n")[0])
    parser.add_argument("--drift", type=Path, help="a drift report (drift.json) of the served traffic")
    parser.add_argument("--dry-run", action="store_true", help="print the decision and the commands, run none")
    parser.add_argument("--project", default="YOUR-PROJECT", help="for the printed scheduler commands")
    parser.add_argument("--region", default="europe-west1", help="for the printed scheduler commands")
    args = parser.parse_args(argv)
    try:
        return retrain(args)
    except (ParamsError, OSError, ValueError, KeyError) as error:
        log.error("%s", error)
    except subprocess.CalledProcessError as error:
        log.error("%s failed (exit %d)", shlex.join(map(str, error.cmd)), error.returncode)
    return EXIT_CANNOT
