"""Fine-tuning pieces on the real tweets and the real embedded base model: class weights,
the weighted loss, and a short real training run (head only) logged by DVCLive."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from dvclive import Live
from transformers import EvalPrediction, set_seed

from tweet_sentiment.core.hardware import bf16_training_available
from tweet_sentiment.core.labels import LABEL2ID, LABELS
from tweet_sentiment.core.metrics import headline_scores
from tweet_sentiment.core.params import load_params
from tweet_sentiment.data.sources import embedded_splits
from tweet_sentiment.data.tokenized import TokenizedSplit
from tweet_sentiment.train.ema import ema_decay
from tweet_sentiment.train.models import EMBEDDED_MODEL_ID, load_classifier, load_tokenizer
from tweet_sentiment.train.trainer import (
    BEST_METRIC,
    build_trainer,
    class_weights,
    compute_metrics,
    finetune,
    logging_steps,
    training_arguments,
    weighted_cross_entropy,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def splits() -> dict[str, pd.DataFrame]:
    return embedded_splits(REPO / "data" / "external")[0]


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(EMBEDDED_MODEL_ID)


def test_balanced_weights_favour_the_rare_class_of_the_real_training_pool(splits):
    labels = splits["train"]["label"].map(LABEL2ID).to_numpy()
    weights = class_weights(labels, "balanced")
    counts = np.bincount(labels, minlength=len(LABELS))
    # 'balanced' = n / (k * count): every class then carries the same total weight.
    np.testing.assert_allclose(weights.numpy() * counts, np.full(3, len(labels) / 3), rtol=1e-5)
    assert weights.dtype == torch.float32
    assert int(weights.argmax()) == LABEL2ID["negative"]  # 16% of the pool, the rarest class
    assert class_weights(labels, "none") is None


def test_a_class_missing_from_the_sample_gets_weight_one_instead_of_a_crash():
    """A 3-tweet sample with no neutral: sklearn's 'balanced' over all three labels raises here."""
    weights = class_weights(np.array([0, 2, 2]), "balanced")
    np.testing.assert_allclose(weights.numpy(), [3 / (2 * 1), 1.0, 3 / (2 * 2)])


def test_weighted_loss_matches_torch_and_weights_the_rare_class():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-1.0, 3.0, 0.0]])
    labels = torch.tensor([0, 2, 1])
    outputs = type("Outputs", (), {"logits": logits})()
    unweighted = torch.nn.functional.cross_entropy(logits, labels)
    assert torch.isclose(weighted_cross_entropy(None)(outputs, labels), unweighted)
    weights = torch.tensor([3.0, 1.0, 1.0])
    expected = torch.nn.functional.cross_entropy(logits, labels, weight=weights)
    assert torch.isclose(weighted_cross_entropy(weights)(outputs, labels), expected)
    # A batch with a wrong answer on the up-weighted class and a right one elsewhere:
    # the weighted mean leans towards the mistake.
    two = type("Outputs", (), {"logits": torch.tensor([[0.0, 2.0, 0.0], [0.0, 0.0, 2.0]])})()
    batch = torch.tensor([0, 2])
    assert weighted_cross_entropy(torch.tensor([5.0, 1.0, 1.0]))(two, batch) > weighted_cross_entropy(None)(two, batch)


def test_compute_metrics_scores_argmax_of_the_logits():
    logits = np.array([[3.0, 0.0, 0.0], [0.0, 2.0, 1.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    labels = np.array([0, 1, 2, 2])
    scores = compute_metrics(EvalPrediction(predictions=logits, label_ids=labels))
    assert scores == headline_scores(labels, [0, 1, 2, 0])
    assert scores["accuracy"] == 0.75 and scores["macro_recall"] == pytest.approx((1 + 1 + 0.5) / 3)


def test_training_arguments_follow_params(tmp_path: Path):
    params = load_params(REPO / "params.yaml")
    args = training_arguments(replace(params, lr=3e-5, epochs=3, batch_size=8, seed=7), tmp_path, 1000)
    assert (args.learning_rate, args.num_train_epochs, args.per_device_train_batch_size) == (3e-5, 3, 8)
    assert args.seed == 7 and args.data_seed == 7
    assert args.metric_for_best_model == BEST_METRIC and args.greater_is_better and args.load_best_model_at_end
    assert args.per_device_eval_batch_size == params.train.eval_batch_size
    assert args.weight_decay == params.train.weight_decay
    # bf16 follows `train.bf16`: off when pinned off, the hardware probe under `auto`.
    assert training_arguments(replace(params, train=replace(params.train, bf16=False)), tmp_path, 1000).bf16 is False
    auto = training_arguments(replace(params, train=replace(params.train, bf16="auto")), tmp_path, 1000)
    assert auto.bf16 == bf16_training_available()


@pytest.mark.parametrize(
    ("train_size", "batch_size", "epochs", "expected"),
    [
        (47_370, 32, 2, 20),  # the default run: 2,962 optimizer steps, logged every 20 as before
        (512, 32, 1, 1),  # README's quick run: 16 steps, each one logged
        (2_000, 32, 1, 3),  # 63 steps: 21 points
        (400, 32, 20, 13),  # 260 steps over many epochs: 20 points
    ],
)
def test_short_runs_log_their_loss_often_enough_to_plot(train_size: int, batch_size: int, epochs: int, expected: int):
    params = replace(load_params(REPO / "params.yaml"), batch_size=batch_size, epochs=epochs)
    assert logging_steps(train_size, params) == expected
    assert training_arguments(params, Path("unused"), train_size).logging_steps == expected


def test_head_only_finetune_trains_the_head_keeps_the_encoder_and_logs_to_dvclive(
    splits, tokenizer, tmp_path: Path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # DVCLive and the Trainer write nothing into the repository
    params = load_params(REPO / "params.yaml")
    params = replace(params, lr=1e-3, epochs=2, batch_size=16, train=replace(params.train, mode="head"))
    set_seed(params.seed)
    train = TokenizedSplit.from_frame(splits["train"].sample(96, random_state=params.seed), tokenizer, 64)
    val = TokenizedSplit.from_frame(splits["val"].sample(48, random_state=params.seed), tokenizer, 64)
    model = load_classifier(EMBEDDED_MODEL_ID)
    encoder_before = {name: p.detach().clone() for name, p in model.base_model.named_parameters()}
    head_before = {name: p.detach().clone() for name, p in model.classifier.named_parameters()}

    live = Live(str(tmp_path / "live"), dvcyaml=False, save_dvc_exp=False)
    trainer = finetune(build_trainer(params, model, tokenizer, train, val, live, tmp_path / "checkpoints"))

    model = trainer.model
    assert all(not p.requires_grad for p in model.base_model.parameters())
    assert all(torch.equal(p, encoder_before[name]) for name, p in model.base_model.named_parameters())
    assert any(not torch.equal(p, head_before[name]) for name, p in model.classifier.named_parameters())
    assert trainer.state.epoch == 2
    evaluated = [entry for entry in trainer.state.log_history if f"eval_{BEST_METRIC}" in entry]
    assert len(evaluated) == 2  # one validation pass per epoch
    assert trainer.state.best_metric == max(entry[f"eval_{BEST_METRIC}"] for entry in evaluated)
    # DVCLive got the per-epoch validation scores and the training loss.
    metrics = json.loads((tmp_path / "live" / "metrics.json").read_text())
    assert metrics["eval"][BEST_METRIC] == pytest.approx(evaluated[-1][f"eval_{BEST_METRIC}"])
    curve = (tmp_path / "live" / "plots" / "metrics" / "eval" / f"{BEST_METRIC}.tsv").read_text().splitlines()
    logged_curve = [float(line.split("\t")[-1]) for line in curve[1:]]
    assert logged_curve == pytest.approx([entry[f"eval_{BEST_METRIC}"] for entry in evaluated])
    # ...but no run timings: a tracked out must not change when the inputs do not.
    logged = [path.name for path in (tmp_path / "live").rglob("*")] + list(metrics["eval"]) + list(metrics)
    assert not [name for name in logged if "runtime" in name or "per_second" in name]


def test_ema_decay_has_the_time_constant_asked_for():
    decay = ema_decay(1 / 3, 1481)  # the default run: a third of its 1,481-step epochs
    assert decay**494 == pytest.approx(np.exp(-1), rel=1e-3)  # after one time constant, 1/e is left
    assert ema_decay(0.33, 1) == pytest.approx(np.exp(-1))  # never shorter than one step


def _short_head_run(splits, tokenizer, tmp_path: Path, ema_epochs: float) -> list[dict]:
    """Two epochs of 6 head-only steps on real tweets; the Trainer's log history."""
    params = load_params(REPO / "params.yaml")
    train_params = replace(params.train, mode="head", ema_epochs=ema_epochs)
    params = replace(params, lr=1e-3, epochs=2, batch_size=16, train=train_params)
    set_seed(params.seed)
    train = TokenizedSplit.from_frame(splits["train"].sample(96, random_state=params.seed), tokenizer, 64)
    val = TokenizedSplit.from_frame(splits["val"].sample(48, random_state=params.seed), tokenizer, 64)
    model = load_classifier(EMBEDDED_MODEL_ID)
    trainer = finetune(build_trainer(params, model, tokenizer, train, val, None, tmp_path / f"ema{ema_epochs}"))
    return trainer.state.log_history


def test_weight_averaging_keeps_the_better_of_raw_and_average_and_leaves_training_as_it_was(
    splits, tokenizer, tmp_path: Path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    plain = [
        entry[f"eval_{BEST_METRIC}"]
        for entry in _short_head_run(splits, tokenizer, tmp_path, 0.0)
        if f"eval_{BEST_METRIC}" in entry
    ]
    history = _short_head_run(splits, tokenizer, tmp_path, 0.5)

    def logged(key: str) -> list[float]:
        return [entry[key] for entry in history if key in entry]

    raw, average, evaluated = (
        logged("eval_raw_macro_recall"),
        logged("eval_average_macro_recall"),
        logged(f"eval_{BEST_METRIC}"),
    )
    assert len(raw) == len(average) == len(evaluated) == 2  # scored at each epoch's end
    # Scoring the average draws nothing from training's random stream: the raw weights are the plain run's.
    assert raw == plain
    assert evaluated == [max(pair) for pair in zip(raw, average, strict=True)]
