"""DVC stage `package`: build the Bento (service code + fine-tuned model) and export it.

The exported archive is a cached DVC out, so `dvc push` / `dvc pull` carry the
Bento too; `bentoml import "$PWD/models/tweet-sentiment-bento.tar"` restores it elsewhere.
Both the Bento's version and the archive's bytes follow from the inputs alone,
so a rerun with the same inputs leaves `dvc.lock` as it was.
"""

import contextlib
import json
import logging
import tempfile
from pathlib import Path

import bentoml
import yaml
from bentoml.exceptions import NotFound

from tweet_sentiment import paths
from tweet_sentiment.bento_archive import input_digest, write_reproducible_archive
from tweet_sentiment.params import Params
from tweet_sentiment.stage import run_stage

log = logging.getLogger("package")
BENTOFILE = Path("bentofile.yaml")


def bento_inputs(bentofile: Path, patterns: list[str]) -> list[Path]:
    """The bentofile and every file its `include` patterns take."""
    return [bentofile, *sorted({file for pattern in patterns for file in Path().glob(pattern) if file.is_file()})]


def directory_bytes(path: str) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def main(params: Params) -> None:
    config = yaml.safe_load(BENTOFILE.read_text())
    version = input_digest(bento_inputs(BENTOFILE, config["include"]))
    tag = f"{config['name']}:{version}"
    with contextlib.suppress(NotFound):
        bentoml.delete(tag)  # same inputs, same Bento: rebuild it rather than fail
    bento = bentoml.bentos.build_bentofile(str(BENTOFILE), build_ctx=".", version=version)
    with tempfile.TemporaryDirectory() as tmp:
        exported = Path(bentoml.export_bento(bento.tag, str(Path(tmp) / "bento.tar")))
        write_reproducible_archive(exported, paths.BENTO_ARCHIVE)
    info = {
        "tag": str(bento.tag),
        "bento_bytes": directory_bytes(bento.path),
        "archive_bytes": paths.BENTO_ARCHIVE.stat().st_size,
    }
    paths.BENTO_INFO.write_text(json.dumps(info, indent=2) + "\n")
    log.info("built %s (%.0f MB), exported to %s", info["tag"], info["bento_bytes"] / 1e6, paths.BENTO_ARCHIVE)


if __name__ == "__main__":
    run_stage(main)
