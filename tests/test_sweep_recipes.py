"""scripts/sweep_recipes.py: its settings are real params changes, and TAPT runs wait for their encoder."""

import importlib.util
from pathlib import Path

import pytest

from tweet_sentiment.params import load_params

SCRIPT = Path(__file__).parents[1] / "scripts" / "sweep_recipes.py"
spec = importlib.util.spec_from_file_location("sweep_recipes", SCRIPT)
sweep = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sweep)


def test_with_changes_replaces_nested_and_top_level_params_only():
    params = load_params()
    changed = sweep.with_changes(params, {"tokenize.emoji_share": 0.1, "epochs": 3, "train.bf16": False})
    assert (changed.tokenize.emoji_share, changed.epochs, changed.train.bf16) == (0.1, 3, False)
    assert changed.tokenize.max_length == params.tokenize.max_length
    assert (changed.lr, changed.train.ema_epochs) == (params.lr, params.train.ema_epochs)
    assert params == load_params()  # the loaded params are left as they were


@pytest.mark.parametrize("setting", sorted(sweep.SETTINGS))
def test_every_setting_names_params_that_exist(setting):
    changes, _ = sweep.SETTINGS[setting]
    changed = sweep.with_changes(load_params(), changes)
    for dotted, value in changes.items():
        section, _, key = dotted.rpartition(".")
        assert getattr(getattr(changed, section) if section else changed, key) == value


def test_a_misspelt_param_is_refused():
    with pytest.raises(TypeError, match="emoji_shares"):
        sweep.with_changes(load_params(), {"tokenize.emoji_shares": 0.1})


def test_tapt_runs_wait_for_the_encoder_and_others_do_not():
    pending = [("tapt", 42), ("default", 42), ("tapt", 1)]
    assert sweep.next_job(pending, tapt_ready=False) == ("default", 42)
    assert sweep.next_job(pending, tapt_ready=True) == ("tapt", 42)
    assert sweep.next_job([("tapt", 1)], tapt_ready=False) is None
