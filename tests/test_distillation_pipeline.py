"""The frozen `teacher` stage and distillation, run with the real dvc commands in a fresh clone.

The teacher here is the embedded MiniLM on 256 tweets (all-mpnet-base-v2 takes
an hour an epoch on 2 cores): what is tested is the stage, its freezing and
what `finetune` does with its logits, not the teacher's quality.
"""

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.support.repo import clone_repo, run, set_params

pytestmark = pytest.mark.slow
SMALL_TEACHER = {
    "teacher.model": "sentence-transformers/all-MiniLM-L6-v2",
    "teacher.transfer_samples": 300,
    "teacher.max_train_samples": 256,
    "teacher.max_eval_samples": 128,
    "max_train_samples": 256,
    "max_eval_samples": 128,
    "epochs": 1,
}


def dvc_status(repo: Path, *targets: str) -> dict:
    return json.loads(run(["dvc", "status", *targets, "--json"], cwd=repo).stdout)


@pytest.fixture(scope="module")
def retaught(tmp_path_factory) -> Path:
    """A clone whose teacher was rerun the documented way: unfreeze, repro, freeze."""
    repo = clone_repo(tmp_path_factory.mktemp("teacher") / "repo")
    committed = (repo / "data/teacher/train.csv").read_bytes()
    set_params(repo, **SMALL_TEACHER)
    # Frozen: changed params neither rerun it nor show it as changed.
    assert "teacher" not in dvc_status(repo)
    run(["dvc", "repro", "teacher"], cwd=repo, timeout=900)
    assert (repo / "data/teacher/train.csv").read_bytes() == committed
    run(["dvc", "unfreeze", "teacher"], cwd=repo)
    run(["dvc", "repro", "teacher"], cwd=repo, timeout=1800)
    run(["dvc", "freeze", "teacher"], cwd=repo)
    return repo


def test_the_rerun_teacher_labels_every_training_tweet_and_its_transfer_sample(retaught: Path):
    repo = retaught
    prepared = pd.read_csv(repo / "data/prepared/train.csv", dtype=str, keep_default_na=False)
    train = pd.read_csv(repo / "data/teacher/train.csv", dtype={"id": str})
    assert train["id"].tolist() == prepared["id"].tolist()  # every tweet, in order, though it trained on 256
    assert list(train.columns) == ["id", "negative", "neutral", "positive"]
    transfer = pd.read_csv(repo / "data/teacher/transfer.csv", keep_default_na=False)
    assert len(transfer) == 300
    val_test = {
        text
        for name in ("val", "test")
        for text in pd.read_csv(repo / f"data/prepared/{name}.csv", keep_default_na=False)["text"]
    }
    assert not set(transfer["text"]) & val_test
    scores = json.loads((repo / "metrics/teacher/metrics.json").read_text())
    assert set(scores["test"]) >= {"macro_recall", "recall_negative", "recall_neutral", "recall_positive"}
    assert scores["test"]["macro_recall"] > 1 / 3  # 256 tweets teach it more than always `neutral`
    assert dvc_status(repo, "teacher") == {}
    shown = json.loads(run(["dvc", "metrics", "show", "--json"], cwd=repo).stdout)
    assert "metrics/teacher/metrics.json" in shown[""]["data"]


def test_finetune_distils_from_the_teacher_s_logits_and_refuses_someone_else_s(retaught: Path):
    repo = retaught
    set_params(repo, **{"teacher.weight": 0.7})  # not the default, whatever it is
    result = run(["dvc", "repro", "finetune"], cwd=repo, timeout=900)
    # 256 of 47,370 training tweets: that share of the 300 transfer tweets, labelled by the teacher only
    kept = round(300 * 256 / len(pd.read_csv(repo / "data/prepared/train.csv")))
    assert f"fine-tuning sentence-transformers/all-MiniLM-L6-v2 (full) on {256 + kept} tweets" in result.stderr
    assert f"{kept} of them labelled by the teacher only, weight 0.7, temperature 2" in result.stderr
    assert dvc_status(repo, "finetune") == {}
    logits = repo / "data/teacher/train.csv"
    logits.write_text("".join(logits.read_text().splitlines(keepends=True)[:-1]))  # one tweet's row gone
    failed = run(["dvc", "repro", "finetune"], cwd=repo, check=False)
    assert failed.returncode != 0
    assert "data/teacher/train.csv holds the teacher's logits for another training split" in failed.stderr
    assert "Traceback" not in failed.stderr
