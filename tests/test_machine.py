"""`neuro machine`, the peak kernels, and the flops a training step is counted as doing."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from neuro.cli.main import main
from neuro.measure import peaks
from neuro.measure.flops import arithmetic_intensity, bytes_per_sample, flops_per_sample, multiply_adds_per_sample
from neuro.measure.machine import formula_gflops, host, peak_gflops


def test_the_multiply_adds_of_the_classic_network_counted_by_hand():
    # 784-16-16-10: the products 784*16 = 12544, 16*16 = 256, 16*10 = 160 (sum 12960); parameters 12544 + 16 +
    # 256 + 16 + 160 + 10 = 13002, updated once per mini-batch of 10
    counted = multiply_adds_per_sample([784, 16, 16, 10], 10)
    assert counted == {"forward": 12960, "backward": 256 + 160, "gradient": 12960, "update": 1300.2,
                       "total": 12960 + 416 + 12960 + 1300.2}
    assert flops_per_sample([784, 16, 16, 10], 10) == pytest.approx(2 * 27636.2)


def test_the_flops_and_bytes_of_a_tiny_network_counted_by_hand():
    # 3-2-1 at batch 2: products 6 and 2; 11 parameters; 8 + 2 + 8 + 11/2 = 23.5 multiply-adds, 47 flops
    assert flops_per_sample([3, 2, 1], 2) == 47
    # bytes: (2 * 11 / 2 parameters read and written, per sample, + 3 inputs + 1 target) * 8 bytes
    assert bytes_per_sample([3, 2, 1], 2, "float64") == 120 and bytes_per_sample([3, 2, 1], 2, "float32") == 60
    assert arithmetic_intensity([3, 2, 1], 2, "float64") == pytest.approx(47 / 120)


def test_the_chains_kernel_is_vector_fmas_and_beats_one_dependent_chain():
    lanes = host()["vector_bits"] // 64
    if lanes < 2:
        pytest.skip("this host has no vectors of two float64 or more")
    counts = peaks.fma_instructions("float64", lanes)
    assert counts["ymm"] + counts["zmm"] + counts["xmm"] >= 1, counts  # (packed vfmadd..pd, read from the asm)
    vector = peaks.fma_rate("float64", lanes, 1, 0.1)
    scalar = peaks.dependent_rate("float64", 0.1)
    assert vector >= 2 * scalar, (vector, scalar)  # (a ratio in one process, not a timed threshold)


def test_the_bandwidth_kernels_read_and_copy_what_they_are_given():
    x = np.arange(12.0).reshape(2, 6)
    assert peaks.read(x, 3) == 3 * x.sum()
    target = np.zeros_like(x)
    peaks.copy(x, target, 1)
    assert (target == x).all()


def test_the_formula_and_the_peak_a_rung_is_measured_against():
    assert formula_gflops(2, 2000.0, 8) == {"1_fma_units": 64.0, "2_fma_units": 128.0}  # 2 x 2 GHz x u x 8 x 2
    assert formula_gflops(2, None, 8) is None
    machine = {"cores": 4, "peak_gflops": {"float64": {"one_core": 10.0, "all_cores": 36.0}}}
    assert peak_gflops(machine, "float64", 1) == 10.0 and peak_gflops(machine, "float64", 2) == 20.0
    assert peak_gflops(machine, "float64", 4) == 36.0


def test_neuro_machine_json_has_the_measured_peaks():
    result = CliRunner().invoke(main, ["machine", "--seconds", "0.1", "--json"])
    assert result.exit_code == 0, result.output
    machine = json.loads(result.stdout.splitlines()[-1])
    assert machine["cores"] >= 1 and set(machine["instruction_sets"]) == {"SSE4.2", "AVX", "AVX2", "AVX-512F", "FMA"}
    for dtype in ("float64", "float32"):
        rates = machine["fma_per_s"][dtype]
        assert rates["one_core"] > 0
        assert machine["peak_gflops"][dtype]["one_core"] == pytest.approx(2 * rates["one_core"] / 1e9)
    for level in ("l2", "dram"):
        assert machine["bandwidth"][level]["read"] > 0 and machine["bandwidth"][level]["copy"] > 0


@pytest.mark.parametrize(("args", "fragment"), [(["--seconds", "0"], "0 is not in the range"),
                                                (["--seconds", "nan"], "finite")])
def test_bad_input_to_neuro_machine_gives_one_error_line(args, fragment):
    result = CliRunner().invoke(main, ["machine", *args])
    assert result.exit_code != 0 and fragment in result.output.strip().splitlines()[-1], result.output
