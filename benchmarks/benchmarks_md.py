"""BENCHMARKS.md is written by several scripts, each owning its `## ` sections; this replaces one in place."""

import os
from pathlib import Path

from tweet_sentiment.core.cpu import cpu_kind


def machine() -> str:
    """The CPU a figure came from, e.g. "AMD EPYC 9B14, 2 CPUs, avx2 (no avx512f, ...)": its kind and core count."""
    name, _, flags = cpu_kind().partition(", ")
    return f"{name}, {os.cpu_count()} CPUs, {flags}"


def replace_section(path: Path, heading: str, text: str) -> None:
    """Put `text` (starting with `heading`) in place of that section, or append it; other sections stay."""
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    before, found, rest = current.partition(f"\n{heading}\n")
    after = rest[rest.index("\n## ") + 1 :] if found and "\n## " in rest else ""
    path.write_text(before.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n" + ("\n" + after if after else ""))


def replace_preamble(path: Path, text: str) -> None:
    """Put `text` in place of everything before the first `## ` section."""
    current = path.read_text() if path.exists() else ""
    _, found, sections = current.partition("\n## ")
    path.write_text(text.rstrip("\n") + "\n" + ("\n## " + sections if found else ""))
