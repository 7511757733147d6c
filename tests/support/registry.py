"""A model registry without a pipeline: a git repository with this project's `artifacts:` and `.gto`,
and commits whose committed metrics say what each version scored."""

import json
import shutil
from pathlib import Path

import yaml

from tests.support.repo import REPO, run
from tweet_sentiment.release import gate


def init_registry_repo(repo: Path) -> Path:
    """`repo` as a git repository with this project's `artifacts:` section and `.gto`, and no version yet."""
    repo.mkdir()
    run(["git", "init", "-q"], cwd=repo)
    run(["git", "config", "user.name", "tests"], cwd=repo)
    run(["git", "config", "user.email", "tests@example.invalid"], cwd=repo)
    artifacts = {"artifacts": yaml.safe_load((REPO / "dvc.yaml").read_text())["artifacts"]}
    (repo / "dvc.yaml").write_text(yaml.safe_dump(artifacts))
    shutil.copy(REPO / ".gto", repo / ".gto")
    return repo


def commit_version(repo: Path, test: float, positive: float, bento: str) -> str:
    """Commit metrics scoring `test` (macro recall) and `positive` (its recall) and a Bento tag; the commit."""
    (repo / "metrics/eval/plots/custom").mkdir(parents=True, exist_ok=True)
    (repo / "models").mkdir(exist_ok=True)
    (repo / gate.EVAL_METRICS).write_text(json.dumps({"test": {"macro_recall": test}}))
    per_class = [{"label": "negative", "recall": 0.88}, {"label": "neutral", "recall": 0.49}]
    (repo / gate.PER_CLASS_TEST).write_text(json.dumps([*per_class, {"label": "positive", "recall": positive}]))
    (repo / "models/bento.json").write_text(json.dumps({"tag": f"tweet-sentiment:{bento}"}))
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "-qm", f"a model scoring {test}"], cwd=repo)
    return run(["git", "rev-parse", "HEAD"], cwd=repo).stdout.strip()
