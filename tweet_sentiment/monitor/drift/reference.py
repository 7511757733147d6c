"""The drift reference: features of training tweets, saved by the `reference` stage.

One `.npz` file holds the per-tweet features (embeddings in float16: half the
size, and MMD does not notice), the tweet ids (so held-out tweets can be told
apart), the model version it describes, and the drift settings from
params.yaml, so the drift command needs no params.yaml where it runs.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tweet_sentiment.monitor.drift.checks import DriftSettings, label_shares
from tweet_sentiment.monitor.drift.features import Encoder, Features
from tweet_sentiment.serving.runtimes import model_version


class DriftReferenceError(ValueError):
    """The reference file is missing or unreadable; the message says how to make it."""


@dataclass(frozen=True)
class Reference:
    features: Features
    ids: np.ndarray
    model_version: str
    settings: DriftSettings

    def summary(self) -> dict:
        """What `metrics/reference.json` shows in `dvc metrics diff`."""
        features = self.features
        return {
            "tweets": len(features),
            "predicted_share": label_shares(features.predicted),
            "confidence_median": round(float(np.median(features.confidence)), 4),
            "chars_median": float(np.median(features.chars)),
            "unknown_token_share": round(float(features.unknown_share.mean()), 5),
        }


def save_reference(reference: Reference, path: Path) -> None:
    features = reference.features
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:  # np.savez would append `.npz` to a name without it
        np.savez_compressed(
            file,
            predicted=features.predicted,
            confidence=features.confidence,
            chars=features.chars,
            unknown_share=features.unknown_share,
            embedding=features.embedding.astype(np.float16),
            ids=reference.ids,
            meta=json.dumps({"model_version": reference.model_version, "settings": asdict(reference.settings)}),
        )


def load_reference(path: Path) -> Reference:
    if not path.is_file():
        raise DriftReferenceError(f"{path}: no drift reference; run `dvc repro reference` (or `dvc pull`) first")
    try:
        with np.load(path) as saved:
            meta = json.loads(str(saved["meta"]))
            features = Features(
                predicted=saved["predicted"],
                confidence=saved["confidence"],
                chars=saved["chars"],
                unknown_share=saved["unknown_share"],
                embedding=saved["embedding"].astype(np.float32),
            )
            ids = saved["ids"]
        reference = Reference(features, ids, meta["model_version"], DriftSettings(**meta["settings"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DriftReferenceError(
            f"{path}: not a drift reference this version reads ({type(error).__name__}: {error}); "
            "rebuild it with `dvc repro reference`"
        ) from error
    return reference


def build_reference(frame: pd.DataFrame, model_dir: Path, size: int, settings: DriftSettings) -> Reference:
    """Features of a seeded sample of `size` tweets of `frame` (columns id, text)."""
    sample = frame.sample(n=min(size, len(frame)), random_state=settings.seed)
    features = Encoder(model_dir).features(list(sample["text"]), progress="reference")
    return Reference(features, sample["id"].to_numpy(dtype=str), model_version(model_dir), settings)
