"""Shared fixtures: the real repository, cloned and run with quick params.

End-to-end tests work on a `git clone` of the committed HEAD, so they see what
a new user sees (commit before running them locally).
"""

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.repo import (
    QUICK_PARAMS,
    REPO_PARAMS,
    clone_repo,
    run,
    set_params,
)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections while the test runs (bound, never listening).

    Pointing a URL at it makes "the server is unreachable" deterministic, online or offline.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator:
    """A `gcp-storage-emulator` on 127.0.0.1 for one test (tests/support/storage.py)."""
    from tests.support.storage import Emulator

    server = Emulator(tmp_path / "gcs")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def registry_repo(tmp_path: Path) -> Path:
    """A git repository with this project's `artifacts:` section and `.gto`, and no version yet."""
    from tests.support.registry import init_registry_repo

    return init_registry_repo(tmp_path / "registry")


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
    from tests.support.server import serving

    home = tmp_path_factory.mktemp("service")
    log = home / "server.log"
    with serving(quick_model, log, BENTOML_HOME=str(home / "bentoml")) as url:
        yield url, log


@pytest.fixture
def params_file(tmp_path: Path) -> Path:
    """A copy of the repository's params.yaml to edit."""
    return Path(shutil.copy(REPO_PARAMS, tmp_path / "params.yaml"))
