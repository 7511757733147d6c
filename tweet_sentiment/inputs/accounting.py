"""What became of every record a reader met: kept, or lost for a named reason, with where.

Reasons are short codes (`LOSS_REASONS`) so a summary can be filtered and
summed; each lost record also keeps its line (or row) number and a sentence
for people. A reader never drops a record without a `Rejection` here.
"""

from collections import Counter
from dataclasses import dataclass, field

# Why a record could not be read at all (the input layer's reasons; scoring adds its own for text it cannot score).
LOSS_REASONS = ("bad_record", "undecodable", "too_deep", "too_large", "duplicate_key", "truncated")
LISTED = 20  # lost records a summary lists by line; the count covers all of them


@dataclass(frozen=True)
class Rejection:
    """Why a record was not read or not scored: a short code for filtering and a sentence for people."""

    reason: str
    detail: str


@dataclass
class ReadCount:
    """Records read from one or more files: `read` = `kept` + the sum of `lost`; the first `LISTED` losses by place."""

    read: int = 0
    kept: int = 0
    lost: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def keep(self) -> None:
        self.read += 1
        self.kept += 1

    def lose(self, where: str, rejection: Rejection) -> None:
        """Count one lost record; `where` is `file:line`."""
        self.read += 1
        self.lost[rejection.reason] += 1
        if len(self.examples) < LISTED:
            self.examples.append(f"{where}: {rejection.reason} ({rejection.detail})")

    def by_reason(self) -> dict[str, int]:
        """The losses by reason, those that occurred, sorted: for a machine-readable summary."""
        return {reason: n for reason, n in sorted(self.lost.items()) if n}

    def summary(self) -> str:
        """One log line's worth: `60 read, 57 kept; lost: bad_record 2, too_deep 1`."""
        lost = ", ".join(f"{reason} {n}" for reason, n in self.by_reason().items()) or "none"
        return f"{self.read} read, {self.kept} kept; lost: {lost}"
