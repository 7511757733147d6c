"""The paths the stages use are the ones dvc.yaml declares, so DVC tracks what is written."""

from pathlib import Path

import yaml

from tweet_sentiment.core import paths

REPO = Path(__file__).resolve().parents[1]
STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def _names(entries: list) -> set[str]:
    return {next(iter(entry)) if isinstance(entry, dict) else entry for entry in entries}


def test_stage_outputs_are_declared_in_dvc_yaml():
    declared = {
        "download": paths.PREPARED,
        "tokenize": paths.TOKENIZED,
        "finetune": paths.MODEL,
        "package": paths.BENTO_ARCHIVE,
    }
    for stage, path in declared.items():
        assert path.as_posix() in _names(STAGES[stage]["outs"]), stage
    assert paths.TRAIN_LIVE.as_posix() in _names(STAGES["finetune"]["outs"])
    assert paths.EVAL_LIVE.as_posix() in _names(STAGES["evaluate"]["outs"])
    assert paths.BENTO_INFO.as_posix() in _names(STAGES["package"]["outs"])


def test_inputs_exist_and_splits_match_the_declared_files():
    assert paths.EXTERNAL.as_posix() in STAGES["download"]["deps"]
    assert (REPO / paths.EXTERNAL).is_dir()
    assert paths.SPLITS == ("train", "val", "test")
    # evaluate reads val.csv, test.csv and, when a user's file is held out, custom.csv from it
    assert paths.PREPARED.as_posix() in STAGES["evaluate"]["deps"]
    metrics = yaml.safe_load((REPO / "dvc.yaml").read_text())["metrics"]
    assert (paths.TRAIN_LIVE / "metrics.json").as_posix() in metrics
    assert (paths.EVAL_LIVE / "metrics.json").as_posix() in metrics


def test_training_checkpoints_stay_out_of_git_and_dvc():
    ignored = (REPO / ".gitignore").read_text().split()
    assert f"/{paths.CHECKPOINTS.parts[0]}/" in ignored
    outs = set().union(*(_names(stage.get("outs", [])) for stage in STAGES.values()))
    assert not any(paths.CHECKPOINTS.is_relative_to(out) for out in outs)
