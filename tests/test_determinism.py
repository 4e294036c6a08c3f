"""A training run repeats bit for bit: every CPU rung, twice, in each of its ways, at every thread count it can
be given here, and (for numba-blas's BLAS way) at every thread count of the BLAS library.

What the README and the rungs' docstrings promise: the same parameters, byte for byte, run to run; and for the
rungs on several threads (numba-team, numba-blas) the same whatever their thread count and way, because a team
adds every sum in one thread's order.
"""

import os

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from neuro.backends import REGISTRY, get_backend
from neuro.measure.agreement import random_case

CPU_RUNGS = [name for name, info in REGISTRY.items() if not info.module.startswith("gpu.")]
SIZES, BATCH, STEPS = [50, 16, 10], 10, 4
BLAS_SIZES, BLAS_BATCH = [200, 64, 10], 64
"""numba-blas's BLAS way, forced, at a size whose first layer's products (64 x 64 x 200 multiply-adds) are large
enough for OpenBLAS to share them out between its threads (it keeps small products on one)."""


def _trained(backend, sizes, batch, dtype, cost="cross-entropy") -> bytes:
    """The parameters' bytes after STEPS mini-batches of SGD from a fixed start."""
    case = random_case(sizes, batch=batch, seed=3, cost=cost, dtype=dtype, steps=STEPS)
    w = [backend.to_backend(a, dtype) for a in case.weights]
    b = [backend.to_backend(a, dtype) for a in case.biases]
    x, y = backend.to_backend(case.x, dtype), backend.to_backend(case.y, dtype)
    order = backend.to_backend(case.order, "int64")
    backend.train_steps(w, b, x, y, order, 0, len(case.order), batch, 3.0, cost)
    backend.synchronize()
    return b"".join(np.ascontiguousarray(backend.to_numpy(a)).tobytes() for a in w + b)


def _thread_counts(backend) -> list[int]:
    return list(range(1, backend.max_threads + 1))


@pytest.fixture
def restored():
    """Each backend handed back as found: its thread count, and no way forced."""
    touched = []

    def take(name):
        backend = get_backend(name)
        touched.append((backend, backend.threads))
        return backend

    yield take
    for backend, threads in touched:
        backend.force_way(None)
        if backend.max_threads > 1:
            backend.set_threads(threads)


@pytest.mark.parametrize("name", CPU_RUNGS)
def test_a_run_repeats_bit_for_bit_in_every_way_at_every_thread_count(name, restored):
    """float64 (the sums' order is what is tested; float32 compiles every rung again for the same question)."""
    backend, dtype = restored(name), "float64"
    results = {}
    for way in backend.ways:
        backend.force_way(way if len(backend.ways) > 1 else None)
        sizes, batch = (BLAS_SIZES, BLAS_BATCH) if way == "blas" else (SIZES, BATCH)
        for threads in _thread_counts(backend):
            if backend.max_threads > 1:
                backend.set_threads(threads)
            first, again = _trained(backend, sizes, batch, dtype), _trained(backend, sizes, batch, dtype)
            assert first == again, f"{name} {way} on {threads} threads: two runs differ"
            results[way, threads] = first
    # the same numbers whatever the thread count, and one thread's way and the team's agree
    for (way, threads), result in results.items():
        if way != "blas":
            assert result == results[backend.ways[0], 1], f"{name}: {way} on {threads} threads differs"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_blas_way_does_not_depend_on_the_blas_thread_count(dtype, restored):
    """The same parameters with BLAS on one thread and on each thread count up to the machine's cores."""
    backend = restored("numba-blas")
    backend.force_way("blas")
    with threadpool_limits(limits=1, user_api="blas"):
        one = _trained(backend, BLAS_SIZES, BLAS_BATCH, dtype)
    for threads in range(2, max(2, os.cpu_count() or 1) + 1):
        with threadpool_limits(limits=threads, user_api="blas"):
            assert _trained(backend, BLAS_SIZES, BLAS_BATCH, dtype) == one, f"BLAS on {threads} threads differs"
