"""The Google Cloud Storage DVC remote, proven against a local GCS emulator.

Every slow test copies the quick pipeline's clone, points its `gcs` remote (the
committed remote, made the default) at a `gcp-storage-emulator` on 127.0.0.1 through
`.dvc/config.local`, and drives the real `dvc` CLI. Nothing leaves 127.0.0.1:
anonymous login skips Google's credential discovery, and the environment below
keeps the few code paths that would still reach out (gcsfs's gRPC bucket-type
probe, google-auth's metadata server check, gcsfs's raw-token lookup) local.

After every fault the local cache is checked: no object lost, each one's md5
still equal to its name (DVC 3 names `.dir` manifests by the md5 of their bytes
too, plus the `.dir` suffix).
"""

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.support.repo import CLEAR_CASES, REPO, run, tool_env
from tests.support.storage import BUCKET, LOCALHOST, REMOTE, REMOTE_ENV, dvc

PIPELINE_OUTPUTS = {"data/prepared", "data/tokenized", "models/finetuned"}  # at least these
TARGET_S = 30.0  # the budget for a push or a pull of the pipeline's outputs


CACHE_NAME = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{30}(\.dir)?$")


# --- helpers -----------------------------------------------------------------------------------


def configure_remote(repo: Path, endpoint: str, bucket: str = BUCKET, anonymous: bool = True) -> None:
    """Point the committed `gcs` remote at an endpoint and make it the default, in .dvc/config.local only."""
    dvc(repo, "remote", "add", "--local", "--default", "--force", REMOTE, f"gs://{bucket}/tweet-sentiment")
    dvc(repo, "remote", "modify", "--local", REMOTE, "endpointurl", endpoint)
    dvc(repo, "remote", "modify", "--local", REMOTE, "allow_anonymous_login", str(anonymous).lower())


def cache_objects(repo: Path) -> dict[str, str]:
    """`XX/YYYY[.dir]` -> md5 of the bytes, for every object in the local cache."""
    root = repo / ".dvc" / "cache" / "files" / "md5"
    objects = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest = hashlib.md5()
        with path.open("rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
        objects[path.relative_to(root).as_posix()] = digest.hexdigest()
    return objects


def assert_cache_intact(repo: Path, before: dict[str, str]) -> None:
    """No object lost, no stray file, and each object's md5 still equals its name."""
    after = cache_objects(repo)
    assert set(before) <= set(after), f"cache objects lost: {sorted(set(before) - set(after))}"
    for name, md5 in after.items():
        assert CACHE_NAME.match(name), f"unexpected file in the cache: {name}"
        assert name.removesuffix(".dir").replace("/", "") == md5, f"corrupted cache object: {name}"


def cached_outputs(repo: Path) -> set[str]:
    """Paths of the stage outs in dvc.yaml that live in the DVC cache (not `cache: false`)."""
    outputs = set()
    for stage in yaml.safe_load((repo / "dvc.yaml").read_text())["stages"].values():
        for out in stage.get("outs", []):
            path, options = (out, {}) if isinstance(out, str) else next(iter(out.items()))
            if (options or {}).get("cache", True):
                outputs.add(path)
    assert outputs >= PIPELINE_OUTPUTS
    return outputs


def pipeline_objects(repo: Path) -> set[str]:
    """Cache names of the cached outs recorded in dvc.lock: what `dvc push` sends.

    (The local cache may hold more: the run cache keeps copies of uncached
    metrics too, which `dvc push` leaves out unless given --run-cache.)
    """
    root = repo / ".dvc" / "cache" / "files" / "md5"
    outputs = cached_outputs(repo)
    names = set()
    for stage in yaml.safe_load((repo / "dvc.lock").read_text())["stages"].values():
        for out in stage.get("outs", []):
            if out["path"] not in outputs:
                continue
            md5 = out["md5"]
            names.add(f"{md5[:2]}/{md5[2:]}")
            if md5.endswith(".dir"):
                for entry in json.loads((root / md5[:2] / md5[2:]).read_text()):
                    names.add(f"{entry['md5'][:2]}/{entry['md5'][2:]}")
    return names


def remote_status(repo: Path) -> dict:
    """`dvc status -c` as JSON: {} when the remote holds everything the workspace uses."""
    return json.loads(dvc(repo, "status", "-c", "--json").stdout or "{}")


def assert_retry_completes_the_push(repo: Path, before: dict[str, str]) -> None:
    """After a fault is fixed, a plain `dvc push` completes and the cache is untouched."""
    dvc(repo, "push")
    assert remote_status(repo) == {}
    assert_cache_intact(repo, before)


def delete_local_copies(repo: Path) -> None:
    """Remove the cache and every cached output, as on a machine that has only git."""
    shutil.rmtree(repo / ".dvc" / "cache")
    for out in cached_outputs(repo):
        path = repo / out
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def assert_model_predicts(repo: Path) -> None:
    """The restored model gets clear-cut tweets right (a lost or garbled head would not)."""
    script = (
        "import json, sys; from tweet_sentiment.serving.predictor import Predictor; "
        "print(json.dumps(Predictor('models/finetuned').predict(json.loads(sys.argv[1]))))"
    )
    args = [sys.executable, "-c", script, json.dumps(list(CLEAR_CASES))]
    result = run(args, cwd=repo, timeout=300, HF_HUB_OFFLINE="1")
    predictions = json.loads(result.stdout.strip().splitlines()[-1])
    assert [p["pred_label"] for p in predictions] == list(CLEAR_CASES.values())


# --- the emulator and two test doubles ------------------------------------------------------------


class StallingProxy:
    """A TCP relay to the emulator that stops relaying uploads after `limit` bytes.

    The push it carries then hangs mid-transfer, whatever the order of uploads,
    so the test can kill it at a known point instead of racing a timer.
    """

    def __init__(self, upstream_port: int, limit: int) -> None:
        self.upstream_port = upstream_port
        self.limit = limit
        self.relayed = 0
        self.stalled = threading.Event()
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server((LOCALHOST, 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
                upstream = socket.create_connection((LOCALHOST, self.upstream_port))
            except OSError:
                return
            with self._lock:
                self._sockets += [client, upstream]
            if self._closing.is_set():
                self.close()
                return
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, upload: bool) -> None:
        try:
            while data := source.recv(64 * 1024):
                if upload:
                    with self._lock:
                        allowed = max(0, min(len(data), self.limit - self.relayed))
                        self.relayed += allowed
                    if allowed < len(data):
                        sink.sendall(data[:allowed])
                        self.stalled.set()
                        self._closing.wait()  # hold the rest back until closed
                        return
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Drop every connection: shutdown() first, as close() alone sends no FIN
        while a relay thread is still blocked in recv() on that socket (and the
        single-threaded emulator would wait forever for the rest of a body)."""
        self._closing.set()
        with self._lock:
            sockets, self._sockets = [self._listener, *self._sockets], []
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with suppress(OSError):
                sock.close()


class AuthRejectingServer:
    """Answers every request as GCS answers a bad bearer token: 401 Invalid Credentials.

    The emulator accepts any credentials, so this stands in for GCS's auth
    check, and records the Authorization headers the client sent.
    """

    BODY = json.dumps({"error": {"code": 401, "message": "Invalid Credentials", "errors": [
        {"message": "Invalid Credentials", "domain": "global", "reason": "authError",
         "locationType": "header", "location": "Authorization"}]}}).encode()  # fmt: skip

    def __init__(self) -> None:
        self.authorizations: list[str | None] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _reject(self) -> None:
                outer.authorizations.append(self.headers.get("Authorization"))
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(401)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(outer.BODY)))
                self.end_headers()
                self.wfile.write(outer.BODY)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _reject

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer((LOCALHOST, 0), Handler)
        self.endpoint = f"http://{LOCALHOST}:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def repo(quick_pipeline, tmp_path, emulator) -> Path:
    """A private copy of the quick pipeline's clone, its remote on the emulator.

    The copy has no git remote, so nothing here can push to the source repo.
    """
    copy = tmp_path / "repo"
    shutil.copytree(quick_pipeline, copy, symlinks=True)
    run(["git", "remote", "remove", "origin"], cwd=copy, check=False)
    (copy / ".dvc" / "config.local").unlink(missing_ok=True)
    configure_remote(copy, emulator.endpoint)
    return copy


# --- fast checks ---------------------------------------------------------------------------------


def test_gcs_remote_is_configured_and_one_command_makes_it_the_default(tmp_path):
    from configobj import ConfigObj

    config = ConfigObj(str(REPO / ".dvc" / "config"))
    assert config["core"]["autostage"] == "true"
    assert config[f'remote "{REMOTE}"']["url"] == "gs://YOUR-BUCKET/tweet-sentiment"
    # Not the default until the bucket is real: DVC would otherwise probe the
    # placeholder bucket (minutes of retries offline) on a fresh clone's first exp run.
    assert "remote" not in config["core"]
    shutil.copytree(REPO / ".dvc", tmp_path / ".dvc", ignore=shutil.ignore_patterns("cache", "tmp"))
    run(["git", "init", "--quiet"], cwd=tmp_path)
    dvc(tmp_path, "remote", "add", "--default", "--force", REMOTE, "gs://my-bucket/tweet-sentiment")
    config = ConfigObj(str(tmp_path / ".dvc" / "config"))
    assert config["core"]["remote"] == REMOTE
    assert config[f'remote "{REMOTE}"']["url"] == "gs://my-bucket/tweet-sentiment"


def test_missing_key_file_is_taken_for_a_raw_token(monkeypatch, tmp_path):
    """gcsfs does not check that `credentialpath` exists: a missing file is sent on
    as a bearer token (after a token-info lookup at Google, faked here), so a typo
    shows up as 'Provided token is either not valid, or expired.' or, with
    FETCH_RAW_TOKEN_EXPIRY=false, as GCS's 401 'Invalid Credentials'."""
    from gcsfs import credentials

    missing = str(tmp_path / "missing-key.json")
    calls = []

    class Rejected:
        status_code = 400

    def fake_get(url, params, timeout):
        calls.append((url, params))
        return Rejected()

    monkeypatch.delenv("FETCH_RAW_TOKEN_EXPIRY", raising=False)
    monkeypatch.setattr(credentials.requests, "get", fake_get)
    with pytest.raises(ValueError, match="not valid, or expired"):
        credentials.GoogleCredentials("project", "full_control", missing)
    assert calls == [("https://oauth2.googleapis.com/tokeninfo", {"access_token": missing})]


# --- round trips ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_push_then_pull_restores_outputs_that_predict(repo, record_property):
    before = cache_objects(repo)
    assert_cache_intact(repo, before)
    pushed = {name: before[name] for name in pipeline_objects(repo)}
    size_mb = sum(f.stat().st_size for f in (repo / ".dvc" / "cache" / "files").rglob("*") if f.is_file()) / 1e6
    assert remote_status(repo), "an empty remote must differ from the workspace"

    push_s, push = timed(dvc, repo, "push")
    assert "pushed" in push.stdout
    assert remote_status(repo) == {}

    delete_local_copies(repo)
    pull_s, _ = timed(dvc, repo, "pull")
    assert cache_objects(repo) == pushed
    assert_cache_intact(repo, pushed)
    assert remote_status(repo) == {}
    assert json.loads(dvc(repo, "status", "--json").stdout or "{}") == {}
    assert_model_predicts(repo)

    # Reported, not asserted: a wall-clock bound depends on the machine and its load.
    # The quick outputs are full size: the model's size does not depend on the
    # training params, and tokenize/download always cover every tweet.
    record_property("push_s", round(push_s, 2))
    record_property("pull_s", round(pull_s, 2))
    print(f"\n{size_mb:.0f} MB: dvc push {push_s:.1f} s, dvc pull {pull_s:.1f} s (target {TARGET_S:.0f} s each)")


@pytest.mark.slow
def test_experiment_travels_through_git_and_gcs(repo, emulator, tmp_path):
    origin = tmp_path / "origin.git"
    run(["git", "init", "--quiet", "--bare", str(origin)], cwd=tmp_path)
    run(["git", "remote", "add", "origin", str(origin)], cwd=repo)
    run(["git", "push", "--quiet", "origin", "HEAD:refs/heads/main"], cwd=repo)

    # Only the evaluate stage reruns: quick, and its inputs are cached outputs.
    dvc(repo, "exp", "run", "--name", "remote-exp", "-S", "evaluate.batch_size=32", timeout=600)
    dvc(repo, "exp", "push", "origin", "remote-exp")  # git refs to origin, data to gcs

    fresh = tmp_path / "fresh"
    run(["git", "clone", "--quiet", "--branch", "main", str(origin), str(fresh)], cwd=tmp_path)
    configure_remote(fresh, emulator.endpoint)
    dvc(fresh, "exp", "pull", "origin", "remote-exp")
    assert "remote-exp" in dvc(fresh, "exp", "list", "--name-only").stdout
    dvc(fresh, "exp", "apply", "remote-exp")

    assert yaml.safe_load((fresh / "params.yaml").read_text())["evaluate"]["batch_size"] == 32
    assert_cache_intact(fresh, {})
    assert json.loads(dvc(fresh, "status", "--json").stdout or "{}") == {}
    assert remote_status(fresh) == {}
    assert_model_predicts(fresh)


# --- faults --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_push_fails_clearly_while_the_remote_is_down_then_a_retry_succeeds(repo, emulator):
    before = cache_objects(repo)
    emulator.stop()

    failed = dvc(repo, "push", check=False)  # gcsfs retries ~6 times first (~30 s)
    assert failed.returncode != 0
    assert f"Cannot connect to host {LOCALHOST}:{emulator.port}" in failed.stderr
    assert_cache_intact(repo, before)

    emulator.start()  # same port, same stored objects
    assert_retry_completes_the_push(repo, before)


@pytest.mark.slow
def test_push_to_a_missing_bucket_fails_clearly_then_the_fixed_url_works(repo, emulator):
    before = cache_objects(repo)
    configure_remote(repo, emulator.endpoint, bucket="no-such-bucket-here")

    failed = dvc(repo, "push", check=False)
    assert failed.returncode != 0
    assert "no-such-bucket-here" in failed.stderr
    assert_cache_intact(repo, before)

    configure_remote(repo, emulator.endpoint)
    assert_retry_completes_the_push(repo, before)


@pytest.mark.slow
def test_push_with_a_missing_key_file_fails_clearly_then_fixed_credentials_work(repo, emulator, tmp_path):
    before = cache_objects(repo)
    missing = tmp_path / "no-such-key.json"
    gate = AuthRejectingServer()
    try:
        configure_remote(repo, gate.endpoint, anonymous=False)
        dvc(repo, "remote", "modify", "--local", REMOTE, "credentialpath", str(missing))
        failed = dvc(repo, "push", check=False)  # gcsfs retries a 401 too (~20 s)
    finally:
        gate.close()
    assert failed.returncode != 0
    assert "Invalid Credentials" in failed.stderr
    assert gate.authorizations and set(gate.authorizations) == {f"Bearer {missing}"}
    assert_cache_intact(repo, before)

    dvc(repo, "remote", "modify", "--local", "--unset", REMOTE, "credentialpath")
    configure_remote(repo, emulator.endpoint)
    assert_retry_completes_the_push(repo, before)


@pytest.mark.slow
def test_interrupted_push_loses_nothing_and_a_retry_completes_it(repo, emulator):
    before = cache_objects(repo)
    pushed = {name: before[name] for name in pipeline_objects(repo)}
    # A quarter of what the push sends (the cache may hold more: other runs' objects, the run cache)
    root = repo / ".dvc" / "cache" / "files" / "md5"
    total = sum((root / name).stat().st_size for name in pushed)
    proxy = StallingProxy(emulator.port, limit=total // 4)
    configure_remote(repo, proxy.endpoint)
    push = subprocess.Popen(
        ["dvc", "push"], cwd=repo, env=tool_env(**REMOTE_ENV), start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        stalled = proxy.stalled.wait(timeout=120)
        still_running = push.poll() is None
    finally:
        if push.poll() is None:
            os.killpg(push.pid, signal.SIGKILL)
        output = push.communicate(timeout=30)[0]
        proxy.close()
    assert stalled and still_running, f"push was not caught mid-transfer:\n{output}"
    assert push.returncode == -signal.SIGKILL
    assert_cache_intact(repo, before)

    configure_remote(repo, emulator.endpoint)
    assert remote_status(repo), "a push cut at a quarter cannot have sent everything"
    assert_retry_completes_the_push(repo, before)

    delete_local_copies(repo)  # what the remote now holds must be whole
    dvc(repo, "pull")
    assert cache_objects(repo) == pushed
    assert_cache_intact(repo, pushed)
