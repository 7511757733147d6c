"""DVC stage `package`: build the Bento (service code + fine-tuned model) and export it.

The exported archive is a cached DVC out, so `dvc push` / `dvc pull` carry the
Bento too; `bentoml import models/tweet-sentiment.bento` restores it elsewhere.
"""

import json
import logging
from pathlib import Path

import bentoml

from tweet_sentiment import paths
from tweet_sentiment.params import Params
from tweet_sentiment.stage import run_stage

log = logging.getLogger("package")


def directory_bytes(path: str) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def main(params: Params) -> None:
    bento = bentoml.bentos.build_bentofile("bentofile.yaml", build_ctx=".")
    paths.BENTO_ARCHIVE.unlink(missing_ok=True)
    bentoml.export_bento(bento.tag, str(paths.BENTO_ARCHIVE))
    info = {
        "tag": str(bento.tag),
        "bento_bytes": directory_bytes(bento.path),
        "archive_bytes": paths.BENTO_ARCHIVE.stat().st_size,
    }
    paths.BENTO_INFO.write_text(json.dumps(info, indent=2) + "\n")
    log.info("built %s (%.0f MB), exported to %s", info["tag"], info["bento_bytes"] / 1e6, paths.BENTO_ARCHIVE)


if __name__ == "__main__":
    run_stage(main)
