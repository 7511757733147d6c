"""Loading `params.yaml` with numbers parsed as numbers and every knob checked.

PyYAML follows YAML 1.1, where `1e-05` (what `dvc exp run -S lr=1e-5` writes)
is a string. `NumberLoader` also resolves YAML 1.2 floats, as DVC itself does,
and `load_params` validates each value so a bad param fails with its name.
"""

import re
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

import yaml

_FLOAT = re.compile(r"""^[-+]?(?:\d[\d_]*\.?[\d_]*(?:[eE][-+]?\d+)?|\.\d[\d_]*(?:[eE][-+]?\d+)?|\.inf|\.Inf|\.INF)$""")


class NumberLoader(yaml.SafeLoader):
    """A SafeLoader that reads `1e-05` and `5E3` as floats."""


NumberLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


class ParamsError(ValueError):
    """params.yaml is missing a knob or holds a bad value; the message names it."""


@dataclass(frozen=True)
class DataParams:
    source: str
    tweeteval_url: str
    csv_path: str | None
    text_column: str
    label_column: str
    timeout_s: float


@dataclass(frozen=True)
class TokenizeParams:
    max_length: int


@dataclass(frozen=True)
class TrainParams:
    processes: int  # per node; above 1, `finetune` runs under torchrun (DDP)
    mode: str
    class_weighting: str
    weight_decay: float
    warmup_ratio: float
    label_smoothing: float
    early_stopping_patience: int
    eval_batch_size: int
    bf16: bool | str  # auto (probe the hardware), true or false


@dataclass(frozen=True)
class EvaluateParams:
    batch_size: int
    robustness_samples: int | None


@dataclass(frozen=True)
class MinEffectParams:
    label_shift: float
    ks: float
    mmd2: float


@dataclass(frozen=True)
class MonitorParams:
    reference_size: int
    alpha: float
    min_predictions: int
    embedding_sample: int
    permutations: int
    min_effect: MinEffectParams


@dataclass(frozen=True)
class OptimizeParams:
    runtime: str
    select: str
    candidates: list[str]
    max_recall_drop: float
    min_agreement: float
    calibration_samples: int
    timing_tweets: int
    openvino_int8_float_ops: list[str]


@dataclass(frozen=True)
class Params:
    base_model: str
    lr: float
    epochs: int
    batch_size: int
    seed: int
    max_train_samples: int | None
    max_eval_samples: int | None
    data: DataParams
    tokenize: TokenizeParams
    train: TrainParams
    evaluate: EvaluateParams
    optimize: OptimizeParams
    monitor: MonitorParams


_CHOICES = {
    ("data", "source"): {"embedded", "tweeteval", "csv"},
    ("train", "mode"): {"full", "head"},
    ("train", "class_weighting"): {"balanced", "none"},
    ("train", "bf16"): {"auto", True, False},
    ("optimize", "select"): {"listed", "measured"},
}
_POSITIVE = {"lr", "epochs", "batch_size", "processes", "max_length", "eval_batch_size", "timeout_s"}
_POSITIVE |= {"max_train_samples", "max_eval_samples", "robustness_samples"}
_POSITIVE |= {"reference_size", "alpha", "min_predictions", "embedding_sample", "permutations"}
_POSITIVE |= {"label_shift", "ks", "mmd2", "calibration_samples", "timing_tweets", "min_agreement"}
_SHARES = {"alpha", "label_smoothing"}  # below 1 (and alpha above 0)
_AT_MOST_ONE = {"min_agreement"}
_NOT_NEGATIVE = {"max_recall_drop", "label_smoothing"}


def _coerce(name: str, value: Any, kind: Any) -> Any:
    """Check one value against its annotated type, converting ints to floats."""
    optional = kind in (int | None, str | None)
    if value is None and optional:
        return None
    if kind == bool | str:  # a switch with an `auto` setting; the choice check follows
        return value
    if kind == list[str]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ParamsError(f"params.yaml: `{name}` must be a list of strings, got {value!r}.")
        return value
    base = {int | None: int, str | None: str}.get(kind, kind)
    if base is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, base) or isinstance(value, bool):
        raise ParamsError(f"params.yaml: `{name}` must be {base.__name__}, got {value!r}.")
    if name.rsplit(".", 1)[-1] in _POSITIVE and value <= 0:
        raise ParamsError(f"params.yaml: `{name}` must be positive, got {value!r}.")
    if name.rsplit(".", 1)[-1] in _SHARES and value >= 1:
        raise ParamsError(f"params.yaml: `{name}` must be between 0 and 1, got {value!r}.")
    if name.rsplit(".", 1)[-1] in _AT_MOST_ONE and value > 1:
        raise ParamsError(f"params.yaml: `{name}` must be at most 1, got {value!r}.")
    if name.rsplit(".", 1)[-1] in _NOT_NEGATIVE and value < 0:
        raise ParamsError(f"params.yaml: `{name}` must not be negative, got {value!r}.")
    return value


def _section(cls: type, raw: dict, prefix: str = "") -> Any:
    unknown = set(raw) - {f.name for f in fields(cls)}
    if unknown:
        raise ParamsError(f"params.yaml: unknown param(s) {sorted(prefix + k for k in unknown)}.")
    values = {}
    for field in fields(cls):
        name = prefix + field.name
        if field.name not in raw:
            raise ParamsError(f"params.yaml: `{name}` is missing; add it (see the params table in docs/pipeline.md).")
        if is_dataclass(field.type):
            if not isinstance(raw[field.name], dict):
                raise ParamsError(f"params.yaml: `{name}` must be a section of params.")
            values[field.name] = _section(field.type, raw[field.name], name + ".")
            continue
        value = _coerce(name, raw[field.name], field.type)
        allowed = _CHOICES.get(tuple(name.split(".")))
        if allowed and value not in allowed:
            raise ParamsError(f"params.yaml: `{name}` must be one of {sorted(allowed, key=str)}, got {value!r}.")
        values[field.name] = value
    return cls(**values)


def load_params(path: Path = Path("params.yaml")) -> Params:
    """Read and validate params.yaml."""
    if not path.is_file():
        raise ParamsError(f"{path}: not found; run from the repository root.")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=NumberLoader) or {}
    except yaml.YAMLError as error:
        raise ParamsError(f"{path}: not valid YAML ({error}).") from error
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of params, got {type(raw).__name__}.")
    return _section(Params, raw)
