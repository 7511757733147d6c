"""The release story on a real pipeline: register, promote through the gate, refuse a worse model, roll back.

A clone of the quick pipeline (conftest.py) sharing its DVC cache, the real
`python -m tweet_sentiment.release`, `dvc` and `gto`; the gate times both
versions' served runtimes as it does for a user (untimed where both serve the same bytes).
"""

import sys
from pathlib import Path

import pytest

from tests.support.repo import REPO, run, set_params

pytestmark = pytest.mark.slow


def release(repo: Path, *args: str):
    return run([sys.executable, "-m", "tweet_sentiment.release", *args], cwd=repo, check=False, timeout=600)


def in_prod(repo: Path) -> str:
    return run(["gto", "show", "tweet-sentiment#prod", "--version"], cwd=repo).stdout.strip()


def expect(result, status: int, *texts: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == status, output
    for text in texts:
        assert text in output, output
    return output


def release_clone(quick_pipeline: Path, tmp_path: Path) -> Path:
    """A clone of the quick pipeline with its outputs checked out from the shared cache, and a floor it passes."""
    repo = tmp_path / "repo"
    run(["git", "clone", "--quiet", str(quick_pipeline), str(repo)], cwd=tmp_path)
    run(["git", "config", "user.name", "tests"], cwd=repo)
    run(["git", "config", "user.email", "tests@example.invalid"], cwd=repo)
    run(["dvc", "cache", "dir", "--local", str(quick_pipeline / ".dvc/cache")], cwd=repo)
    run(["dvc", "checkout", "--quiet"], cwd=repo)
    # The quick model (2,000 tweets, one epoch) is below the published baselines: a floor for it.
    set_params(repo, **{"release.min_test_macro_recall": 0.4})
    return repo


def test_register_promote_refuse_a_worse_model_and_roll_back(quick_pipeline: Path, tmp_path: Path):
    repo = release_clone(quick_pipeline, tmp_path)
    baseline = run(["git", "rev-parse", "HEAD"], cwd=repo).stdout.strip()

    expect(release(repo, "register"), 0, "registered tweet-sentiment@v0.1.0")
    expect(release(repo, "register"), 2, "is already registered as tweet-sentiment@v0.1.0")
    expect(release(repo, "promote", "v0.1.0", "--to", "prod"), 1, "fails 1 criteria for prod: staging before prod")
    expect(release(repo, "promote", "v0.1.0", "--to", "staging"), 0, "tweet-sentiment@v0.1.0 is in staging")
    expect(release(repo, "promote", "v0.1.0", "--to", "prod"), 0, "tweet-sentiment@v0.1.0 is in prod")
    assert in_prod(repo) == "v0.1.0"

    # A clearly worse recipe: the learning rate a thousand times too small (on fewer tweets, to be quick).
    set_params(repo, lr=1e-7, max_train_samples=256, **{"optimize.candidates": ["openvino-bf16"]})
    run(["dvc", "repro"], cwd=repo, timeout=900)
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "--quiet", "-m", "lr 1e-7"], cwd=repo)
    expect(release(repo, "register"), 0, "registered tweet-sentiment@v0.2.0")
    refused = expect(release(repo, "promote", "v0.2.0", "--to", "staging"), 1, "refused: tweet-sentiment@v0.2.0")
    assert "test macro recall" in refused.split("refused:")[1]
    expect(release(repo, "promote", "v0.2.0", "--to", "prod", "--force"), 2, "--force needs --reason")
    refused = expect(release(repo, "promote", "v0.2.0", "--to", "prod"), 1, "refused: tweet-sentiment@v0.2.0")
    failed = refused.split("refused:")[1].split(": ", 1)[1].strip().split("; ")
    assert {"test macro recall (floor)", "test macro recall", "staging before prod"} <= set(failed)
    assert in_prod(repo) == "v0.1.0"

    # Back to the first recipe's outputs (in the cache): equal to prod, so it passes.
    git_outs = ["dvc.lock", "metrics", "models/bento.json", "models/model_card.md"]  # package writes the last two
    run(["git", "checkout", baseline, "--", "params.yaml", *git_outs], cwd=repo)
    run(["dvc", "checkout", "--quiet"], cwd=repo)
    run(["git", "commit", "--quiet", "-am", "back to the baseline recipe"], cwd=repo)
    expect(release(repo, "register"), 0, "registered tweet-sentiment@v0.3.0")
    expect(release(repo, "promote", "v0.3.0", "--to", "staging"), 0, "tweet-sentiment@v0.3.0 is in staging")
    passed = expect(release(repo, "promote", "v0.3.0", "--to", "prod"), 0, "tweet-sentiment@v0.3.0 is in prod")
    assert "FAILED" not in passed
    [throughput] = [line for line in passed.splitlines() if "served tweets/s (this machine)" in line]
    assert "same runtime" in throughput  # v0.1.0's very bytes: passed untimed
    assert in_prod(repo) == "v0.3.0"

    expect(release(repo, "rollback", "--stage", "prod"), 0, "tweet-sentiment@v0.1.0 is back, v0.3.0 rolled back")
    assert in_prod(repo) == "v0.1.0"

    # Forcing records what failed and why in the assignment's tag.
    forced = release(repo, "promote", "v0.2.0", "--to", "staging", "--force", "--reason", "look at it in staging")
    expect(forced, 0, "tweet-sentiment@v0.2.0 is in staging (FORCED)")
    message = run(["git", "tag", "-l", "--format=%(contents)", "tweet-sentiment#staging#*"], cwd=repo).stdout
    assert "forced over v0.3.0; failed: test macro recall" in message and "reason: look at it in staging" in message
    shown = expect(release(repo, "show"), 0, "v0.1.0", "v0.2.0", "v0.3.0")
    rows = {line.split("|")[1].strip(): line.split("|")[2].strip() for line in shown.splitlines()[2:]}
    assert rows == {"v0.1.0": "prod", "v0.2.0": "staging", "v0.3.0": ""}  # each stage holds one version

    deploy = run(
        ["bash", str(REPO / "deploy/deploy_cloudrun.sh"), "--dry-run", "--stage", "prod", "--canary", "10"],
        cwd=repo,
        GCP_PROJECT="test-project",
    ).stdout
    assert "tweet-sentiment:v0.1.0" in deploy and "--no-traffic --tag v0-1-0" in deploy and "v0-1-0=10" in deploy


def test_a_pre_release_tagged_with_gto_is_listed_promoted_and_followed_by_its_release(
    quick_pipeline: Path, tmp_path: Path
):
    """`gto register ... --version v0.1.0-rc.1` once made `show` and `promote` crash, exit 1, until deleted."""
    repo = release_clone(quick_pipeline, tmp_path)
    run(["gto", "register", "tweet-sentiment", "HEAD", "--version", "v0.1.0-rc.1"], cwd=repo)
    expect(release(repo, "show"), 0, "v0.1.0-rc.1")
    expect(release(repo, "promote", "v0.1.0-rc.1", "--to", "staging"), 0, "tweet-sentiment@v0.1.0-rc.1 is in staging")
    expect(release(repo, "promote", "v0.1.0-rc.1", "--to", "prod"), 0, "tweet-sentiment@v0.1.0-rc.1 is in prod")
    assert in_prod(repo) == "v0.1.0-rc.1"

    set_params(repo, **{"release.min_test_macro_recall": 0.41})  # a new commit, the same model
    expect(release(repo, "register"), 0, "registered tweet-sentiment@v0.1.0 ")  # the release of the candidate
    shown = expect(release(repo, "show"), 0)
    assert [line.split("|")[1].strip() for line in shown.splitlines()[2:]] == ["v0.1.0-rc.1", "v0.1.0"]
    expect(release(repo, "promote", "v0.1.0", "--to", "staging"), 0, "tweet-sentiment@v0.1.0 is in staging")
    expect(release(repo, "promote", "v0.1.0", "--to", "prod"), 0, "tweet-sentiment@v0.1.0 is in prod")
    expect(release(repo, "rollback", "--stage", "prod"), 0, "tweet-sentiment@v0.1.0-rc.1 is back, v0.1.0 rolled back")
    expect(release(repo, "register", "--version", "v0.2.0-rc.1"), 2, "is already registered as tweet-sentiment@v0.1.0")
