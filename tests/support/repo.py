"""The real repository as tests use it: its path, clones with params set, commands run with this
interpreter's tools, and small HTTP helpers."""

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


REPO_PARAMS = REPO / "params.yaml"


# Enough training for clear-cut tweets to come out right, still about a minute.
QUICK_PARAMS = {"max_train_samples": 2000, "epochs": 1, "max_eval_samples": 256, "monitor.reference_size": 2000}


# For experiments that test DVC rather than the `optimize` stage: one candidate runtime, no int8
# calibration, instead of building and timing all seven (minutes per experiment on 2 cores).
ONE_CANDIDATE = ["-S", "optimize.candidates=[openvino-bf16]"]


# Tweets whose sentiment no reasonable model gets wrong: the quick model must get them right.
CLEAR_CASES = {
    "I love this so much, best day ever! :)": "positive",
    "This is wonderful news, congratulations to everyone!": "positive",
    "I hate this, worst service ever. Never again.": "negative",
    "So angry and disappointed with this terrible phone": "negative",
}


def tool_env(**extra: str) -> dict[str, str]:
    """Environment whose `python`, `dvc` and `bentoml` are this interpreter's."""
    env = os.environ | extra
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


def run(args: list[str], cwd: Path, timeout: float = 600, check: bool = True, **env: str):
    """Run a real command; on failure show its output in the assertion."""
    result = subprocess.run(args, cwd=cwd, env=tool_env(**env), capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(url: str, body: bytes | None = None, method: str = "POST") -> tuple[int, dict | list]:
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def clone_repo(target: Path) -> Path:
    """A fresh clone of the committed repository, ready for `dvc exp run`."""
    run(["git", "clone", "--quiet", str(REPO), str(target)], cwd=target.parent)
    run(["git", "config", "user.name", "tests"], cwd=target)
    run(["git", "config", "user.email", "tests@example.invalid"], cwd=target)
    return target


def set_params(repo: Path, **values) -> None:
    """Edit params (`section.name` for nested ones) in a clone's params.yaml and commit them."""
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for name, value in values.items():
        *sections, key = name.split(".")
        target = params
        for section in sections:
            target = target[section]
        target[key] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "commit", "--quiet", "-am", f"params: {values}"], cwd=repo)


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in a file, which must hold it."""
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
