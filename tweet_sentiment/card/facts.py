"""What the model card reads: committed files only, so that one commit gives one card.

Every figure on the card comes from one of `CARD_FILES` (metrics in git, `cache: false`;
`models/serving/runtime.json`, whose hash `dvc.lock` records) or one of `CARD_PARAMS`
(params.yaml). No clock, host name, git call or environment variable is read. The
`package` stage declares exactly these as deps (tests/test_model_card.py checks).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tweet_sentiment.core import paths

DATA_METRICS = paths.METRICS / "data.json"  # download: rows read, kept, dropped; classes per split
TRAIN_METRICS = paths.TRAIN_LIVE / "metrics.json"  # finetune: epochs run, bf16 training
EVAL_METRICS = paths.EVAL_LIVE / "metrics.json"  # evaluate: the served runtime's scores per split
PER_CLASS = paths.EVAL_LIVE / "plots/custom"  # evaluate: per_class_<split>.json
ROBUSTNESS = paths.EVAL_LIVE / "plots/custom/robustness.json"  # evaluate: the drift table
EMOJI_ACCURACY = paths.EVAL_LIVE / "plots/custom/emoji_accuracy_test.json"  # evaluate: test accuracy by emoji
OPTIMIZE_METRICS = paths.OPTIMIZE_LIVE / "metrics.json"  # optimize: every candidate runtime and the gate
OPTIMIZE_PARAMS = paths.OPTIMIZE_LIVE / "params.yaml"  # optimize: the kind of CPU the candidates were gated on
RUNTIME = paths.SERVING / "runtime.json"  # optimize: the served runtime's name, engine, precision, weights
PARAMS = Path("params.yaml")
BENTOFILE = Path("bentofile.yaml")  # the Bento's name
LANGUAGE_DOC = Path("docs/language.md")  # linked, never read
CARD_FILES = (
    PARAMS,
    BENTOFILE,
    DATA_METRICS,
    TRAIN_METRICS,
    paths.EVAL_LIVE,
    OPTIMIZE_METRICS,
    OPTIMIZE_PARAMS,
    RUNTIME,
)
CARD_PARAMS = (
    "base_model",
    "lr",
    "epochs",
    "batch_size",
    "seed",
    "max_eval_samples",
    "data.source",
    "data.csv_path",
    "data.mix_embedded",
    "tokenize.max_length",
    "train.mode",
    "train.class_weighting",
    "train.ema_epochs",
    "train.early_stopping_patience",
    "teacher.weight",
    "teacher.model",
    "evaluate.robustness_samples",
    "optimize.runtime",
    "optimize.select",
    "optimize.max_recall_drop",
    "optimize.min_agreement",
    "optimize.calibration_samples",
    "max_train_samples",
    "optimize.openvino_int8_float_ops",
)


class ModelCardError(ValueError):
    """The committed files cannot make a true card (missing, or at odds with each other); the message says which."""


@dataclass(frozen=True)
class CardInputs:
    """The committed figures the card states, each as its file holds it."""

    name: str  # the Bento's name (bentofile.yaml)
    params: dict[str, Any]  # CARD_PARAMS, by dotted key
    data: dict[str, Any]  # metrics/data.json
    train: dict[str, Any]  # metrics/train/metrics.json
    evaluation: dict[str, Any]  # metrics/eval/metrics.json
    per_class: dict[str, list[dict[str, Any]]]  # split -> metrics/eval/plots/custom/per_class_<split>.json
    robustness: list[dict[str, Any]]  # metrics/eval/plots/custom/robustness.json
    emoji_accuracy: list[dict[str, Any]]  # metrics/eval/plots/custom/emoji_accuracy_test.json; [] where none
    candidates: dict[str, Any]  # metrics/optimize/metrics.json
    cpu: str  # metrics/optimize/params.yaml
    runtime: dict[str, Any]  # models/serving/runtime.json


def _text(root: Path, path: Path) -> str:
    try:
        return (root / path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelCardError(
            f"{path} is missing: the model card is made from it (run the stage that writes it)"
        ) from None


def _json(root: Path, path: Path) -> Any:
    return json.loads(_text(root, path))


def _param(params: dict[str, Any], key: str) -> Any:
    value: Any = params
    for part in key.split("."):
        value = value[part]
    return value


def evaluated_splits(evaluation: dict[str, Any]) -> list[str]:
    """The scored splits and slices of metrics/eval/metrics.json, in its order (every entry with a macro recall)."""
    return [name for name, value in evaluation.items() if isinstance(value, dict) and "macro_recall" in value]


def served_candidate(candidates: dict[str, Any]) -> str:
    """The runtime `optimize` marked `served`."""
    [served] = [name for name, row in candidates.items() if row["served"]]
    return served


def read_inputs(root: Path = Path(".")) -> CardInputs:
    """Every file the card is made from, under `root`; `ModelCardError` if one is missing or they disagree."""
    params = yaml.safe_load(_text(root, PARAMS))
    evaluation = _json(root, EVAL_METRICS)
    per_class = {
        split: _json(root, PER_CLASS / f"per_class_{split}.json")
        for split in evaluated_splits(evaluation)
        if (root / PER_CLASS / f"per_class_{split}.json").is_file()
    }
    inputs = CardInputs(
        name=yaml.safe_load(_text(root, BENTOFILE))["name"],
        params={key: _param(params, key) for key in CARD_PARAMS},
        data=_json(root, DATA_METRICS),
        train=_json(root, TRAIN_METRICS),
        evaluation=evaluation,
        per_class=per_class,
        robustness=_json(root, ROBUSTNESS),
        # evaluate writes it only where test tweets hold an emoji often enough (the quick run's 256 may not)
        emoji_accuracy=_json(root, EMOJI_ACCURACY) if (root / EMOJI_ACCURACY).is_file() else [],
        candidates=_json(root, OPTIMIZE_METRICS),
        cpu=yaml.safe_load(_text(root, OPTIMIZE_PARAMS))["cpu"],
        runtime=_json(root, RUNTIME),
    )
    if served_candidate(inputs.candidates) != inputs.runtime["name"]:
        raise ModelCardError(
            f"{RUNTIME} says {inputs.runtime['name']} but {OPTIMIZE_METRICS} served "
            f"{served_candidate(inputs.candidates)}: the workspace is not one run of `optimize` (dvc checkout)"
        )
    return inputs
