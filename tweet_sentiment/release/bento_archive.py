"""A Bento archive whose bytes depend only on what went into it.

`bentoml export` writes file times, owners and the build's `creation_time`
into the archive, so two builds of the same inputs differ and `dvc.lock`
changes on every clean rerun. Here the Bento's version is a digest of its
inputs, and the archive is rewritten with those fields fixed, in the
reproducible-builds convention (`SOURCE_DATE_EPOCH`, default 0).
"""

import hashlib
import io
import os
import tarfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import yaml

BENTO_YAML = "bento.yaml"


def input_digest(files: Iterable[Path], length: int = 16) -> str:
    """A digest of file names and contents: the same inputs give the same Bento version."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.as_posix()}\0{file.stat().st_size}\0".encode())
        with file.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:length]


def source_date_epoch() -> int:
    return int(os.environ.get("SOURCE_DATE_EPOCH", "0"))


def _fixed_bento_yaml(content: bytes, epoch: int) -> bytes:
    info = yaml.safe_load(content)
    info["creation_time"] = datetime.fromtimestamp(epoch, UTC).isoformat()
    return yaml.safe_dump(info, sort_keys=False).encode()


def _normal_mode(member: tarfile.TarInfo) -> int:
    """0755 for directories and executables, else 0644.

    The same model file is 0600 when `finetune` wrote it and 0644 when DVC
    checked it out; the archive must not tell the two apart.
    """
    return 0o755 if member.isdir() or member.mode & 0o111 else 0o644


def write_reproducible_archive(exported: Path, target: Path) -> None:
    """Copy a `bentoml export` tar to `target`: sorted entries, fixed times, owners and modes."""
    epoch = source_date_epoch()
    partial = target.with_name(target.name + ".partial")
    with tarfile.open(exported) as source, tarfile.open(partial, "w", format=tarfile.GNU_FORMAT) as archive:
        for member in sorted(source.getmembers(), key=lambda m: m.name):
            content = source.extractfile(member) if member.isfile() else None
            if member.isfile() and Path(member.name) == Path(BENTO_YAML):  # the top-level one
                data = _fixed_bento_yaml(content.read(), epoch)
                member.size = len(data)
                content = io.BytesIO(data)
            member.mtime, member.uid, member.gid, member.uname, member.gname = epoch, 0, 0, "", ""
            member.mode = _normal_mode(member)
            archive.addfile(member, content)
    partial.replace(target)
