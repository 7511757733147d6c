"""What a running service serves, as it reports it: `GET /version`, the `tweet_sentiment_model_info` gauge
and every query-log record.

- `registry_version`: the model registry's version (GTO's `v` and a SemVer:
  `v0.2.0`, `v0.2.0-rc.1`, `v0.2.0+build.5`), from `TWEET_SENTIMENT_REGISTRY_VERSION`,
  which `deploy/deploy_cloudrun.sh` sets from the registry; `unregistered` when unset
  (a local `bentoml serve`).
- `bento_version`: the Bento's version when serving a built Bento (BentoML's
  `server_context`), `source` when serving the repository's `service.py`.
- `model_version`: the digest of the fine-tuned weights; `runtime`: the engine
  that runs them (models/serving/runtime.json).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

UNREGISTERED = "unregistered"
# SemVer 2.0.0's own pattern (semver.org, "Is there a suggested regular expression"), after GTO's `v`.
SEMVER = re.compile(
    r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def check_registry_version(value: str | None) -> str | None:
    """`value` if it is `v` and a SemVer (or None); `ValueError` saying so otherwise."""
    if value is not None and not SEMVER.match(value):
        raise ValueError("not `v` and a SemVer version")
    return value


@dataclass(frozen=True)
class ServedModel:
    registry_version: str
    bento_version: str
    model_version: str
    runtime: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)
