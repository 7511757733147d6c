"""Same inputs, same bytes; and the pipeline runs wherever DVC runs it (queued experiments).

A queued experiment runs in a copy under `.dvc/tmp/exps/`, a dot-directory, so
the dot-directory clone covers both the workspace and the queue.
"""

import json
import time
from pathlib import Path

import pytest

from tests.conftest import ONE_CANDIDATE, QUICK_PARAMS, clone_repo, run

pytestmark = pytest.mark.slow

QUICK_SET = [arg for name, value in QUICK_PARAMS.items() for arg in ("-S", f"{name}={value}")] + ONE_CANDIDATE


def test_forced_rerun_leaves_dvc_lock_and_git_status_unchanged(quick_pipeline: Path):
    repo = quick_pipeline
    lock = (repo / "dvc.lock").read_text()
    # (other tests may leave plot renderings in the clone: compare, do not expect empty)
    status = run(["git", "status", "--porcelain"], cwd=repo).stdout
    run(["dvc", "repro", "--force"], cwd=repo, timeout=900)
    assert (repo / "dvc.lock").read_text() == lock
    assert run(["git", "status", "--porcelain"], cwd=repo).stdout == status
    assert not any(line.startswith(" M") for line in status.splitlines())


@pytest.fixture(scope="module")
def hidden_clone(tmp_path_factory) -> Path:
    parent = tmp_path_factory.mktemp("dot") / ".hidden"
    parent.mkdir()
    return clone_repo(parent / "repo")


def test_quick_experiment_runs_through_package_under_a_dot_directory(hidden_clone: Path, tmp_path: Path):
    repo = hidden_clone
    run(["dvc", "exp", "run", *QUICK_SET], cwd=repo, timeout=900)
    tag = json.loads((repo / "models/bento.json").read_text())["tag"]
    # The exported archive is a real Bento: another store imports it under the same tag.
    # (bentoml 1.4.40's import needs an absolute path: a relative one is read from /)
    archive = str(repo / "models/tweet-sentiment-bento.tar")
    run(["bentoml", "import", archive], cwd=repo, BENTOML_HOME=str(tmp_path))
    listed = run(["bentoml", "list", "-o", "json"], cwd=repo, BENTOML_HOME=str(tmp_path)).stdout
    assert tag in {bento["tag"] for bento in json.loads(listed)}


def queue_status(repo: Path) -> str:
    return run(["dvc", "queue", "status"], cwd=repo).stdout


def test_a_queued_2x2_grid_runs_with_queue_start_and_shows_four_experiments(hidden_clone: Path):
    repo = hidden_clone
    quick = [arg for name, value in QUICK_PARAMS.items() if name != "epochs" for arg in ("-S", f"{name}={value}")]
    quick += ONE_CANDIDATE
    run(["dvc", "exp", "run", "--queue", "-S", "lr=3e-5,1e-4", "-S", "epochs=1,2", *quick], cwd=repo)
    # The queue's worker inherits this command's output pipes, so `run` returns only when the
    # worker is done with all four experiments: give it the grid's whole time (13 minutes on a
    # 2-core AVX2-only EPYC, past `run`'s default 600 s).
    run(["dvc", "queue", "start", "-j", "1"], cwd=repo, timeout=1500)
    deadline = time.monotonic() + 1500
    while any(state in queue_status(repo) for state in ("Queued", "Running")):
        assert time.monotonic() < deadline, queue_status(repo)
        time.sleep(5)
    status = queue_status(repo)
    failed = [line.split()[0] for line in status.splitlines() if line.rstrip().endswith("Failed")]
    logs = [run(["dvc", "queue", "logs", task], cwd=repo, check=False).stdout for task in failed]
    assert not failed, status + "\n".join(logs)
    assert status.count("Success") == 4, status
    shown = json.loads(run(["dvc", "exp", "show", "--json"], cwd=repo).stdout)
    experiments = [exp["data"] for row in shown for run_ in row.get("experiments") or [] for exp in run_["revs"]]
    scored = {}
    for data in experiments:
        if data and "metrics/eval/metrics.json" in (data.get("metrics") or {}):
            params = data["params"]["params.yaml"]["data"]
            scored[params["lr"], params["epochs"]] = data["metrics"]["metrics/eval/metrics.json"]["data"]
    assert set(scored) == {(3e-05, 1), (3e-05, 2), (1e-04, 1), (1e-04, 2)}, json.dumps(experiments)[:2000]
    assert all(scored[point]["test"]["macro_recall"] > 1 / 3 for point in scored)
