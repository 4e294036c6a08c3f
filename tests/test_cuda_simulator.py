"""Numba's CUDA simulator as the cuda rungs use it: every thread of a block sees one shared array."""

import time

import numpy as np
import pytest
from backends_under_test import backend_status

pytestmark = pytest.mark.skipif(not backend_status("cuda-naive").simulated,
                                reason="needs Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1)")
cuda = pytest.importorskip("numba.cuda")  # a module global: the simulator swaps the kernel's globals' `cuda`


class _SlowEmptyNumpy:
    """numpy, but np.empty takes 10 ms longer: a wide window between the simulator's lookup of a shared array
    and its storing of the new one, where the block's other threads come in."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def empty(*args, **kwargs):
        time.sleep(0.01)
        return np.empty(*args, **kwargs)


def test_every_thread_of_a_block_sees_the_same_shared_array(monkeypatch):
    """Each of 64 threads writes its number to a shared array and reads its neighbour's: with the allocation
    racing, a thread that made its own array reads np.empty's garbage, and its neighbour's number is lost."""
    from numba.cuda.simulator import kernelapi

    from neuro.backends import get_backend

    get_backend("cuda-naive")  # creating a cuda rung mends the simulator (device.thread_safe_shared_arrays)
    monkeypatch.setattr(kernelapi, "np", _SlowEmptyNumpy())

    @cuda.jit
    def neighbour(out):
        tile = cuda.shared.array(64, np.float64)
        t = cuda.threadIdx.x
        tile[t] = t
        cuda.syncthreads()
        out[t] = tile[(t + 1) % 64]

    out = np.full(64, -1.0)
    neighbour[1, 64](out)
    np.testing.assert_array_equal(out, (np.arange(64) + 1) % 64)
