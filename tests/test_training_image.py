"""The training image end to end: clone at a commit, `dvc pull` from GCS, `dvc exp run`, `dvc exp push`.

GCS is the local emulator (tests/test_remote.py), the git remote a bare repository
bind-mounted into the container, the image built by deploy/build_training_image.sh
with buildah and run by deploy/daemonless/run_training_image.sh with podman. Another clone
then finds the experiment with `dvc exp pull`, outputs included.
"""

import json
import os
from pathlib import Path

import pytest

from tests.support.repo import ONE_CANDIDATE, run
from tests.support.storage import BUCKET, REMOTE, REMOTE_ENV, Emulator, dvc

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="buildah/podman with vfs storage and chroot isolation need root"),
]
IMAGE = "tweet-sentiment-train:ci-test"
EXPERIMENT = "lr3e-5-in-container"
ORIGIN_IN_CONTAINER = "/srv/origin.git"


def clone_of(origin: Path, target: Path) -> Path:
    """A team member's clone of `origin` (the committed DVC remote comes with it)."""
    run(["git", "clone", "--quiet", str(origin), str(target)], cwd=target.parent)
    run(["git", "config", "user.name", "tests"], cwd=target)
    run(["git", "config", "user.email", "tests@example.invalid"], cwd=target)
    return target


def test_the_training_image_runs_and_pushes_an_experiment_that_another_clone_pulls(
    quick_pipeline: Path, tmp_path: Path, emulator: Emulator
):
    origin = tmp_path / "origin.git"
    run(["git", "clone", "--quiet", "--bare", str(quick_pipeline), str(origin)], cwd=tmp_path)
    team = clone_of(origin, tmp_path / "team")
    dvc(team, "remote", "add", "--default", "--force", REMOTE, f"gs://{BUCKET}/tweet-sentiment")
    dvc(team, "remote", "modify", REMOTE, "endpointurl", emulator.endpoint)
    dvc(team, "remote", "modify", REMOTE, "allow_anonymous_login", "true")
    run(["git", "commit", "--quiet", "-am", "DVC remote: the team's bucket (the emulator)"], cwd=team)
    run(["git", "push", "--quiet", "origin", "HEAD"], cwd=team)
    commit = run(["git", "rev-parse", "HEAD"], cwd=team).stdout.strip()
    dvc(team, "cache", "dir", "--local", str(quick_pipeline / ".dvc/cache"))
    dvc(team, "push", timeout=600)  # the quick pipeline's data and model, for the container to pull

    repo_root = Path(__file__).resolve().parents[1]
    run(["bash", "deploy/build_training_image.sh", IMAGE], cwd=repo_root, timeout=2400)
    container_env = " ".join(f"-e {name}={value}" for name, value in REMOTE_ENV.items())
    result = run(
        ["bash", "deploy/daemonless/run_training_image.sh", IMAGE, "-S", "lr=3e-5", *ONE_CANDIDATE],
        cwd=repo_root,
        timeout=1800,
        REPO_URL=ORIGIN_IN_CONTAINER,
        GIT_REF=commit,
        EXP_NAME=EXPERIMENT,
        EXTRA_ARGS=f"-v {origin}:{ORIGIN_IN_CONTAINER} {container_env}",
    )
    log = result.stdout + result.stderr
    assert "dvc pull" in log and f"done: {EXPERIMENT}" in log, log[-3000:]
    # what was pulled was not re-run: tokenize is up to date, training re-ran for the new lr
    assert "Stage 'tokenize' didn't change, skipping" in log and "Running stage 'finetune'" in log, log[-3000:]

    other = clone_of(origin, tmp_path / "other")
    dvc(other, "exp", "pull", "origin", EXPERIMENT, timeout=600)
    shown = json.loads(dvc(other, "exp", "show", "--json").stdout)
    experiments = {
        exp["name"]: exp["data"]
        for row in shown
        for run_ in row.get("experiments") or []
        for exp in run_["revs"]
        if exp.get("data")
    }
    assert EXPERIMENT in experiments, list(experiments)
    pushed = experiments[EXPERIMENT]
    assert pushed["params"]["params.yaml"]["data"]["lr"] == 3e-05
    scores = pushed["metrics"]["metrics/eval/metrics.json"]["data"]["test"]
    dvc(other, "exp", "apply", EXPERIMENT)
    assert json.loads((other / "metrics/eval/metrics.json").read_text())["test"] == scores
    # the outputs came from the bucket: the model is there and matches dvc.lock
    assert (other / "models/finetuned/model.safetensors").is_file()
    status = dvc(other, "status", "--json").stdout
    assert json.loads(status) == {}, status
