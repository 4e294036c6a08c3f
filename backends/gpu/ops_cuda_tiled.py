"""cuda-tiled: cuda-naive's launches, with kernels that sum through 16 x 16 tiles of shared memory.

What changed from cuda-naive: the kernels (`cuda_tiled_kernels.py`), not the launches. Each block of 16 x 16 threads
computes a 16 x 16 tile of its result, and copies the 16 x 16 pieces of the two matrices it multiplies into
shared memory, one number per thread, before every thread takes its 16 products from there. Why the GPU runs
it faster: each number read from global memory serves 16 threads instead of one, and the forward pass's reads
of w, which sent a warp's 32 threads to 32 rows at once, become neighbouring reads. It pays where the sums are
long and the grid large: the wide network (its case). A step still launches 3L kernels, as cuda-naive's does.
"""

from __future__ import annotations

from . import cuda_tiled_kernels
from .device import note, simulated, unavailable_reason
from .ops_cuda_naive import CudaBackend

__all__ = ["create", "note", "simulated", "unavailable_reason"]


def create() -> CudaBackend:
    return CudaBackend("cuda-tiled", cuda_tiled_kernels)
