"""BENCHMARKS.md is written by several scripts, each owning its `## ` sections; this replaces one in place."""

import os
import platform
from pathlib import Path

# The instruction sets that decide these figures: int8 runs far faster with VNNI or AMX, bf16 needs
# AVX512-BF16 or AMX (Linux /proc/cpuinfo flag names).
ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def machine() -> str:
    """The CPU a figure came from, e.g. "AMD EPYC 9B14, 2 CPUs, avx2 (no avx512f, ...)": model name and ISA flags."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    fields = dict(line.split(":", 1) for line in cpuinfo.splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = set(fields.get("flags", "").split())
    has = [flag for flag in ISA_FLAGS if flag in flags]
    lacks = [flag for flag in ISA_FLAGS if flag not in flags]
    name = fields.get("model name", platform.machine())
    return f"{name}, {os.cpu_count()} CPUs, {', '.join(has) or 'none of ' + ', '.join(ISA_FLAGS)}" + (
        f" (no {', '.join(lacks)})" if lacks else ""
    )


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
