"""Same inputs, same bytes; and the pipeline runs wherever DVC runs it (queued experiments).

A queued experiment runs in a copy under `.dvc/tmp/exps/`, a dot-directory, so
the dot-directory clone covers both the workspace and the queue.

These tests check DVC's machinery, not what the model learns: every experiment
here trains a few optimizer steps on a few tweets (its stages take about 70 s
through `package` on 2 cores, where the quick pipeline takes seven minutes). The baseline builds
two candidate runtimes, the served default (OpenVINO int8, whose calibration
must be deterministic too) and one without calibration; the queued grid stops
after `finetune`.
"""

import json
import time
from pathlib import Path

import pytest

from tests.support.repo import clone_repo, run, set_params

pytestmark = pytest.mark.slow

TINY_PARAMS = {
    "max_train_samples": 128,
    "max_eval_samples": 64,
    "optimize.candidates": "[openvino-int8,openvino-bf16]",
}


def set_args(values: dict) -> list[str]:
    """`dvc exp run` arguments that set these params: ["-S", "name=value", ...]."""
    return [arg for name, value in values.items() for arg in ("-S", f"{name}={value}")]


@pytest.fixture(scope="module")
def tiny_pipeline(tmp_path_factory) -> Path:
    """A clone under a dot-directory whose tiny experiment ran through `package` and is committed."""
    parent = tmp_path_factory.mktemp("dot") / ".hidden"
    parent.mkdir()
    repo = clone_repo(parent / "repo")
    set_params(repo, epochs=1)
    run(["dvc", "exp", "run", *set_args(TINY_PARAMS)], cwd=repo, timeout=900)
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "--quiet", "-m", "tiny baseline"], cwd=repo)
    return repo


def test_an_experiment_runs_through_package_under_a_dot_directory(tiny_pipeline: Path, tmp_path: Path):
    repo = tiny_pipeline
    tag = json.loads((repo / "models/bento.json").read_text())["tag"]
    # The exported archive is a real Bento: another store imports it under the same tag.
    # (bentoml 1.4.40's import needs an absolute path: a relative one is read from /)
    archive = str(repo / "models/tweet-sentiment-bento.tar")
    run(["bentoml", "import", archive], cwd=repo, BENTOML_HOME=str(tmp_path))
    listed = run(["bentoml", "list", "-o", "json"], cwd=repo, BENTOML_HOME=str(tmp_path)).stdout
    assert tag in {bento["tag"] for bento in json.loads(listed)}


def test_forced_rerun_leaves_dvc_lock_and_git_status_unchanged(tiny_pipeline: Path):
    repo = tiny_pipeline
    lock = (repo / "dvc.lock").read_text()
    # (other tests may leave files in the clone: compare, do not expect empty)
    status = run(["git", "status", "--porcelain"], cwd=repo).stdout
    run(["dvc", "repro", "--force"], cwd=repo, timeout=900)
    assert (repo / "dvc.lock").read_text() == lock
    assert run(["git", "status", "--porcelain"], cwd=repo).stdout == status
    assert not any(line.startswith(" M") for line in status.splitlines())


def test_another_directory_offline_trains_the_same_bytes(tiny_pipeline: Path, tmp_path: Path):
    """The lock means one result wherever it runs: a clone elsewhere, with the hub switched off
    (HF_HUB_OFFLINE=1 once changed `tokenizer_config.json` by a byte), retrains the same files."""
    repo = tmp_path / "elsewhere"
    run(["git", "clone", "--quiet", str(tiny_pipeline), str(repo)], cwd=tmp_path)
    run(["dvc", "repro", "finetune"], cwd=repo, timeout=900, HF_HUB_OFFLINE="1")
    ours, theirs = repo / "models/finetuned", tiny_pipeline / "models/finetuned"
    names = sorted(path.name for path in theirs.iterdir())
    assert sorted(path.name for path in ours.iterdir()) == names
    assert [name for name in names if (ours / name).read_bytes() != (theirs / name).read_bytes()] == []
    assert run(["git", "status", "--porcelain", "dvc.lock"], cwd=repo).stdout == ""


def queue_status(repo: Path) -> str:
    return run(["dvc", "queue", "status"], cwd=repo).stdout


def test_a_queued_2x2_grid_runs_with_queue_start_and_shows_four_experiments(tiny_pipeline: Path):
    repo = tiny_pipeline
    # Up to `finetune` only: the grid and the queue are under test here, and the stages after it
    # ran in the fixture (they took about 50 s of each queued experiment's 85, queue overhead included).
    grid = ["-S", "lr=3e-5,1e-4", "-S", "epochs=1,2", *set_args(TINY_PARAMS)]
    run(["dvc", "exp", "run", "--queue", "finetune", *grid], cwd=repo)
    # The queue's worker inherits this command's output pipes, so `run` returns only when the
    # worker is done with all four experiments: give it the grid's whole time.
    run(["dvc", "queue", "start", "-j", "1"], cwd=repo, timeout=1200)
    deadline = time.monotonic() + 1200
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
    trained = {}
    for data in experiments:
        metrics = (data or {}).get("metrics") or {}
        if "metrics/train/metrics.json" in metrics:
            params = data["params"]["params.yaml"]["data"]
            trained[params["lr"], params["epochs"]] = metrics["metrics/train/metrics.json"]["data"]["train"]["loss"]
    assert set(trained) == {(3e-05, 1), (3e-05, 2), (1e-04, 1), (1e-04, 2)}, json.dumps(experiments)[:2000]
    # each point trained with its own settings: four different training losses
    assert len(set(trained.values())) == 4, trained
