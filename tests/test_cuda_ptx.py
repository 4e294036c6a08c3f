"""Every CUDA kernel compiles to PTX for a current GPU (compute capability 9.0), in float64 and in float32.

The simulator runs the kernels as plain Python, so it cannot catch what only the real compiler sees: a type
that does not unify, an unsupported call, a stray float64 in float32 code. Here numba-cuda compiles every
kernel for real, with the NVVM that numba-cuda[cu13] brings; no GPU is needed.

numba.cuda is either the simulator or the real target for a whole process, chosen when it is first imported
(tests/conftest.py switches the simulator on for the test session). Under the simulator the compilation
therefore runs in a subprocess without NUMBA_ENABLE_CUDASIM: this file, run as a script, prints the PTX as
JSON. By hand: `python tests/test_cuda_ptx.py | head`.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys
import traceback

import pytest

CC = (9, 0)
DTYPES = ("float64", "float32")
HAVE_NUMBA_CUDA = importlib.util.find_spec("numba_cuda") is not None

pytestmark = pytest.mark.skipif(not HAVE_NUMBA_CUDA, reason="numba-cuda is not installed: pip install 'neuro[cuda]'")

if HAVE_NUMBA_CUDA:
    from neuro.backends.cuda_kernels import KERNELS
else:
    KERNELS = {}


def compile_all(cc: tuple[int, int] = CC) -> dict[str, dict[str, str]]:
    """{"kernel[dtype]": {"ptx": ...} or {"error": traceback}} for every kernel and dtype, in this process."""
    from numba import cuda

    from neuro.backends.cuda_kernels import ptx_signatures

    results = {}
    for dtype in DTYPES:
        for name, signature in ptx_signatures(dtype).items():
            try:
                ptx, _ = cuda.compile_ptx(KERNELS[name].py_func, signature, cc=cc)
                results[f"{name}[{dtype}]"] = {"ptx": ptx}
            except Exception:
                results[f"{name}[{dtype}]"] = {"error": traceback.format_exc()}
    return results


def compile_all_without_simulator() -> dict[str, dict[str, str]]:
    """compile_all(), in a subprocess whose numba.cuda is the real target."""
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_ENABLE_CUDASIM"}
    done = subprocess.run([sys.executable, __file__], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"the PTX compilation process failed:\n{done.stderr[-5000:]}"
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def compiled():
    from neuro.backends.ops_cuda import simulated

    return compile_all_without_simulator() if simulated() else compile_all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(KERNELS))
def test_kernel_compiles_to_ptx_for_a_current_gpu(compiled, name, dtype):
    result = compiled[f"{name}[{dtype}]"]
    assert "error" not in result, result.get("error")
    ptx = result["ptx"]
    assert f".target sm_{CC[0]}{CC[1]}" in ptx
    assert ".entry" in ptx  # a kernel the host can launch, not only a device function


@pytest.mark.parametrize("name", list(KERNELS))
def test_float32_kernels_compute_in_float32(compiled, name):
    """No float64 instruction or register: a bare 1.0 or a Python float would silently promote the arithmetic."""
    ptx = compiled[f"{name}[float32]"].get("ptx", "")
    assert ptx, "did not compile"
    stray = [line.strip() for line in ptx.splitlines() if re.search(r"\.f64\b", line)]
    assert not stray, f"float64 in the float32 kernel {name}: {stray[:5]}"


def test_every_kernel_has_a_ptx_signature_for_each_dtype():
    from neuro.backends.cuda_kernels import ptx_signatures

    for dtype in DTYPES:
        assert set(ptx_signatures(dtype)) == set(KERNELS)


if __name__ == "__main__":
    print(json.dumps(compile_all()))
