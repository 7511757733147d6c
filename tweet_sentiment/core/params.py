"""Loading `params.yaml` with numbers parsed as numbers and every knob checked.

PyYAML follows YAML 1.1, where `1e-05` (what `dvc exp run -S lr=1e-5` writes)
is a string. `NumberLoader` also resolves YAML 1.2 floats, as DVC itself does,
and `load_params` validates each value so a bad param fails with its name.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import yaml

from tweet_sentiment.core.labels import LABELS

_FLOAT = re.compile(r"""^[-+]?(?:\d[\d_]*\.?[\d_]*(?:[eE][-+]?\d+)?|\.\d[\d_]*(?:[eE][-+]?\d+)?|\.inf|\.Inf|\.INF)$""")


class NumberLoader(yaml.SafeLoader):
    """A SafeLoader that reads `1e-05` and `5E3` as floats."""


NumberLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


class ParamsError(ValueError):
    """params.yaml is missing a knob or holds a bad value; the message names it."""


@dataclass(frozen=True)
class Rule:
    """A constraint on one param's value: what it must be, and the test of it."""

    must_be: str  # completes "`name` must ..." in the error message
    holds: Callable[[Any], bool]


POSITIVE = Rule("be positive", lambda value: value > 0)
NOT_NEGATIVE = Rule("not be negative", lambda value: value >= 0)
BELOW_ONE = Rule("be between 0 and 1", lambda value: value < 1)  # a share: with POSITIVE or NOT_NEGATIVE
AT_MOST_ONE = Rule("be at most 1", lambda value: value <= 1)


def one_of(*choices: Any) -> Rule:
    return Rule(f"be one of {sorted(choices, key=str)}", lambda value: value in choices)


def rules(*checks: Rule) -> Any:
    """A dataclass field whose value must pass `checks`, in order (a None for an optional one skips them)."""
    return field(metadata={"rules": checks})


# The separators the input layer reads (`inputs/delimiters.py`); `\t` (what `-S data.delimiter=\t` writes) is a tab.
DELIMITER = Rule(
    "be one of ',' ';' '|' or '\\t' (a tab), or null to sniff it", lambda value: value in {",", ";", "|", "\t", "\\t"}
)
LABEL_NAMES = Rule(
    f"map each label to one of {', '.join(LABELS)} or null",
    lambda mapping: all(name is None or str(name).strip().lower() in LABELS for name in mapping.values()),
)


@dataclass(frozen=True)
class DataParams:
    source: str = rules(one_of("embedded", "tweeteval", "csv"))
    tweeteval_url: str
    csv_path: str | None
    text_column: str
    label_column: str
    id_column: str | None  # de-duplicate by this column too; None: rows are numbered
    delimiter: str | None = rules(DELIMITER)  # None: sniffed from the file's first lines
    # A file's label (YAML reads `0:` as an int) -> a name of LABELS, or None to drop its rows.
    label_map: Mapping[str | int, str | None] | None = rules(LABEL_NAMES)
    mix_embedded: bool  # train on the CSV's rows and the embedded SemEval pool
    eval_share: float | None = rules(POSITIVE, BELOW_ONE)  # of the CSV's rows, held out as the `custom` split
    timeout_s: float = rules(POSITIVE)


@dataclass(frozen=True)
class TokenizeParams:
    max_length: int = rules(POSITIVE)
    emoji_share: float = rules(NOT_NEGATIVE, AT_MOST_ONE)  # of training tweets, those given emoji


@dataclass(frozen=True)
class TrainParams:
    processes: int = rules(POSITIVE)  # per node; above 1, `finetune` runs under torchrun (DDP)
    mode: str = rules(one_of("full", "head"))
    class_weighting: str = rules(one_of("balanced", "none"))
    weight_decay: float
    warmup_ratio: float
    label_smoothing: float = rules(BELOW_ONE, NOT_NEGATIVE)
    early_stopping_patience: int
    ema_epochs: float = rules(NOT_NEGATIVE)  # time constant of the weights' EMA, in epochs; 0: no averaging
    eval_batch_size: int = rules(POSITIVE)
    bf16: bool | str = rules(one_of("auto", True, False))  # auto (probe the hardware), true or false


@dataclass(frozen=True)
class TeacherParams:
    """The `teacher` stage (frozen: docs/distillation.md reruns it) and distillation into `finetune`."""

    model: str  # the teacher's base model: a hub id, a local dir, or all-mpnet-base-v2 from its wheels
    lr: float = rules(POSITIVE)
    epochs: int = rules(POSITIVE)
    transfer_samples: int | None = rules(POSITIVE)  # of the de-duplicated transfer tweets, those labelled; None: all
    # Its own caps, not the top-level ones: a quick run's caps must not touch the frozen stage's lock entry
    # (`dvc repro --force` re-records a frozen stage's params without running it).
    max_train_samples: int | None = rules(POSITIVE)
    max_eval_samples: int | None = rules(POSITIVE)
    weight: float = rules(NOT_NEGATIVE, AT_MOST_ONE)  # finetune: share of the loss from the teacher; 0: no distillation
    temperature: float = rules(POSITIVE)  # finetune: both models' logits are divided by this in the teacher's term


@dataclass(frozen=True)
class EvaluateParams:
    batch_size: int
    robustness_samples: int | None = rules(POSITIVE)


@dataclass(frozen=True)
class MinEffectParams:
    label_shift: float = rules(POSITIVE)
    ks: float = rules(POSITIVE)
    mmd2: float = rules(POSITIVE)


@dataclass(frozen=True)
class MonitorParams:
    reference_size: int = rules(POSITIVE)
    alpha: float = rules(POSITIVE, BELOW_ONE)
    min_predictions: int = rules(POSITIVE)
    embedding_sample: int = rules(POSITIVE)
    permutations: int = rules(POSITIVE)
    # Read by the drift command when it runs, not saved with the reference (no `reference` rerun).
    max_non_english_share: float = rules(POSITIVE, BELOW_ONE)
    min_effect: MinEffectParams


@dataclass(frozen=True)
class OptimizeParams:
    runtime: str
    select: str = rules(one_of("listed", "measured"))
    candidates: list[str]
    max_recall_drop: float = rules(NOT_NEGATIVE)
    min_agreement: float = rules(POSITIVE, AT_MOST_ONE)
    calibration_samples: int = rules(POSITIVE)
    timing_tweets: int = rules(POSITIVE)
    openvino_int8_float_ops: list[str]


@dataclass(frozen=True)
class LiveParams:
    """Learning from production (tweet_sentiment/monitor/live/; docs/learning-from-production.md gives the reasons)."""

    log_dir: str  # the query-log files `harvest` reads (a folder in the repository; `dvc import-url` brings GCS's)
    train: bool  # train on harvested feedback (refused unless the request ids were verified with the secret key)
    oversample: int = rules(POSITIVE)  # each harvested training row counts this many times
    holdout_share: float = rules(POSITIVE, BELOW_ONE)  # the newest share of harvested rows: the `live` split
    min_holdout: int = rules(POSITIVE)  # fewest rows for a `live` split (a smaller one is noise)
    accept_tweet_feedback: bool  # feedback sent with the tweet (it cannot be signed) trains too
    max_client_share: float = rules(POSITIVE, AT_MOST_ONE)  # of the harvested rows, at most this share from one client
    min_feedback: int = rules(POSITIVE)  # retrain: fewest harvested rows before a retrain is considered
    retrain_below: float = rules(NOT_NEGATIVE, AT_MOST_ONE)  # retrain: live macro recall of the served version


@dataclass(frozen=True)
class ReleaseParams:
    """The promotion gate's limits (tweet_sentiment/release/gate.py; docs/releases.md gives each one's source)."""

    min_test_macro_recall: float = rules(NOT_NEGATIVE, AT_MOST_ONE)  # floor, also for a stage's first version
    max_test_drop: float = rules(NOT_NEGATIVE)  # test macro recall below the stage's version by at most this
    max_class_drop: float = rules(NOT_NEGATIVE)  # any class's test recall, likewise
    max_split_drop: float = rules(NOT_NEGATIVE)  # the custom and live splits, likewise (0: not worse)
    max_throughput_drop: float = rules(NOT_NEGATIVE, BELOW_ONE)  # served tweets/s, as a share of the stage's


@dataclass(frozen=True)
class Params:
    base_model: str
    lr: float = rules(POSITIVE)
    epochs: int = rules(POSITIVE)
    batch_size: int = rules(POSITIVE)
    seed: int
    max_train_samples: int | None = rules(POSITIVE)
    max_eval_samples: int | None = rules(POSITIVE)
    data: DataParams
    tokenize: TokenizeParams
    train: TrainParams
    teacher: TeacherParams
    evaluate: EvaluateParams
    optimize: OptimizeParams
    monitor: MonitorParams
    live: LiveParams
    release: ReleaseParams


OptionalLabelMap = Mapping[str | int, str | None] | None  # DataParams.label_map's type


def _is_label_key(key: Any) -> bool:
    """A label as a file holds it: a string or an integer (YAML reads `0:` and `-1:` as ints), never a bool."""
    return isinstance(key, str | int) and not isinstance(key, bool)


def _coerce(name: str, value: Any, kind: Any) -> Any:
    """Check one value against its annotated type, converting ints to floats."""
    optional = kind in (int | None, float | None, str | None, OptionalLabelMap)
    if value is None and optional:
        return None
    if kind == bool | str:  # a switch with an `auto` setting; the choice check follows
        return value
    if kind == list[str]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ParamsError(f"params.yaml: `{name}` must be a list of strings, got {value!r}.")
        return value
    if kind == OptionalLabelMap:
        if not isinstance(value, dict) or not all(_is_label_key(key) for key in value):
            raise ParamsError(f"params.yaml: `{name}` must be a mapping with string or integer keys, got {value!r}.")
        return value
    base = {int | None: int, float | None: float, str | None: str}.get(kind, kind)
    if base is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, base) or (isinstance(value, bool) and base is not bool):
        raise ParamsError(f"params.yaml: `{name}` must be {base.__name__}, got {value!r}.")
    return value


def _section(cls: type, raw: dict, prefix: str = "") -> Any:
    unknown = set(raw) - {f.name for f in fields(cls)}
    if unknown:
        raise ParamsError(f"params.yaml: unknown param(s) {sorted(prefix + k for k in unknown)}.")
    values = {}
    for spec in fields(cls):
        name = prefix + spec.name
        if spec.name not in raw:
            raise ParamsError(f"params.yaml: `{name}` is missing; add it (see the params table in docs/pipeline.md).")
        if is_dataclass(spec.type):
            if not isinstance(raw[spec.name], dict):
                raise ParamsError(f"params.yaml: `{name}` must be a section of params.")
            values[spec.name] = _section(spec.type, raw[spec.name], name + ".")
            continue
        value = _coerce(name, raw[spec.name], spec.type)
        for rule in spec.metadata.get("rules", ()) if value is not None else ():
            if not rule.holds(value):
                raise ParamsError(f"params.yaml: `{name}` must {rule.must_be}, got {value!r}.")
        values[spec.name] = value
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
