"""Tokenized storage, model loading, label map and batched prediction on the real base model."""

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from transformers import DataCollatorWithPadding

from tweet_sentiment.labels import ID2LABEL, LABELS
from tweet_sentiment.modeling import (
    EMBEDDED_MODEL_ID,
    ModelSourceError,
    load_classifier,
    load_tokenizer,
    resolve_model_source,
)
from tweet_sentiment.predict import Predictor
from tweet_sentiment.text import normalise
from tweet_sentiment.tokenized import TokenizedSplit

TWEETS = ["I love this phone!", "@bob worst service ever http://t.co/x", "The meeting is at 5pm.", ""]


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(EMBEDDED_MODEL_ID)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tokenizer) -> Path:
    """A save_pretrained classifier dir (untrained head) as `finetune` writes it."""
    path = tmp_path_factory.mktemp("model")
    load_classifier(EMBEDDED_MODEL_ID).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


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
    predictor = Predictor(model_dir, batch_size=2)
    results = predictor.predict(TWEETS)
    assert [r["pred_label"] for r in results] == [LABELS[r["pred_id"]] for r in results]
    assert set(results[0]["scores"]) == set(LABELS)
    assert predictor.predict([]) == []


def test_hub_model_fails_fast_and_clearly_offline():
    started = time.perf_counter()
    with pytest.raises(ModelSourceError, match="Hugging Face hub is unreachable"):
        resolve_model_source("cardiffnlp/twitter-roberta-base-sentiment-latest", timeout_s=5)
    assert time.perf_counter() - started < 15


def test_local_dir_and_embedded_id_resolve_locally(model_dir: Path):
    assert resolve_model_source(str(model_dir)) == str(model_dir)
    assert Path(resolve_model_source(EMBEDDED_MODEL_ID)).is_dir()
