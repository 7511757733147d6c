"""Stage entry points: params loaded from the working directory, known input errors as one line."""

import logging
import shutil
from pathlib import Path

import pytest

from tweet_sentiment.core.params import ParamsError, load_params
from tweet_sentiment.core.stage import run_stage
from tweet_sentiment.data.cleaning import DataError
from tweet_sentiment.train.models import ModelSourceError

REPO = Path(__file__).resolve().parents[1]


def test_main_gets_the_params_of_the_working_directory(tmp_path: Path, monkeypatch):
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    seen = []
    run_stage(seen.append)
    assert seen == [load_params(REPO / "params.yaml")]


@pytest.mark.parametrize("error", [DataError, ParamsError, ModelSourceError])
def test_known_input_errors_exit_1_with_their_message_only(error, tmp_path, monkeypatch, caplog):
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)

    def main(params):
        raise error("data/external/x.tsv line 3: bad label 'meh'")

    with caplog.at_level(logging.ERROR, logger="tweet_sentiment"), pytest.raises(SystemExit) as exit_info:
        run_stage(main)
    assert exit_info.value.code == 1
    assert [record.getMessage() for record in caplog.records] == ["data/external/x.tsv line 3: bad label 'meh'"]
    assert caplog.records[0].exc_info is None  # one line, no traceback


def test_a_broken_params_file_stops_before_main(tmp_path, monkeypatch, caplog):
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text().replace("lr: 1e-4", "lr: fast"))
    monkeypatch.chdir(tmp_path)
    ran = []
    with caplog.at_level(logging.ERROR, logger="tweet_sentiment"), pytest.raises(SystemExit):
        run_stage(ran.append)
    assert ran == []
    assert caplog.records[-1].getMessage() == "params.yaml: `lr` must be float, got 'fast'."


def test_unexpected_errors_keep_their_traceback(tmp_path, monkeypatch):
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)

    def main(params):
        raise ZeroDivisionError("a bug, not bad input")

    with pytest.raises(ZeroDivisionError):
        run_stage(main)
