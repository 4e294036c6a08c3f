"""neuro.measure.ptx on hand-written PTX: which loop holds a kernel's sum, and compile_rung's errors."""

import subprocess

from neuro.measure import ptx

FMA = "\tfma.rn.f64 \t%fd3, %fd1, %fd2, %fd3;"


def test_the_sum_is_the_deepest_loop_not_the_one_with_the_most_fmas():
    # a loop over samples holding the sum's loop, then a copy of the sample loop whose fmas are exp's polynomial
    lines = (["$L__BB0_1:", "\tld.global.f64 \t%fd9, [%rd9];", "$L__BB0_2:", "\tld.global.f64 \t%fd1, [%rd1];",
              "\tld.global.f64 \t%fd2, [%rd2];", FMA, "\t@%p1 bra \t$L__BB0_2;", "\t@%p2 bra \t$L__BB0_1;",
              "$L__BB0_3:", "\tld.global.f64 \t%fd1, [%rd1];"] + [FMA] * 6 + ["\t@%p3 bra.uni \t$L__BB0_3;"])
    label, facts = ptx.hottest_loop(lines)
    assert (label, facts.fma, facts.ld_global) == ("$L__BB0_2", 1, 2)
    assert ptx.barriers_around(lines, "$L__BB0_2") == 0 and ptx.barriers_around(lines, "$L__BB0_3") == 0


def test_the_barriers_of_the_tile_loop_around_the_sum_are_counted():
    lines = ["$L__BB0_1:", "\tst.shared.f64 \t[%rd1], %fd1;", "\tbar.sync \t0;", "$L__BB0_2:",
             "\tld.shared.f64 \t%fd1, [%rd1];", FMA, "\t@%p1 bra \t$L__BB0_2;", "\tbar.sync \t0;",
             "\t@%p2 bra \t$L__BB0_1;"]
    label, facts = ptx.hottest_loop(lines)
    assert (label, facts.bar_sync, ptx.barriers_around(lines, label)) == ("$L__BB0_2", 0, 2)


def test_kernels_are_keyed_by_their_symbol():
    listing = ".visible .entry _ZN6cudapy4neuro17update_parametersB2v1E(\n\t.param .u64 a\n)\n{\n\tret;\n}\n"
    assert ptx.kernels(listing) == {"_ZN6cudapy4neuro17update_parametersB2v1E": ["\t.param .u64 a", ")", "{",
                                                                                  "\tret;"]}


def _simulating(monkeypatch):
    monkeypatch.setattr(ptx, "missing_compiler", lambda: None)
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "1")


def test_a_failed_compilation_is_its_last_stderr_line_or_exit_code(monkeypatch):
    _simulating(monkeypatch)
    for stderr, said in (("Traceback ...\nValueError: bad\n", "ValueError: bad"), ("", "exit code 3")):
        monkeypatch.setattr(subprocess, "run", lambda *a, stderr=stderr, **k: subprocess.CompletedProcess(
            a, 3, stdout="", stderr=stderr))
        assert ptx.compile_rung("cuda-naive") == {"error": f"the PTX compilation failed: {said}"}


def test_a_compilation_past_its_time_is_an_error_not_a_traceback(monkeypatch):
    _simulating(monkeypatch)

    def too_slow(command, **options):
        raise subprocess.TimeoutExpired(command, options["timeout"])

    monkeypatch.setattr(subprocess, "run", too_slow)
    assert "took over" in ptx.compile_rung("cuda-naive")["error"]
