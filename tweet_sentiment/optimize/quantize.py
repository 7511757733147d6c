"""Build each candidate runtime of the fine-tuned model as a serving directory.

Only the libraries made for it: `torch.onnx.export`, onnxruntime's quantizer,
OpenVINO's converter and NNCF's post-training quantization. The int8 candidates
are calibrated on training tweets, one tweet per example (no padding in the ranges).
"""

import logging
import shutil
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tweet_sentiment.core.params import ParamsError
from tweet_sentiment.serving.runtimes import Runtime, weights_digest

if TYPE_CHECKING:
    import openvino

log = logging.getLogger("optimize")

CANDIDATES = {
    runtime.name: runtime
    for runtime in (
        Runtime("openvino-int8", "openvino", "int8"),
        Runtime("openvino-bf16", "openvino", "bf16"),
        Runtime("onnxruntime-int8-static", "onnxruntime", "int8"),
        Runtime("onnxruntime-int8-dynamic", "onnxruntime", "int8"),
        Runtime("onnxruntime-fp32", "onnxruntime", "fp32"),
        Runtime("torchscript-bf16", "torchscript", "bf16"),  # the service before this stage
        Runtime("torchscript-fp32", "torchscript", "fp32"),  # the reference every candidate is gated against
    )
}
# Activation ranges from each whole padded batch: a tweet's answer depends on its batch-mates.
BATCH_DEPENDENT = {"onnxruntime-int8-dynamic"}
CALIBRATED = {"onnxruntime-int8-static", "openvino-int8"}  # int8 activations with fixed, calibrated ranges
TOKENIZER_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json")
INPUT_NAMES = ("input_ids", "attention_mask")


def calibration_inputs(encoded: Sequence[Sequence[int]]) -> Iterator[dict[str, np.ndarray]]:
    """One unpadded tweet per example, as each runtime's inputs."""
    for ids in encoded:
        yield {"input_ids": np.array([ids], dtype=np.int64), "attention_mask": np.ones((1, len(ids)), dtype=np.int64)}


def export_onnx(finetuned: Path, path: Path) -> Path:
    """The fp32 classifier as ONNX with dynamic batch and sequence axes (TorchScript-based exporter).

    The dynamo exporter needs onnxscript, which this stack does not pin; the
    TorchScript exporter gives a graph that ONNX Runtime and OpenVINO both load.
    """
    import torch

    from tweet_sentiment.optimize.tracing import EXAMPLE_INPUTS, LogitsModule
    from tweet_sentiment.train.models import load_finetuned

    model = LogitsModule(load_finetuned(finetuned).eval())
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES} | {"logits": {0: "batch"}}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        # Advanced indexing of the attention mask, whose indices are never negative.
        warnings.filterwarnings("ignore", message="Exporting aten::index operator")
        torch.onnx.export(
            model,
            EXAMPLE_INPUTS,
            str(path),
            input_names=list(INPUT_NAMES),
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    return path


class _CalibrationReader:
    """onnxruntime's CalibrationDataReader protocol over calibration examples."""

    def __init__(self, encoded: Sequence[Sequence[int]]) -> None:
        self.examples = calibration_inputs(encoded)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.examples, None)


def onnxruntime_int8(fp32: Path, path: Path, calibration: Sequence[Sequence[int]] | None) -> None:
    """Per-channel int8 weights; activations quantized per batch (dynamic) or from calibration (static)."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = path.with_name("prepared.onnx")
    quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
    if calibration is None:
        quantize_dynamic(str(prepared), str(path), weight_type=QuantType.QInt8, per_channel=True)
    else:
        quantize_static(
            str(prepared),
            str(path),
            _CalibrationReader(calibration),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
    prepared.unlink()


def matmul_names(model: "openvino.Model", count: int = 6) -> str:
    """The names of an OpenVINO model's first `count` MatMul operations, comma-separated (for error messages)."""
    names = [op.get_friendly_name() for op in model.get_ordered_ops() if op.get_type_name() == "MatMul"]
    return ", ".join(names[:count])


def openvino_model(fp32: Path, path: Path, calibration: Sequence[Sequence[int]] | None, ignored: Sequence[str]) -> None:
    """The ONNX model as OpenVINO IR, fp32 weights or NNCF int8 (transformer preset, SmoothQuant).

    `ignored` are regexes of operations kept in floating point.
    """
    import openvino

    model = openvino.convert_model(str(fp32))
    if calibration is not None:
        import nncf

        try:
            model = nncf.quantize(
                model,
                nncf.Dataset(list(calibration_inputs(calibration))),
                subset_size=len(calibration),
                model_type=nncf.ModelType.TRANSFORMER,
                ignored_scope=nncf.IgnoredScope(patterns=list(ignored)),  # each pattern must match an operation
            )
        except nncf.ValidationError as error:
            nncf_message = " ".join(str(error).split())
            if "Ignored nodes" not in nncf_message:  # not about the patterns
                raise
            raise ParamsError(
                f"params.yaml: `optimize.openvino_int8_float_ops`: {nncf_message} Each regex must match an operation"
                f" of the model, whose first MatMul operations are {matmul_names(model)}: fix or drop the one that"
                " matches nothing"
            ) from None
    openvino.save_model(model, str(path), compress_to_fp16=False)


def build_candidate(
    runtime: Runtime,
    finetuned: Path,
    onnx_fp32: Path,
    out: Path,
    calibration: Sequence[Sequence[int]],
    openvino_ignored: Sequence[str],
) -> Path:
    """`out` as a serving directory of `runtime`: tokenizer, config, model file, runtime.json."""
    out.mkdir(parents=True)
    for name in TOKENIZER_FILES:
        shutil.copy2(finetuned / name, out / name)
    model_path = out / runtime.model_file
    static = calibration if runtime.name in CALIBRATED else None
    if runtime.engine == "torchscript":
        shutil.copy2(finetuned / runtime.model_file, model_path)
    elif runtime.name == "onnxruntime-fp32":
        shutil.copy2(onnx_fp32, model_path)
    elif runtime.engine == "onnxruntime":
        onnxruntime_int8(onnx_fp32, model_path, static)
    else:
        openvino_model(onnx_fp32, model_path, static, openvino_ignored)
    replace(runtime, model_version=weights_digest(finetuned / "model.safetensors")).save(out)
    return out


def build_candidates(
    names: Sequence[str],
    finetuned: Path,
    work: Path,
    calibration: Sequence[Sequence[int]],
    openvino_ignored: Sequence[str],
) -> Iterator[tuple[str, Path]]:
    """Each named candidate as a serving directory under `work`, built from one ONNX export."""
    onnx_fp32 = export_onnx(finetuned, work / "fp32.onnx")
    for name in names:
        log.info("building %s", name)
        yield name, build_candidate(CANDIDATES[name], finetuned, onnx_fp32, work / name, calibration, openvino_ignored)
