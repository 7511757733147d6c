"""Cloud Build and Vertex AI configuration: validated against their schemas, and what they run."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.repo import REPO, run
from tweet_sentiment.cloud import vertex
from tweet_sentiment.cloud.vertex import custom_job_spec

CLOUDBUILD = REPO / "cloudbuild.yaml"
CHECK_JSONSCHEMA = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))


def validate_cloudbuild(path: Path) -> subprocess.CompletedProcess:
    """check-jsonschema against the Cloud Build config schema it vendors (SchemaStore's)."""
    return subprocess.run(
        [CHECK_JSONSCHEMA, "--builtin-schema", "vendor.cloudbuild", str(path)], capture_output=True, text=True
    )


def test_cloudbuild_yaml_matches_the_cloud_build_schema():
    result = validate_cloudbuild(CLOUDBUILD)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_malformed_config(tmp_path: Path):
    config = yaml.safe_load(CLOUDBUILD.read_text())
    config["steps"][0]["args"] = "not a list"
    config["timeout"] = 3600  # a number, where Cloud Build wants a duration string
    broken = tmp_path / "cloudbuild.yaml"
    broken.write_text(yaml.safe_dump(config))
    result = validate_cloudbuild(broken)
    assert result.returncode != 0 and "args" in result.stdout + result.stderr


def test_cloudbuild_builds_both_images_on_the_cloudbuild_network_and_pushes_them():
    config = yaml.safe_load(CLOUDBUILD.read_text())
    builds = [step for step in config["steps"] if step["name"] == "gcr.io/cloud-builders/docker"]
    assert {arg for step in builds for arg in step["args"] if arg.startswith("--file=")} == {
        "--file=bento/env/docker/Dockerfile",
        "--file=docker/training.Dockerfile",
    }
    # a `docker build` is not on the step's network unless told: without it a RUN waits for credentials
    assert all("--network=cloudbuild" in step["args"] for step in builds)
    assert "DOCKER_BUILDKIT=0" in config["options"]["env"]  # BuildKit would not join the network
    tags = {arg.removeprefix("--tag=") for step in builds for arg in step["args"] if arg.startswith("--tag=")}
    assert tags == set(config["images"])
    assert {tag.rsplit(":", 1)[1] for tag in tags} == {"$SHORT_SHA", "latest", "cu128-$SHORT_SHA", "cu128"}
    pull = config["steps"][0]
    assert "dvc pull" in pull["args"][-1] and "models/tweet-sentiment-bento.tar" in pull["args"][-1]


def test_cloudbuild_installs_the_dvc_that_requirements_pin():
    script = yaml.safe_load(CLOUDBUILD.read_text())["steps"][0]["args"][-1]
    command = script.splitlines()[0].split('"$$(')[1].split(')"')[0]  # `$$`: Cloud Build's escape of `$`
    installed = subprocess.run(["bash", "-c", command], cwd=REPO, capture_output=True, text=True).stdout.strip()
    requirements = (REPO / "requirements.txt").read_text().splitlines()
    assert installed == next(line.split()[0] for line in requirements if line.startswith("dvc["))


def test_vertex_spec_has_primary_and_worker_pools_for_multi_node():
    spec = custom_job_spec(
        "img", "https://git.example/r.git", "main", ["-S", "lr=3e-5"], "sa@p.iam.gserviceaccount.com",
        gpu_type="NVIDIA_L4", gpu_count=2, nodes=3, machine_type="g2-standard-24",
    )  # fmt: skip
    primary, workers = spec["workerPoolSpecs"]
    assert primary["replicaCount"] == 1 and workers["replicaCount"] == 2
    assert primary["machineSpec"] == {
        "machineType": "g2-standard-24",
        "acceleratorType": "NVIDIA_L4",
        "acceleratorCount": 2,
    }
    assert primary["containerSpec"]["args"] == ["-S", "lr=3e-5"]
    assert {"name": "REPO_URL", "value": "https://git.example/r.git"} in workers["containerSpec"]["env"]
    assert spec["serviceAccount"] == "sa@p.iam.gserviceaccount.com"
    one = custom_job_spec("img", "u", "main", [], "sa")
    assert len(one["workerPoolSpecs"]) == 1 and "acceleratorType" not in one["workerPoolSpecs"][0]["machineSpec"]
    with pytest.raises(ValueError, match="nodes must be at least 1"):
        custom_job_spec("img", "u", "main", [], "sa", nodes=0)


def test_vertex_cli_writes_the_spec_as_yaml(capsys):
    args = ["--image", "img", "--repo-url", "u", "--service-account", "sa", "--nodes", "2", "--", "-S", "lr=3e-5"]
    vertex.main(args)
    spec = yaml.safe_load(capsys.readouterr().out)
    assert [pool["replicaCount"] for pool in spec["workerPoolSpecs"]] == [1, 1]
    assert spec["workerPoolSpecs"][1]["containerSpec"]["args"] == ["-S", "lr=3e-5"]


def test_train_vertex_dry_run_prints_the_command_and_a_spec_gcloud_reads(tmp_path: Path):
    env = {"GCP_PROJECT": "my-project", "REPO_URL": "https://git.example/r.git", "NODES": "2", "GPU_TYPE": "NVIDIA_L4"}
    env |= {"MACHINE_TYPE": "g2-standard-8", "EXP_NAME": "lr3e-5"}
    result = run(["bash", "deploy/train_vertex.sh", "--dry-run", "-S", "lr=3e-5"], cwd=REPO, **env)
    lines = result.stdout.splitlines()
    command = lines[1]
    assert command.startswith("gcloud ai custom-jobs create --project my-project --region europe-west1")
    assert "--display-name tweet-sentiment-lr3e-5 --config " in command
    spec = yaml.safe_load("\n".join(lines[3:]))
    image = "europe-west1-docker.pkg.dev/my-project/tweet-sentiment/tweet-sentiment-train:cu128"  # GPU_TYPE: CUDA
    assert [pool["containerSpec"]["imageUri"] for pool in spec["workerPoolSpecs"]] == [image, image]
    assert spec["workerPoolSpecs"][0]["machineSpec"]["acceleratorType"] == "NVIDIA_L4"
    assert spec["serviceAccount"] == "tweet-sentiment-train@my-project.iam.gserviceaccount.com"
    assert {"name": "EXP_NAME", "value": "lr3e-5"} in spec["workerPoolSpecs"][0]["containerSpec"]["env"]
    assert json.dumps(spec).count("lr=3e-5") == 2


def test_train_vertex_without_a_project_says_what_to_set():
    result = run(["bash", "deploy/train_vertex.sh", "--dry-run"], cwd=REPO, check=False, GCP_PROJECT="")
    assert result.returncode == 1 and "set GCP_PROJECT" in result.stderr
