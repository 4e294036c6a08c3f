"""The machine-code reader (neuro.measure.asm) on a loop of each instruction set.

The fixtures are Numba's own output for SSE2, AVX2 and AVX-512 (tests/fixtures/asm/compile_fixtures.py writes
them), except the packed exp, which no compiler here can emit (svml_packed_exp.s says why). Every expected
number below was counted by hand from the fixture's lines; the line numbers in the comments are the file's.
"""

from pathlib import Path

import pytest

from neuro.measure import asm

FIXTURES = Path(__file__).parent / "fixtures" / "asm"


def listing(name):
    (lines,) = asm.functions((FIXTURES / name).read_text()).values()
    return lines


def arithmetic(facts):
    return {"fma": (facts.fma_packed, facts.fma_scalar), "mul": (facts.muls_packed, facts.muls_scalar),
            "add": (facts.adds_packed, facts.adds_scalar), "paired": facts.paired_adds}


def test_sse2_only_packs_two_float64_in_xmm_and_pairs_each_multiply_with_its_add():
    loop, facts = asm.hottest_loop(listing("sse2_dot_float64.s"))
    assert loop.label == ".LBB0_6"  # lines 26-37; .LBB0_4 (the remainder) does 1 multiply-add
    assert (facts.vector_width, facts.register) == (128, "xmm")
    assert arithmetic(facts) == {"fma": (0, 0), "mul": (2, 0), "add": (2, 0), "paired": 2}
    assert facts.multiply_adds == 4 and facts.instructions == 11  # 2 mulpd x 2 lanes, each added by an addpd
    assert facts.exp_calls == [] and facts.calls == 0


def test_avx2_fma_loop_is_the_wide_one_not_the_remainders():
    lines = listing("avx2_dot_float64.s")
    assert [loop.label for loop in asm.innermost(asm.loops(lines))] == [".LBB0_8", ".LBB0_12", ".LBB0_4"]
    loop, facts = asm.hottest_loop(lines)
    assert loop.label == ".LBB0_8"  # lines 35-46
    assert (facts.vector_width, facts.register) == (256, "ymm")
    assert arithmetic(facts) == {"fma": (4, 0), "mul": (0, 0), "add": (0, 0), "paired": 0}
    assert facts.multiply_adds == 16  # 4 vfmadd231pd x 4 float64 lanes
    assert facts.instructions_per_multiply_add == pytest.approx(11 / 16)
    whole = asm.facts(lines)
    # the ymm loop's 4 and the remainder's 1 packed FMA, the scalar remainder's 1; the sum of the 4 accumulators:
    # vaddpd x3 on ymm and x2 on xmm (lines 47-51, 72), vaddsd x2 (53, 74)
    assert arithmetic(whole) == {"fma": (5, 1), "mul": (0, 0), "add": (5, 2), "paired": 0}
    assert whole.exp == "none called"


def test_avx2_in_order_sum_stays_scalar_mul_then_add():
    loop, facts = asm.hottest_loop(listing("avx2_dot_in_order_float64.s"))
    assert loop.label == ".LBB0_5"  # lines 27-54: unrolled 8 times, one running total in xmm0
    assert (facts.vector_width, facts.register) == (128, "xmm")  # scalar: the low lane of an xmm register
    assert arithmetic(facts) == {"fma": (0, 0), "mul": (0, 8), "add": (0, 8), "paired": 8}
    assert facts.multiply_adds == 8 and facts.instructions == 27


def test_products_that_are_not_added_are_no_multiply_adds():
    """An output delta's loop, delta *= a (1 - a): subtracts and multiplies, no product ever added."""
    loop, facts = asm.hottest_loop(listing("avx2_scale_float64.s"))
    assert loop.label == ".LBB0_8"  # lines 88-111, the widest of its four loops
    assert (facts.vector_width, facts.register) == (256, "ymm")
    assert arithmetic(facts) == {"fma": (0, 0), "mul": (8, 0), "add": (4, 0), "paired": 0}
    assert facts.multiply_adds == 0 and facts.instructions_per_multiply_add is None
    assert (facts.multiply_lanes, facts.add_lanes) == (32, 16)


def test_avx512_packs_sixteen_float32_in_zmm():
    lines = listing("avx512_dot_float32.s")
    loop, facts = asm.hottest_loop(lines)
    assert loop.label == ".LBB0_8"  # lines 35-46
    assert (facts.vector_width, facts.register, facts.fma_packed) == (512, "zmm", 4)
    assert facts.multiply_adds == 64  # 4 vfmadd231ps x 16 float32 lanes
    assert facts.instructions == 11
    assert arithmetic(asm.facts(lines))["fma"] == (5, 1)  # + the ymm remainder's (line 72) and the scalar one's


def test_scalar_exp_is_a_call_to_the_c_library_every_iteration():
    lines = listing("sse2_sigmoid_float64.s")
    loop, facts = asm.hottest_loop(lines)
    assert loop.label == ".LBB0_2"  # lines 27-41
    assert facts.calls == 1 and facts.instructions == 14
    assert arithmetic(facts) == {"fma": (0, 0), "mul": (0, 0), "add": (0, 1), "paired": 0}  # 1 + exp(-z)
    whole = asm.facts(lines)
    assert whole.exp == "scalar (C library)" and whole.exp_calls == ["exp"]  # movabsq $exp, %rbx (line 22)


def test_packed_exp_is_a_call_to_svml():
    lines = listing("svml_packed_exp.s")
    loop, facts = asm.hottest_loop(lines)
    assert (facts.vector_width, facts.register, facts.calls, facts.prefetches) == (512, "zmm", 1, 1)
    assert facts.add_lanes == 16 and facts.multiply_adds == 0 and facts.instructions == 10
    whole = asm.facts(lines)
    assert whole.exp == "packed (SVML)" and whole.exp_calls == ["__svml_expf16"]


def test_operands_split_outside_memory_parentheses_and_drop_comments():
    assert asm.operands_of(" 32(%rdx,%r9,8), %ymm5, %ymm1  # a comment, with a comma") == [
        "32(%rdx,%r9,8)", "%ymm5", "%ymm1"]


def test_a_product_overwritten_before_the_add_is_not_paired():
    lines = ["\tvmulsd\t%xmm1, %xmm2, %xmm3", "\tvmovsd\t(%rax), %xmm3", "\tvaddsd\t%xmm3, %xmm0, %xmm0"]
    assert (asm.facts(lines).paired_adds, asm.facts(lines).multiply_adds) == (0, 0)


def test_no_loop_no_hottest():
    assert asm.hottest_loop(["\tvaddsd\t%xmm1, %xmm0, %xmm0", "\tretq"]) is None


def test_nested_loops_only_the_inner_is_innermost():
    lines = [".LBB0_1:", ".LBB0_2:", "\tvfmadd231sd\t%xmm1, %xmm2, %xmm0", "\tjne\t.LBB0_2", "\tjne\t.LBB0_1"]
    assert [loop.label for loop in asm.innermost(asm.loops(lines))] == [".LBB0_2"]
