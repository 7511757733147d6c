"""Fine-tuning on several processes: torchrun, DDP shards, rank-0 outputs, Vertex AI's cluster spec."""

import json
import subprocess
from pathlib import Path

import pytest
import torch
import yaml
from transformers import DataCollatorWithPadding

from tests.ddp_shards import ROWS, synthetic_split
from tests.support.repo import ONE_CANDIDATE, REPO, run, tool_env
from tweet_sentiment.core.params import ParamsError
from tweet_sentiment.train import ddp as distributed
from tweet_sentiment.train.ddp import (
    is_main_process,
    per_process_batch,
    torchrun_command,
    vertex_torchrun_env,
    wants_torchrun,
    world_size,
)
from tweet_sentiment.train.models import load_classifier, load_tokenizer

VERTEX_HOSTS = {
    "workerpool0": ["cmle-training-workerpool0-1a2b-0:2222"],
    "workerpool1": ["cmle-training-workerpool1-1a2b-0:2222", "cmle-training-workerpool1-1a2b-1:2222"],
}


def test_each_process_takes_its_share_of_the_batch():
    assert per_process_batch(32, 1) == 32
    assert per_process_batch(32, 2) == 16
    with pytest.raises(ParamsError, match="`batch_size` \\(32\\) must be divisible by the 3"):
        per_process_batch(32, 3)


def test_outside_torchrun_there_is_one_process_and_it_writes(monkeypatch):
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    monkeypatch.setenv("RANK", "3")  # a node rank some platforms set: not torchrun's
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert world_size() == 1 and is_main_process()
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "x")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert world_size() == 4 and not is_main_process()


def test_torchrun_runs_standalone_unless_pet_variables_describe_a_cluster(monkeypatch):
    monkeypatch.delenv("PET_NNODES", raising=False)
    assert not wants_torchrun(1) and wants_torchrun(2)
    assert "--standalone" in torchrun_command(2, "stages.finetune")
    monkeypatch.setenv("PET_NNODES", "3")
    assert wants_torchrun(1)  # one process per node, on three nodes
    command = torchrun_command(2, "stages.finetune")
    assert "--standalone" not in command and command[-2:] == ["-m", "stages.finetune"]


def test_vertex_cluster_spec_maps_to_torchrun_rendezvous():
    def env_of(task_type: str, index: int) -> dict[str, str]:
        spec = {"cluster": VERTEX_HOSTS, "task": {"type": task_type, "index": index}, "environment": "cloud"}
        return vertex_torchrun_env(json.dumps(spec))

    primary, second_worker = env_of("workerpool0", 0), env_of("workerpool1", 1)
    assert primary == {
        "PET_NNODES": "3",
        "PET_NODE_RANK": "0",
        "PET_MASTER_ADDR": "cmle-training-workerpool0-1a2b-0",
        "PET_MASTER_PORT": "29500",
    }
    assert second_worker["PET_NODE_RANK"] == "2" and second_worker["PET_MASTER_ADDR"] == primary["PET_MASTER_ADDR"]
    one_node = {"cluster": {"workerpool0": VERTEX_HOSTS["workerpool0"]}, "task": {"type": "workerpool0", "index": 0}}
    assert vertex_torchrun_env(json.dumps(one_node)) == {}


def untrained_loss(model_dir: Path) -> float:
    """Cross-entropy of the untrained classifier over the synthetic tweets, in one process."""
    model = load_classifier(str(model_dir)).eval()
    split = synthetic_split(ROWS)
    batch = DataCollatorWithPadding(load_tokenizer(str(model_dir)))([split[i] for i in range(ROWS)])
    with torch.no_grad():
        return model(**batch).loss.item()


def test_the_training_image_gets_torchrun_settings_from_cluster_spec(monkeypatch, capsys):
    """`python -m tweet_sentiment.train.ddp`, as docker/train-entrypoint.sh evals it on a Vertex AI replica."""
    spec = {"cluster": VERTEX_HOSTS, "task": {"type": "workerpool1", "index": 0}}
    command = ["python", "-m", "tweet_sentiment.train.ddp"]
    exports = run(command, cwd=REPO, CLUSTER_SPEC=json.dumps(spec)).stdout.splitlines()
    assert exports == [
        "export PET_NNODES=3",
        "export PET_NODE_RANK=1",
        "export PET_MASTER_ADDR=cmle-training-workerpool0-1a2b-0",
        "export PET_MASTER_PORT=29500",
    ]
    monkeypatch.setenv("CLUSTER_SPEC", json.dumps(spec))
    distributed.main()  # in-process too, for coverage of what the entry point runs
    assert capsys.readouterr().out.splitlines() == exports
    broken = run(command, cwd=REPO, check=False, CLUSTER_SPEC="{not json")
    assert broken.returncode != 0 and not broken.stdout  # the entry point stops instead of running as node 0


def test_two_ranks_read_disjoint_shards_that_cover_the_epoch(model_dir: Path, tmp_path: Path):
    """Real torchrun, real DDP (gloo): the Trainer's sharded dataloader and a step, as `finetune` builds them."""
    command = [*torchrun_command(2, "tests.ddp_shards"), str(model_dir), str(tmp_path)]
    result = subprocess.run(command, cwd=REPO, env=tool_env(OMP_NUM_THREADS="1"), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    ranks = [json.loads((tmp_path / f"rank-{rank}.json").read_text()) for rank in (0, 1)]
    assert [rank["world_size"] for rank in ranks] == [2, 2]
    assert all(size == 16 for rank in ranks for size in rank["batch_sizes"])  # 32 split over 2
    first, second = (set(rank["rows"]) for rank in ranks)
    assert len(first) == len(ranks[0]["rows"]) == 128 and len(second) == 128
    assert not first & second
    assert first | second == set(range(256))
    # each rank's loss is a per-batch mean, as in one process (about ln 3 for an untrained head);
    # left to the Trainer's default it would be multiplied by the 2 processes
    expected = untrained_loss(model_dir)
    assert [abs(rank["loss"] - expected) < 0.25 for rank in ranks] == [True, True], (expected, ranks[0]["loss"])


@pytest.mark.slow
def test_dvc_exp_run_on_two_processes_writes_metrics_and_model_once(quick_pipeline: Path):
    repo = quick_pipeline
    args = ["-S", "train.processes=2", "-S", "max_train_samples=256", "-S", "epochs=1", *ONE_CANDIDATE]
    result = run(["dvc", "exp", "run", *args], cwd=repo, timeout=900)
    log = result.stdout + result.stderr
    assert "starting 2 processes" in log
    # 256 tweets / an effective batch of 32: 8 steps, not 16 (a full batch per rank) or 4 (half the data)
    assert "trained for 8 optimizer steps on 2 processes (batch 16 each)" in log, log[-3000:]
    assert yaml.safe_load((repo / "metrics/train/params.yaml").read_text())["per_device_train_batch_size"] == 16
    rows = (repo / "metrics/train/plots/metrics/eval/macro_recall.tsv").read_text().splitlines()
    assert len(rows) == 2, rows  # header + epoch 1, logged by rank 0 only
    assert (repo / "models/finetuned/model.safetensors").is_file()
    shown = json.loads(run(["dvc", "exp", "show", "--json"], cwd=repo).stdout)
    processes = {
        exp["data"]["params"]["params.yaml"]["data"]["train"]["processes"]
        for row in shown
        for run_ in row.get("experiments") or []
        for exp in run_["revs"]
        if exp.get("data")
    }
    assert 2 in processes
    run(["git", "checkout", "--", "."], cwd=repo)
    run(["dvc", "checkout", "--force"], cwd=repo)
