"""What a running service serves, as it reports it: `GET /version`, the `tweet_sentiment_model_info` gauge
and every query-log record.

- `registry_version`: the model registry's version (GTO's `vX.Y.Z`), from
  `TWEET_SENTIMENT_REGISTRY_VERSION`, which `scripts/deploy_cloudrun.sh` sets from
  the registry; `unregistered` when unset (a local `bentoml serve`).
- `bento_version`: the Bento's version when serving a built Bento (BentoML's
  `server_context`), `source` when serving the repository's `service.py`.
- `model_version`: the digest of the fine-tuned weights; `runtime`: the engine
  that runs them (models/serving/runtime.json).
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass

REGISTRY_VERSION_ENV = "TWEET_SENTIMENT_REGISTRY_VERSION"
UNREGISTERED = "unregistered"
_VERSION = re.compile(r"^v\d+\.\d+\.\d+$")


class IdentityError(ValueError):
    """A malformed version setting; the message names the variable and the form it takes."""


def registry_version() -> str:
    """`TWEET_SENTIMENT_REGISTRY_VERSION` (vX.Y.Z), or `unregistered`; `IdentityError` for another form."""
    value = os.environ.get(REGISTRY_VERSION_ENV, "").strip()
    if value and not _VERSION.match(value):
        raise IdentityError(f"{REGISTRY_VERSION_ENV}={value!r}: use a registry version such as v0.2.0, or unset it")
    return value or UNREGISTERED


@dataclass(frozen=True)
class ServedModel:
    registry_version: str
    bento_version: str
    model_version: str
    runtime: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)
