"""Fine-tuning on several processes: torchrun launches them, the Trainer runs DDP.

`finetune` stays one `python -m stages.finetune`. When `train.processes` is above
1 it starts itself again under torchrun, which runs that many ranks (gloo on CPU,
nccl on GPU, as transformers' Trainer picks). torchrun reads its multi-node
settings from `PET_*` variables (`PET_NNODES`, `PET_NODE_RANK`, `PET_MASTER_ADDR`,
`PET_MASTER_PORT`, or the `PET_RDZV_*` ones), so the same stage command joins a
cluster; `vertex_torchrun_env` derives them from Vertex AI's `CLUSTER_SPEC`.
"""

import json
import logging
import os
import subprocess
import sys

from tweet_sentiment.core.params import ParamsError

log = logging.getLogger(__name__)
TORCHRUN_MARKERS = ("TORCHELASTIC_RUN_ID", "LOCAL_RANK")  # set by torchrun in each process it starts
RENDEZVOUS_PORT = 29500  # torchrun's default master port, used between Vertex AI replicas


def nodes() -> int:
    """Machines training together, from torchrun's `PET_NNODES` (`N`, or `MIN:MAX` when elastic)."""
    return int(os.environ.get("PET_NNODES", "1").split(":")[-1])


def wants_torchrun(processes: int) -> bool:
    """Several processes on this node, or PET_* variables that make this node one of several."""
    return processes > 1 or nodes() > 1


def launched_by_torchrun() -> bool:
    return all(marker in os.environ for marker in TORCHRUN_MARKERS)


def world_size() -> int:
    """Processes training together, over all nodes (1 outside torchrun)."""
    return int(os.environ["WORLD_SIZE"]) if launched_by_torchrun() else 1


def is_main_process() -> bool:
    """Global rank 0: the one process that writes metrics and the model."""
    return not launched_by_torchrun() or int(os.environ["RANK"]) == 0


def is_node_main_process() -> bool:
    """Local rank 0: the process that owns this machine's checkpoints."""
    return not launched_by_torchrun() or int(os.environ["LOCAL_RANK"]) == 0


def per_process_batch(batch_size: int, processes: int) -> int:
    """Each process's batch, so that the effective batch stays `batch_size`."""
    if batch_size % processes:
        raise ParamsError(
            f"params.yaml: `batch_size` ({batch_size}) must be divisible by the {processes} training "
            "processes, so that their batches add up to it; change `batch_size` or `train.processes`."
        )
    return batch_size // processes


def threads_per_process(processes: int) -> int:
    """CPU threads each process may use so that together they fill, not oversubscribe, the cores."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1  # macOS
    return max(1, cores // processes)


def torchrun_command(processes: int, module: str) -> list[str]:
    """torchrun on this node: standalone (a free local port) unless PET_* variables describe a cluster."""
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={processes}"]
    if nodes() == 1:
        command.append("--standalone")
    return [*command, "-m", module]


def run_under_torchrun(processes: int, module: str) -> int:
    """Run `python -m module` as `processes` ranks on this node; returns torchrun's exit status."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(threads_per_process(processes)))
    command = torchrun_command(processes, module)
    log.info("starting %d processes with %s threads each: %s", processes, env["OMP_NUM_THREADS"], " ".join(command))
    return subprocess.run(command, env=env, check=False).returncode


def vertex_torchrun_env(cluster_spec: str, port: int = RENDEZVOUS_PORT) -> dict[str, str]:
    """torchrun's multi-node settings from Vertex AI's `CLUSTER_SPEC` (empty for one node).

    Vertex AI starts one replica per node: `workerpool0` is the primary (node 0),
    `workerpool1` the other workers. The primary's host is the rendezvous.
    """
    spec = json.loads(cluster_spec)
    pools = spec["cluster"]
    workers = pools.get("workerpool1", [])
    if not workers:
        return {}
    task = spec["task"]
    node_rank = 0 if task["type"] == "workerpool0" else 1 + int(task["index"])
    return {
        "PET_NNODES": str(1 + len(workers)),
        "PET_NODE_RANK": str(node_rank),
        "PET_MASTER_ADDR": pools["workerpool0"][0].rsplit(":", 1)[0],
        "PET_MASTER_PORT": str(port),
    }


def main() -> None:
    """Print `export` lines of torchrun's settings for this Vertex AI replica (for the training image)."""
    for name, value in vertex_torchrun_env(os.environ.get("CLUSTER_SPEC", '{"cluster": {}}')).items():
        print(f"export {name}={value}")


if __name__ == "__main__":
    main()
