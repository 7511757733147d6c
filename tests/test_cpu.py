"""The kind of CPU in words, as `optimize` records it for the model card and the benchmarks print it."""

from pathlib import Path

from tweet_sentiment.core.cpu import cpu_kind


def test_the_kind_is_the_model_name_and_the_instruction_sets_not_the_machine(tmp_path: Path):
    core = (
        "processor\t: {n}\nmodel name\t: Intel(R) Xeon(R) Platinum 8481C\n"
        "flags\t\t: fpu avx2 avx512f amx_bf16 amx_int8\n"
    )
    two, four = tmp_path / "two", tmp_path / "four"
    two.write_text("\n".join(core.format(n=n) for n in range(2)))
    four.write_text("\n".join(core.format(n=n) for n in range(4)))
    kind = "Intel(R) Xeon(R) Platinum 8481C, avx2, avx512f, amx_bf16, amx_int8 (no avx512_vnni, avx_vnni, avx512_bf16)"
    assert cpu_kind(two) == cpu_kind(four) == kind  # the core count is the machine's, not the kind's


def test_without_cpuinfo_the_kind_says_its_instruction_sets_are_unknown(tmp_path: Path):
    assert cpu_kind(tmp_path / "absent").endswith("(instruction sets unknown)")
