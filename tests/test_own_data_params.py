"""The `data` params for a user's CSV: what loads (as `dvc exp run -S` writes it), and one clear line otherwise."""

import re
from pathlib import Path

import pytest

from tests.support.repo import REPO_PARAMS, edit
from tweet_sentiment.core.params import ParamsError, load_params


def test_the_csv_knobs_default_to_the_embedded_pipeline_as_before():
    data = load_params(REPO_PARAMS).data
    assert (data.id_column, data.delimiter, data.label_map, data.mix_embedded, data.eval_share) == (
        None,
        None,  # sniffed by the input layer
        None,
        False,
        None,
    )


@pytest.mark.parametrize(
    ("new", "loaded"),
    [
        ("label_map: {0: negative, 2: neutral, 4: positive}", {0: "negative", 2: "neutral", 4: "positive"}),
        ("label_map: {-1: Negative, 0: NEUTRAL, 1: positive}", {-1: "Negative", 0: "NEUTRAL", 1: "positive"}),
        (
            "label_map: {Irrelevant: null, Extremely Negative: negative}",
            {"Irrelevant": None, "Extremely Negative": "negative"},
        ),
    ],
)
def test_label_maps_load_with_int_and_string_keys_and_null_to_drop(params_file: Path, new: str, loaded: dict):
    edit(params_file, "label_map: null", new)
    assert load_params(params_file).data.label_map == loaded


@pytest.mark.parametrize(
    ("new", "loaded"), [('delimiter: "|"', "|"), ('delimiter: "\\t"', "\t"), ("delimiter: \\t", "\\t")]
)
def test_a_delimiter_is_one_character_or_backslash_t(params_file: Path, new: str, loaded: str):
    edit(params_file, "delimiter: null", new)
    assert load_params(params_file).data.delimiter == loaded


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "label_map: null",
            "label_map: {0: happy}",
            "`data.label_map` must map each label to one of negative, neutral, positive or null, got {0: 'happy'}.",
        ),
        (
            "label_map: null",
            "label_map: [negative, positive]",
            "`data.label_map` must be a mapping with string or integer keys, got ['negative', 'positive'].",
        ),
        (
            "label_map: null",
            "label_map: {yes: positive}",  # YAML 1.1 reads `yes` as true
            "`data.label_map` must be a mapping with string or integer keys, got {True: 'positive'}.",
        ),
        (
            "delimiter: null",
            "delimiter: ab",
            "`data.delimiter` must be one of ',' ';' '|' or '\\t' (a tab), or null to sniff it, got 'ab'.",
        ),
        (
            "delimiter: null",
            "delimiter: ':'",
            "`data.delimiter` must be one of ',' ';' '|' or '\\t' (a tab), or null to sniff it, got ':'.",
        ),
        ("eval_share: null", "eval_share: 0", "`data.eval_share` must be positive, got 0.0."),
        ("eval_share: null", "eval_share: 1", "`data.eval_share` must be between 0 and 1, got 1.0."),
        ("mix_embedded: false", "mix_embedded: sometimes", "`data.mix_embedded` must be bool, got 'sometimes'."),
        ("id_column: null", "id_column: 3", "`data.id_column` must be str, got 3."),
    ],
)
def test_a_bad_csv_knob_is_named(params_file: Path, old: str, new: str, message: str):
    edit(params_file, old, new)
    with pytest.raises(ParamsError, match=f"^params.yaml: {re.escape(message)}$"):
        load_params(params_file)
