"""`neuro explain`: a rung's diff against the rung it builds on, and what its machine code does here."""

import json
import platform
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from neuro.backends import get_backend
from neuro.cli.main import main
from neuro.measure import ptx
from neuro.measure.agreement import check_every_way, random_case
from neuro.measure.explain import explain

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
    # The rung has run in this process first, its code loaded from the disk cache when that is warm (as after an
    # earlier test in the same worker): Numba cannot inspect such code, and explain must compile it again.
    backend = get_backend("numba-loops")
    assert all(c.ok for c in check_every_way("numba-loops", random_case([5, 4, 3], batch=3), backend))
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


def test_explain_compiles_afresh_a_function_this_process_compiled_before():
    # A function with one signature compiled in this process (inspectable) must not then load the signatures the
    # explanation needs from the disk cache, which another process may have filled: Numba cannot inspect those
    # (it warns "Inspection disabled for cached code" and returns an invalid listing).
    from numba.core.caching import NullCache

    from neuro.measure.explain import _compiled_afresh

    backend = get_backend("numba-loops")
    sums = backend.rung.weighted_sum
    disk_cache = sums._cache
    sums._reset_overloads()
    sums._cache = NullCache()
    sums(np.ones(3, np.float32), np.ones(3, np.float32))  # compiled here, not loaded
    sums._cache = disk_cache
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _compiled_afresh(backend, "float64")
        for signature in sums.signatures:
            sums.inspect_asm(signature)
    assert isinstance(sums._cache, NullCache)
    assert not any(getattr(o.library, "_disable_inspection", False) for o in sums.overloads.values())


def test_a_gpu_rung_shows_its_diff_and_says_where_the_ptx_is():
    result = run("cuda-tiled", "--no-machine-code")
    assert result.exit_code == 0, result.output
    assert "builds on: cuda-naive" in result.output


needs_ptx_compiler = pytest.mark.skipif(ptx.missing_compiler() is not None, reason=str(ptx.missing_compiler()))


@needs_ptx_compiler
def test_a_gpu_rung_diffs_its_kernels_and_reads_shared_memory_tiles_from_its_ptx():
    result = run("cuda-tiled", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    changed = {f["name"]: f for f in report["functions"]}
    # the kernels' diff, against cuda-naive's kernels, not only the (unchanged) launches
    assert changed["feedforward_layer"]["kind"] == "changed"
    assert "--- cuda_naive_kernels.feedforward_layer" in changed["feedforward_layer"]["text"]
    assert changed["tiled_sum"]["kind"] == "new" and "cuda.syncthreads()" in changed["tiled_sum"]["text"]
    assert report["ptx"]["cc"] == "9.0" and "not of a run on a GPU" in report["machine_note"]
    kernels = {entry["kernel"]: entry for entry in report["ptx"]["kernels"]}
    assert "gather_batch" not in kernels  # (cuda-naive's, taken unchanged)
    hot = kernels["backprop_delta"]["hottest_loop"]
    # a tile's sum from shared memory, between barriers; global memory read once per tile, not per term
    assert hot["fma"] >= 8 and hot["ld_shared"] >= hot["fma"] and hot["bar_sync"] >= 1
    assert hot["ld_global"] < hot["fma"]
    assert kernels["backprop_delta"]["shared_bytes"] > 0


@needs_ptx_compiler
def test_the_naive_kernels_read_every_term_from_global_memory():
    result = run("cuda-naive")
    assert result.exit_code == 0, result.output
    assert "+++ cuda_naive_kernels.feedforward_layer" not in result.output  # (new: shown whole, builds on python)
    assert "New: feedforward_layer" in result.output and "@cuda.jit" in result.output
    sums = [line for line in result.output.splitlines() if ": hottest loop $" in line]
    kernels = {line.split(":")[0].strip() for line in sums}
    assert {"feedforward_layer", "feedforward_output_layer", "backprop_delta"} <= kernels
    for line in sums:  # every sum's loop: both terms of each fma read from global memory, no barrier
        assert "0 shared (2.00 global and 0.00 shared loads per fma)" in line and "0 bar.sync;" in line, line


@needs_ptx_compiler
def test_every_tiled_kernels_sum_reads_shared_memory_between_barriers():
    report = json.loads(run("cuda-tiled", "--json").stdout.strip().splitlines()[-1])
    for entry in report["ptx"]["kernels"]:
        hot = entry["hottest_loop"]
        assert hot["ld_shared"] >= hot["fma"] >= 8 and hot["ld_global"] < hot["fma"], entry
        assert hot["bar_sync"] + entry["bar_sync_around"] >= 1, entry


def test_without_a_ptx_compiler_a_gpu_rung_says_why(monkeypatch):
    monkeypatch.setattr(ptx, "missing_compiler", lambda: "numba-cuda is not installed")
    result = explain("cuda-register-blocked")
    assert result.machine_note == "PTX: not read (numba-cuda is not installed)"
    assert any(change.name == "blocked_sum" and change.kind == "new" for change in result.functions)


def test_an_unknown_rung_is_one_error_line_listing_the_rungs():
    result = run("numba-warp")
    assert result.exit_code != 0
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: ") and "numba-reorder" in line and "cuda-naive" in line
