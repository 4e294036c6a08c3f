"""The backends the generic tests run on: every registered one, each with the dtypes it supports (and the ways it
may run its steps, `Backend.ways`).

A backend that cannot run here is reported as skipped with its reason (e.g. numba-cuda not installed); in CI
every backend runs (CUDA on the simulator), and tests/test_registry.py fails if one does not.
"""

import pytest

from neuro.backends import REGISTRY, backend_status, get_backend

TESTED_AS = {("cuda-fused", "tiled"): "cuda-tiled"}
"""Paths that are another registered rung's own code, tested as that rung and not again: cuda-fused's fallback
runs cuda-tiled's launches (tests/test_cuda_kernels.py checks that it computes what cuda-tiled does, bit for bit)."""


def _unavailable(name: str, *values):
    status = backend_status(name)
    return pytest.param(name, *values, id=f"{name}-unavailable",
                        marks=pytest.mark.skip(reason=f"{name} unavailable: {status.reason}"))


def backend_params():
    """pytest params: one per registered backend, skipped (with the reason) where it cannot run here."""
    return [pytest.param(name, id=name) if backend_status(name).available else _unavailable(name)
            for name in REGISTRY]


def backend_dtype_params():
    """pytest params: (backend, dtype) for every registered backend and every dtype it supports."""
    params = []
    for name in REGISTRY:
        if not backend_status(name).available:
            params.append(_unavailable(name, "float64"))
            continue
        params.extend(pytest.param(name, dtype, id=f"{name}-{dtype}") for dtype in get_backend(name).dtypes)
    return params


def backend_dtype_way_params():
    """pytest params: (backend, dtype, way) for every registered backend, dtype and way of running its steps
    (but those in TESTED_AS); way is None for a backend with one way only."""
    params = []
    for name in REGISTRY:
        if not backend_status(name).available:
            params.append(_unavailable(name, "float64", None))
            continue
        backend = get_backend(name)
        ways = backend.ways if len(backend.ways) > 1 else (None,)
        params.extend(pytest.param(name, dtype, way, id=f"{name}-{dtype}" + (f"-{way}" if way else ""))
                      for dtype in backend.dtypes for way in ways if (name, way) not in TESTED_AS)
    return params


def is_simulated(name: str) -> bool:
    """True for a backend that runs on a (slow) simulator: the property tests draw smaller cases for it."""
    return backend_status(name).simulated
