"""The service's OCI image, built without a Docker engine and run with `$PORT` set.

Uses the Bento that the quick pipeline's `package` stage built, the scripts a
user runs (deploy/build_image.sh, deploy/daemonless/run_image.sh), buildah and podman.
"""

import json
import os
import urllib.parse
from pathlib import Path

import pytest

from tests.support.repo import CLEAR_CASES, call, free_port, run
from tweet_sentiment.core.labels import LABELS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="buildah/podman with vfs storage and chroot isolation need root"),
]


def test_container_serves_predict_on_port(quick_pipeline: Path):
    repo = quick_pipeline
    bento_tag = json.loads((repo / "models/bento.json").read_text())["tag"]
    image = "tweet-sentiment:ci-test"
    run(["bash", "deploy/build_image.sh", bento_tag, image], cwd=repo, timeout=2400, FORCE="1")
    port, name = free_port(), "tweet-sentiment-ci-test"
    run(["bash", "deploy/daemonless/run_image.sh", image], cwd=repo, timeout=600, PORT=str(port), NAME=name)
    try:
        body = json.dumps({"tweets": list(CLEAR_CASES)})
        status, results = call(f"http://127.0.0.1:{port}/predict", body.encode())
        assert status == 200, results
        assert [r["pred_label"] for r in results] == list(CLEAR_CASES.values())
        tweet, label = next(iter(CLEAR_CASES.items()))
        query = urllib.parse.urlencode({"tweet": tweet})
        status, legacy = call(f"http://127.0.0.1:{port}/predict/?{query}", method="GET")
        assert status == 200 and legacy == {"pred_id": str(LABELS.index(label)), "pred_label": label}, legacy
    finally:
        run(["bash", "deploy/daemonless/run_image.sh", "--stop", name], cwd=repo, check=False)
