"""Which kind of CPU this is, in words: its model name and the instruction sets that decide inference speed.

No torch here (benchmarks and the `optimize` stage's record use it). The kind, not
the machine: no core count, so two machines of one kind give the same words and a
rerun on either leaves `dvc.lock` as it was.
"""

import platform
from pathlib import Path

# The instruction sets that decide the figures: int8 runs far faster with VNNI or AMX, bf16 needs
# AVX512-BF16 or AMX (Linux /proc/cpuinfo flag names).
ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def cpu_kind(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """E.g. "AMD EPYC, avx2, avx512f, avx512_vnni (no avx_vnni, amx_bf16, amx_int8)": model name and ISA flags.

    Where /proc/cpuinfo cannot be read (not Linux), the processor name Python reports, flags unknown.
    """
    try:
        text = cpuinfo.read_text()
    except OSError:
        return f"{platform.processor() or platform.machine()} (instruction sets unknown)"
    fields = {
        key.strip(): value.strip() for key, value in (line.split(":", 1) for line in text.splitlines() if ":" in line)
    }
    flags = set(fields.get("flags", "").split())
    has = [flag for flag in ISA_FLAGS if flag in flags]
    lacks = [flag for flag in ISA_FLAGS if flag not in flags]
    name = fields.get("model name", platform.machine())
    return f"{name}, {', '.join(has) or 'none of ' + ', '.join(ISA_FLAGS)}" + (
        f" (no {', '.join(lacks)})" if lacks else ""
    )
