"""A user's own tweets end to end: `dvc exp run` on a 0/4 file, mapped, mixed with the pool, partly held out."""

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.support.repo import clone_repo, run, set_params
from tweet_sentiment.data.cleaning import read_semeval_tsv

pytestmark = pytest.mark.slow
QUICK = {
    "max_train_samples": 512,
    "epochs": 1,
    "max_eval_samples": 256,
    "evaluate.robustness_samples": 256,
    "optimize.candidates": ["openvino-bf16"],  # no int8 calibration: this tests own data, not optimize
}
CSV = "data/external/own.csv"
PER_LABEL = 150


def write_binary_file(repo: Path) -> None:
    """A 0/4 file (Sentiment140's scheme) of real tweets, read from the vendored snapshot at test time."""
    raw = read_semeval_tsv(repo / "data/external/semeval2017-task4a/twitter-2016test-A.tsv.gz")
    picked = pd.concat([raw[raw["label"] == label].head(PER_LABEL) for label in ("negative", "positive")])
    frame = pd.DataFrame({"text": picked["text"], "sentiment": picked["label"].map({"negative": 0, "positive": 4})})
    frame.to_csv(repo / CSV, index=False)


def custom_macro_recalls(repo: Path) -> list[float]:
    rows = json.loads(run(["dvc", "exp", "show", "--json"], cwd=repo).stdout)
    experiments = [exp for row in rows for run_ in row.get("experiments") or [] for exp in run_["revs"]]
    return [
        exp["data"]["metrics"]["metrics/eval/metrics.json"]["data"]["custom"]["macro_recall"]
        for exp in experiments
        if exp.get("data")
    ]


def test_exp_run_scores_a_mapped_mixed_file_on_its_own_held_out_split(tmp_path: Path):
    repo = clone_repo(tmp_path / "repo")
    write_binary_file(repo)
    run(["git", "add", CSV], cwd=repo)  # a queued or temporary experiment sees only committed files
    set_params(repo, **QUICK, **{"data.source": "csv", "data.csv_path": CSV, "data.label_column": "sentiment"})
    overrides = ["data.label_map={0: negative, 4: positive}", "data.mix_embedded=true", "data.eval_share=0.2"]
    run(["dvc", "exp", "run", "evaluate", *[arg for o in overrides for arg in ("-S", o)]], cwd=repo, timeout=1500)

    (recall,) = custom_macro_recalls(repo)
    assert 0 < recall <= 2 / 3  # no neutral tweet in a 0/4 file, and macro recall averages all three labels
    data = json.loads((repo / "metrics/data.json").read_text())
    users, pool = data["sources"]["csv"], data["sources"]["semeval"]
    assert users["read"] == 2 * PER_LABEL
    for count in data["sources"].values():
        assert count["read"] == count["kept"] + sum(count["dropped"].values())
    assert data["custom"]["rows"] + data["train"]["rows"] == users["kept"] + pool["kept"]
    held_out = data["custom"]
    assert held_out["neutral"] == 0 and abs(held_out["rows"] - 0.2 * users["kept"]) <= 1  # 20% of each label, rounded
    eval_metrics = json.loads((repo / "metrics/eval/metrics.json").read_text())
    assert list(eval_metrics["custom"]) == ["macro_recall", "macro_f1", "accuracy"]
    confusion = repo / "metrics/eval/plots/sklearn/confusion_matrix_custom.json"
    shown = run(
        ["dvc", "plots", "show", str(confusion), "-t", "confusion", "-x", "actual", "-y", "predicted", "-o", "plots"],
        cwd=repo,
    )
    assert "failed" not in shown.stdout + shown.stderr and (repo / "plots/index.html").is_file()
