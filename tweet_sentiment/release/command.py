"""`python -m tweet_sentiment.release`: register, promote (through the gate), show and roll back model versions.

    register [--version V]            HEAD's model as the next version (v0.1.0, v0.2.0, ...) or as V
                                      (any SemVer: v0.3.0-rc.1)
    promote VERSION --to STAGE        the gate against the version in STAGE, then the assignment
            [--force --reason TEXT]   assign despite failed criteria; the reason is recorded
    show                              every version: stage, commit, Bento, headline metrics
    show VERSION                      that version's model card, as committed at its tag
    rollback --stage STAGE            the version STAGE held before, back in it

Everything is GTO's record (Git tags, see `registry`); push the tags
(`git push --tags`) for CI to deploy on an assignment to `prod`. Exit status, in
every subcommand: 0 done, 1 the gate refused (each failed criterion named; nothing
else exits 1), 2 not done as asked (one ERROR line says why), 3 a fault of this
command (its traceback, to report).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from tweet_sentiment.core import paths
from tweet_sentiment.core.params import ParamsError, load_params
from tweet_sentiment.release import gate, registry
from tweet_sentiment.release.registry import ARTIFACT, STAGES, RegistryError
from tweet_sentiment.release.revisions import RevisionError, committed_text, git, repo_root, serving_dir_at

log = logging.getLogger("tweet_sentiment.release")

EXIT_OK, EXIT_REFUSED, EXIT_CANNOT, EXIT_FAULT = 0, 1, 2, 3


def _summary(scores: gate.Scores, bento: str) -> str:
    """The headline a tag message carries."""
    per_class = ", ".join(f"{label} {recall:.4f}" for label, recall in scores.class_recall.items())
    splits = "".join(f"; {name} macro recall {value:.4f}" for name, value in scores.splits.items())
    return f"bento {bento}; test macro recall {scores.test_macro_recall:.4f} (recall: {per_class}){splits}"


def _bento_at(repo: Path, rev: str) -> str:
    try:
        return json.loads(committed_text(repo, rev, str(paths.BENTO_INFO)))["tag"]
    except (RevisionError, KeyError, ValueError):
        return "-"


def _check_clean(repo: Path) -> None:
    """HEAD's outputs are in the workspace as `dvc.lock` names them, and nothing tracked is uncommitted."""
    from dvc.repo import Repo

    changed = [line for line in git(repo, "status", "--porcelain", "--untracked-files=no").splitlines() if line]
    if changed:
        raise RegistryError(f"uncommitted changes ({changed[0][3:]}{' ...' if len(changed) > 1 else ''}): commit them")
    with Repo(str(repo)) as dvc:
        stale = dvc.status()
    if stale:
        names = ", ".join(sorted(stale))
        raise RegistryError(
            f"`dvc status` is not clean ({names}): the workspace model is not the one dvc.lock names; "
            "run `dvc repro` (or `dvc checkout`) and commit"
        )


def register(repo: Path, version: str | None) -> int:
    if version is not None:
        registry.parse_version(version)
    _check_clean(repo)
    head = git(repo, "rev-parse", "HEAD").strip()
    for release in registry.releases(repo):
        if release.commit == head:
            raise RegistryError(f"HEAD ({head[:7]}) is already registered as {ARTIFACT}@{release.version}")
    scores = gate.scores_at(lambda path: committed_text(repo, "HEAD", path))
    version = registry.register(repo, head, _summary(scores, _bento_at(repo, "HEAD")), version)
    promote = f"python -m tweet_sentiment.release promote {version} --to staging"
    print(f"registered {ARTIFACT}@{version} at {head[:7]}; promote it with: {promote}")
    return EXIT_OK


def _timing_texts(repo: Path, count: int) -> list[str]:
    test = repo / paths.PREPARED / "test.csv"
    if not test.is_file():
        raise RegistryError(
            f"{test} is missing, so throughput cannot be measured: run `dvc pull` or `dvc repro download`"
        )
    return list(pd.read_csv(test, keep_default_na=False)["text"].iloc[:count])


def scores_of(repo: Path, release: registry.Release) -> gate.Scores:
    """A version's committed scores and the runtime it serves (its dvc.lock's `models/serving`, where it has one)."""
    scores = gate.scores_at(lambda path: committed_text(repo, release.commit, path))
    try:
        return replace(scores, served_model=gate.served_model_hash(committed_text(repo, release.commit, "dvc.lock")))
    except RevisionError:
        return scores


def gate_rows(repo: Path, candidate: registry.Release, stage: str) -> list[gate.Criterion]:
    """The gate's criteria for `candidate` into `stage`; throughput timed here unless both serve one runtime."""
    params = load_params(repo / "params.yaml")
    incumbent = registry.in_stage(repo, stage)
    new = scores_of(repo, candidate)
    old = scores_of(repo, incumbent) if incumbent else None
    if old is not None and not gate.same_served_model(new, old):
        with tempfile.TemporaryDirectory(prefix="tweet-sentiment-gate-") as tmp:
            dirs = [serving_dir_at(repo, r.commit, Path(tmp) / r.version) for r in (candidate, incumbent)]
            speeds = gate.measure_throughput(dirs, _timing_texts(repo, params.optimize.timing_tweets))
        new, old = (gate.Scores(**{**vars(s), "tweets_per_s": v}) for s, v in zip((new, old), speeds, strict=True))
    staged = registry.was_in_stage(repo, candidate.version, STAGES[0]) if stage != STAGES[0] else None
    return gate.check(new, old, params.release, staged)


def print_gate(rows: Sequence[gate.Criterion], candidate: str, incumbent: str) -> None:
    verdict = {True: "ok", False: "FAILED", None: "not checked"}
    table = [(r.name, r.candidate, r.incumbent, r.limit, verdict[r.passed]) for r in rows]
    print(tabulate(table, headers=["criterion", candidate, incumbent, "limit", "verdict"], tablefmt="github"))


def promote(repo: Path, version: str, stage: str, force: bool, reason: str | None) -> int:
    if force and not (reason and reason.strip()):
        raise RegistryError('--force needs --reason "why the failed criteria are acceptable"; it goes into the tag')
    registry.parse_version(version)
    candidate = registry.find(repo, version)
    incumbent = registry.in_stage(repo, stage)
    if incumbent and incumbent.version == version:
        raise RegistryError(f"{ARTIFACT}@{version} is already in {stage}")
    rows = gate_rows(repo, candidate, stage)
    print_gate(rows, version, incumbent.version if incumbent else f"{stage}: empty")
    failures = gate.failed(rows)
    if failures and not force:
        print(f"refused: {ARTIFACT}@{version} fails {len(failures)} criteria for {stage}: {'; '.join(failures)}")
        return EXIT_REFUSED
    over = f" over {incumbent.version}" if incumbent else " (first in the stage: floors only)"
    if failures:
        message = f"forced{over}; failed: {'; '.join(failures)}; reason: {reason}"
    else:
        message = f"gate passed{over}" + (f"; note: {reason}" if reason else "")
    registry.assign(repo, version, stage, message)
    print(f"{ARTIFACT}@{version} is in {stage}" + (" (FORCED)" if failures else ""))
    return EXIT_OK


def show(repo: Path) -> int:
    rows = []
    for release in registry.releases(repo):
        try:
            scores = gate.scores_at(lambda path, commit=release.commit: committed_text(repo, commit, path))
            test, splits = (
                f"{scores.test_macro_recall:.4f}",
                ", ".join(f"{k} {v:.4f}" for k, v in scores.splits.items()),
            )
        except (RevisionError, KeyError, ValueError):
            test, splits = "-", ""
        rows.append(
            (
                release.version,
                ", ".join(release.stages),
                release.commit[:7],
                _bento_at(repo, release.commit),
                test,
                splits,
            )
        )
    if not rows:
        print(f"no version of {ARTIFACT} is registered yet: python -m tweet_sentiment.release register")
        return EXIT_OK
    headers = ["version", "stage", "commit", "bento", "test macro recall", "held-out splits"]
    print(tabulate(rows, headers=headers, tablefmt="github"))
    return EXIT_OK


def show_card(repo: Path, version: str) -> int:
    """Print `version`'s model card as committed at its tag."""
    registry.parse_version(version)
    registry.find(repo, version)
    tag = f"{ARTIFACT}@{version}"
    try:
        card = committed_text(repo, tag, str(paths.MODEL_CARD))
    except RevisionError:
        raise RegistryError(f"{tag} has no model card: {paths.MODEL_CARD} is not committed at its tag") from None
    sys.stdout.write(card)
    return EXIT_OK


def rollback(repo: Path, stage: str, reason: str) -> int:
    taken_out, put_back = registry.rollback(repo, stage, reason)
    print(f"{stage}: {ARTIFACT}@{put_back} is back, {taken_out} rolled back; push the tags to deploy it")
    return EXIT_OK


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tweet_sentiment.release", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    register_ = commands.add_parser("register", help="register HEAD's model as the next version")
    register_.add_argument("--version", help="this version instead of the next minor one, e.g. v0.3.0-rc.1")
    promote_ = commands.add_parser("promote", help="the gate, then the assignment to a stage")
    promote_.add_argument("version", help="a registered version, e.g. v0.2.0")
    promote_.add_argument("--to", required=True, choices=STAGES, dest="stage")
    promote_.add_argument("--force", action="store_true", help="assign even if criteria fail (needs --reason)")
    promote_.add_argument("--reason", help="why; recorded in the assignment's tag")
    show_ = commands.add_parser("show", help="every version, its stage and headline metrics; or one version's card")
    show_.add_argument("version", nargs="?", help="print this version's model card, e.g. v0.2.0")
    rollback_ = commands.add_parser("rollback", help="put the stage's previous version back")
    rollback_.add_argument("--stage", required=True, choices=STAGES)
    rollback_.add_argument("--reason", default="manual rollback", help="recorded in the tags [%(default)s]")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    args = parse_args(argv)
    try:
        repo = repo_root(Path.cwd())
        if args.command == "register":
            return register(repo, args.version)
        if args.command == "promote":
            return promote(repo, args.version, args.stage, args.force, args.reason)
        if args.command == "show":
            return show(repo) if args.version is None else show_card(repo, args.version)
        return rollback(repo, args.stage, args.reason)
    except (RegistryError, RevisionError, ParamsError) as error:
        log.error("%s", error)
    except subprocess.CalledProcessError as error:
        log.error("%s failed: %s", " ".join(map(str, error.cmd)), (error.stderr or "").strip() or error)
    except Exception:  # a fault of ours: exit 1 would read as "the gate refused"
        log.exception("python -m tweet_sentiment.release %s failed; please report this traceback", args.command)
        return EXIT_FAULT
    return EXIT_CANNOT
