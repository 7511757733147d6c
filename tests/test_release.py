"""Releases: the gate's criteria, the registry's record (real `gto` tags), the Cloud Run rollout and the report.

The whole story on a real pipeline (train, register, promote, a worse model
refused, rollback) is tests/test_release_story.py.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from PIL import Image

from tests.support.registry import commit_version
from tests.support.repo import REPO, clone_repo, run
from tweet_sentiment.core.params import load_params
from tweet_sentiment.release import command, gate, registry
from tweet_sentiment.release.gate import Scores

PARAMS = load_params(REPO / "params.yaml").release
BASE = Scores(0.70, {"negative": 0.88, "neutral": 0.49, "positive": 0.73}, {}, tweets_per_s=1000.0)


def verdicts(rows: list[gate.Criterion]) -> dict[str, bool | None]:
    return {row.name: row.passed for row in rows}


def test_a_first_version_passes_on_the_floor_alone():
    rows = gate.check(BASE, None, PARAMS, was_in_staging=None)
    assert verdicts(rows)["test macro recall (floor)"] is True
    assert {name for name, passed in verdicts(rows).items() if passed is None} == {
        "test macro recall",
        "test recall: negative",
        "test recall: neutral",
        "test recall: positive",
        "served tweets/s (this machine)",
    }
    below = replace(BASE, test_macro_recall=PARAMS.min_test_macro_recall - 0.001)
    assert gate.failed(gate.check(below, None, PARAMS, was_in_staging=None)) == ["test macro recall (floor)"]


def test_each_comparison_fails_on_its_own_limit():
    equal = gate.check(BASE, BASE, PARAMS, was_in_staging=True)
    assert gate.failed(equal) == [] and None not in verdicts(equal).values()
    worse = Scores(
        BASE.test_macro_recall - PARAMS.max_test_drop - 0.001,
        {**BASE.class_recall, "positive": BASE.class_recall["positive"] - PARAMS.max_class_drop - 0.001},
        {},
        tweets_per_s=BASE.tweets_per_s * (1 - PARAMS.max_throughput_drop) - 1,
    )
    assert gate.failed(gate.check(worse, BASE, PARAMS, was_in_staging=False)) == [
        "test macro recall",
        "test recall: positive",
        "served tweets/s (this machine)",
        "staging before prod",
    ]
    within = replace(
        worse, test_macro_recall=BASE.test_macro_recall - PARAMS.max_test_drop, class_recall=BASE.class_recall
    )
    assert "test macro recall" not in gate.failed(gate.check(within, BASE, PARAMS, was_in_staging=True))


def test_held_out_splits_must_not_get_worse_where_both_versions_have_them():
    with_custom = replace(BASE, splits={"custom": 0.80, "live": 0.60})
    worse = replace(BASE, splits={"custom": 0.79, "live": 0.61})
    assert gate.failed(gate.check(worse, with_custom, PARAMS, was_in_staging=None)) == ["custom macro recall"]
    # A split only the candidate has is listed, not compared: nothing to compare it with.
    assert verdicts(gate.check(worse, BASE, PARAMS, was_in_staging=None))["live macro recall"] is None


def test_the_same_served_runtime_passes_throughput_without_a_timing():
    """Two versions whose dvc.lock records the same models/serving serve the same bytes: nothing to time."""
    served = gate.served_model_hash((REPO / "dvc.lock").read_text())
    lock = yaml.safe_load((REPO / "dvc.lock").read_text())
    [out] = [out for out in lock["stages"]["optimize"]["outs"] if out["path"] == "models/serving"]
    assert served == out["md5"] and served.endswith(".dir")
    same = replace(BASE, tweets_per_s=None, served_model=served)
    assert verdicts(gate.check(same, same, PARAMS, was_in_staging=None))["served tweets/s (this machine)"] is True
    other = replace(same, served_model="0" * 32 + ".dir")  # another runtime, not timed: not checked
    assert verdicts(gate.check(other, same, PARAMS, was_in_staging=None))["served tweets/s (this machine)"] is None
    for lock in ("stages: {}", "stages:", "stages: [", "just text", "stages: {optimize: {outs: [models/serving]}}"):
        assert gate.served_model_hash(lock) is None  # no hash to compare: timed as before


def gto_stage(repo: Path, stage: str) -> str:
    return run(["gto", "show", f"{registry.ARTIFACT}#{stage}", "--version"], cwd=repo).stdout.strip()


def test_a_stage_holds_one_version_and_every_gto_view_agrees(registry_repo: Path):
    first = registry.register(registry_repo, commit_version(registry_repo, 0.70, 0.73, "a"), "first")
    second = registry.register(registry_repo, commit_version(registry_repo, 0.71, 0.74, "b"), "second")
    assert (first, second) == ("v0.1.0", "v0.2.0")
    registry.assign(registry_repo, first, "prod", "first to prod")
    registry.assign(registry_repo, second, "prod", "second to prod")  # tags in the same second: no tie
    assert gto_stage(registry_repo, "prod") == second
    assert registry.in_stage(registry_repo, "prod").version == second
    assert [r.stages for r in registry.releases(registry_repo)] == [(), ("prod",)]
    with pytest.raises(registry.RegistryError, match="already in prod"):
        registry.assign(registry_repo, second, "prod", "again")


def test_every_semver_form_is_listed_in_semver_order_and_the_next_version_follows_it(registry_repo: Path):
    """GTO accepts pre-releases and build metadata (grafana/cloudcost-exporter#796); `show` crashed on them."""
    tagged = ["v0.1.0", "v0.1.0-rc.10", "v0.1.0-rc.2", "v0.1.0+build.7", "v0.1.0-alpha", "v0.1.0-rc.1"]
    for index, version in enumerate(tagged):
        commit = commit_version(registry_repo, 0.70, 0.73, str(index))
        run(["gto", "register", registry.ARTIFACT, commit, "--version", version], cwd=registry_repo)
    assert [r.version for r in registry.releases(registry_repo)] == [
        "v0.1.0-alpha", "v0.1.0-rc.1", "v0.1.0-rc.2", "v0.1.0-rc.10", "v0.1.0", "v0.1.0+build.7",
    ]  # fmt: skip
    assert registry.next_version(registry_repo) == "v0.2.0"
    registry.assign(registry_repo, "v0.1.0-rc.2", "prod", "a pre-release in prod")
    assert gto_stage(registry_repo, "prod") == "v0.1.0-rc.2"


def test_after_a_pre_release_the_next_version_is_its_release(registry_repo: Path, monkeypatch, capsys):
    commit = commit_version(registry_repo, 0.70, 0.73, "a")
    run(["gto", "register", registry.ARTIFACT, commit, "--version", "v0.3.0-rc.1"], cwd=registry_repo)
    assert registry.next_version(registry_repo) == "v0.3.0"
    monkeypatch.chdir(registry_repo)
    assert command.main(["show"]) == command.EXIT_OK
    assert "v0.3.0-rc.1" in capsys.readouterr().out
    with pytest.raises(registry.RegistryError, match=re.escape("'0.4.0' is not a version: use `v` and a SemVer")):
        registry.register(registry_repo, commit_version(registry_repo, 0.71, 0.73, "b"), "m", "0.4.0")


def test_exit_status_1_means_only_a_refused_gate(registry_repo: Path, monkeypatch, caplog):
    """A fault of the command (here the registry unreadable) exits 3 with its traceback, never 1."""
    monkeypatch.chdir(registry_repo)

    def broken(*args, **kwargs):
        raise KeyError("a fault")

    monkeypatch.setattr(registry, "releases", broken)
    assert command.main(["show"]) == command.EXIT_FAULT
    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "please report this traceback" in record.getMessage() and record.exc_info is not None
    monkeypatch.undo()
    monkeypatch.chdir(registry_repo)
    assert command.main(["promote", "v1", "--to", "staging"]) == command.EXIT_CANNOT  # not a version: not done
    assert "'v1' is not a version" in caplog.records[-1].getMessage()


def test_rollback_goes_back_one_version_each_time_and_never_forward(registry_repo: Path):
    versions = [
        registry.register(registry_repo, commit_version(registry_repo, 0.70 + i / 100, 0.73, str(i)), str(i))
        for i in range(3)
    ]
    for version in versions:
        registry.assign(registry_repo, version, "prod", "promoted")
    assert registry.rollback(registry_repo, "prod", "v0.3.0 misbehaves") == ("v0.3.0", "v0.2.0")
    assert gto_stage(registry_repo, "prod") == "v0.2.0"
    assert registry.rollback(registry_repo, "prod", "so does v0.2.0") == ("v0.2.0", "v0.1.0")
    assert gto_stage(registry_repo, "prod") == "v0.1.0"
    with pytest.raises(registry.RegistryError, match="none to go back to"):
        registry.rollback(registry_repo, "prod", "nothing older")
    assert registry.was_in_stage(registry_repo, "v0.3.0", "prod") and not registry.was_in_stage(
        registry_repo, "v0.3.0", "staging"
    )


def test_force_without_a_reason_is_refused_before_anything_happens(registry_repo: Path, monkeypatch, caplog):
    version = registry.register(registry_repo, commit_version(registry_repo, 0.70, 0.73, "a"), "first")
    monkeypatch.chdir(registry_repo)
    assert command.main(["promote", version, "--to", "staging", "--force"]) == command.EXIT_CANNOT
    [error] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert error.startswith("--force needs --reason")
    assert registry.in_stage(registry_repo, "staging") is None


def test_show_lists_each_version_with_its_stage_bento_and_score(registry_repo: Path, monkeypatch, capsys):
    first = commit_version(registry_repo, 0.7012, 0.73, "aaa")
    second = commit_version(registry_repo, 0.6543, 0.70, "bbb")
    registry.register(registry_repo, first, "first")
    registry.register(registry_repo, second, "second")
    registry.assign(registry_repo, "v0.1.0", "prod", "promoted")
    monkeypatch.chdir(registry_repo)
    assert command.main(["show"]) == command.EXIT_OK
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in capsys.readouterr().out.splitlines()[2:]]
    assert rows == [
        ["v0.1.0", "prod", first[:7], "tweet-sentiment:aaa", "0.7012", ""],
        ["v0.2.0", "", second[:7], "tweet-sentiment:bbb", "0.6543", ""],
    ]


def deploy_dry_run(repo: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(REPO / "deploy/deploy_cloudrun.sh"), "--dry-run", *options],
        cwd=repo,
        env=os.environ | {"GCP_PROJECT": "test-project"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_deploy_takes_the_version_the_registry_holds_as_a_tagged_revision_without_traffic(registry_repo: Path):
    registry.register(registry_repo, commit_version(registry_repo, 0.70, 0.73, "a"), "first")
    registry.register(registry_repo, commit_version(registry_repo, 0.71, 0.73, "b"), "second")
    registry.assign(registry_repo, "v0.1.0", "prod", "promoted")
    registry.assign(registry_repo, "v0.2.0", "prod", "promoted")
    result = deploy_dry_run(registry_repo, "--stage", "prod", "--canary", "10")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "prod holds tweet-sentiment@v0.2.0 (revision tag v0-2-0)" in lines
    assert "dvc artifacts get . tweet-sentiment --rev v0.2.0 -o" in result.stdout
    image = "europe-west1-docker.pkg.dev/test-project/tweet-sentiment/tweet-sentiment:v0.2.0"
    [deploy] = [line for line in lines if line.startswith("gcloud run deploy")]
    assert f"--image {image}" in deploy
    assert "--no-traffic --tag v0-2-0 --update-env-vars TWEET_SENTIMENT_REGISTRY_VERSION=v0.2.0" in deploy
    [split] = [line for line in lines if "update-traffic" in line]
    assert split.rstrip().endswith("--to-tags v0-2-0=10")
    assert lines.index(split) > lines.index(deploy)

    registry.rollback(registry_repo, "prod", "bad canary")
    back = deploy_dry_run(registry_repo, "--stage", "prod", "--rollback")
    assert back.returncode == 0, back.stderr
    assert [line.rstrip() for line in back.stdout.splitlines() if line.startswith("gcloud")] == [
        "gcloud run services update-traffic tweet-sentiment --project test-project --region europe-west1 "
        "--to-tags v0-1-0=100"
    ]


def test_deploy_tags_a_pre_release_and_build_metadata_in_the_forms_cloud_run_and_images_take(registry_repo: Path):
    commit = commit_version(registry_repo, 0.70, 0.73, "a")
    run(["gto", "register", registry.ARTIFACT, commit, "--version", "v0.1.0-RC.1+build.5"], cwd=registry_repo)
    registry.assign(registry_repo, "v0.1.0-RC.1+build.5", "prod", "promoted")
    result = deploy_dry_run(registry_repo, "--stage", "prod", "--canary", "10")
    assert result.returncode == 0, result.stderr
    assert "prod holds tweet-sentiment@v0.1.0-RC.1+build.5 (revision tag v0-1-0-rc-1-build-5)" in result.stdout
    [deploy] = [line for line in result.stdout.splitlines() if line.startswith("gcloud run deploy")]
    assert "tweet-sentiment:v0.1.0-RC.1_build.5 " in deploy
    assert "--tag v0-1-0-rc-1-build-5 --update-env-vars TWEET_SENTIMENT_REGISTRY_VERSION=v0.1.0-RC.1+build.5 " in deploy


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--stage", "staging"], "no version of tweet-sentiment is in staging"),
        (["--stage", "prod", "--canary", "150"], "--canary takes a share of traffic from 1 to 99"),
        (["--stage", "prod", "localhost/x:1"], "give no LOCAL_IMAGE"),
    ],
)
def test_deploy_refuses_what_it_cannot_do_with_one_line(registry_repo: Path, options: list[str], message: str):
    result = deploy_dry_run(registry_repo, *options)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_the_workflows_match_the_github_actions_schema():
    checker = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    workflows = sorted((REPO / ".github/workflows").glob("*.yml"))
    assert {path.name for path in workflows} >= {"ci.yml", "report.yml", "deploy.yml"}
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.github-workflows", *map(str, workflows)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_deploy_workflow_deploys_an_assignment_to_prod_from_full_history():
    workflow = yaml.safe_load((REPO / ".github/workflows/deploy.yml").read_text())
    [job] = workflow["jobs"].values()
    checkout = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    gto_step = next(step for step in job["steps"] if step.get("uses", "").startswith("iterative/gto-action@v2"))
    deploy = next(step for step in job["steps"] if "deploy_cloudrun.sh" in step.get("run", ""))
    assert "--stage prod" in deploy["run"]
    assert f"steps.{gto_step['id']}.outputs.stage == 'prod'" in deploy["if"]
    assert f"steps.{gto_step['id']}.outputs.event == 'assignment'" in deploy["if"]


def test_the_report_renders_its_tables_and_plots_offline(tmp_path: Path):
    repo = clone_repo(tmp_path / "repo")
    metrics = json.loads((repo / gate.EVAL_METRICS).read_text())
    committed = metrics["test"]["macro_recall"]
    metrics["test"]["macro_recall"] = 0.5  # a change that makes the model worse: below the gate's floor
    (repo / gate.EVAL_METRICS).write_text(json.dumps(metrics, indent=4))
    out = tmp_path / "report"
    result = run(["python", "-m", "tweet_sentiment.cli", "report", "HEAD", "--out", str(out)], cwd=repo)
    report = (out / "report.md").read_text()
    assert "| Path" in report and "test.macro_recall" in report and f"{committed:.5f}"[:6] in report
    assert "would be refused: test macro recall (floor)" in report
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) >= 3, result.stderr
    for png in pngs:
        with Image.open(png) as image:
            assert image.format == "PNG" and min(image.size) > 100
        assert f"]({png.name})" in report
