"""The scoring command on inputs from public bug reports (tests/public_reports/, its README names each source).

Each input is scored as a user would score it and checked for the exact rows,
columns, exit status or message; the normaliser's cases (08, 09) are in
tests/test_text.py, feedback replay (11) in tests/test_service.py, the HTML
download (12) in tests/test_own_data.py.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.support.repo import REPO, tool_env
from tests.support.scoring import errors_of, run_cli, scores_of
from tweet_sentiment.score import command
from tweet_sentiment.score.scoring import OUTPUT_COLUMNS
from tweet_sentiment.serving.predictor import Predictor

REPORTS = Path(__file__).parent / "public_reports"


def error_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]


def outputs(out: Path) -> list[str]:
    """The files a run wrote under `out`, but its `_summary.json`."""
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != command.SUMMARY)


@pytest.mark.parametrize("text_type", ["dictionary", "large_string", "string_view"])
def test_any_arrow_string_type_is_text(tmp_path: Path, model_dir: Path, text_type: str):  # 01a
    source = REPORTS / "01a-dict-text.parquet"
    if text_type == "dictionary":
        path = source  # the report's own file: a pandas Categorical, stored as dictionary<string>
        assert pa.types.is_dictionary(pq.read_schema(path).field("text").type)
    else:
        table = pq.read_table(source)
        table = table.set_column(1, "text", table["text"].cast(pa.string()).cast(getattr(pa, text_type)()))
        path = tmp_path / f"{text_type}.parquet"
        pq.write_table(table, path)
    out = tmp_path / "out"
    assert run_cli(model_dir, str(path), "--out", str(out)) == command.EXIT_OK
    scored = pd.read_parquet(out / path.name)
    assert list(scored.columns) == ["id", "text", *OUTPUT_COLUMNS]
    assert list(scored["id"]) == ["1", "2", "3"]
    assert [str(text) for text in scored["text"]] == ["I love it", "I hate it", "I love it"]
    expected = Predictor(model_dir, batch_size=command.BATCH_SIZE, threads=2).predict_proba(list(scored["text"]))
    np.testing.assert_allclose(scores_of(scored), expected)


def test_a_utf8_bom_reads_like_no_bom(tmp_path: Path, model_dir: Path):  # 02
    with_bom = REPORTS / "02-bom.jsonl"
    without = tmp_path / "plain" / "02-bom.jsonl"
    without.parent.mkdir()
    without.write_bytes(with_bom.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    assert with_bom.read_bytes().startswith(b"\xef\xbb\xbf")
    assert run_cli(model_dir, str(with_bom), "--out", str(tmp_path / "a")) == command.EXIT_OK
    assert run_cli(model_dir, str(without), "--out", str(tmp_path / "b")) == command.EXIT_OK
    scored = (tmp_path / "a/02-bom.jsonl").read_bytes()
    assert scored == (tmp_path / "b/02-bom.jsonl").read_bytes()
    assert [record["id"] for record in map(json.loads, scored.splitlines())] == ["1", "2"]


@pytest.mark.parametrize(
    ("name", "columns", "texts"),
    [
        ("03a-utf16.csv", ["text", "id"], ["I love it", "I hate it"]),  # UTF-16 with a BOM (Excel's Unicode Text)
        ("03b-latin1-header.csv", ["text", "café"], ["I love it"]),  # one cp1252 byte, as Excel's "CSV" writes é
    ],
)
def test_utf16_and_cp1252_files_are_read_by_their_bytes(
    tmp_path: Path, model_dir: Path, name: str, columns: list[str], texts: list[str]
):  # 03a, 03b: refused with a re-save hint before the input layer; now read as what they are
    out = tmp_path / "out"
    assert run_cli(model_dir, str(REPORTS / name), "--out", str(out)) == command.EXIT_OK
    scored = pd.read_csv(out / name, dtype=str, keep_default_na=False)
    assert list(scored.columns) == [*columns, *OUTPUT_COLUMNS]
    assert list(scored["text"]) == texts


def test_a_quote_left_open_is_refused_with_one_line(tmp_path: Path, model_dir: Path, caplog):  # 04
    out = tmp_path / "out"
    assert run_cli(model_dir, str(REPORTS / "04-unclosed-quote.csv"), "--out", str(out)) == command.EXIT_CANNOT
    [error] = error_lines(caplog)
    assert "04-unclosed-quote.csv:2: a quote opened on this line is not closed" in error, error
    assert outputs(out) == []  # nothing scored, so no four rows merged into one tweet


def test_a_quote_that_breaks_one_line_costs_that_row_only(tmp_path: Path, model_dir: Path):
    (tmp_path / "in.csv").write_text('id,text\n1,I love it\n2,"stray" quote\n3,a "quoted" word\n')
    out = tmp_path / "out"
    assert run_cli(model_dir, str(tmp_path / "in.csv"), "--out", str(out)) == command.EXIT_ROWS_FAILED
    assert errors_of(out, "in.csv") == [(2, "bad_record")]
    assert list(pd.read_csv(out / "in.csv")["text"]) == ["I love it", 'a "quoted" word']


def test_a_row_one_cell_too_wide_costs_that_row_not_the_shard(tmp_path: Path, model_dir: Path):  # 05
    out = tmp_path / "out"
    assert run_cli(model_dir, str(REPORTS / "05-ragged.csv"), "--out", str(out)) == command.EXIT_ROWS_FAILED
    errors = pd.read_csv(out / "_errors/05-ragged.csv.csv")
    assert errors[["row", "reason"]].values.tolist() == [[2, "bad_record"]]
    assert errors["detail"][0].startswith("line 3: 3 fields where the header has 2")
    scored = pd.read_csv(out / "05-ragged.csv")
    assert scored[["id", "text"]].values.tolist() == [[1, "I love it"], [3, "I hate it"]]


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_a_column_null_in_the_first_chunk_keeps_every_value(tmp_path: Path, model_dir: Path, fmt: str):  # 06a
    out = tmp_path / "out"
    options = ["--out", str(out), "--chunk-size", "2", "--format", fmt]
    assert run_cli(model_dir, str(REPORTS / "06a-null-first-chunk.jsonl"), *options) == command.EXIT_OK
    path = out / f"06a-null-first-chunk.{fmt}"
    if fmt == "parquet":
        assert pq.read_schema(path).field("reply_to").type == pa.string()
        reply_to = pq.read_table(path)["reply_to"].to_pylist()
    elif fmt == "csv":
        reply_to = pd.read_csv(path, dtype=str, keep_default_na=False)["reply_to"].tolist()
    else:  # JSON lines keep a missing key missing and a null null
        reply_to = [record.get("reply_to", "absent") for record in map(json.loads, path.read_text().splitlines())]
    expected = {"parquet": [None, None, "123", "456"], "csv": ["", "", "123", "456"]}
    assert reply_to == expected.get(fmt, ["absent", None, "123", "456"])


def test_a_column_first_seen_in_a_later_chunk_is_kept(tmp_path: Path, model_dir: Path):
    lines = [{"text": "first tweet"}, {"text": "second tweet"}, {"text": "third tweet", "lang": "en"}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    for fmt in ("parquet", "csv"):
        out = tmp_path / fmt
        options = ["--out", str(out), "--chunk-size", "2", "--format", fmt]
        assert run_cli(model_dir, str(tmp_path / "in.jsonl"), *options) == command.EXIT_OK
        written = pd.read_parquet(out / "in.parquet") if fmt == "parquet" else pd.read_csv(out / "in.csv")
        assert list(written.columns) == ["text", "lang", *OUTPUT_COLUMNS]
        assert [None if pd.isna(v) else v for v in written["lang"]] == [None, None, "en"]


def test_types_that_do_not_unify_refuse_parquet_before_writing(tmp_path: Path, model_dir: Path, caplog):
    lines = [{"text": "a", "n": "seven"}, {"text": "b", "n": "eight"}, {"text": "c", "n": 9}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "out"
    options = ["--out", str(out), "--chunk-size", "2", "--format", "parquet"]
    assert run_cli(model_dir, str(tmp_path / "in.jsonl"), *options) == command.EXIT_CANNOT
    [error] = error_lines(caplog)
    assert "a column holds values of two types in different rows" in error
    assert outputs(out) == []


def test_globs_skip_hidden_and_temporary_folders(tmp_path: Path, model_dir: Path):  # 07
    corpus = shutil.copytree(REPORTS / "07-glob", tmp_path / "_work" / "07-glob")  # a hidden-looking root is fine
    out = tmp_path / "out"
    assert run_cli(model_dir, f"{corpus}/**/*.csv", "--out", str(out)) == command.EXIT_OK
    assert outputs(out) == ["2024/b.csv", "a.csv"]
    assert run_cli(model_dir, f"{corpus}/**", "--out", str(tmp_path / "all")) == command.EXIT_OK
    assert outputs(tmp_path / "all") == ["2024/b.csv", "a.csv"]


MALFORMED = [
    "01a-dict-text.parquet",
    "02-bom.jsonl",
    "03a-utf16.csv",
    "03b-latin1-header.csv",
    "04-unclosed-quote.csv",
    "05-ragged.csv",
    "06a-null-first-chunk.jsonl",
    "07-glob",
    "08-skin-tone-zwj.json",  # a JSON document, not JSON lines: no record with a `text` key
    "12-github-blob.html",  # no format the command reads
]


@pytest.mark.slow  # ten processes, each loading the model
def test_no_input_exits_through_a_traceback(tmp_path: Path, quick_pipeline: Path):
    served = quick_pipeline / "models/serving"  # OpenVINO: each process loads it in a second or two
    statuses = {}
    for name in MALFORMED:
        args = [str(REPORTS / name), "--out", str(tmp_path / name), "--model", str(served), "--chunk-size", "2"]
        result = subprocess.run(
            [sys.executable, "-m", "tweet_sentiment.score", *args],
            cwd=REPO,
            env=tool_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert "Traceback" not in result.stderr + result.stdout, (name, result.stderr)
        statuses[name] = result.returncode
    assert statuses == {
        "01a-dict-text.parquet": 0,
        "02-bom.jsonl": 0,
        "03a-utf16.csv": 0,
        "03b-latin1-header.csv": 0,
        "04-unclosed-quote.csv": 2,
        "05-ragged.csv": 1,
        "06a-null-first-chunk.jsonl": 0,
        "07-glob": 0,
        "08-skin-tone-zwj.json": 2,
        "12-github-blob.html": 2,
    }


def test_an_unexpected_fault_is_exit_2_with_one_line_not_exit_1(tmp_path: Path, model_dir: Path, caplog, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a fault in the command itself")

    monkeypatch.setattr(command, "write_shard", broken)
    out = str(tmp_path / "out")
    assert run_cli(model_dir, str(REPORTS / "05-ragged.csv"), "--out", out) == command.EXIT_CANNOT
    [error] = error_lines(caplog)
    assert error.startswith("stopped by an unexpected RuntimeError: a fault in the command itself")
