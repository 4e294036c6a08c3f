"""`neuro explain`: a rung's diff against the rung it builds on, and what its machine code does here."""

import json
import platform

import pytest
from click.testing import CliRunner

from neuro.cli.main import main

pytest.importorskip("numba")


def run(*args):
    return CliRunner().invoke(main, ["explain", *args])


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="the machine-code reader knows x86-64")
def test_reorder_shows_its_one_option_and_the_registers_its_sum_uses():
    result = run("numba-reorder")
    assert result.exit_code == 0, result.output
    assert "Changed: weighted_sum" in result.output
    assert "+@njit(cache=True, fastmath=SUMS)" in result.output
    assert "Compiled again unchanged from numba-loops:" in result.output and "train_steps" in result.output
    line = next(line for line in result.output.splitlines() if line.strip().startswith("weighted_sum: hottest"))
    assert any(f"{register} registers" in line for register in ("xmm", "ymm", "zmm"))


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="the machine-code reader knows x86-64")
def test_loops_json_diffs_against_python_and_reads_a_scalar_sum():
    result = run("numba-loops", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["builds_on"] == "python"
    changed = {f["name"]: f for f in report["functions"]}
    assert changed["feedforward"]["kind"] == "changed" and "+@njit(cache=True)" in changed["feedforward"]["text"]
    assert changed["weighted_sum"]["kind"] == "new"  # (Numba has no sum(map(mul, ...)))
    sums = next(entry for entry in report["machine_code"] if entry["function"] == "weighted_sum")
    hot = sums["hottest_loop"]
    assert hot["register"] in ("xmm", "ymm", "zmm")
    # summed in the order written: no packed multiply-add can do the chain's work
    assert hot["fma_packed"] == 0 and hot["muls_packed"] == 0


def test_a_gpu_rung_shows_its_diff_and_says_where_the_ptx_is():
    result = run("cuda-tiled", "--no-machine-code")
    assert result.exit_code == 0, result.output
    assert "builds on: cuda-naive" in result.output


def test_a_gpu_rung_says_the_ptx_needs_a_gpu():
    result = run("cuda-naive")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("PTX: not read here")


def test_an_unknown_rung_is_one_error_line_listing_the_rungs():
    result = run("numba-warp")
    assert result.exit_code != 0
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: ") and "numba-reorder" in line and "cuda-naive" in line
