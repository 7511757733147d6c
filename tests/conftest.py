"""Shared fixtures: the real repository, cloned and run with quick params.

End-to-end tests work on a `git clone` of the committed HEAD, so they see what
a new user sees (commit before running them locally).
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
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


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections while the test runs (bound, never listening).

    Pointing a URL at it makes "the server is unreachable" deterministic, online or offline.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


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


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator:
    """A `gcp-storage-emulator` on 127.0.0.1 for one test (tests/test_remote.py's Emulator)."""
    from tests.test_remote import Emulator  # that module imports this one

    server = Emulator(tmp_path / "gcs")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session", autouse=True)
def isolated_temp_files(tmp_path_factory) -> Path:
    """Temporary files of the suite and of every command it starts go under pytest's basetemp.

    A stage that a test kills cannot clean its `tempfile` folders (an ONNX export is 90 MB);
    here they go with the basetemp, which pytest removes after a passing run (pyproject.toml).
    """
    folder = tmp_path_factory.mktemp("tmp")
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = None  # gettempdir() caches its first answer; let it read TMPDIR again
    return folder


@pytest.fixture(scope="session", autouse=True)
def isolated_bento_store(tmp_path_factory) -> Path:
    """Bentos built by tests go to a throwaway store, not the user's ~/bentoml."""
    store = tmp_path_factory.mktemp("bentoml")
    os.environ["BENTOML_HOME"] = str(store)
    return store


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """A save_pretrained classifier dir (untrained head) as `finetune` writes it."""
    import torch

    from tweet_sentiment.train.models import EMBEDDED_MODEL_ID, load_classifier, load_tokenizer

    path = tmp_path_factory.mktemp("model")
    torch.manual_seed(0)  # the new head's weights: the same model in every run
    load_classifier(EMBEDDED_MODEL_ID).save_pretrained(path)
    load_tokenizer(EMBEDDED_MODEL_ID).save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def quick_pipeline(tmp_path_factory) -> Path:
    """A clone whose pipeline ran end to end with quick params (about a minute).

    Its results are committed, so HEAD is the quick baseline that experiments
    are compared against.
    """
    repo = clone_repo(tmp_path_factory.mktemp("quick") / "repo")
    set_params(repo, **QUICK_PARAMS)
    run(["dvc", "repro"], cwd=repo, timeout=900)
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "--quiet", "-m", "quick baseline"], cwd=repo)
    shutil.copytree(repo / "models/finetuned", repo.parent / "model")
    return repo


@pytest.fixture(scope="session")
def quick_model(quick_pipeline: Path) -> Path:
    """A pristine copy of the quick pipeline's model, safe from tests that modify the clone."""
    return quick_pipeline.parent / "model"


@pytest.fixture(scope="session")
def service(quick_model: Path, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """One `bentoml serve` on the quick model for every module that needs a plain server: its URL and log file.

    It logs to a file (an unread pipe would fill and block it) and keeps its own
    BENTOML_HOME, so its /metrics are its alone.
    """
    from tests.test_service import serving  # that module imports this one

    home = tmp_path_factory.mktemp("service")
    log = home / "server.log"
    with serving(quick_model, log, BENTOML_HOME=str(home / "bentoml")) as url:
        yield url, log


@pytest.fixture
def params_file(tmp_path: Path) -> Path:
    """A copy of the repository's params.yaml to edit."""
    return Path(shutil.copy(REPO_PARAMS, tmp_path / "params.yaml"))


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in a file, which must hold it."""
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
