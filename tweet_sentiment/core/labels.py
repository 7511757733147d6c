"""The one label map, in TweetEval's order (its mapping.txt), and the model contract built on it.

A model directory is one of ours when its config's `id2label` is this map:
`check_labels` refuses any other, so no runtime reads a model's outputs as the
wrong sentiments. Torch-free and import-free, so every stage and the service
can depend on it without depending on a training library or an inference engine.
"""

import json
from pathlib import Path

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
ID2LABEL: dict[int, str] = dict(enumerate(LABELS))
LABEL2ID: dict[str, int] = {label: i for i, label in ID2LABEL.items()}


class ModelLoadError(RuntimeError):
    """A model directory is not a classifier this project fine-tuned; the message says why."""


def check_labels(model_dir: Path, id2label: dict[int, str]) -> None:
    """Refuse a model whose outputs would be read as the wrong sentiments."""
    if id2label != ID2LABEL:
        raise ModelLoadError(
            f"{model_dir}: id2label is {id2label}, not this project's label map {ID2LABEL}; "
            "its outputs would be read as the wrong sentiments."
        )


def config_labels(model_dir: Path) -> dict[int, str]:
    """The label map in a model's config.json, keys as ints (as transformers reads them)."""
    try:
        config = json.loads((model_dir / "config.json").read_text())
        return {int(i): label for i, label in config.get("id2label", {}).items()}
    except (ValueError, AttributeError) as error:
        raise ModelLoadError(f"{model_dir / 'config.json'}: not a model config ({error}).") from None
