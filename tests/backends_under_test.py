"""The backends the generic tests run on: every registered one, each with the dtypes it supports.

A backend that cannot run here is reported as skipped with its reason (e.g. numba-cuda not installed); in CI
every backend runs (CUDA on the simulator), and tests/test_registry.py fails if one does not.
"""

import pytest

from neuro.backends import REGISTRY, backend_status, get_backend


def backend_params():
    """pytest params: one per registered backend, skipped (with the reason) where it cannot run here."""
    params = []
    for name in REGISTRY:
        status = backend_status(name)
        marks = [] if status.available else [pytest.mark.skip(reason=f"{name} unavailable: {status.reason}")]
        params.append(pytest.param(name, id=name, marks=marks))
    return params


def backend_dtype_params():
    """pytest params: (backend, dtype) for every registered backend and every dtype it supports."""
    params = []
    for name in REGISTRY:
        status = backend_status(name)
        if not status.available:
            params.append(pytest.param(name, "float64", id=f"{name}-unavailable",
                                       marks=pytest.mark.skip(reason=f"{name} unavailable: {status.reason}")))
            continue
        params.extend(pytest.param(name, dtype, id=f"{name}-{dtype}") for dtype in get_backend(name).dtypes)
    return params


def is_simulated(name: str) -> bool:
    """True for a backend that runs on a (slow) simulator: the property tests draw smaller cases for it."""
    return "simulat" in backend_status(name).reason
