"""Every `TWEET_SENTIMENT_*` setting of the service, parsed and checked once, before any worker starts.

`service.py` reads `Settings` at import, since `TWEET_SENTIMENT_WORKERS` shapes
`@bentoml.service`; what needs the file system (a query-log folder that can be
written) is checked by `check_query_log` in the deployment check. Either way a bad
value ends `bentoml serve` with one line naming the variable, its value and the fix,
and exit status 1, where BentoML alone would restart failing workers forever.

Parsed by pydantic-settings, which reads each field from the variable of its
name with the `TWEET_SENTIMENT_` prefix (docs/serving.md lists them).
"""

from __future__ import annotations

import difflib
import os
import tempfile
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from tweet_sentiment.serving.identity import check_registry_version
from tweet_sentiment.serving.limits import MAX_BODY_BYTES, PARALLEL_BATCHES
from tweet_sentiment.serving.querylog import STDOUT

PREFIX = "TWEET_SENTIMENT_"
# Read by other commands, not the service (the training image's unpacked model: train/wheels.py).
OTHER_COMMANDS = frozenset({"TWEET_SENTIMENT_MODEL_CACHE"})


class SettingsError(ValueError):
    """A setting the service cannot run with; the message is one line: variable, value, fix."""


class Settings(BaseSettings):
    """The service's settings; each field's description is the fix a bad value is told."""

    # An empty variable is an unset one, as it was before these settings were checked.
    model_config = SettingsConfigDict(env_prefix=PREFIX, env_ignore_empty=True, frozen=True, extra="ignore")

    model_dir: Path | None = Field(None, description="a model directory (models/serving by default)")
    workers: int = Field(2, ge=1, description="the number of worker processes, e.g. 2")
    parallel: int = Field(PARALLEL_BATCHES, ge=1, description="the sub-batches a worker runs at once, e.g. 2")
    max_body_bytes: int = Field(
        MAX_BODY_BYTES, ge=1024, description=f"a request-body limit in bytes of at least 1024, e.g. {MAX_BODY_BYTES}"
    )
    query_log: str | None = Field(None, description=f"a folder the service can write, or {STDOUT}, or unset it")
    log_text: bool = Field(True, description="1 to log each tweet's text, 0 to log its SHA-256 only")
    query_log_sample: float = Field(
        1.0, ge=0.0, le=1.0, description="the share of predictions logged, between 0 and 1, e.g. 0.1 for one in ten"
    )
    ui: bool = Field(True, description="1 to serve the try-it page at /ui, 0 to turn it off")
    request_id_key: str | None = Field(None, description="a secret string, or unset it")
    registry_version: Annotated[str | None, AfterValidator(check_registry_version)] = Field(
        None, description="a registry version (SemVer, as GTO tags it: v0.2.0, v0.2.0-rc.1), or unset it"
    )

    @classmethod
    def from_env(cls) -> Settings:
        """The settings in the environment; `SettingsError` for the first bad one, or an unknown name (a typo)."""
        read = {variable(field) for field in cls.model_fields}
        known = read | OTHER_COMMANDS
        for name in sorted(os.environ):
            if name.upper().startswith(PREFIX) and name.upper() not in known:
                suffixes = [known_name.removeprefix(PREFIX) for known_name in known]
                guess = difflib.get_close_matches(name.upper().removeprefix(PREFIX), suffixes, n=1)
                fix = f"did you mean {PREFIX}{guess[0]}?" if guess else f"the service reads {', '.join(sorted(read))}"
                raise SettingsError(f"{name}={os.environ[name]!r}: no such setting; {fix}")
        try:
            return cls()
        except ValidationError as error:
            raise SettingsError(describe(error)) from None


def variable(field: str) -> str:
    return PREFIX + field.upper()


def describe(error: ValidationError) -> str:
    """`TWEET_SENTIMENT_WORKERS='two': input should be a valid integer; set the number of ...` (the first error)."""
    first = error.errors()[0]
    field = str(first["loc"][0])
    name = variable(field)
    reason = first["msg"].removeprefix("Value error, ")
    reason = reason[:1].lower() + reason[1:]
    return f"{name}={os.environ.get(name, '')!r}: {reason}; set {Settings.model_fields[field].description}"


def check_query_log(settings: Settings) -> None:
    """Create the query-log folder and write a probe file there; `SettingsError` if either fails."""
    destination = settings.query_log
    if not destination or destination == STDOUT:
        return
    try:
        Path(destination).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=destination, prefix=".probe-"):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SettingsError(
            f"{variable('query_log')}={destination!r}: cannot write there ({reason}); "
            f"set {Settings.model_fields['query_log'].description}"
        ) from None
