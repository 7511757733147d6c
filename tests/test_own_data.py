"""Bring your own tweets: each shape of labelled CSV that people share, through the real `download` stage.

Every file here is written by its test; none is copied from a public data set
(the two real tweets some tests use are read from the vendored snapshots at run time).
Each file either trains right, with every row accounted for in
metrics/data.json, or stops with one line that names the problem and the fix.
"""

import csv
import io
import json
import logging
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import yaml
from dvc.utils.hydra import apply_overrides

from stages import download
from tests.support.repo import REPO, run
from tweet_sentiment.core.params import DataParams, load_params
from tweet_sentiment.data.cleaning import (
    DROP_REASONS,
    DataError,
    clean_training_pool,
    hold_out,
    read_semeval_tsv,
    read_tweeteval_split,
)
from tweet_sentiment.data.own_data import read_labelled_csv
from tweet_sentiment.data.sources import missing_csv_message
from tweet_sentiment.evaluate.splits import scored_splits
from tweet_sentiment.monitor.live.harvest import run_harvest

PARAMS = load_params(REPO / "params.yaml")
CSV = "data/external/mine.csv"
NO_DROPS = dict.fromkeys(DROP_REASONS, 0)
POOL = {  # the embedded SemEval pool, as the default pipeline cleans it
    "read": 50334,
    "kept": 47370,
    "dropped": NO_DROPS | {"conflicting_labels": 200, "duplicate": 769, "in_evaluation_split": 1995},
}
SPREADSHEET_IDS = (  # the file: a spreadsheet turned every 18-digit id into the same 5.41E+17
    "id,text,label\n5.41E+17,loving the new phone,positive\n5.41E+17,worst update ever,negative\n"
    "5.41E+17,store opens at 9,neutral\n"
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch) -> Path:
    """A stage's working directory: data/external links the vendored snapshots and has room for a user's CSV.

    `harvest` has run on the committed, empty query log, as `dvc repro` runs it before `download`.
    """
    external = tmp_path / "data/external"
    external.mkdir(parents=True)
    for name in ("semeval2017-task4a", "tweeteval-sentiment"):
        (external / name).symlink_to(REPO / "data/external" / name)
    (tmp_path / PARAMS.live.log_dir).symlink_to(REPO / PARAMS.live.log_dir)
    monkeypatch.chdir(tmp_path)
    run_harvest(PARAMS)
    return tmp_path


def prepare(workdir: Path, content: str, **data) -> dict:
    """Write `content` as the user's CSV, run the real `download` stage on it, return metrics/data.json."""
    (workdir / CSV).write_bytes(content.encode())
    download.main(replace(PARAMS, data=replace(PARAMS.data, source="csv", csv_path=CSV, **data)))
    return json.loads((workdir / "metrics/data.json").read_text())


def refused(workdir: Path, content: str, **data) -> str:
    """The message `download` stops with on this CSV; it is one line."""
    with pytest.raises(DataError) as error:
        prepare(workdir, content, **data)
    assert "\n" not in str(error.value)
    return str(error.value)


def prepared(workdir: Path, split: str) -> list[list[str]]:
    frame = pd.read_csv(workdir / f"data/prepared/{split}.csv", dtype=str, keep_default_na=False)
    return frame[["text", "label"]].values.tolist()


def csv_of(rows: list[tuple[str, str]]) -> str:
    return "text,label\n" + "".join(f"{text},{label}\n" for text, label in rows)


def assert_accounted(data: dict) -> None:
    """Rows in = kept + dropped for every source, and the kept rows are the splits' rows."""
    for count in data["sources"].values():
        assert count["read"] == count["kept"] + sum(count["dropped"].values())
    sources = data["sources"]
    held_out = data["custom"]["rows"] if "custom" in data else 0
    pool = sources["semeval"]["kept"] if "semeval" in sources else 0
    assert data["train"]["rows"] == sources["csv"]["kept"] - held_out + pool


def test_the_default_pipeline_accounts_for_every_row_and_writes_no_custom_split(workdir: Path):
    download.main(PARAMS)
    data = json.loads((workdir / "metrics/data.json").read_text())
    assert data["sources"] == {
        "semeval": POOL,
        "tweeteval_val": {"read": 2000, "kept": 2000, "dropped": NO_DROPS},
        "tweeteval_test": {"read": 12284, "kept": 12284, "dropped": NO_DROPS},
    }
    assert data["train"]["rows"] == POOL["kept"]
    assert sorted(path.name for path in (workdir / "data/prepared").iterdir()) == ["test.csv", "train.csv", "val.csv"]
    assert scored_splits() == ("val", "test")


def test_ids_a_spreadsheet_rounded_to_one_value_do_not_collapse_the_rows(workdir: Path):
    data = prepare(workdir, SPREADSHEET_IDS)
    assert prepared(workdir, "train") == [
        ["loving the new phone", "positive"],
        ["worst update ever", "negative"],
        ["store opens at 9", "neutral"],
    ]
    assert data["sources"]["csv"] == {"read": 3, "kept": 3, "dropped": NO_DROPS, "unreadable_by_reason": {}}


def test_a_named_id_column_deduplicates_by_id_and_the_stop_shows_the_count(workdir: Path):
    assert refused(workdir, SPREADSHEET_IDS, id_column="id") == (
        "data/external/mine.csv: no 'negative' tweets to train on (its rows: 3 read, 1 kept; dropped: duplicate 2); "
        "map a label to it with data.label_map, or train alongside the embedded pool: -S data.mix_embedded=true."
    )


def test_more_than_half_dropped_still_trains_and_warns_once_with_the_top_reason(workdir: Path, caplog):
    rows = [f"1,phone review number {i},positive\n" for i in range(5)]
    rows += ["2,the app froze,negative\n", "3,it ships monday,neutral\n"]
    with caplog.at_level(logging.INFO):
        data = prepare(workdir, "id,text,label\n" + "".join(rows), id_column="id")
    assert data["sources"]["csv"] == {
        "read": 7,
        "kept": 3,
        "dropped": NO_DROPS | {"duplicate": 4},
        "unreadable_by_reason": {},
    }
    assert_accounted(data)
    assert [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING] == [
        "4 of the 7 rows of data/external/mine.csv were dropped, most as duplicate (4); "
        "see `sources` in metrics/data.json"
    ]
    assert "csv: 7 read, 3 kept; dropped: duplicate 4" in caplog.messages


def test_a_two_class_file_stops_the_stage_with_one_line_naming_the_class_and_both_ways_out(workdir: Path):
    """The real stage command: exit 1, one ERROR line, no traceback (finetune's class weights never see it)."""
    (workdir / CSV).write_text("text,label\nlove the new update,positive\nthe app keeps crashing,negative\n")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["data"] |= {"source": "csv", "csv_path": CSV}
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    result = run(["python", "-m", "stages.download"], cwd=workdir, check=False, PYTHONPATH=str(REPO))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line.split(" ERROR ", 1)[1] for line in result.stderr.splitlines() if " ERROR " in line]
    assert errors == [
        "data/external/mine.csv: no 'neutral' tweets to train on (its rows: 2 read, 2 kept; dropped: none); map a "
        "label to it with data.label_map, or train alongside the embedded pool: -S data.mix_embedded=true."
    ]


def pool_tweet() -> str:
    """A tweet of the embedded SemEval pool (a 2013 one that the default pipeline trains on), read at run time."""
    raw = read_semeval_tsv(REPO / "data/external/semeval2017-task4a/twitter-2013train-A.tsv.gz")
    return clean_training_pool(raw[raw["id"] == "263405084770172928"], [])[0]["text"][0]


def test_a_binary_0_4_file_trains_mixed_with_the_pool_and_is_held_out_on_its_own(workdir: Path):
    """Mixed: the pool brings the missing class, and is cleaned against the user's rows and held-out split."""
    rows = [(f"day {i} with the new phone: love it", "4") for i in range(10)]
    rows += [(f"day {i} with the new phone: it broke again", "0") for i in range(10)]
    rows += [(f'"{pool_tweet()}"', "0")]
    data = prepare(workdir, csv_of(rows), label_map={0: "negative", 4: "positive"}, mix_embedded=True, eval_share=0.2)
    assert data["sources"]["csv"] == {"read": 21, "kept": 21, "dropped": NO_DROPS, "unreadable_by_reason": {}}
    assert data["custom"] == {"rows": 4, "negative": 2, "neutral": 0, "positive": 2}
    pool = data["sources"]["semeval"]
    # The pool's copy of a user's tweet goes: as a duplicate of a training row, or as a held-out (custom) tweet.
    assert pool["kept"] == POOL["kept"] - 1
    assert pool["dropped"]["duplicate"] + pool["dropped"]["in_evaluation_split"] == 769 + 1995 + 1
    assert_accounted(data)
    train = prepared(workdir, "train")
    assert {label for _, label in train} == {"negative", "neutral", "positive"}
    for text, label in train[:17] + prepared(workdir, "custom"):
        assert label == ("positive" if text.endswith("love it") else "negative"), text
    assert scored_splits() == ("val", "test", "custom")
    prepare(workdir, SPREADSHEET_IDS)  # a later run that holds nothing out leaves no stale custom split
    assert scored_splits() == ("val", "test")


@pytest.mark.parametrize(
    ("labels", "suggested"),
    [
        ("0 1", "{0: negative, 1: positive}"),
        ("-1 0 1", "{-1: negative, 0: neutral, 1: positive}"),
        ("0 2 4", "{0: negative, 2: neutral, 4: positive}"),
        ("1 2 3 4 5", "{1: negative, 2: negative, 3: neutral, 4: positive, 5: positive}"),
        ("0 2", "{0: negative, 2: positive}"),
    ],
)
def test_numbers_other_than_0_1_2_are_refused_with_the_map_that_would_read_them(
    workdir: Path, labels: str, suggested: str
):
    rows = [(f"tweet number {i}", value) for i, value in enumerate(labels.split())]
    assert refused(workdir, csv_of(rows)) == (
        f"data/external/mine.csv: the labels {', '.join(labels.split())} are numbers, but not this project's 0/1/2 "
        "(negative/neutral/positive, all three present), so what they mean is unknown; say it with data.label_map, "
        f"e.g. -S 'data.label_map={suggested}' (check the order against the file's documentation)."
    )


@pytest.mark.parametrize(
    ("labels", "label_map"),
    [
        ("-1 0 1", {-1: "negative", 0: "neutral", 1: "positive"}),
        ("0 2 4", {0: "negative", 2: "neutral", 4: "positive"}),
        ("0 1 2", None),  # the project's own ids, all three present
        ("NEGATIVE Neutral positive", None),
        ("bad meh good", {"Bad": "Negative", "MEH": "neutral", "good": "positive"}),
    ],
)
def test_mapped_or_named_labels_train_on_what_they_mean(workdir: Path, labels: str, label_map: dict | None):
    rows = [("the update deleted my photos", ""), ("the store opens at nine", ""), ("best headphones I ever had", "")]
    content = csv_of([(text, label) for (text, _), label in zip(rows, labels.split(), strict=True)])
    data = prepare(workdir, content, label_map=label_map)
    assert prepared(workdir, "train") == [
        ["the update deleted my photos", "negative"],
        ["the store opens at nine", "neutral"],
        ["best headphones I ever had", "positive"],
    ]
    assert data["sources"]["csv"] == {"read": 3, "kept": 3, "dropped": NO_DROPS, "unreadable_by_reason": {}}


def test_a_binary_file_whose_0_means_positive_is_read_as_mapped(tmp_path: Path):
    path = tmp_path / "mine.csv"
    path.write_text("text,label\nlove it,0\nhate it,1\n")
    frame, _ = read_labelled_csv(str(path), "text", "label", label_map={0: "positive", 1: "negative"})
    assert frame["label"].tolist() == ["positive", "negative"]


FOUR_CLASSES = csv_of(
    [
        ("best headphones I ever had", "Positive"),
        ("the update deleted my photos", "Negative"),
        ("the store opens at nine", "Neutral"),
        ("follow me for free gift cards", "Irrelevant"),
        ("worst purchase of my life", "Extremely Negative"),
        ("win a free cruise now", "IRRELEVANT"),
    ]
)


def test_an_extra_class_is_refused_with_a_map_that_drops_it_and_the_map_works_as_given(workdir: Path):
    message = refused(workdir, FOUR_CLASSES)
    assert message == (
        "data/external/mine.csv:5: unknown label 'Irrelevant' (unknown in this file: Irrelevant, Extremely Negative); "
        "map each to negative, neutral, positive or drop it with null: "
        "-S 'data.label_map={Irrelevant: null, Extremely Negative: negative}'."
    )
    label_map = dvc_set_param(workdir, re.search(r"-S '([^']*)'", message).group(1)).label_map
    data = prepare(workdir, FOUR_CLASSES, label_map=label_map)
    assert data["sources"]["csv"] == {
        "read": 6,
        "kept": 4,
        "dropped": NO_DROPS | {"label_dropped": 2},
        "unreadable_by_reason": {},
    }
    assert prepared(workdir, "train") == [
        ["best headphones I ever had", "positive"],
        ["the update deleted my photos", "negative"],
        ["the store opens at nine", "neutral"],
        ["worst purchase of my life", "negative"],
    ]


def dvc_set_param(workdir: Path, override: str) -> DataParams:
    """The data params after `dvc exp run -S <override>` (DVC's own override code) edits a copy of params.yaml."""
    path = workdir / "params.yaml"
    path.write_text((REPO / "params.yaml").read_text())
    apply_overrides(str(path), [override])
    return load_params(path).data


def pasted(suggestion: str) -> list[str]:
    """The arguments bash makes of `suggestion` pasted after a command."""
    result = subprocess.run(["bash", "-c", f"printf '%s\\0' {suggestion}"], capture_output=True, text=True, check=True)
    return result.stdout.split("\0")[:-1]


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        # CrowdFlower's "Brands and Product Emotions" (public-reports-2/08): an apostrophe, and a neutral class
        # named in words; `I can't tell` once broke bash's quoting, then DVC's parser.
        (
            ["Positive emotion", "Negative emotion", "No emotion toward brand or product", "I can't tell"],
            {"Positive emotion": "positive", "Negative emotion": "negative",
             "No emotion toward brand or product": "neutral", "I cant tell": None},
        ),
        (['"Very" negative', "pos (strong)", "None", "n/a"],
         {"Very negative": "negative", "pos strong": None, "None": "neutral", "n a": None}),
        (["Négatif", "neutral", "positive", "I\u2019m not sure"], None),  # not a -S key: YAML for params.yaml
    ],
)  # fmt: skip
def test_a_suggested_map_pastes_into_bash_and_dvc_as_printed_and_reads_the_file(
    workdir: Path, labels: list[str], expected: dict | None
):
    rows = [(f"tweet number {i}", label) for i, label in enumerate(labels)]
    rows += [("the screen cracked", "negative"), ("so good", "positive"), ("opens at nine", "neutral")]
    content = io.StringIO()
    csv.writer(content, lineterminator="\n").writerows([("text", "label"), *rows])
    message = refused(workdir, content.getvalue())
    suggestion = message.split("drop it with null: ", 1)[1].removesuffix(".")
    if expected is None:
        yaml_text = re.fullmatch(r"in params.yaml, under data: `label_map: (.*)`", suggestion).group(1)
        label_map = yaml.safe_load(yaml_text)
        assert label_map == {"Négatif": None, "I\u2019m not sure": None}
    else:
        flag, override = pasted(suggestion)
        assert flag == "-S"
        label_map = dvc_set_param(workdir, override).label_map
        assert label_map == expected
    data = prepare(workdir, content.getvalue(), label_map=label_map)
    assert all(data["train"][label] > 0 for label in ("negative", "neutral", "positive")), data["train"]


def test_the_suggested_map_for_a_minus_1_0_1_file_works_as_given(workdir: Path):
    content = csv_of([("the update deleted my photos", "-1"), ("the store opens at nine", "0"), ("so good", "1")])
    message = refused(workdir, content)
    label_map = dvc_set_param(workdir, re.search(r"-S '([^']*)'", message).group(1)).label_map
    assert label_map == {-1: "negative", 0: "neutral", 1: "positive"}
    assert prepare(workdir, content, label_map=label_map)["train"]["rows"] == 3


def test_an_error_after_a_quoted_line_break_names_the_physical_line(workdir: Path):
    content = (
        'text,label\n"a tweet\nover two lines",positive\nshort one,negative\n"and\n\nthree lines",neutral\n'
        "the last one,Mixed\n"
    )
    assert refused(workdir, content) == (
        "data/external/mine.csv:8: unknown label 'Mixed' (unknown in this file: Mixed); map each to negative, "
        "neutral, positive or drop it with null: -S 'data.label_map={Mixed: null}'."
    )
    data = prepare(workdir, content, label_map={"mixed": None})
    assert prepared(workdir, "train")[0] == ["a tweet over two lines", "positive"]
    assert data["sources"]["csv"] == {
        "read": 4,
        "kept": 3,
        "dropped": NO_DROPS | {"label_dropped": 1},
        "unreadable_by_reason": {},
    }


def test_an_unquoted_comma_costs_that_row_counted_and_named_with_its_line(workdir: Path, caplog):
    content = 'text,label\nfine,positive\n"quoted, so fine",neutral\nwell, not really,negative\nbad,negative\n'
    data = prepare(workdir, content)
    assert prepared(workdir, "train") == [["fine", "positive"], ["quoted, so fine", "neutral"], ["bad", "negative"]]
    assert data["sources"]["csv"] == {
        "read": 4,
        "kept": 3,
        "dropped": NO_DROPS | {"unreadable": 1},
        "unreadable_by_reason": {"bad_record": 1},
    }
    assert "data/external/mine.csv:4: bad_record (line 4: 3 fields where the header has 2; quote a field" in caplog.text


def test_an_unclosed_quote_names_the_line_it_opens_on(workdir: Path):
    content = 'text,label\nfine,positive\n"never closed,negative\nok,neutral\n'
    assert refused(workdir, content) == (
        "data/external/mine.csv:3: a quote opened on this line is not closed where a field ends (unexpected end of "
        'data), so lines 3-4 would be read as one row; close it, or double the quotes inside a quoted field ("say '
        '""hi"""), and read the file again'
    )


THREE_ROWS = [("love it, really", "positive"), ("hate it", "negative"), ("it is a phone", "neutral")]


@pytest.mark.parametrize(
    ("separator", "written", "name"), [("|", "|", "|"), ("\t", "\\t", "\\t"), (";", "';'", ";")]
)  # written: as -S takes it (Hydra's grammar wants `;` quoted); name: as the refusal names it
def test_pipe_tab_and_semicolon_files_are_sniffed_and_a_wrong_delimiter_is_named(
    workdir: Path, separator: str, written: str, name: str
):
    content = "".join(f"{separator.join(row)}\n" for row in [("text", "label"), *THREE_ROWS])
    data = prepare(workdir, content)  # data.delimiter null: sniffed
    assert prepared(workdir, "train") == [list(row) for row in THREE_ROWS]
    assert data["sources"]["csv"] == {"read": 3, "kept": 3, "dropped": NO_DROPS, "unreadable_by_reason": {}}
    delimiter = dvc_set_param(workdir, f"data.delimiter={written}").delimiter
    assert delimiter == name
    prepare(workdir, content, delimiter=delimiter)  # as given
    assert prepared(workdir, "train") == [list(row) for row in THREE_ROWS]
    assert refused(workdir, content, delimiter=",") == (
        f"data/external/mine.csv: the header line has no ',' but splits on '{name}'; set the separator to "
        f"'{name}' (or leave it unset to sniff it)"
    )


def test_a_spreadsheet_export_with_a_byte_order_mark_and_crlf_line_ends(workdir: Path):
    content = '\ufeffid,text,label\r\n1,love it,positive\r\n2,"hate\r\nit",negative\r\n3,meh,neutral\r\n\r\n'
    data = prepare(workdir, content, id_column="id")
    assert prepared(workdir, "train") == [["love it", "positive"], ["hate it", "negative"], ["meh", "neutral"]]
    assert data["sources"]["csv"] == {"read": 3, "kept": 3, "dropped": NO_DROPS, "unreadable_by_reason": {}}


def test_every_row_is_kept_or_dropped_for_one_named_reason(workdir: Path, caplog):
    test_tweets = read_tweeteval_split(
        REPO / "data/external/tweeteval-sentiment/test_text.txt.gz",
        REPO / "data/external/tweeteval-sentiment/test_labels.txt.gz",
    )
    rows = [
        ("the battery lasts all day", "positive"),
        ("the screen cracked in a week", "negative"),
        ("the store opens at nine", "neutral"),
        ("The battery lasts ALL day!", "positive"),  # duplicate (of the first, by text)
        ("the charger is fine", "positive"),  # conflicting labels: a tie, both dropped
        ("the charger is fine", "negative"),
        ("   ", "neutral"),  # empty text
        ("the case is blue", "  "),  # empty label
        ("follow me for gift cards", "Irrelevant"),  # label dropped by the map
        (f'"{test_tweets["text"][0]}"', "neutral"),  # in an evaluation split (TweetEval test)
    ]
    with caplog.at_level(logging.INFO):
        data = prepare(workdir, csv_of(rows), label_map={"irrelevant": None})
    assert data["sources"]["csv"] == {
        "read": 10,
        "kept": 3,
        "dropped": {
            "unreadable": 0,
            "empty_label": 1,
            "label_dropped": 1,
            "empty_text": 1,
            "conflicting_labels": 2,
            "duplicate": 1,
            "in_evaluation_split": 1,
        },
        "unreadable_by_reason": {},
    }
    assert_accounted(data)
    assert "7 of the 10 rows of data/external/mine.csv were dropped, most as conflicting_labels (2)" in caplog.text
    assert "mine.csv: 1 row(s) with an empty label, not trained on (lines 9); fill them in" in caplog.text


def test_eval_share_holds_out_a_stratified_seeded_share_of_each_label(workdir: Path):
    rows = [(f"positive note number {i}", "positive") for i in range(20)]
    rows += [(f"negative note number {i}", "negative") for i in range(10)]
    rows += [(f"neutral note number {i}", "neutral") for i in range(10)]
    data = prepare(workdir, csv_of(rows), eval_share=0.2)
    assert data["custom"] == {"rows": 8, "negative": 2, "neutral": 2, "positive": 4}
    assert data["train"] == {"rows": 32, "negative": 8, "neutral": 8, "positive": 16}
    assert_accounted(data)
    held_out = (workdir / "data/prepared/custom.csv").read_bytes()
    assert not {text for text, _ in prepared(workdir, "custom")} & {text for text, _ in prepared(workdir, "train")}
    prepare(workdir, csv_of(rows), eval_share=0.2)
    assert (workdir / "data/prepared/custom.csv").read_bytes() == held_out


def test_holding_out_keeps_every_label_in_train_and_refuses_to_hold_out_nothing():
    labels = ["negative", "neutral", "positive", "positive", "positive"]
    frame = pd.DataFrame({"id": list("abcde"), "text": list("abcde"), "label": labels})
    train, held = hold_out(frame, 0.5)
    assert sorted(train["label"]) == ["negative", "neutral", "positive"] and held["label"].tolist() == ["positive"] * 2
    with pytest.raises(DataError) as error:
        hold_out(frame.iloc[:3], 0.5)
    assert str(error.value) == (
        "data.eval_share 0.5 of 3 rows holds out no tweet (each label keeps one row for training); raise it, add "
        "rows, or set it to null."
    )


def test_csv_settings_for_another_source_are_refused_not_ignored(workdir: Path):
    with pytest.raises(DataError) as error:
        download.main(replace(PARAMS, data=replace(PARAMS.data, mix_embedded=True, eval_share=0.1)))
    assert str(error.value) == (
        "data.source 'embedded' ignores data.mix_embedded, data.eval_share, which are for data.source csv: "
        "set data.source to csv, or set them back to their defaults (params.yaml)."
    )


def test_a_missing_csv_gets_the_fix_for_how_it_is_tracked(tmp_path: Path, monkeypatch):
    """Untracked is the queued-experiment case: the queue copies only the files git tracks or has staged."""
    monkeypatch.chdir(tmp_path)
    run(["git", "init", "--quiet"], cwd=tmp_path)
    path = Path("data/external/new.csv")
    assert missing_csv_message(path) == (
        "data.csv_path 'data/external/new.csv' is not here and not in git or DVC, so a queued experiment cannot see "
        "it: `git add` it (or `dvc add` it and `git add` its .dvc file), then queue the experiment again; or fix "
        "the path."
    )
    path.parent.mkdir(parents=True)
    path.write_text("text,label\n")
    run(["git", "add", str(path)], cwd=tmp_path)
    path.unlink()
    assert missing_csv_message(path) == (
        "data/external/new.csv: file not found; restore it with `git checkout -- data/external/new.csv`."
    )
    Path("data/external/big.csv.dvc").write_text("outs:\n- path: big.csv\n")
    assert missing_csv_message(Path("data/external/big.csv")) == (
        "data.csv_path 'data/external/big.csv' is tracked by DVC but not here; run `dvc checkout` (or `dvc pull`)."
    )


def test_the_stage_gives_the_untracked_message_for_a_csv_it_cannot_find(workdir: Path):
    with pytest.raises(DataError, match=r"^data\.csv_path 'data/external/absent\.csv' is not here and not in git"):
        download.main(replace(PARAMS, data=replace(PARAMS.data, source="csv", csv_path="data/external/absent.csv")))


def test_a_file_without_a_header_line_is_told_to_add_one(workdir: Path):
    """Sentiment140's raw file, for one, starts with data."""
    assert refused(workdir, "0,the update broke my phone\n4,love the new camera\n") == (
        "data/external/mine.csv: missing column(s) ['text', 'label']; it has ['0', 'the update broke my phone']. "
        "Set data.text_column / data.label_column / data.id_column in params.yaml, or add a header line naming the "
        "columns: the first line looks like a row of data."
    )
