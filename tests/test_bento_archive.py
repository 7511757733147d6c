"""The Bento archive and version depend on the inputs only, not on when or where they were built."""

import io
import os
import tarfile
from pathlib import Path

import yaml

from tweet_sentiment.release.bento_archive import input_digest, write_reproducible_archive


def export_like_bentoml(directory: Path, target: Path, mtime: int) -> Path:
    """A tar laid out as `bentoml export` writes it, with the given file times."""
    for file in directory.rglob("*"):
        os.utime(file, (mtime, mtime))
    with tarfile.open(target, "w") as archive:
        archive.add(directory, arcname=".")
    return target


def make_bento(directory: Path, creation_time: str) -> Path:
    (directory / "src").mkdir(parents=True)
    (directory / "src/service.py").write_text("print('hi')\n")
    info = {"name": "tweet-sentiment", "version": "abc", "creation_time": creation_time, "labels": {"a": "b"}}
    (directory / "bento.yaml").write_text(yaml.safe_dump(info, sort_keys=False))
    return directory


def test_two_builds_of_the_same_inputs_give_the_same_archive_bytes(tmp_path: Path):
    first = make_bento(tmp_path / "one", "2026-11-27T01:00:00+00:00")
    second = make_bento(tmp_path / "two", "2026-11-28T09:30:00+00:00")
    write_reproducible_archive(export_like_bentoml(first, tmp_path / "1.tar", 1_700_000_000), tmp_path / "a.tar")
    write_reproducible_archive(export_like_bentoml(second, tmp_path / "2.tar", 1_800_000_000), tmp_path / "b.tar")
    assert (tmp_path / "1.tar").read_bytes() != (tmp_path / "2.tar").read_bytes()
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    with tarfile.open(tmp_path / "a.tar") as archive:
        assert archive.extractfile("./src/service.py").read() == b"print('hi')\n"
        info = yaml.safe_load(io.BytesIO(archive.extractfile("./bento.yaml").read()))
        assert {m.mtime for m in archive.getmembers()} == {0}
    assert info["creation_time"] == "1970-01-01T00:00:00+00:00" and info["labels"] == {"a": "b"}


def test_file_modes_from_a_checkout_or_a_training_run_give_the_same_archive(tmp_path: Path):
    """save_pretrained leaves the weights 0600, `dvc checkout` 0644: the same model either way."""
    archives = []
    for mode in (0o600, 0o644):
        bento = make_bento(tmp_path / f"bento-{mode:o}", "2026-11-27T01:00:00+00:00")
        (bento / "src/service.py").chmod(mode)
        (bento / "src/entrypoint.sh").write_text("#!/bin/sh\n")
        (bento / "src/entrypoint.sh").chmod(0o700)
        exported = export_like_bentoml(bento, tmp_path / f"{mode:o}.tar", 1)
        write_reproducible_archive(exported, tmp_path / f"out-{mode:o}.tar")
        archives.append((tmp_path / f"out-{mode:o}.tar").read_bytes())
    assert archives[0] == archives[1]
    with tarfile.open(tmp_path / "out-600.tar") as archive:
        assert archive.getmember("./src/entrypoint.sh").mode == 0o755
        assert archive.getmember("./src/service.py").mode == 0o644


def test_source_date_epoch_sets_the_recorded_time(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    bento = make_bento(tmp_path / "bento", "2026-11-27T01:00:00+00:00")
    write_reproducible_archive(export_like_bentoml(bento, tmp_path / "x.tar", 1), tmp_path / "out.tar")
    with tarfile.open(tmp_path / "out.tar") as archive:
        info = yaml.safe_load(archive.extractfile("./bento.yaml"))
        assert info["creation_time"] == "2026-01-01T00:00:00+00:00"
        assert {m.mtime for m in archive.getmembers()} == {1767225600}


def test_input_digest_follows_names_and_bytes(tmp_path: Path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("model")
    b.write_text("service")
    digest = input_digest([a, b])
    assert input_digest([a, b]) == digest and len(digest) == 16
    b.write_text("service v2")
    assert input_digest([a, b]) != digest
    assert input_digest([b, a]) != input_digest([a, b])
