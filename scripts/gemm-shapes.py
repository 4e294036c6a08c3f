"""The matrix products of one numba-blas step on the wide network, each timed alone through the BLAS that the rung
calls (SciPy's), with the kernel that BLAS chose: what scripts/ladder-docs.py reports to explain the wide rows.

    python scripts/gemm-shapes.py [--batch-size 256] [--dtype float32,float64] [--seconds 0.5] [--busy] [--torch]
                                  [--json]

The products are written as backends/cpu/ops_numba_blas.py writes them, rows of samples in row-major (C-order)
arrays, through the rung's own `product` (BLAS's gemm): forward Z = A W^T (W's transpose, no copy), backward
Delta W, and the weights' gradient Delta^T A, added into W by the product itself (beta = 1). Run it
under OPENBLAS_CORETYPE=Haswell to see what the AVX2 kernels do on this processor; --busy keeps one core busy
with a plain Python loop meanwhile, as another program would. With --torch (under a Python with PyTorch), the
same products on the same arrays go through torch.matmul instead, to the BLAS library PyTorch was built with
(named under "blas"; OMP_NUM_THREADS sets its threads). With --json, one JSON object on the last line:
{"blas": {"library", "core", "threads", "config"}, "busy": bool, "results": [{"product", "dtype",
"ms", "gflop_per_s"}, ...]}.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import re
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

SIZES = (784, 1024, 1024)


def products(m: int, dtype) -> dict[str, tuple]:
    """name -> (a, b, out, multiply-adds, beta) for each product of a step with m samples (out = a b + beta out)."""
    generator = np.random.default_rng(0)

    def rand(*shape):
        return generator.random(shape).astype(dtype)

    a0, w1, w2, d1 = rand(m, SIZES[0]), rand(SIZES[1], SIZES[0]), rand(SIZES[2], SIZES[1]), rand(m, SIZES[1])
    a1 = rand(m, SIZES[1])
    return {
        "forward A^0 W1^T": (a0, w1.T, np.empty((m, SIZES[1]), dtype), m * SIZES[0] * SIZES[1], 0.0),
        "forward A^1 W2^T": (a1, w2.T, np.empty((m, SIZES[2]), dtype), m * SIZES[1] * SIZES[2], 0.0),
        "backward Delta^2 W2": (d1, w2, np.empty((m, SIZES[1]), dtype), m * SIZES[1] * SIZES[2], 0.0),
        "gradient Delta^1^T A^0": (d1.T, a0, w1.copy(), m * SIZES[0] * SIZES[1], 1.0),
        "gradient Delta^2^T A^1": (d1.T, a1, w2.copy(), m * SIZES[1] * SIZES[2], 1.0),
    }


def seconds_per_call(multiply, budget: float) -> float:
    multiply()
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < budget:
        multiply()
        calls += 1
    return (time.perf_counter() - started) / max(calls, 1)


def blas_info() -> dict:
    """The OpenBLAS that SciPy loaded: the kernel it chose for this processor (core name), its threads, its build."""
    import scipy
    import scipy.linalg.blas  # noqa: F401  (loads it)

    for path in (Path(scipy.__file__).parent.parent / "scipy.libs").glob("*openblas*"):
        library = ctypes.CDLL(str(path))  # the library SciPy already loaded, not a second copy
        for prefix, suffix in (("scipy_openblas_", "64_"), ("scipy_openblas_", ""), ("openblas_", "")):
            corename = getattr(library, f"{prefix}get_corename{suffix}", None)
            if corename is None:
                continue
            corename.restype = ctypes.c_char_p
            config_of = getattr(library, f"{prefix}get_config{suffix}")
            config_of.restype = ctypes.c_char_p
            threads = getattr(library, f"{prefix}get_num_threads{suffix}")
            return {"library": path.name, "core": corename().decode(), "threads": threads(),
                    "config": config_of().decode()}
    return {"library": None, "core": "unknown (no OpenBLAS in scipy.libs)", "threads": None, "config": None}


def torch_info() -> dict:
    """The BLAS library PyTorch was built with (BLAS_INFO in its build configuration) and its threads."""
    import torch

    blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    name = blas.group(1) if blas else "unknown"
    return {"library": f"PyTorch {torch.__version__}", "core": f"PyTorch, {name}", "threads": torch.get_num_threads(),
            "config": f"PyTorch {torch.__version__} BLAS_INFO={name}"}


def torch_products(m: int, dtype) -> dict[str, tuple]:
    """The products of `products`, the same arrays seen as PyTorch tensors (no copies, transposes included)."""
    import torch

    return {name: (*(torch.from_numpy(array) for array in (a, b, out)), madds, beta)
            for name, (a, b, out, madds, beta) in products(m, dtype).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=256, help="samples per mini-batch (rows of A)")
    parser.add_argument("--dtype", default="float32,float64", help="float32, float64 or both, comma-separated")
    parser.add_argument("--seconds", type=float, default=0.5, help="time spent on each product")
    parser.add_argument("--busy", action="store_true", help="keep one core busy meanwhile")
    parser.add_argument("--torch", action="store_true", help="multiply with PyTorch (torch.matmul) instead of NumPy")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    try:
        results, made = [], torch_products if args.torch else products
        if args.torch:
            matmul = __import__("torch").matmul
        else:  # (imported here: under --torch, another Python, which need not have neuro)
            from neuro.backends.cpu.ops_numba_blas import product
        for dtype in args.dtype.split(","):
            for name, (a, b, out, madds, beta) in made(args.batch_size, np.dtype(dtype)).items():
                multiply = partial(matmul, a, b, out=out) if args.torch else partial(product, a, b, out, beta)
                seconds = seconds_per_call(multiply, args.seconds)
                results.append({"product": name, "dtype": dtype, "ms": seconds * 1e3,
                                "gflop_per_s": 2 * madds / seconds / 1e9})
                if not args.json:
                    print(f"{dtype:<8} {name:<24} {seconds * 1e3:8.2f} ms {2 * madds / seconds / 1e9:8.1f} GFLOP/s")
    finally:
        if busy:
            busy.kill()
    if args.json:
        print(json.dumps({"blas": torch_info() if args.torch else blas_info(), "busy": args.busy, "results": results}))


if __name__ == "__main__":
    main()
