"""DVC stage `package`: build the Bento (service code + fine-tuned model) and export it.

The exported archive is a cached DVC out, so `dvc push` / `dvc pull` carry the
Bento too; `bentoml import models/tweet-sentiment-bento.tar` restores it elsewhere.
"""

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import bentoml

from tweet_sentiment import paths
from tweet_sentiment.params import Params
from tweet_sentiment.stage import run_stage

log = logging.getLogger("package")


TORCH_WHEEL = "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"  # as named in bentofile.yaml
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def fetch_torch_wheel(target: Path) -> None:
    """Put the CPU torch wheel where bentofile.yaml expects it.

    Taken from pip's configured local wheel dirs when present (offline machines),
    else downloaded from PyTorch's CPU index.
    """
    if (target / TORCH_WHEEL).is_file():
        return
    target.mkdir(parents=True, exist_ok=True)
    config = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", "global.find-links"], capture_output=True, text=True
    )
    for directory in config.stdout.split():
        if (local := Path(directory) / TORCH_WHEEL).is_file():
            shutil.copy(local, target / TORCH_WHEEL)
            return
    log.info("downloading %s from %s", TORCH_WHEEL, TORCH_CPU_INDEX)
    download = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.11"]
    download += ["--platform", "manylinux_2_28_x86_64", "--index-url", TORCH_CPU_INDEX, "-d", str(target)]
    subprocess.run([*download, "torch==2.13.0+cpu"], check=True, timeout=900)


def directory_bytes(path: str) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def main(params: Params) -> None:
    fetch_torch_wheel(paths.WHEELS)
    bento = bentoml.bentos.build_bentofile("bentofile.yaml", build_ctx=".")
    paths.BENTO_ARCHIVE.unlink(missing_ok=True)
    bentoml.export_bento(bento.tag, str(paths.BENTO_ARCHIVE.resolve()))
    info = {
        "tag": str(bento.tag),
        "bento_bytes": directory_bytes(bento.path),
        "archive_bytes": paths.BENTO_ARCHIVE.stat().st_size,
    }
    paths.BENTO_INFO.write_text(json.dumps(info, indent=2) + "\n")
    log.info("built %s (%.0f MB), exported to %s", info["tag"], info["bento_bytes"] / 1e6, paths.BENTO_ARCHIVE)


if __name__ == "__main__":
    run_stage(main)
