"""A Google Cloud Storage emulator (`gcp-storage-emulator`, strict about cut uploads) and DVC pointed at it."""

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.repo import free_port, run, tool_env

LOCALHOST = "127.0.0.1"


BUCKET = "tweet-sentiment-ci"


REMOTE = "gcs"


# Environment of every dvc command here.
REMOTE_ENV = {
    # gcsfs >= 2025.x swaps in ExtendedGcsFileSystem, which first asks for the
    # bucket's storage layout over gRPC/TLS; against a plain-HTTP emulator each
    # call waits 60 s before falling back. Plain GCSFileSystem is what we test.
    "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
    # A credentialpath that is not a file is taken as a raw access token, whose
    # expiry gcsfs would look up at oauth2.googleapis.com: keep that offline.
    "FETCH_RAW_TOKEN_EXPIRY": "false",
    # Never probe the GCE metadata server (and if anything did, probe nowhere).
    "NO_GCE_CHECK": "true",
    "GCE_METADATA_HOST": f"{LOCALHOST}:9",
    "GCE_METADATA_IP": f"{LOCALHOST}:9",
    "NO_PROXY": f"{LOCALHOST},localhost",
    "no_proxy": f"{LOCALHOST},localhost",
    "DVC_NO_ANALYTICS": "1",
}


NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def dvc(repo: Path, *args: str, check: bool = True, timeout: float = 180):
    return run(["dvc", *args], cwd=repo, check=check, timeout=timeout, **REMOTE_ENV)


STRICT_EMULATOR = Path(__file__).with_name("strict_gcs_emulator.py")  # stores no upload cut short, as GCS


class Emulator:
    """`gcp-storage-emulator` as a subprocess on 127.0.0.1, storing under a folder.

    Stopping and starting again keeps the port and the stored objects, like a
    real remote that went away and came back.
    """

    def __init__(self, data_dir: Path, bucket: str = BUCKET) -> None:
        self.data_dir = data_dir
        self.bucket = bucket
        self.port: int | None = None
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def start(self) -> None:
        fixed_port = self.port is not None
        for _ in range(1 if fixed_port else 5):
            self.port = self.port if fixed_port else free_port()
            if self._try_start():
                return
            self.stop()
        raise RuntimeError(f"gcp-storage-emulator did not start on {self.endpoint}")

    def _try_start(self) -> bool:
        command = [sys.executable, str(STRICT_EMULATOR), "--data-dir", str(self.data_dir),
                   "start", "--host", LOCALHOST, "--port", str(self.port),
                   "--default-bucket", self.bucket, "--quiet"]  # fmt: skip
        self.process = subprocess.Popen(command, env=tool_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False  # e.g. the port was taken meanwhile
            try:
                url = f"{self.endpoint}/storage/v1/b/{self.bucket}"
                with NO_PROXY_OPENER.open(url, timeout=2) as response:
                    return response.status == 200
            except OSError:
                time.sleep(0.1)
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
