"""The real pipeline, end to end, in a fresh clone: `dvc repro`, experiments, failures."""

import gzip
import json
from pathlib import Path

import pytest
import yaml

from tests.support.repo import CLEAR_CASES, ONE_CANDIDATE, run
from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.serving.predictor import Predictor

pytestmark = pytest.mark.slow
ALL_NEUTRAL_MACRO_RECALL = 1 / 3  # one class fully recalled, two never


def dvc_json(repo: Path, *args: str):
    return json.loads(run(["dvc", *args, "--json"], cwd=repo).stdout)


def test_repro_produces_model_metrics_and_plots_and_is_up_to_date(quick_pipeline: Path):
    repo = quick_pipeline
    assert dvc_json(repo, "status") == {}
    config = json.loads((repo / "models/finetuned/config.json").read_text())
    assert config["id2label"] == {str(i): label for i, label in enumerate(LABELS)}
    metrics = dvc_json(repo, "metrics", "show")
    scores = metrics[""]["data"]["metrics/eval/metrics.json"]["data"]
    # 2,000 tweets and one epoch learn something: well above answering `neutral` to everything.
    assert scores["test"]["macro_recall"] > ALL_NEUTRAL_MACRO_RECALL + 0.1, scores
    # The model `finetune` wrote loads strictly and gets clear-cut tweets right.
    predictions = Predictor(repo / "models/finetuned").predict(list(CLEAR_CASES))
    assert [p["pred_label"] for p in predictions] == list(CLEAR_CASES.values())
    split_sizes = json.loads((repo / "metrics/data.json").read_text())
    assert split_sizes["test"]["rows"] == 12284
    run(["dvc", "plots", "show", "-o", "plots_html"], cwd=repo)
    page = (repo / "plots_html/index.html").read_text()
    assert "Confusion matrix (TweetEval test)" in page and "Training loss" in page
    # 2,000 tweets in batches of 32, one epoch: 63 optimizer steps, loss logged every 3, so
    # 21 points per curve (DVCLive numbers its log events 0, 1, ...); logged every 20, it had 3.
    for plot in ("loss", "learning_rate"):
        rows = (repo / f"metrics/train/plots/metrics/{plot}.tsv").read_text().splitlines()
        assert [int(row.split("\t")[0]) for row in rows[1:]] == list(range(21)), plot


def test_exp_run_with_scientific_lr_records_a_number_and_diffs(quick_pipeline: Path):
    repo = quick_pipeline
    run(["dvc", "exp", "run", "-S", "lr=1e-5", *ONE_CANDIDATE], cwd=repo, timeout=900)
    assert "lr: 1e-05" in (repo / "params.yaml").read_text()
    experiments = dvc_json(repo, "exp", "show")
    lrs = [
        exp["data"]["params"]["params.yaml"]["data"]["lr"]
        for row in experiments
        for exp in [row, *[e for run_ in row.get("experiments") or [] for e in run_["revs"]]]
        if exp.get("data")
    ]
    assert 1e-05 in lrs and all(isinstance(lr, float) for lr in lrs)
    diff = dvc_json(repo, "metrics", "diff")
    assert "test.macro_recall" in diff["metrics/eval/metrics.json"]
    params_diff = dvc_json(repo, "params", "diff")
    assert params_diff["params.yaml"]["lr"]["new"] == 1e-05
    run(["dvc", "plots", "diff", "HEAD", "-o", "diff_html"], cwd=repo)
    assert (repo / "diff_html/index.html").is_file()
    run(["git", "checkout", "--", "."], cwd=repo)
    run(["dvc", "checkout", "--force"], cwd=repo)


def test_a_bad_param_stops_the_stage_with_its_name_and_loses_nothing(quick_pipeline: Path):
    repo = quick_pipeline
    params = yaml.safe_load((repo / "params.yaml").read_text())
    (repo / "params.yaml").write_text(yaml.safe_dump(params | {"lr": "fast"}, sort_keys=False))
    failed = run(["dvc", "repro"], cwd=repo, check=False)
    assert failed.returncode != 0
    assert "`lr` must be float, got 'fast'" in failed.stdout + failed.stderr
    assert "Traceback" not in failed.stdout + failed.stderr
    # DVC clears a stage's outs before running it; the model comes back from the
    # cache and the metrics from git, so nothing is lost.
    run(["git", "checkout", "--", "."], cwd=repo)
    run(["dvc", "checkout", "--force"], cwd=repo)
    assert dvc_json(repo, "status") == {}


def test_a_malformed_data_file_names_the_file_and_line(quick_pipeline: Path):
    repo = quick_pipeline
    broken = repo / "data/external/tweeteval-sentiment/val_labels.txt.gz"
    original = broken.read_bytes()
    try:
        broken.write_bytes(gzip.compress(b"0\n1\nseven\n"))
        failed = run(["dvc", "repro", "download"], cwd=repo, check=False)
        assert failed.returncode != 0
        assert "has 2000 lines but" in failed.stdout + failed.stderr
    finally:
        broken.write_bytes(original)
    run(["git", "checkout", "--", "."], cwd=repo)
    run(["dvc", "checkout", "--force"], cwd=repo)
    assert dvc_json(repo, "status") == {}


@pytest.mark.parametrize(
    ("module", "old", "new", "rerun"),
    [
        # the OpenVINO loader: the runtimes' users rerun; tokenize and finetune do not import it
        (
            "tweet_sentiment/serving/runtimes.py",
            '"NUM_STREAMS": stream_count,',
            '"NUM_STREAMS": max(1, stream_count),',
            {"optimize", "evaluate", "reference", "package"},
        ),
        # the query log's rotation: what the Bento ships and the harvest that reads the log
        ("tweet_sentiment/serving/querylog.py", "KEPT_FILES = 20", "KEPT_FILES = 30", {"harvest", "package"}),
        # the drift report's HTML: no stage runs it, and the Bento does not ship it
        ("tweet_sentiment/monitor/drift/html_report.py", "import html\n", "import html  # escaping\n", set()),
    ],
)
def test_an_edit_reruns_only_the_stages_that_import_the_module(quick_pipeline: Path, module, old, new, rerun):
    """`dvc status` after one edit lists exactly the stages whose code deps (their import closure) hold the module."""
    path = quick_pipeline / module
    source = path.read_text()
    assert source.count(old) == 1
    path.write_text(source.replace(old, new))
    try:
        assert set(dvc_json(quick_pipeline, "status")) == rerun
    finally:
        path.write_text(source)
    assert dvc_json(quick_pipeline, "status") == {}
