"""A Vertex AI custom job that runs the training image: `python -m tweet_sentiment.cloud.vertex`.

The spec is what `gcloud ai custom-jobs create --config` reads (a CustomJobSpec): one
worker pool for the primary replica, which runs `dvc exp run` and pushes the
experiment, and for multi-node training a second pool whose replicas join its
torchrun rendezvous (docker/train-entrypoint.sh maps Vertex AI's CLUSTER_SPEC onto
torchrun's settings). The job's service account reads and writes the DVC bucket;
no key file goes into the image.
"""

import argparse
import sys

import yaml


def worker_pool(image: str, env: dict[str, str], args: list[str], machine: dict, replicas: int) -> dict:
    return {
        "machineSpec": machine,
        "replicaCount": replicas,
        "containerSpec": {
            "imageUri": image,
            "args": args,
            "env": [{"name": name, "value": value} for name, value in env.items()],
        },
    }


def custom_job_spec(
    image: str,
    repo_url: str,
    git_ref: str,
    exp_args: list[str],
    service_account: str,
    machine_type: str = "n1-standard-8",
    gpu_type: str | None = None,
    gpu_count: int = 1,
    nodes: int = 1,
    exp_name: str | None = None,
) -> dict:
    """The CustomJobSpec of one training run on `nodes` machines of one type."""
    if nodes < 1:
        raise ValueError(f"nodes must be at least 1, got {nodes}")
    machine = {"machineType": machine_type}
    if gpu_type:
        machine |= {"acceleratorType": gpu_type, "acceleratorCount": gpu_count}
    env = {"REPO_URL": repo_url, "GIT_REF": git_ref} | ({"EXP_NAME": exp_name} if exp_name else {})
    pools = [worker_pool(image, env, list(exp_args), dict(machine), 1)]
    if nodes > 1:
        pools.append(worker_pool(image, env, list(exp_args), dict(machine), nodes - 1))
    return {"workerPoolSpecs": pools, "serviceAccount": service_account}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True, help="training image URI in Artifact Registry")
    parser.add_argument("--repo-url", required=True, help="git URL the job clones")
    parser.add_argument("--git-ref", default="main", help="branch, tag or commit to train")
    parser.add_argument("--service-account", required=True, help="the job's identity; reads and writes the bucket")
    parser.add_argument("--machine-type", default="n1-standard-8")
    parser.add_argument("--gpu-type", help="e.g. NVIDIA_TESLA_T4, NVIDIA_L4 (needs the CUDA image)")
    parser.add_argument("--gpu-count", type=int, default=1, help="GPUs per machine")
    parser.add_argument("--nodes", type=int, default=1, help="machines; above 1, DDP across them")
    parser.add_argument("--exp-name", help="experiment name (default: train-<UTC time>)")
    parser.add_argument("exp_args", nargs="*", help="dvc exp run arguments, e.g. -S lr=3e-5")
    args = parser.parse_args(argv)
    spec = custom_job_spec(
        args.image,
        args.repo_url,
        args.git_ref,
        args.exp_args,
        args.service_account,
        args.machine_type,
        args.gpu_type,
        args.gpu_count,
        args.nodes,
        args.exp_name,
    )
    yaml.safe_dump(spec, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
