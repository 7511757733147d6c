"""What the machine can do, checked at run time rather than assumed."""

import torch


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU runs bf16 matrix maths natively (AMX or AVX512-BF16).

    The same code or image may land on an older CPU, where bf16 autocast would
    be slower than fp32, so this is probed, never assumed.
    """
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def bf16_training_available() -> bool:
    """bf16 mixed precision for training: a bf16-capable GPU, else a bf16-capable CPU."""
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return cpu_has_fast_bf16()


def use_bf16_training(setting: bool | str) -> bool:
    """The `train.bf16` param: `auto` probes the hardware, a boolean is taken as it is.

    The result changes the trained weights, so `finetune` records it in its metrics.
    """
    return bf16_training_available() if setting == "auto" else bool(setting)
