"""Every CUDA kernel of every cuda rung compiles to PTX for a current GPU (compute capability 9.0), in float64 and
in float32 (cuda-fused's kernel at the classic network's size, batch 10: its shared memory is sized per network).

The simulator runs the kernels as plain Python, so it cannot catch what only the real compiler sees: a type
that does not unify, an unsupported call, a stray float64 in float32 code. Here numba-cuda compiles every
kernel for real, with the NVVM that numba-cuda[cu13] brings; no GPU is needed.

numba.cuda is either the simulator or the real target for a whole process, chosen when it is first imported
(tests/conftest.py switches the simulator on for the test session). Under the simulator the compilation
therefore runs in a subprocess without NUMBA_ENABLE_CUDASIM: this file, run as a script, prints the PTX as
JSON. By hand: `python tests/test_cuda_ptx.py | head`.
"""

import json
import os
import re
import subprocess
import sys
import traceback

import pytest

from neuro.measure.ptx import missing_compiler

CC = (9, 0)
DTYPES = ("float64", "float32")

pytestmark = pytest.mark.skipif(missing_compiler() is not None, reason=str(missing_compiler()))

KERNEL_MODULES = ("cuda_naive_kernels", "cuda_tiled_kernels", "cuda_fused_kernels", "cuda_register_blocked_kernels")
"""The kernels of cuda-naive, cuda-tiled, cuda-fused and cuda-register-blocked (the cuda alias has none)."""


def kernel_modules() -> dict[str, object]:
    import importlib

    return {name: importlib.import_module(f"neuro.backends.gpu.{name}") for name in KERNEL_MODULES}


def kernel_ids() -> list[str]:
    """"module.kernel" for every kernel of every rung; a kernel that a rung takes from the one before (gather_batch)
    is compiled once, under the module that defines it."""
    if missing_compiler() is not None:
        return []
    ids = []
    for module_name, module in kernel_modules().items():
        for name, kernel in module.KERNELS.items():
            if kernel.py_func.__module__ == module.__name__:
                ids.append(f"{module_name}.{name}")
    return ids


KERNEL_IDS = kernel_ids()


def compile_all(cc: tuple[int, int] = CC) -> dict[str, dict[str, str]]:
    """{"module.kernel[dtype]": {"ptx": ...} or {"error": traceback}} for every kernel and dtype, in this process."""
    from numba import cuda

    modules = kernel_modules()
    results = {}
    for kernel_id in kernel_ids():
        module_name, name = kernel_id.split(".")
        module = modules[module_name]
        for dtype in DTYPES:
            try:
                signature = module.ptx_signatures(dtype)[name]
                ptx, _ = cuda.compile_ptx(module.KERNELS[name].py_func, signature, cc=cc)
                results[f"{kernel_id}[{dtype}]"] = {"ptx": ptx}
            except Exception:
                results[f"{kernel_id}[{dtype}]"] = {"error": traceback.format_exc()}
    return results


def compile_all_without_simulator() -> dict[str, dict[str, str]]:
    """compile_all(), in a subprocess whose numba.cuda is the real target."""
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_ENABLE_CUDASIM"}
    done = subprocess.run([sys.executable, __file__], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"the PTX compilation process failed:\n{done.stderr[-5000:]}"
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def compiled():
    from neuro.backends.gpu.device import simulated

    return compile_all_without_simulator() if simulated() else compile_all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", KERNEL_IDS)
def test_kernel_compiles_to_ptx_for_a_current_gpu(compiled, name, dtype):
    result = compiled[f"{name}[{dtype}]"]
    assert "error" not in result, result.get("error")
    ptx = result["ptx"]
    assert f".target sm_{CC[0]}{CC[1]}" in ptx
    assert ".entry" in ptx  # a kernel the host can launch, not only a device function


@pytest.mark.parametrize("name", KERNEL_IDS)
def test_float32_kernels_compute_in_float32(compiled, name):
    """No float64 instruction or register: a bare 1.0 or a Python float would silently promote the arithmetic."""
    ptx = compiled[f"{name}[float32]"].get("ptx", "")
    assert ptx, "did not compile"
    stray = [line.strip() for line in ptx.splitlines() if re.search(r"\.f64\b", line)]
    assert not stray, f"float64 in the float32 kernel {name}: {stray[:5]}"


def test_every_kernel_has_a_ptx_signature_for_each_dtype():
    for module in kernel_modules().values():
        for dtype in DTYPES:
            assert set(module.ptx_signatures(dtype)) == set(module.KERNELS), module.__name__


def test_every_cuda_rung_launches_kernels_that_are_compiled_here():
    """A new cuda rung's kernel module must be in KERNEL_MODULES, or its kernels would go uncompiled."""
    from neuro.backends import REGISTRY, backend_status, get_backend

    names = [name for name in REGISTRY if name.startswith("cuda")]
    if not all(backend_status(name).available for name in names):
        pytest.skip("the cuda rungs cannot run here")
    launched = {get_backend(name)._kernels.__name__.rpartition(".")[2] for name in names}
    # (cuda-fused launches cuda-tiled's kernels on its fallback path and its own kernel, from cuda_fused_kernels;
    # every rung launches cuda-naive's gather_batch)
    assert launched | {"cuda_fused_kernels", "cuda_naive_kernels"} == set(KERNEL_MODULES)
    assert len(names) == len(KERNEL_MODULES)


if __name__ == "__main__":
    print(json.dumps(compile_all()))
