"""Candidate runtimes: the same tokens and answers as the fp32 model, strict loading, no torch to serve."""

import gzip
import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.support.repo import REPO
from tweet_sentiment.core.labels import ID2LABEL, LABELS
from tweet_sentiment.core.params import ParamsError, load_params
from tweet_sentiment.core.text import normalise
from tweet_sentiment.optimize.choose import Candidate, calibration_tweets, check_candidates, choose
from tweet_sentiment.optimize.quantize import CANDIDATES, build_candidate, export_onnx, openvino_model
from tweet_sentiment.release.bento_build import TORCH_CPU_INDEX, with_runtime_packages
from tweet_sentiment.serving.predictor import Predictor, softmax
from tweet_sentiment.serving.runtimes import (
    ENGINE_PACKAGES,
    ModelLoadError,
    Runtime,
    load_logits,
    model_version,
    openvino_precision,
    read_runtime,
)
from tweet_sentiment.serving.tokenizer import TweetTokenizer
from tweet_sentiment.train.models import load_tokenizer

TWEETS = [
    "I love this phone!",
    "@bob worst service ever http://t.co/x",
    "The meeting is at 5pm.",
    "short",
    "a much longer tweet about the weather and the trains and everything " * 4,
    "ünïcödé ☕ 🙂🙂 #hashtag",
]


def test_the_tokenizer_gives_transformers_ids_and_counts_on_real_tweets(model_dir: Path):
    lines = gzip.decompress((REPO / "data/external/tweeteval-sentiment/val_text.txt.gz").read_bytes()).decode()
    texts = [*lines.splitlines()[:300], *TWEETS]
    texts += ["word " * 600]  # beyond model_max_length: truncated the same way
    reference = load_tokenizer(str(model_dir))
    expected = reference([normalise(text) for text in texts], truncation=True)["input_ids"]
    tokenizer = TweetTokenizer(model_dir)
    assert tokenizer.encode(texts) == expected
    counts = tokenizer.counts(expected)
    assert [c.tokens for c in counts] == [len(ids) - reference.num_special_tokens_to_add() for ids in expected]
    assert [c.unknown for c in counts] == [ids.count(reference.unk_token_id) for ids in expected]
    input_ids, mask = tokenizer.pad(expected[:3])
    padded = reference.pad({"input_ids": expected[:3]}, return_tensors="np")
    np.testing.assert_array_equal(input_ids, padded["input_ids"])
    np.testing.assert_array_equal(mask, padded["attention_mask"])


@pytest.fixture(scope="module")
def candidates(model_dir: Path, tmp_path_factory) -> dict[str, Path]:
    """The fp32 candidates of an (untrained-head) classifier, built as the `optimize` stage builds them."""
    work = tmp_path_factory.mktemp("candidates")
    onnx = export_onnx(model_dir, work / "fp32.onnx")
    names = ("onnxruntime-fp32", "openvino-bf16", "torchscript-fp32")
    return {name: build_candidate(CANDIDATES[name], model_dir, onnx, work / name, [], []) for name in names}


@pytest.mark.parametrize("name", ["onnxruntime-fp32", "openvino-bf16"])
@pytest.mark.parametrize("parallel_batches", [1, 2])
def test_exported_runtimes_answer_as_the_fp32_model_in_any_batch(candidates, name: str, parallel_batches: int):
    reference = Predictor(candidates["torchscript-fp32"], batch_size=len(TWEETS)).predict_proba(TWEETS)
    # bf16=False: OpenVINO in f32, so that the comparison is exact on any CPU.
    predictor = Predictor(candidates[name], batch_size=2, bf16=False, parallel_batches=parallel_batches, threads=2)
    assert predictor.runtime == read_runtime(candidates[name]) and predictor.runtime.name == name
    np.testing.assert_allclose(predictor.predict_proba(TWEETS), reference, atol=2e-5)
    singles = np.vstack([predictor.predict_proba([tweet]) for tweet in TWEETS])
    np.testing.assert_allclose(singles, reference, atol=2e-5)


@pytest.fixture(scope="module")
def int8_candidates(model_dir: Path, candidates, tmp_path_factory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("int8")
    calibration = TweetTokenizer(model_dir).encode(TWEETS * 2)
    onnx = candidates["onnxruntime-fp32"] / "model.onnx"
    names = ("onnxruntime-int8-dynamic", "onnxruntime-int8-static", "openvino-int8")
    ignored = load_params(REPO / "params.yaml").optimize.openvino_int8_float_ops
    return {
        name: build_candidate(CANDIDATES[name], model_dir, onnx, work / name, calibration, ignored) for name in names
    }


@pytest.mark.parametrize(
    ("name", "min_correlation"),
    # Static ONNX Runtime int8 follows fp32 least (it also keeps only 88% of the full model's test labels).
    [("onnxruntime-int8-dynamic", 0.9), ("onnxruntime-int8-static", 0.5), ("openvino-int8", 0.9)],
)
def test_int8_candidates_hold_int8_weights_and_answer_close_to_fp32(
    candidates, int8_candidates, name: str, min_correlation: float
):
    reference = Predictor(candidates["torchscript-fp32"]).predict_proba(TWEETS)
    path = int8_candidates[name]
    weights = sum(f.stat().st_size for f in path.glob("model.*"))
    fp32_weights = sum(f.stat().st_size for f in candidates["onnxruntime-fp32"].glob("model.*"))
    assert weights < 0.6 * fp32_weights  # most weights are int8 (a quarter of fp32's bytes)
    answers = Predictor(path, bf16=False).predict_proba(TWEETS)
    # The untrained head's answers vary little around 1/3, so compare how they vary, not only how close they are.
    correlation = np.corrcoef(answers.ravel(), reference.ravel())[0, 1]
    assert correlation > min_correlation
    np.testing.assert_allclose(answers, reference, atol=0.05)


@pytest.mark.parametrize("name", ["openvino-bf16", "openvino-int8"])
def test_a_lone_tweet_on_every_thread_scores_as_it_does_beside_others(candidates, int8_candidates, name: str):
    """A worker's lone call runs on a one-stream copy of the model with all threads: the same logits, bit for bit."""
    path = {**candidates, **int8_candidates}[name]
    predictor = Predictor(path, batch_size=16, parallel_batches=2, threads=2)  # as service.py's workers load it
    assert predictor.lone_logits is not predictor.logits
    padded = [predictor.tokenizer.pad(predictor.encode([tweet])) for tweet in TWEETS]
    under_load = [predictor.logits(*inputs) for inputs in padded]
    for inputs, expected in zip(padded, under_load, strict=True):
        np.testing.assert_array_equal(predictor.lone_logits(*inputs), expected)
    # Lone calls that overlap fall back to the shared streams: still every answer right, none lost.
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda inputs: predictor.lone_logits(*inputs), padded * 20))
    for answer, expected in zip(answers, under_load * 20, strict=True):
        np.testing.assert_array_equal(answer, expected)
    # The Predictor sends a one-sub-batch call down the lone path: a request of one tweet as scored beside others.
    singles = np.vstack([predictor.predict_proba([tweet]) for tweet in TWEETS])
    np.testing.assert_array_equal(singles, np.vstack([softmax(logits) for logits in under_load]))


def _predict_for(path: Path, seconds: float, start, busy_cores) -> None:
    """A one-thread Predictor (a service worker with TWEET_SENTIMENT_PARALLEL=1) predicting batches of
    132 tweets for about `seconds` once every worker is loaded (`start`); puts the cores it kept busy
    (its CPU time over its wall time) on `busy_cores`, or the error that stopped it."""
    try:
        predictor = Predictor(path, batch_size=16, threads=1)
        predictor.predict_proba(TWEETS * 22)
        start.wait(timeout=120)
        cpu, started = time.process_time(), time.perf_counter()
        while time.perf_counter() - started < seconds:
            predictor.predict_proba(TWEETS * 22)
        busy_cores.put((time.process_time() - cpu) / (time.perf_counter() - started))
    except Exception as error:  # the test reports it instead of waiting for an answer that never comes
        start.abort()
        busy_cores.put(error)


@pytest.mark.slow  # a measurement of busy cores: run alone, with the end-to-end tests (CI runs one at a time)
@pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="Linux with two cores to share out (OpenVINO pins threads on Linux)",
)
def test_one_thread_worker_processes_each_get_a_core(int8_candidates):
    """OpenVINO pins each stream's threads to cores counted from the first, in every process alike: two
    one-thread workers then shared one core (1.15 busy cores in all). The served runtime leaves placement
    to the OS, so each keeps about one core busy. Needs two otherwise idle cores (as in CI, where tests
    run one at a time): another busy process or a CPU quota below 2 cores takes cores from them."""
    context = multiprocessing.get_context("spawn")  # fresh processes, as BentoML starts its workers
    start, busy_cores = context.Barrier(2), context.Queue()
    path = int8_candidates["openvino-int8"]
    workers = [context.Process(target=_predict_for, args=(path, 3.0, start, busy_cores), daemon=True) for _ in range(2)]
    try:
        for worker in workers:
            worker.start()
        answers = [busy_cores.get(timeout=300) for _ in workers]
    finally:
        for worker in workers:
            worker.terminate()
            worker.join(timeout=30)
    for answer in answers:
        if isinstance(answer, Exception):
            raise answer
    assert min(answers) > 0.75, f"one-thread predictors kept {answers} cores busy: pinned to the same core?"


def test_a_serving_directory_reports_the_version_of_the_weights_it_was_built_from(model_dir: Path, candidates):
    digest = hashlib.sha256((model_dir / "model.safetensors").read_bytes()).hexdigest()[:12]
    assert model_version(candidates["openvino-bf16"]) == model_version(model_dir) == digest


def test_the_service_path_runs_without_torch_or_transformers(candidates):
    """What the lean serving image does: torch, transformers, onnxruntime and nncf cannot be imported at all."""
    script = (
        "import sys, json; sys.modules.update(torch=None, transformers=None, onnxruntime=None, nncf=None); "
        "import service; from tweet_sentiment.serving.predictor import Predictor; "
        f"service.check_model(service.Path({str(candidates['openvino-bf16'])!r})); "
        f"print(json.dumps(Predictor({str(candidates['openvino-bf16'])!r}).predict(['I love it'])))"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout.splitlines()[-1])
    assert result["pred_label"] in LABELS and abs(sum(result["scores"].values()) - 1) < 1e-5


def test_a_damaged_or_unknown_runtime_is_refused_with_its_path(candidates, tmp_path: Path):
    broken = shutil.copytree(candidates["onnxruntime-fp32"], tmp_path / "broken")
    (broken / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelLoadError, match=r"broken/model.onnx: ONNX Runtime cannot load it"):
        load_logits(broken)
    (broken / "runtime.json").write_text(json.dumps({"name": "x", "engine": "tensorrt", "precision": "fp32"}))
    with pytest.raises(ModelLoadError, match=r"unknown engine 'tensorrt'"):
        load_logits(broken)
    (broken / "runtime.json").write_text("{")
    with pytest.raises(ModelLoadError, match=r"not a runtime description"):
        load_logits(broken)
    damaged = shutil.copytree(candidates["openvino-bf16"], tmp_path / "damaged")
    (damaged / "model.xml").write_text("<net>")
    with pytest.raises(ModelLoadError, match=r"damaged/model.xml: OpenVINO cannot load it \(.*[Uu]nable to read"):
        Predictor(damaged)
    (damaged / "tokenizer.json").write_text("{")
    (damaged / "runtime.json").write_text(json.dumps({"name": "x", "engine": "openvino", "precision": "fp32"}))
    with pytest.raises(ModelLoadError, match=r"no model_version .*rerun the `optimize` stage"):
        Predictor(damaged)
    missing = shutil.copytree(candidates["openvino-bf16"], tmp_path / "missing")
    (missing / "model.xml").unlink()
    with pytest.raises(ModelLoadError, match=r"openvino-bf16 needs model.xml, which is missing"):
        Predictor(missing)


def test_a_serving_directory_with_another_label_map_is_refused(candidates, tmp_path: Path):
    variant = shutil.copytree(candidates["openvino-bf16"], tmp_path / "variant")
    config = json.loads((variant / "config.json").read_text())
    config["id2label"] = {"0": "positive", "1": "neutral", "2": "negative"}
    (variant / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match=r"id2label is \{0: 'positive'"):
        Predictor(variant)


@pytest.mark.parametrize(
    ("precision", "bf16", "capabilities", "hint"),
    [
        ("bf16", None, ["FP32", "BF16", "INT8"], "bf16"),
        ("bf16", None, ["FP32", "INT8"], "f32"),  # a CPU without bf16: f32, never an error
        ("bf16", False, ["FP32", "BF16"], "f32"),
        ("int8", None, ["FP32", "BF16", "INT8"], "bf16"),
        ("int8", None, ["FP32", "INT8"], "f32"),
        ("fp32", None, ["FP32", "BF16"], "f32"),
        ("fp32", True, ["FP32", "BF16"], "bf16"),
    ],
)
def test_openvino_runs_bf16_only_where_asked_and_available(precision, bf16, capabilities, hint):
    assert openvino_precision(precision, bf16, capabilities) == hint


def scored(name: str, test_recall: float, agreement: float, speed: float = 100.0) -> Candidate:
    return Candidate(name, {}, {"val": {}, "test": {"macro_recall": test_recall}}, agreement, speed)


def gate(**changes):
    settings = load_params(REPO / "params.yaml").optimize
    pinned = {"max_recall_drop": 0.005, "min_agreement": 0.99, "runtime": "auto", "select": "listed"}
    return replace(settings, **(pinned | changes))


def test_the_first_listed_candidate_within_the_gate_is_served():
    reference = scored("torchscript-fp32", 0.700, 1.0)
    candidates = [
        scored("openvino-int8", 0.699, 0.985, speed=900),  # agreement below 0.99
        scored("openvino-bf16", 0.6949, 0.999, speed=500),  # recall drop 0.0051 > 0.005
        scored("onnxruntime-fp32", 0.695, 0.995, speed=300),  # drop exactly 0.005: passes
        scored("torchscript-bf16", 0.700, 0.999, speed=400),
    ]
    assert choose(candidates, reference, gate()).name == "onnxruntime-fp32"
    assert choose(candidates, reference, gate(select="measured")).name == "torchscript-bf16"
    assert choose(candidates, reference, gate(runtime="openvino-int8")).name == "openvino-int8"
    assert choose(candidates[:2], reference, gate()).name == "torchscript-fp32"  # none passes: the fp32 model
    assert choose(candidates, reference, gate(runtime="torchscript-fp32")).name == "torchscript-fp32"


def test_a_batch_dependent_runtime_is_never_served():
    reference = scored("torchscript-fp32", 0.700, 1.0)
    candidates = [scored("onnxruntime-int8-dynamic", 0.700, 1.0), scored("openvino-bf16", 0.700, 0.999)]
    assert choose(candidates, reference, gate()).name == "openvino-bf16"
    with pytest.raises(ParamsError, match="onnxruntime-int8-dynamic answers a tweet differently"):
        check_candidates(gate(runtime="onnxruntime-int8-dynamic"), list(CANDIDATES))


@pytest.mark.parametrize(
    ("candidates", "runtime", "message"),
    [
        (["openvino-int8", "tensorrt-int4"], "auto", r"unknown runtime\(s\) \['tensorrt-int4'\]"),
        (["openvino-int8", "openvino-int8"], "auto", "a runtime is listed twice"),
        (["openvino-int8", "torchscript-fp32"], "auto", "torchscript-fp32 is the fp32 baseline"),
        (["openvino-int8"], "openvino-bf16", "`optimize.runtime` is 'openvino-bf16'"),
    ],
)
def test_bad_candidate_lists_are_a_params_error(candidates: list[str], runtime: str, message: str):
    with pytest.raises(ParamsError, match=message):
        check_candidates(gate(candidates=candidates, runtime=runtime), list(CANDIDATES))
    check_candidates(gate(candidates=["openvino-int8"], runtime="torchscript-fp32"), list(CANDIDATES))


@pytest.mark.parametrize("architecture", ["bert", "mpnet", "roberta"])  # MiniLM, all-mpnet-base-v2, cardiffnlp's
def test_the_int8_float_ops_match_every_offered_architecture(architecture: str, tmp_path: Path):
    """NNCF refuses a pattern that matches nothing, so params.yaml's must fit each base model a user can pick."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    config = AutoConfig.for_model(
        architecture, vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, id2label=ID2LABEL, label2id={label: i for i, label in ID2LABEL.items()},
    )  # fmt: skip
    AutoModelForSequenceClassification.from_config(config).save_pretrained(tmp_path / "model")
    onnx = export_onnx(tmp_path / "model", tmp_path / "fp32.onnx")
    ignored = load_params(REPO / "params.yaml").optimize.openvino_int8_float_ops
    calibration = [[0, 5, 9, 2], [0, 7, 2]]
    openvino_model(onnx, tmp_path / "int8.xml", calibration, ignored)  # raises ParamsError if one matches nothing
    message = r"`optimize.openvino_int8_float_ops`: .*nomatch.* first MatMul operations are /model/.*fix or drop"
    with pytest.raises(ParamsError, match=message):
        openvino_model(onnx, tmp_path / "int8.xml", calibration, [*ignored, "nomatch"])


def pins(lines: list[str]) -> dict[str, str]:
    return dict(line.split("#")[0].strip().split("==") for line in lines if "==" in line.split("#")[0])


def test_the_serving_image_pins_what_the_pipeline_was_evaluated_with():
    """Engine and bentofile pins must be requirements.txt's: the served runtime is the one scored."""
    required = pins((REPO / "requirements.txt").read_text().splitlines())
    bentofile = yaml.safe_load((REPO / "bentofile.yaml").read_text())
    for name, version in pins([p for packages in ENGINE_PACKAGES.values() for p in packages]).items():
        assert required[name] == version, name
    for name, version in pins(bentofile["python"]["packages"]).items():
        assert required[name] == version, name


@pytest.mark.parametrize("engine", ["torchscript", "onnxruntime", "openvino"])
def test_the_bento_gets_the_served_engine_and_no_other(engine: str):
    bentofile = yaml.safe_load((REPO / "bentofile.yaml").read_text())
    config = with_runtime_packages(bentofile, Runtime("x", engine, "fp32"))
    names = {p.split("==")[0] for p in config["python"]["packages"]}
    engines = {p.split("==")[0] for e, packages in ENGINE_PACKAGES.items() if e != engine for p in packages}
    assert names >= {"bentoml", "tokenizers", *(p.split("==")[0] for p in ENGINE_PACKAGES[engine])}
    assert not names & engines
    indexes = config["python"].get("extra_index_url", [])
    assert (TORCH_CPU_INDEX in indexes) == (engine == "torchscript")


@pytest.mark.parametrize(("max_train_samples", "expected"), [(None, 1000), (5000, 1000), (512, 512)])
def test_calibration_uses_no_more_training_tweets_than_the_run_trained_on(
    tmp_path: Path, monkeypatch, max_train_samples: int | None, expected: int
):
    """A quick run (`max_train_samples=512`) calibrates on 512 tweets, the default run on `calibration_samples`."""
    (tmp_path / "data/prepared").mkdir(parents=True)
    rows = [f"{i},tweet number {i},neutral" for i in range(3000)]
    (tmp_path / "data/prepared/train.csv").write_text("id,text,label\n" + "\n".join(rows) + "\n")
    monkeypatch.chdir(tmp_path)
    params = replace(load_params(REPO / "params.yaml"), max_train_samples=max_train_samples)
    assert params.optimize.calibration_samples == 1000
    tweets = calibration_tweets(params)
    assert len(tweets) == expected and len(set(tweets)) == expected
