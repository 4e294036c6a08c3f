"""The machine-code reader (neuro.measure.asm) on a hand-written loop of each instruction set."""

from pathlib import Path

import pytest

from neuro.measure import asm

FIXTURES = Path(__file__).parent / "fixtures" / "asm"


def listing(name):
    (lines,) = asm.functions((FIXTURES / name).read_text()).values()
    return lines


def test_sse2_scalar_loop():
    lines = listing("sse2_scalar.s")
    loop, facts = asm.hottest_loop(lines)
    assert loop.label == ".LBB0_2"
    assert (facts.vector_width, facts.register) == (128, "xmm")
    assert (facts.fma_packed, facts.fma_scalar, facts.muls_scalar, facts.adds_scalar) == (0, 0, 1, 1)
    assert facts.multiply_adds == 1 and facts.instructions == 6
    assert facts.instructions_per_multiply_add == 6
    assert asm.facts(lines).exp == "scalar (C library)"


def test_avx2_fma_loop_is_the_wide_one_not_the_remainder():
    lines = listing("avx2_fma_ymm.s")
    assert [loop.label for loop in asm.loops(lines)] == [".LBB0_8", ".LBB0_4"]
    loop, facts = asm.hottest_loop(lines)
    assert loop.label == ".LBB0_8"
    assert (facts.vector_width, facts.register, facts.fma_packed, facts.fma_scalar) == (256, "ymm", 4, 0)
    assert facts.multiply_adds == 16  # 4 instructions x 4 float64 lanes
    assert facts.instructions_per_multiply_add == pytest.approx(11 / 16)
    whole = asm.facts(lines)
    assert (whole.fma_scalar, whole.adds_scalar, whole.adds_packed) == (1, 1, 1)
    assert whole.exp == "none called"


def test_avx512_zmm_loop_with_svml_exp_and_prefetch():
    lines = listing("avx512_zmm.s")
    loop, facts = asm.hottest_loop(lines)
    assert (facts.vector_width, facts.register, facts.fma_packed) == (512, "zmm", 2)
    assert facts.multiply_adds == 32  # 2 x 16 float32 lanes
    assert facts.prefetches == 1
    whole = asm.facts(lines)
    assert whole.exp == "packed (SVML)" and whole.exp_calls == ["__svml_expf16"]


def test_no_loop_no_hottest():
    assert asm.hottest_loop(["\tvaddsd\t%xmm1, %xmm0, %xmm0", "\tretq"]) is None


def test_nested_loops_only_the_inner_is_innermost():
    lines = [".LBB0_1:", ".LBB0_2:", "\tvfmadd231sd\t%xmm1, %xmm2, %xmm0", "\tjne\t.LBB0_2", "\tjne\t.LBB0_1"]
    assert [loop.label for loop in asm.innermost(asm.loops(lines))] == [".LBB0_2"]
