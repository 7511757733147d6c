"""Static check: files a user or the service hands the product are read only through `tweet_sentiment/inputs/`.

An AST walk over `tweet_sentiment/` (less `inputs/`), `stages/` and `service.py`
finds every call that opens or parses a file or a JSON text: pandas' and
pyarrow's readers, `json.load(s)`, `gzip`/`bz2`/`lzma`/`fsspec`/`tarfile.open`,
`zipfile.ZipFile`, the builtin `open`, any `.open(...)`, and `Path.read_text`/
`read_bytes` (import aliases resolved: `pd`, `pq`, `from json import loads`). A call
that opens in a write-only mode (a literal `"w"`, `"wb"`, `"a"`, `"x"`...) reads
nothing and is not listed. Each other call must be in `ALLOWED`, keyed by
`file:function:call` (so it survives lines moving), with why it is not a user's
or a log file; an entry that matches no call any more fails the test too, so
the list cannot rot.
"""

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("tweet_sentiment", "stages", "service.py")
INPUT_LAYER = "tweet_sentiment/inputs"

# Fully qualified callables that read a file or parse JSON text.
READERS = {
    "pandas.read_csv",
    "pandas.read_parquet",
    "pandas.read_json",
    "pandas.read_table",
    "pyarrow.parquet.read_table",
    "pyarrow.parquet.ParquetFile",
    "json.load",
    "json.loads",
    "gzip.open",
    "bz2.open",
    "lzma.open",
    "fsspec.open",
    "open",  # the builtin
    "io.open",
    "codecs.open",
    "tarfile.open",
    "zipfile.ZipFile",
}
# Methods that read a file whatever their receiver is (a Path, an fsspec filesystem, a zip archive...).
READING_METHODS = {"open", "read_text", "read_bytes", "read_table", "ParquetFile"}
_MODE = re.compile(r"[rwaxbtU+]{1,4}")

PREPARED = "data/prepared/*.csv: the pipeline's own `prepare` output, written by pandas"
ALLOWED = {
    # The pipeline's own outputs (dvc stages), read back by later stages.
    "stages/reference.py:main:pandas.read_csv": PREPARED,
    "tweet_sentiment/train/distillation/run.py:read_prepared:pandas.read_csv": PREPARED,
    "stages/tokenize.py:main:pandas.read_csv": PREPARED,
    "tweet_sentiment/monitor/drift/rates.py:_split:pandas.read_csv": PREPARED,
    "tweet_sentiment/evaluate/splits.py:evaluation_frame:pandas.read_csv": PREPARED,
    "tweet_sentiment/optimize/choose.py:calibration_tweets:pandas.read_csv": PREPARED,
    "tweet_sentiment/train/distillation/student.py:distillation_set:pandas.read_csv": PREPARED,
    "tweet_sentiment/release/command.py:_timing_texts:pandas.read_csv": PREPARED + " (test.csv, to time a release)",
    "tweet_sentiment/train/distillation/soft_targets.py:read_logits:pandas.read_csv": (
        "the teacher stage's logits CSV, written by `write_logits` beside it"
    ),
    "tweet_sentiment/monitor/live/mixing.py:read_harvested:pandas.read_csv": (
        "the `harvest` stage's output CSV (the query log itself is read through inputs.query_log)"
    ),
    "tweet_sentiment/monitor/drift/reference.py:load_reference:json.loads": (
        "the metadata string inside the drift reference .npz the `reference` stage saved"
    ),
    "tweet_sentiment/monitor/live/retrain.py:retrain:json.loads": "metrics/live.json and the drift report",
    "tweet_sentiment/monitor/live/retrain.py:retrain:.read_text": "metrics/live.json and the drift report",
    "tweet_sentiment/release/gate.py:scores_at:json.loads": "metrics/*.json of a committed revision (dvc metrics)",
    "tweet_sentiment/release/command.py:_bento_at:json.loads": "the committed Bento info JSON the package stage wrote",
    "tweet_sentiment/release/report.py:render_plots:json.loads": "the stdout of `dvc plots diff --json`, not a file",
    "tweet_sentiment/release/report.py:gate_section:.read_text": "metrics/*.json of the workspace (dvc metrics)",
    "tweet_sentiment/release/report.py:card_section:.read_text": "the workspace's model card (the package stage's out)",
    "tweet_sentiment/card/facts.py:_text:.read_text": (
        "what the model card is made from: params.yaml, bentofile.yaml, metrics/*.json, models/serving/runtime.json"
    ),
    "tweet_sentiment/card/facts.py:_json:json.loads": "metrics/*.json and the served runtime's JSON",
    "tweet_sentiment/core/cpu.py:cpu_kind:.read_text": "/proc/cpuinfo, the kernel's description of the CPU",
    "service.py:TweetSentiment.__init__:.read_text": "the model card the package stage wrote beside the served model",
    "tweet_sentiment/serving/page.py:page_routes:.read_text": "the try-it page's HTML, which ships in the package",
    # Model files the pipeline saved (save_pretrained, the optimize stage).
    "tweet_sentiment/core/labels.py:config_labels:json.loads": "the model folder's config.json (save_pretrained)",
    "tweet_sentiment/core/labels.py:config_labels:.read_text": "the model folder's config.json (save_pretrained)",
    "tweet_sentiment/serving/tokenizer.py:TweetTokenizer.__init__:json.loads": "the model's tokenizer_config.json",
    "tweet_sentiment/serving/tokenizer.py:TweetTokenizer.__init__:.read_text": "the model's tokenizer_config.json",
    "tweet_sentiment/serving/runtimes.py:read_runtime:json.loads": "the serving model's runtime JSON (optimize stage)",
    "tweet_sentiment/serving/runtimes.py:read_runtime:.read_text": "the serving model's runtime JSON (optimize stage)",
    "tweet_sentiment/serving/runtimes.py:weights_digest:.open": "hashes the model's weight files, bytes only",
    # Repository configuration and build inputs.
    "tweet_sentiment/core/params.py:load_params:.read_text": "params.yaml",
    "tweet_sentiment/release/bento_build.py:build_bento:.read_text": "bentofile.yaml",
    "tweet_sentiment/release/bento_archive.py:input_digest:.open": "hashes the Bento's build inputs (repository files)",
    "tweet_sentiment/release/bento_archive.py:write_reproducible_archive:tarfile.open": "`bentoml export`'s archive",
    "tweet_sentiment/train/wheels.py:_unpack:.open": "the repository's split wheel parts and the zip they join to",
    "tweet_sentiment/train/wheels.py:_unpack:zipfile.ZipFile": "the zip the repository's split wheel parts join to",
    # Vendored data shipped in the repository (data/external, data/live-demo, docs).
    "tweet_sentiment/data/cleaning.py:read_text:.read_bytes": "vendored SemEval/TweetEval files under data/external",
    "tweet_sentiment/train/distillation/transfer.py:read_texts:gzip.open": "vendored *_text.txt.gz transfer corpus",
    "tweet_sentiment/monitor/drift/rates.py:build_streams:gzip.open": "the vendored docs sentences",
    "tweet_sentiment/data/augmentation.py:EmojiRanking.load:gzip.open": "the vendored emoji sentiment ranking CSV",
    "tweet_sentiment/monitor/live/stream.py:read_stream:pandas.read_csv": "the vendored demo stream (data/live-demo)",
    # Not files at all, or files this product wrote a moment ago.
    "tweet_sentiment/train/ddp.py:vertex_torchrun_env:json.loads": "Vertex AI's CLUSTER_SPEC environment variable",
    "tweet_sentiment/serving/http_edge.py:error_answer:json.loads": "an error body the service's own stack produced",
    "tweet_sentiment/score/shards.py:finished_errors:fsspec.open": (
        "OUT/_errors/*.csv that an earlier run of the scoring command wrote (counting its rows)"
    ),
}


@dataclass(frozen=True)
class Call:
    file: str
    function: str
    called: str
    line: int
    source: str

    @property
    def key(self) -> str:
        return f"{self.file}:{self.function}:{self.called}"


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> what it was imported as (`pd` -> `pandas`, `pq` -> `pyarrow.parquet`, `loads` -> `json.loads`)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and (base := _dotted(node.value)) is not None:
        return f"{base}.{node.attr}"
    return None


def _qualified(func: ast.expr, aliases: dict[str, str]) -> str | None:
    """`pandas.read_csv` for `pd.read_csv(...)`; `.open` for a reading method on any other receiver; None if neither."""
    dotted = _dotted(func)
    if dotted is not None:
        head, _, rest = dotted.partition(".")
        if head in aliases:
            resolved = aliases[head] + (f".{rest}" if rest else "")
            if resolved in READERS:
                return resolved
        elif dotted in READERS and "." not in dotted:  # builtin open
            return dotted
    if isinstance(func, ast.Attribute) and func.attr in READING_METHODS:
        return f".{func.attr}"
    return None


def _write_only(call: ast.Call) -> bool:
    """An open whose mode is a literal that only writes (`w`, `wb`, `a`, `x`): it reads nothing."""
    modes = [kw.value for kw in call.keywords if kw.arg == "mode"] + call.args[:2]
    for node in modes:
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _MODE.fullmatch(node.value):
            return not ("r" in node.value or "+" in node.value)
    return False


def calls_in(source: str, file: str) -> Iterator[Call]:
    """Every reading call in `source`, with the function (qualified name) it is in."""
    tree = ast.parse(source)
    aliases = _aliases(tree)

    def walk(node: ast.AST, scope: list[str]) -> Iterator[Call]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                yield from walk(child, [*scope, child.name])
                continue
            called = _qualified(child.func, aliases) if isinstance(child, ast.Call) else None
            if called is not None and not _write_only(child):
                yield Call(file, ".".join(scope) or "<module>", called, child.lineno, ast.unparse(child)[:100])
            yield from walk(child, scope)

    yield from walk(tree, [])


def product_modules() -> list[Path]:
    files = []
    for name in SCANNED:
        path = REPO / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return [f for f in files if not f.relative_to(REPO).as_posix().startswith(f"{INPUT_LAYER}/")]


def product_calls() -> list[Call]:
    return [
        call
        for path in product_modules()
        for call in calls_in(path.read_text(encoding="utf-8"), path.relative_to(REPO).as_posix())
    ]


def test_user_and_log_files_are_read_only_through_the_input_layer():
    calls = product_calls()
    unlisted = [call for call in calls if call.key not in ALLOWED]
    matched = {call.key for call in calls}
    stale = sorted(set(ALLOWED) - matched)
    message = []
    if unlisted:
        message.append(
            "These calls read a file (or JSON text) outside tweet_sentiment/inputs/. Read users' and log files "
            "through the input layer (inputs.tables.read_chunks / read_csv_table, inputs.text.open_text, "
            "inputs.query_log.read_log); if this one reads a file the product itself wrote or ships, add its key "
            "to ALLOWED in tests/test_inputs_static.py with the reason:"
        )
        message += [f"  {call.key!r}  ({call.file}:{call.line}: {call.source})" for call in unlisted]
    if stale:
        message.append("These ALLOWED entries match no call any more (moved, renamed or removed); update or drop them:")
        message += [f"  {key!r}" for key in stale]
    assert not message, "\n".join(message)


def test_the_scan_sees_the_product_and_skips_the_input_layer():
    scanned = {path.relative_to(REPO).as_posix() for path in product_modules()}
    assert "service.py" in scanned
    assert "tweet_sentiment/score/command.py" in scanned
    assert "stages/tokenize.py" in scanned
    assert not any(name.startswith(f"{INPUT_LAYER}/") for name in scanned)


SAMPLE = """
import gzip
import json as j
import pandas as pd
import pyarrow.parquet as pq
from fsspec import open as fs_open
from json import loads


def reads(path, fs, archive, text):
    pd.read_csv(path)
    pd.read_parquet(path)
    pd.read_json(path)
    pq.read_table(path)
    pq.ParquetFile(path)
    j.loads(text)
    j.load(path)
    loads(text)
    gzip.open(path, "rt")
    fs_open(path)
    open(path)
    open(path, "r+")
    path.open()
    fs.open(path, mode="rb")
    archive.open("member")
    path.read_text()
    path.read_bytes()


class Writer:
    def writes(self, path, fs):
        open(path, "w")
        path.open("wb")
        fs.open(path, "a", encoding="utf-8")
        gzip.open(path, mode="xb")
        path.write_text("x")
        self.loads("not json")
"""


def test_the_scan_finds_every_kind_of_read_and_skips_writes():
    calls = list(calls_in(SAMPLE, "sample.py"))
    assert {call.function for call in calls} == {"reads"}
    assert [call.called for call in calls] == [
        "pandas.read_csv",
        "pandas.read_parquet",
        "pandas.read_json",
        "pyarrow.parquet.read_table",
        "pyarrow.parquet.ParquetFile",
        "json.loads",
        "json.load",
        "json.loads",
        "gzip.open",
        "fsspec.open",
        "open",
        "open",
        ".open",
        ".open",
        ".open",
        ".read_text",
        ".read_bytes",
    ]
    assert calls[0].key == "sample.py:reads:pandas.read_csv"
