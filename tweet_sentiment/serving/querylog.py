"""The query log: one JSON line per prediction and per feedback, for drift and live accuracy.

This is the writer, which ships in the Bento; the reader that `harvest` and
`drift` use is the input layer's (`tweet_sentiment/inputs/query_log.py`).

Configured by environment variables (checked at start by serving/settings.py), so the
same Bento logs locally and on Cloud Run:

- `TWEET_SENTIMENT_QUERY_LOG`: a directory (each worker writes `queries-<pid>.jsonl`,
  rotated at 50 MB, 20 files kept), or `stdout` for Cloud Run, where each line is a
  structured log entry that Cloud Logging stores as `jsonPayload`. Unset: no log.
- `TWEET_SENTIMENT_LOG_TEXT=0`: log the text's SHA-256 and length instead of the text.
- `TWEET_SENTIMENT_QUERY_LOG_SAMPLE`: the share of predictions logged (default 1);
  feedback is always logged.
- `TWEET_SENTIMENT_REQUEST_ID_KEY`: the HMAC key of request ids (`request_id_key`).

Each batch is one write of its lines, on the request's thread: about 6 µs of
CPU per prediction (BENCHMARKS.md); handing records to a `QueueListener` thread
cost 11 µs. Request ids are stateless: a random part, the predicted label and
an HMAC of both, so any worker or instance can tell an id it issued from a
made-up one, and feedback knows what was predicted without a lookup.
"""

import hashlib
import hmac
import json
import logging
import logging.handlers
import os
import random
import secrets
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.serving.identity import UNREGISTERED
from tweet_sentiment.serving.tokenizer import TokenCounts

LOG_ENV = "TWEET_SENTIMENT_QUERY_LOG"
KEY_ENV = "TWEET_SENTIMENT_REQUEST_ID_KEY"
STDOUT = "stdout"
MAX_FILE_BYTES = 50 * 1024 * 1024
KEPT_FILES = 20
_RANDOM_HEX = 16
_MAC_HEX = 8


class QueryLogError(ValueError):
    """A query-log setting or file is unusable; the message says which and how to fix it."""


def request_id_key(secret: str | None, model_version: str) -> bytes:
    """The HMAC key of request ids: the secret (`TWEET_SENTIMENT_REQUEST_ID_KEY`), else the model version.

    The default lets every worker and instance of one model accept each other's
    ids with no setup; it is public, so set a secret key where made-up feedback
    would matter.
    """
    return (secret or model_version).encode()


class RequestIds:
    """Issue and check prediction ids of the form `<16 hex random><label id><8 hex HMAC>`."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def _mac(self, body: str) -> str:
        return hmac.new(self.key, body.encode(), hashlib.sha256).hexdigest()[:_MAC_HEX]

    def issue(self, pred_id: int) -> str:
        body = secrets.token_hex(_RANDOM_HEX // 2) + str(pred_id)
        return body + self._mac(body)

    def predicted_id(self, request_id: str) -> int | None:
        """The label id predicted under `request_id`, or None if this service did not issue it."""
        request_id = request_id.lower()
        if len(request_id) != _RANDOM_HEX + 1 + _MAC_HEX or not request_id.isascii():
            return None
        body, mac = request_id[: _RANDOM_HEX + 1], request_id[_RANDOM_HEX + 1 :]
        if not hmac.compare_digest(mac, self._mac(body)) or not body[-1].isdigit():
            return None
        pred_id = int(body[-1])
        return pred_id if pred_id < len(LABELS) else None


def client_id(forwarded_for: str | None, peer: str | None) -> str:
    """A pseudonym of the client: 16 hex of the SHA-256 of its address, not the address itself.

    The address is the first of `X-Forwarded-For` (Cloud Run's front end puts the
    caller's there; a client can prepend a made-up one, so this caps casual floods,
    not a determined forger: the signed request id is the real guard), else the peer's.
    """
    address = (forwarded_for or "").split(",")[0].strip() or peer or "unknown"
    return hashlib.sha256(address.encode()).hexdigest()[:16]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class QueryLog:
    """Writes prediction and feedback records to a directory or stdout, off the request path."""

    def __init__(
        self,
        destination: str | None,
        model_version: str,
        log_text: bool = True,
        sample_rate: float = 1.0,
        registry_version: str = UNREGISTERED,
    ) -> None:
        self.model_version = model_version
        self.registry_version = registry_version
        self.log_text = log_text
        self.sample_rate = sample_rate
        self.stdout = destination == STDOUT
        self.directory = Path(destination) if destination and not self.stdout else None
        self._handler = self._open(destination) if destination else None
        if self._handler is not None:
            self._handler.setFormatter(logging.Formatter("%(message)s"))

    @property
    def enabled(self) -> bool:
        return self._handler is not None

    def _versions(self) -> dict[str, str]:
        return {"model_version": self.model_version, "registry_version": self.registry_version}

    def _content(self, text: str) -> dict[str, str]:
        """The text, or with `TWEET_SENTIMENT_LOG_TEXT=0` its SHA-256 only."""
        return {"text": text} if self.log_text else {"text_sha256": hashlib.sha256(text.encode()).hexdigest()}

    def _open(self, destination: str) -> logging.Handler:
        if self.stdout:
            return logging.StreamHandler(sys.stdout)
        directory = Path(destination)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            return logging.handlers.RotatingFileHandler(
                directory / f"queries-{os.getpid()}.jsonl",
                maxBytes=MAX_FILE_BYTES,
                backupCount=KEPT_FILES,
                encoding="utf-8",
            )
        except OSError as error:
            raise QueryLogError(f"{LOG_ENV}={destination}: cannot write there ({error.strerror})") from error

    def _line(self, record: dict) -> str:
        if self.stdout:  # Cloud Logging reads these two fields of a structured line
            record = {"severity": "INFO", "message": record["type"], **record}
        return json.dumps(record, ensure_ascii=False)

    def _write(self, records: list[dict]) -> None:
        """One write per batch to a file: the logging machinery costs more than the JSON.

        To stdout, one write per line: the workers share it, and writes to a pipe
        longer than PIPE_BUF (4 KiB) may interleave with another process's.
        """
        handler = self._handler
        if not records or handler is None:
            return
        lines = [self._line(record) for record in records]
        for message in lines if self.stdout else ["\n".join(lines)]:
            handler.handle(logging.LogRecord("querylog", logging.INFO, "", 0, message, None, None))

    def predictions(
        self,
        texts: Sequence[str],
        results: Sequence[dict],
        request_ids: Sequence[str],
        counts: Sequence[TokenCounts],
        latency_s: float,
    ) -> None:
        """Log a sample of one batch's predictions; `latency_s` is the batch's model time."""
        if not self.enabled:
            return
        time, records = _now(), []
        for text, result, request_id, count in zip(texts, results, request_ids, counts, strict=True):
            if self.sample_rate < 1.0 and random.random() >= self.sample_rate:
                continue
            records.append(
                {
                    "type": "prediction",
                    "time": time,
                    "request_id": request_id,
                    **self._versions(),
                    **self._content(text),
                    "chars": len(text),
                    "tokens": count.tokens,
                    "unknown_tokens": count.unknown,
                    "label": result["pred_label"],
                    "scores": result["scores"],
                    "lang": result["lang"],
                    "latency_ms": round(latency_s * 1000, 3),
                }
            )
        self._write(records)

    def feedback(
        self, label: str, predicted: str, request_id: str | None, text: str | None = None, client: str = ""
    ) -> None:
        """Log a true label given for an earlier prediction (by its id), or for a tweet sent with it (its text).

        `client` is `client_id`'s pseudonym of the sender, so a harvest can cap any one client's share.
        """
        record = {"type": "feedback", "time": _now(), "request_id": request_id, **self._versions()}
        content = self._content(text) if text is not None else {}
        self._write([{**record, **content, "label": label, "predicted": predicted, "client": client}])

    def close(self) -> None:
        if self._handler is not None:
            self._handler.close()
            self._handler = None
