"""The inference runtimes a model directory can be served with: logits from padded token ids.

A serving directory (written by the `optimize` stage) holds the tokenizer, the
model's config and one runtime's model file, described by `runtime.json`:

- `torchscript`: the save_pretrained weights, traced at load time (torch + transformers);
- `onnxruntime`: `model.onnx`, fp32 or int8 (onnxruntime only);
- `openvino`: `model.xml` + `model.bin`, compiled for this CPU (openvino only).

A save_pretrained directory without `runtime.json` (what `finetune` writes) is
served as `torchscript`. Only the chosen engine is imported, so a serving image
for ONNX Runtime or OpenVINO needs no torch.
"""

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tweet_sentiment.core.labels import ModelLoadError, check_labels, config_labels

RUNTIME_FILE = "runtime.json"
# pip requirements of each engine in the serving image (pins as in requirements.txt).
ENGINE_PACKAGES = {
    "torchscript": ("torch==2.13.0", "transformers==5.24.0"),
    "onnxruntime": ("onnxruntime==1.32.0",),
    "openvino": ("openvino==2026.4.1",),
}
MODEL_FILES = {"torchscript": "model.safetensors", "onnxruntime": "model.onnx", "openvino": "model.xml"}

# (input_ids, attention_mask) -> logits, all numpy; callable from several threads at once.
Logits = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Runtime:
    """What `runtime.json` says: which engine runs the model, at which precision."""

    name: str  # e.g. openvino-int8: the candidate the `optimize` stage chose
    engine: str  # a key of ENGINE_PACKAGES
    precision: str  # fp32 | bf16 (where the CPU has fast bf16, else fp32) | int8
    model_version: str | None = None  # of the fine-tuned weights it was built from

    @property
    def model_file(self) -> str:
        return MODEL_FILES[self.engine]

    def save(self, model_dir: Path) -> None:
        (model_dir / RUNTIME_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")


TRACE = Runtime("torchscript-bf16", "torchscript", "bf16")  # a save_pretrained dir without runtime.json


def read_runtime(model_dir: str | Path) -> Runtime:
    """The runtime of a serving or save_pretrained directory; `ModelLoadError` if it is neither."""
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise ModelLoadError(f"{model_dir}: no config.json; not a save_pretrained model directory.")
    path = model_dir / RUNTIME_FILE
    if not path.is_file():
        return TRACE
    try:
        runtime = Runtime(**json.loads(path.read_text()))
    except (ValueError, TypeError) as error:
        raise ModelLoadError(f"{path}: not a runtime description ({error}); rerun the `optimize` stage.") from None
    if runtime.engine not in ENGINE_PACKAGES:
        raise ModelLoadError(f"{path}: unknown engine {runtime.engine!r}; expected one of {sorted(ENGINE_PACKAGES)}.")
    if not (model_dir / runtime.model_file).is_file():
        raise ModelLoadError(f"{model_dir}: {runtime.name} needs {runtime.model_file}, which is missing.")
    if runtime.model_version is None and runtime.engine != "torchscript":
        raise ModelLoadError(f"{path}: no model_version (which weights it was built from); rerun the `optimize` stage.")
    return runtime


def weights_digest(path: Path) -> str:
    """The first 12 hex digits of a file's SHA-256."""
    digest = hashlib.sha256()
    with path.open("rb") as weights:
        for block in iter(lambda: weights.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def model_version(model_dir: Path) -> str:
    """Which fine-tuned model answers: the digest of its weights, whichever runtime runs them.

    The query log and the drift reference both record it, so a serving
    directory reports the version of the weights it was built from.
    """
    return read_runtime(model_dir).model_version or weights_digest(model_dir / "model.safetensors")


def _import_engine(runtime: Runtime):
    """The engine's module, or `ModelLoadError` naming the packages to install."""
    import importlib

    module = {"torchscript": "torch", "onnxruntime": "onnxruntime", "openvino": "openvino"}[runtime.engine]
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ModelLoadError(
            f"{runtime.name} runs on {runtime.engine}, which is not installed here: "
            f"pip install {' '.join(ENGINE_PACKAGES[runtime.engine])} (or serve another runtime)"
        ) from None


@dataclass(frozen=True)
class Loaded:
    """A runtime ready to run, and whether it computes in bf16 on this CPU (the results depend on it).

    `lone_logits` is for a call that is all its caller has to run (one tweet from
    one client): where the runtime splits its threads between streams, it gives
    such a call every thread while nothing else runs, with the same results.
    """

    runtime: Runtime
    logits: Logits
    bf16: bool
    lone_logits: Logits


def load_logits(
    model_dir: str | Path, threads: int | None = None, streams: int = 1, bf16: bool | None = None
) -> Loaded:
    """The model of `model_dir` as a logits function, loaded strictly.

    `threads` is the CPU threads in all (None: the engine's default), shared by
    `streams` concurrent calls. `bf16` overrides the probe for bf16 runtimes.
    """
    model_dir = Path(model_dir)
    runtime = read_runtime(model_dir)
    _import_engine(runtime)
    if runtime.engine == "torchscript":
        logits, bf16 = _torchscript(model_dir, runtime, threads, streams, bf16)
        return Loaded(runtime, logits, bf16, lone_logits=logits)
    check_labels(model_dir, config_labels(model_dir))
    per_stream = None if threads is None else max(1, threads // streams)
    if runtime.engine == "onnxruntime":
        logits = _onnxruntime(model_dir / runtime.model_file, per_stream)
        return Loaded(runtime, logits, False, lone_logits=logits)
    return Loaded(runtime, *_openvino(model_dir / runtime.model_file, runtime, threads, streams, bf16))


def _torchscript(
    model_dir: Path, runtime: Runtime, threads: int | None, streams: int, bf16: bool | None
) -> tuple[Logits, bool]:
    import torch

    from tweet_sentiment.core.hardware import cpu_has_fast_bf16
    from tweet_sentiment.optimize.tracing import trace_logits
    from tweet_sentiment.train.models import load_finetuned

    if threads is not None:
        torch.set_num_threads(max(1, threads // streams))
    model = load_finetuned(model_dir).eval()
    if bf16 is None:
        bf16 = runtime.precision == "bf16" and cpu_has_fast_bf16()
    traced = trace_logits(model.to(torch.bfloat16) if bf16 else model)

    @torch.inference_mode()
    def logits(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return traced(torch.from_numpy(input_ids), torch.from_numpy(attention_mask)).float().numpy()

    return logits, bf16


def _onnxruntime(path: Path, threads: int | None) -> Logits:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads is not None:
        # One thread per stream runs each call on its caller's thread, concurrent calls in parallel.
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types for every kind of bad file
        raise ModelLoadError(f"{path}: ONNX Runtime cannot load it ({error})") from None

    def logits(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return session.run(None, {"input_ids": input_ids, "attention_mask": attention_mask})[0]

    return logits


def openvino_precision(precision: str, bf16: bool | None, capabilities: list[str]) -> str:
    """The OpenVINO inference precision hint: bf16 only where asked for and this CPU has it.

    An int8 model runs the operations NNCF left in floating point in bf16 too:
    with the FFN down-projections kept out of int8, that was 1.2x faster than f32
    here, with the same agreement with the fp32 model (99.2% of test tweets).
    """
    wants_bf16 = precision in ("bf16", "int8") if bf16 is None else bf16
    return "bf16" if wants_bf16 and "BF16" in capabilities else "f32"


def _openvino(
    path: Path, runtime: Runtime, threads: int | None, streams: int, bf16: bool | None
) -> tuple[Logits, bool, Logits]:
    import openvino

    core = openvino.Core()
    precision = openvino_precision(runtime.precision, bf16, core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))

    def compile_for(stream_count: int) -> "openvino.CompiledModel":
        config = {
            "INFERENCE_PRECISION_HINT": precision,
            "PERFORMANCE_HINT": "THROUGHPUT" if stream_count > 1 else "LATENCY",
            "NUM_STREAMS": stream_count,
            # OpenVINO pins each stream's threads to cores counted from the first, in every process alike:
            # 2 service workers of one thread each then shared one core (324 tweets/s at 32 x 16 on 1.17
            # busy cores, against 616 on 1.92 unpinned; BENCHMARKS.md, "Reading the knobs"). The OS
            # spreads unpinned threads; a lone tweet was no slower unpinned, the answers the same.
            "ENABLE_CPU_PINNING": False,
        }
        if threads is not None:
            config["INFERENCE_NUM_THREADS"] = threads
        try:
            return core.compile_model(str(path), "CPU", config)
        except RuntimeError as error:
            reason = [line.strip() for line in str(error).splitlines() if line.strip()][-1]  # the first: a source line
            raise ModelLoadError(f"{path}: OpenVINO cannot load it ({reason})") from None

    shared = compile_for(streams)
    # `streams` calls at once get threads/streams threads each. A lone call (nothing else running in
    # this process) goes to a copy compiled for one stream on all the threads: one tweet's inference
    # took 2.4 ms there against 4.0 ms on one stream's thread (BENCHMARKS.md, 2 cores), with the same
    # logits bit for bit (tests/test_runtimes.py). The copy costs memory: tens of MiB per process.
    alone = compile_for(1) if streams > 1 else shared
    local = threading.local()  # an infer request serves one call at a time: one per calling thread and model
    # OpenVINO's Python input dispatch holds the GIL while it waits on the plugin, so two threads
    # feeding requests at once can deadlock (seen under CPU load: both stuck in data_dispatcher,
    # `bentoml serve` workers hung for good). One thread dispatches at a time; the inference itself
    # runs in parallel, waited for without the lock.
    dispatch = threading.Lock()
    running = 0  # calls started and not yet finished, counted under `dispatch`

    def infer(input_ids: np.ndarray, attention_mask: np.ndarray, lone: bool) -> np.ndarray:
        nonlocal running
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        with dispatch:
            compiled = alone if lone and running == 0 else shared
            if not hasattr(local, "requests"):
                local.requests = {}
            request = local.requests.get(id(compiled))
            if request is None:
                request = local.requests[id(compiled)] = compiled.create_infer_request()
            request.start_async(inputs, share_inputs=True)  # share_inputs: no copy into the request's tensors
            running += 1  # only once started: a call refused here leaves the count as it was
        try:
            request.wait()
            return request.get_output_tensor(0).data.copy()
        finally:
            with dispatch:
                running -= 1

    def logits(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return infer(input_ids, attention_mask, lone=False)

    def lone_logits(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return infer(input_ids, attention_mask, lone=True)

    return logits, precision == "bf16", lone_logits
