"""The `package` stage's work: write the model card, build the Bento (service code, models/serving,
its runtime's packages, the card) and export it.

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

from tweet_sentiment.card.model_card import render_model_card
from tweet_sentiment.core import paths
from tweet_sentiment.core.params import Params, ParamsError
from tweet_sentiment.release.bento_archive import input_digest, write_reproducible_archive
from tweet_sentiment.serving.runtimes import ENGINE_PACKAGES, Runtime, read_runtime

log = logging.getLogger("package")
BENTOFILE = Path("bentofile.yaml")
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
EFFECTIVE_BENTOFILE = Path("build/bentofile.yaml")  # bentofile.yaml with the served runtime's packages


def bento_inputs(bentofile: Path, patterns: list[str]) -> list[Path]:
    """The bentofile and every file its `include` patterns take."""
    return [bentofile, *sorted({file for pattern in patterns for file in Path().glob(pattern) if file.is_file()})]


def directory_bytes(path: str) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def with_runtime_packages(config: dict, runtime: Runtime) -> dict:
    """The bentofile's config with the packages of `runtime`'s engine instead of any other engine's.

    The TorchScript trace needs torch, and PyPI's Linux torch pulls gigabytes of
    CUDA libraries: PyTorch's CPU index comes first then.
    """
    engine_names = {requirement.split("==")[0] for packages in ENGINE_PACKAGES.values() for requirement in packages}
    python = dict(config["python"])
    kept = [requirement for requirement in python["packages"] if requirement.split("==")[0] not in engine_names]
    python["packages"] = [*kept, *ENGINE_PACKAGES[runtime.engine]]
    if runtime.engine == "torchscript":
        python["extra_index_url"] = [*python.get("extra_index_url", []), TORCH_CPU_INDEX]
    return config | {"python": python}


def build_bento(params: Params) -> None:
    paths.MODEL_CARD.write_text(render_model_card(), encoding="utf-8")  # before the build, which ships it
    runtime = read_runtime(paths.SERVING)
    config = with_runtime_packages(yaml.safe_load(BENTOFILE.read_text()), runtime)
    EFFECTIVE_BENTOFILE.parent.mkdir(exist_ok=True)
    EFFECTIVE_BENTOFILE.write_text(yaml.safe_dump(config, sort_keys=False))
    inputs = bento_inputs(EFFECTIVE_BENTOFILE, config["include"])
    if paths.MODEL_CARD not in inputs:
        raise ParamsError(f"{BENTOFILE}: its `include` must take {paths.MODEL_CARD}, so that the Bento ships its card")
    version = input_digest(inputs)
    tag = f"{config['name']}:{version}"
    with contextlib.suppress(NotFound):
        bentoml.delete(tag)  # same inputs, same Bento: rebuild it rather than fail
    bento = bentoml.bentos.build_bentofile(str(EFFECTIVE_BENTOFILE), build_ctx=".", version=version)
    log.info("%s runtime, packages %s", runtime.name, config["python"]["packages"])
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
