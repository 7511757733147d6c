"""The model card every Bento ships: a Hugging Face model card made from committed files alone.

Format: https://huggingface.co/docs/hub/model-cards (YAML metadata between `---`
lines, `model-index` results as the Hub's evaluation results, then Markdown). The
`package` stage writes it to `models/model_card.md` before it builds the Bento; two
builds of one commit give the same bytes (`card/facts.py` says what is read). The
service adds the registry version it runs at start (`card/metadata.py`, `with_registry_version`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tweet_sentiment.card.facts import CardInputs, read_inputs
from tweet_sentiment.card.limits import limitations
from tweet_sentiment.card.metadata import yaml_block
from tweet_sentiment.card.sections import (
    INTENDED_USE,
    evaluation,
    licence,
    model_details,
    out_of_scope,
    served_runtime,
    training_data,
)

# The Hub's library of each engine's model files (models/serving): what loads the Bento's model.
ENGINE_LIBRARIES = {"openvino": "openvino", "onnxruntime": "onnx", "torchscript": "transformers"}
DATASET = {"name": "TweetEval (sentiment)", "type": "cardiffnlp/tweet_eval", "config": "sentiment"}
HUB_SPLITS = {"val": "validation", "test": "test"}  # this project's split names -> the Hub dataset's
METRICS = (("macro_recall", "recall", "Macro recall"), ("macro_f1", "f1", "Macro F1"), ("accuracy", "accuracy", None))
PRECISION = 4  # decimals of every rate in the metadata (the Markdown prints the same with :.4f)


def _result(inputs: CardInputs, split: str) -> dict[str, Any]:
    scores = inputs.evaluation[split]
    metrics = []
    for key, hub_type, name in METRICS:
        metric: dict[str, Any] = {"type": hub_type, "value": round(scores[key], PRECISION)}
        if name:
            metric |= {"name": name, "args": {"average": "macro"}}
        metrics.append(metric)
    return {
        "task": {"type": "text-classification", "name": "Sentiment analysis"},
        "dataset": DATASET | {"split": HUB_SPLITS[split]},
        "metrics": metrics,
    }


def front_matter(inputs: CardInputs) -> dict[str, Any]:
    """The card's YAML metadata: the Hub's fields, results per TweetEval split from metrics/eval/metrics.json."""
    base = inputs.params["base_model"]
    return {
        "language": ["en"],
        "license": licence(base),
        "library_name": ENGINE_LIBRARIES[inputs.runtime["engine"]],
        "pipeline_tag": "text-classification",
        "base_model": base,
        "datasets": [DATASET["type"]],
        "metrics": [hub_type for _, hub_type, _ in METRICS],
        "tags": ["sentiment-analysis", "twitter", "bentoml", inputs.runtime["name"]],
        # the served weights' digest and runtime, as GET /version names them: the service serves the card
        # only to weights and a runtime it describes
        "model_version": inputs.runtime["model_version"],
        "runtime": inputs.runtime["name"],
        "model-index": [
            {
                "name": inputs.name,
                "results": [_result(inputs, split) for split in HUB_SPLITS if split in inputs.evaluation],
            }
        ],
    }


def render_model_card(root: Path = Path(".")) -> str:
    """The model card of the model whose committed files lie under `root`."""
    inputs = read_inputs(root)
    sections = (
        f"# {inputs.name}\n\nTweet sentiment (negative / neutral / positive), `{inputs.params['base_model']}` "
        "fine-tuned for TweetEval's sentiment task, served as a BentoML Bento. Every figure below is read "
        "from the pipeline's committed metrics (the file is named beside it).",
        model_details(inputs),
        INTENDED_USE,
        out_of_scope(inputs),
        training_data(inputs),
        evaluation(inputs),
        served_runtime(inputs),
        limitations(inputs),
    )
    return yaml_block(front_matter(inputs)) + "\n" + "\n\n".join(sections) + "\n"
