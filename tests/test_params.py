"""params.yaml: numbers as numbers (the `dvc exp run -S lr=1e-5` trap) and clear errors."""

import re
from pathlib import Path

import pytest
import yaml

from tests.support.repo import REPO_PARAMS, edit
from tweet_sentiment.core.params import NumberLoader, ParamsError, load_params


def test_repository_params_are_valid():
    params = load_params(REPO_PARAMS)
    assert isinstance(params.lr, float) and params.epochs >= 1


@pytest.mark.parametrize("written", ["1e-05", "1E-5", "1.0e-5", "0.00001"])
def test_scientific_notation_is_a_float(written: str):
    assert yaml.load(f"lr: {written}", Loader=NumberLoader) == {"lr": 1e-05}


def test_dvc_style_lr_loads_as_number(params_file: Path):
    edit(params_file, "lr: 1e-4", "lr: 1e-05")
    assert load_params(params_file).lr == 1e-05


def test_integer_where_float_expected_is_accepted(params_file: Path):
    edit(params_file, "timeout_s: 15", "timeout_s: 3")
    assert load_params(params_file).data.timeout_s == 3.0


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("lr: 1e-4", "lr: fast", "`lr` must be float"),
        ("lr: 1e-4", "lr: -1e-4", "`lr` must be positive"),
        ("epochs: 2", "epochs: 2.5", "`epochs` must be int"),
        ("batch_size: 32\n", "", "`batch_size` is missing"),
        ("mode: full", "mode: partial", "`train.mode` must be one of"),
        ("seed: 42", "seed: 42\nlearning_rate: 1", "unknown param(s) ['learning_rate']"),
        ("max_train_samples: null", "max_train_samples: 0", "`max_train_samples` must be positive"),
        ("min_agreement: 0.99", "min_agreement: 99", "`optimize.min_agreement` must be at most 1"),
        ("max_recall_drop: 0.005", "max_recall_drop: -0.01", "`optimize.max_recall_drop` must not be negative"),
        ("select: listed", "select: fastest", "`optimize.select` must be one of"),
        ("candidates: [", "candidates: openvino-int8 #[", "`optimize.candidates` must be a list of strings"),
        ("processes: 1", "processes: 0", "`train.processes` must be positive"),
        ("label_smoothing: 0.0", "label_smoothing: 1.0", "`train.label_smoothing` must be between 0 and 1"),
        ("label_smoothing: 0.0", "label_smoothing: -0.1", "`train.label_smoothing` must not be negative"),
    ],
)
def test_bad_param_is_named(params_file: Path, old: str, new: str, message: str):
    edit(params_file, old, new)
    with pytest.raises(ParamsError, match=re.escape(message)):
        load_params(params_file)


def test_missing_file_and_bad_yaml(tmp_path: Path):
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("lr: [1\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(tmp_path / "params.yaml")
