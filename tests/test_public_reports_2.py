"""Readers and query logs on inputs from public bug reports, second set (tests/public_reports_2/ names each source).

Each input is read as a user would read it (the scoring command, the training
reader, `harvest`, the drift report) and checked for the exact rows, columns,
counts, exit status or message.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.drift import SETTINGS, synthetic
from tests.support.repo import clone_repo, run, set_params
from tests.support.scoring import errors_of, run_cli
from tweet_sentiment.data.own_data import read_labelled_csv
from tweet_sentiment.inputs.accounting import ReadCount
from tweet_sentiment.inputs.query_log import read_log
from tweet_sentiment.monitor.drift import command as drift_command
from tweet_sentiment.monitor.drift.command import read_window
from tweet_sentiment.monitor.drift.reference import Reference, save_reference
from tweet_sentiment.monitor.live.harvest import FEEDBACK_OUTCOMES, harvest
from tweet_sentiment.score import command
from tweet_sentiment.score.scoring import OUTPUT_COLUMNS

REPORTS = Path(__file__).parent / "public_reports_2"
TEXTS = ["I absolutely love this phone", "worst customer service ever", "the meeting is at noon"]
LOGS = ("04-plain-log", "04-rotated-log")


def error_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]


def outputs(out: Path) -> list[str]:
    """The files a run wrote under `out`, but its `_summary.json`."""
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != command.SUMMARY)


def scored_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def summary(out: Path) -> dict:
    return json.loads((out / command.SUMMARY).read_text())


# 01: a literal name with [ ] is that file, not a glob that reads its neighbour


def test_a_bracketed_name_scores_its_own_rows_not_its_neighbours(tmp_path: Path, model_dir: Path):
    folder = REPORTS / "01-bracket-name"
    assert sorted(p.name for p in folder.iterdir()) == ["tweets1.csv", "tweets[1].csv"]  # the glob would match
    out = tmp_path / "out"
    assert run_cli(model_dir, str(folder / "tweets[1].csv"), "--out", str(out)) == command.EXIT_OK
    assert outputs(out) == ["tweets[1].csv"]
    scored = scored_csv(out / "tweets[1].csv")
    assert list(scored.columns) == ["id", "text", *OUTPUT_COLUMNS]
    assert scored[["id", "text"]].values.tolist() == [["1", TEXTS[0]], ["2", TEXTS[1]], ["3", TEXTS[2]]]


def test_a_bracketed_name_alone_in_its_folder_is_scored(tmp_path: Path, model_dir: Path, caplog):
    alone = tmp_path / "alone" / "tweets[1].csv"
    alone.parent.mkdir()
    shutil.copy(REPORTS / "01-bracket-name" / "tweets[1].csv", alone)
    out = tmp_path / "out"
    assert run_cli(model_dir, str(alone), "--out", str(out)) == command.EXIT_OK, error_lines(caplog)
    assert error_lines(caplog) == []  # not "matches no CSV"
    assert outputs(out) == ["tweets[1].csv"]
    assert scored_csv(out / "tweets[1].csv")[["id", "text"]].values.tolist() == [
        ["1", TEXTS[0]],
        ["2", TEXTS[1]],
        ["3", TEXTS[2]],
    ]


# 02: CR-only line ends (Excel for Mac "CSV (Macintosh)")


def test_a_cr_only_csv_is_scored_row_by_row(tmp_path: Path, model_dir: Path):
    source = REPORTS / "02-cr-only.csv"
    assert b"\n" not in source.read_bytes() and source.read_bytes().count(b"\r") == 4
    out = tmp_path / "out"
    assert run_cli(model_dir, str(source), "--out", str(out)) == command.EXIT_OK
    scored = scored_csv(out / "02-cr-only.csv")
    assert list(scored.columns) == ["id", "text", *OUTPUT_COLUMNS]
    assert scored[["id", "text"]].values.tolist() == [["1", TEXTS[0]], ["2", TEXTS[1]], ["3", TEXTS[2]]]
    assert summary(out)["total"]["scored"] == 3


def test_a_cr_only_csv_is_read_by_the_training_reader():
    frame, count = read_labelled_csv(str(REPORTS / "02b-cr-only-train.csv"), "text", "label")
    assert frame.values.tolist() == [
        ["csv-0", TEXTS[0], "positive"],
        ["csv-1", TEXTS[1], "negative"],
        ["csv-2", TEXTS[2], "neutral"],
    ]
    assert (count.read, count.kept, sum(count.lost.values())) == (3, 3, 0)


# 03: names lie; the bytes say what a file is


def test_a_gzip_file_named_csv_is_read_through(tmp_path: Path, model_dir: Path):
    source = REPORTS / "03-gzip-named.csv"
    assert source.read_bytes().startswith(b"\x1f\x8b")
    out = tmp_path / "out"
    assert run_cli(model_dir, str(source), "--out", str(out)) == command.EXIT_OK
    scored = scored_csv(out / "03-gzip-named.csv")
    assert list(scored.columns) == ["id", "text", *OUTPUT_COLUMNS]
    assert scored[["id", "text"]].values.tolist() == [["1", TEXTS[0]], ["2", TEXTS[1]], ["3", TEXTS[2]]]


def test_an_xlsx_named_csv_is_refused_naming_excel_and_the_fix(tmp_path: Path, model_dir: Path, caplog):
    out = tmp_path / "out"
    source = REPORTS / "03b-xlsx-saved-as.csv"
    assert run_cli(model_dir, str(source), "--out", str(out)) == command.EXIT_CANNOT
    [error] = error_lines(caplog)
    assert "03b-xlsx-saved-as.csv" in error, error
    assert "an Excel workbook (.xlsx)" in error, error
    assert "save it as CSV UTF-8" in error and "File > Save As > CSV UTF-8" in error, error
    assert outputs(out) == []


# 04: a query log, and the same log with one worker's file rotated and gzipped


def harvested(log: Path, secret: bytes | None = None) -> tuple[dict, pd.DataFrame]:
    read = ReadCount()
    result = harvest(read_log(log, read), read, [], secret, max_client_share=1.0)
    return result.metrics, result.rows


def test_harvest_reads_a_rotated_gzipped_log_file_like_the_plain_one():
    plain, plain_rows = harvested(REPORTS / "04-plain-log")
    rotated, rotated_rows = harvested(REPORTS / "04-rotated-log")
    assert plain["lines"] == 260 and plain["unreadable"] == 0 and plain["unreadable_by_reason"] == {}
    assert plain["predictions"] == 200 and plain["duplicate_predictions"] == 0
    assert plain["feedback_read"] == 60
    # No key given: the ids cannot be checked, so every feedback joins as unverified.
    assert plain["feedback"] == dict.fromkeys(FEEDBACK_OUTCOMES, 0) | {"joined": 60}
    assert plain["verified"] is False and plain["rows"]["kept"] == 60 and len(plain_rows) == 60
    assert plain_rows["client"].nunique() == 10 and not plain_rows["verified"].any()
    for name in ("lines", "unreadable", "unreadable_by_reason", "predictions", "feedback_read", "feedback", "rows"):
        assert rotated[name] == plain[name], name
    assert rotated == plain
    pd.testing.assert_frame_equal(rotated_rows, plain_rows)


def test_with_a_key_a_rotated_log_checks_every_request_id_as_the_plain_one_does():
    # The log's ids are signed with the public default key (its model version): a service run without a secret.
    for secret, outcome in [(b"4cfcbdba3b2f", "joined"), (b"the service's secret", "unsigned")]:
        plain, _ = harvested(REPORTS / "04-plain-log", secret)
        rotated, _ = harvested(REPORTS / "04-rotated-log", secret)
        assert plain["feedback_read"] == 60 and plain["feedback"][outcome] == 60 and plain["verified"] is True
        assert rotated == plain


@pytest.mark.parametrize("name", LOGS)
def test_the_drift_window_reads_every_prediction_of_a_rotated_log(name: str):
    window = read_window(REPORTS / name, last=None, since=None)
    assert len(window.predictions) == 200 and len(window.feedback) == 60
    assert window.skipped_lines == 0
    assert (window.read.read, window.read.kept, window.invalid_records) == (260, 260, 0)


def test_the_drift_report_on_a_rotated_log_is_the_plain_logs(tmp_path: Path):
    reference = tmp_path / "reference.npz"
    save_reference(Reference(synthetic(2000, 1), np.arange(2000).astype(str), "v1", SETTINGS), reference)
    reports = {}
    for name in LOGS:
        out = tmp_path / name
        arguments = [str(REPORTS / name), "--out", str(out), "--reference", str(reference), "--model-dir", "none"]
        assert drift_command.main(arguments) in (0, 1)  # a verdict, whichever it is
        reports[name] = json.loads((out / "drift.json").read_text())
    plain = reports["04-plain-log"]
    assert (plain["predictions"], plain["feedback"], plain["skipped_lines"]) == (200, 60, 0)
    assert plain["lines"] == {"read": 260, "unreadable": {}, "invalid_records": 0, "examples": []}
    assert reports["04-rotated-log"] == plain


# 07: one line nested 5,000 deep costs that line, not the run


def test_a_line_nested_5000_deep_costs_that_row_only(tmp_path: Path, model_dir: Path):
    out = tmp_path / "out"
    assert run_cli(model_dir, str(REPORTS / "07-deep-nesting.jsonl"), "--out", str(out)) == command.EXIT_ROWS_FAILED
    records = [json.loads(line) for line in (out / "07-deep-nesting.jsonl").read_text().splitlines()]
    assert [(record["id"], record["text"]) for record in records] == [(1, TEXTS[0]), (2, TEXTS[1]), (4, TEXTS[2])]
    assert all(list(record) == ["id", "text", *OUTPUT_COLUMNS] for record in records)
    assert errors_of(out, "07-deep-nesting.jsonl") == [(3, "too_deep")]
    total = summary(out)["total"]
    assert (total["scored"], total["failed"], total["failed_by_reason"]) == (3, 1, {"too_deep": 1})


def test_a_line_nested_5000_deep_in_the_query_log_is_counted_not_fatal(tmp_path: Path):
    deep = (REPORTS / "07-deep-nesting.jsonl").read_text().splitlines(keepends=True)[2]
    assert deep.count("[") == 5000
    lines = (REPORTS / "04-plain-log/queries-18872.jsonl").read_text().splitlines(keepends=True)
    log = tmp_path / "log"
    log.mkdir()
    (log / "queries-18872.jsonl").write_text("".join([*lines[:65], deep, *lines[65:]]))
    shutil.copy(REPORTS / "04-plain-log/queries-18873.jsonl", log)
    metrics, rows = harvested(log)
    plain, _ = harvested(REPORTS / "04-plain-log")
    assert metrics["lines"] == 261 and metrics["unreadable"] == 1
    assert metrics["unreadable_by_reason"] == {"too_deep": 1}
    assert (metrics["predictions"], metrics["feedback_read"], metrics["feedback"]) == (
        200,
        60,
        plain["feedback"],
    )
    assert len(rows) == 60
    window = read_window(log, last=None, since=None)
    assert (len(window.predictions), window.skipped_lines, dict(window.read.lost)) == (200, 1, {"too_deep": 1})


# 09: a ;-separated CSV (Excel in European locales)


@pytest.mark.parametrize("given", [[], ["--delimiter", ";"]], ids=["sniffed", "given"])
def test_a_semicolon_csv_is_split_on_semicolons(tmp_path: Path, model_dir: Path, given: list[str]):
    out = tmp_path / "out"
    assert run_cli(model_dir, str(REPORTS / "09-semicolon.csv"), "--out", str(out), *given) == command.EXIT_OK
    written = (out / "09-semicolon.csv").read_text()
    scored = scored_csv(out / "09-semicolon.csv")
    assert list(scored.columns) == ["id", "text", "user", *OUTPUT_COLUMNS], written
    assert scored[["id", "text", "user"]].values.tolist() == [
        ["1", TEXTS[0], "anna"],
        ["2", TEXTS[1], "ben"],
        ["3", TEXTS[2], "carl"],
    ]


def test_a_semicolon_csv_given_a_comma_is_refused_naming_the_semicolon(tmp_path: Path, model_dir: Path, caplog):
    out = tmp_path / "out"
    options = ["--out", str(out), "--delimiter", ","]
    assert run_cli(model_dir, str(REPORTS / "09-semicolon.csv"), *options) == command.EXIT_CANNOT
    [error] = error_lines(caplog)
    assert "09-semicolon.csv" in error and "the header line has no ','" in error, error
    assert "splits on ';'" in error and "set the separator to ';'" in error, error
    assert outputs(out) == []


# 08: a CrowdFlower export whose labels hold an apostrophe (`I can't tell`) and a neutral class in words


@pytest.mark.slow
@pytest.mark.parametrize("name", ["08a-brand-emotion.csv", "08b-brand-emotion-no-blank-label.csv"])
def test_the_suggested_label_map_pastes_into_bash_and_training_starts_with_three_classes(tmp_path: Path, name: str):
    """The printed fix once broke bash's quoting, then DVC's parser, and dropped the neutral class."""
    repo = clone_repo(tmp_path / "repo")
    shutil.copy(REPORTS / name, repo / "data/external" / name)
    run(["git", "add", f"data/external/{name}"], cwd=repo)
    set_params(repo, epochs=1, max_eval_samples=64)
    user = (
        f"dvc exp run -S data.source=csv -S data.csv_path=data/external/{name} -S data.text_column=tweet_text "
        "-S data.label_column=is_there_an_emotion_directed_at_a_brand_or_product"
    )
    refused = run(["bash", "-c", f"{user} finetune"], cwd=repo, check=False, timeout=600)
    assert refused.returncode != 0
    [message] = [line for line in refused.stderr.splitlines() if "unknown label" in line]
    suggestion = message.split("drop it with null: ", 1)[1].removesuffix(".")
    assert suggestion == (
        "-S 'data.label_map={Positive emotion: positive, Negative emotion: negative, "
        "No emotion toward brand or product: neutral, I cant tell: null}'"
    )
    run(["bash", "-c", f"{user} {suggestion} finetune"], cwd=repo, timeout=900)  # pasted as printed
    data = json.loads((repo / "metrics/data.json").read_text())
    blank = 1 if name.startswith("08a") else 0
    assert data["sources"]["csv"]["dropped"]["empty_label"] == blank
    assert data["sources"]["csv"]["dropped"]["label_dropped"] == 5  # `I can't tell`, mapped to null
    assert data["train"]["rows"] == data["sources"]["csv"]["kept"]
    assert all(data["train"][label] > 0 for label in ("negative", "neutral", "positive")), data["train"]
    assert data["train"]["neutral"] >= 190  # "No emotion toward brand or product": 200 rows before cleaning
    assert (repo / "models/finetuned/model.safetensors").is_file()  # trained on them
