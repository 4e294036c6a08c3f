"""Exercise 6: a GPU kernel that sums through tiles of shared memory (it runs on Numba's simulator without a GPU).

This rung is cuda-naive: its launches (backends/gpu/ops_cuda_naive.py, `CudaBackend`) with its kernels
(backends/gpu/cuda_naive_kernels.py), in which every thread reads all its terms from global memory.
Your change: copy cuda_naive_kernels.py beside this file, make its weighted sums go through 16 x 16 tiles that
each block first copies into shared memory (cuda.shared.array, cuda.syncthreads), and pass your module to
CudaBackend below instead of cuda_naive_kernels. Without a GPU, `neuro check` runs it on the simulator
(NUMBA_ENABLE_CUDASIM=1) and does not time it; on a GPU it times it against cuda-naive.

Check it:  NUMBA_ENABLE_CUDASIM=1 neuro check exercises/06_gpu_shared_tiles.py --examples 3
The solution is the rung cuda-tiled (backends/gpu/cuda_tiled_kernels.py); docs/exercises.md has a hint.
"""

from __future__ import annotations

from neuro.backends import WIDE, RungCase
from neuro.backends.gpu import cuda_naive_kernels as kernels  # YOUR CHANGE: your own kernels module
from neuro.backends.gpu.device import note, simulated, unavailable_reason
from neuro.backends.gpu.ops_cuda_naive import CudaBackend

BUILDS_ON = "cuda-naive"
CHANGE = "sums through tiles of shared memory (exercise 6)"
CASE = RungCase(WIDE, 256)
SOLUTION = "cuda-tiled"

__all__ = ["BUILDS_ON", "CASE", "CHANGE", "SOLUTION", "create", "note", "simulated", "unavailable_reason"]


def create() -> CudaBackend:
    return CudaBackend("exercise-6", kernels)
