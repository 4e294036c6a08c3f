"""cuda-register-blocked: cuda-tiled's launches, with kernels in which each thread computes a 4 x 4 patch.

What changed from cuda-tiled: the kernels (`cuda_register_blocked_kernels.py`). A block of 8 x 8 threads computes a
32 x 32 tile of each product, each thread 16 of its numbers, from partial sums and operands held in registers.
Why the GPU should run it faster: a thread now does 16 multiply-adds for every 8 numbers it reads from shared
memory, where cuda-tiled's did one for every two, so where cuda-tiled's kernels wait on shared memory (long sums:
the wide network) the arithmetic units need wait less. A step still launches 3L kernels: this rung is for the wide
network at batch 256 (its case), where the kernels' work is large; but the host's cost of those launches stays,
so it bounds what faster kernels can gain, by the share of a step that launching takes (docs/gpu.md, generated
by the GPU check, has the launch and step times measured on a GPU).
"""

from __future__ import annotations

from . import cuda_register_blocked_kernels
from .device import note, simulated, unavailable_reason
from .ops_cuda_naive import CudaBackend

__all__ = ["create", "note", "simulated", "unavailable_reason"]


def create() -> CudaBackend:
    return CudaBackend("cuda-register-blocked", cuda_register_blocked_kernels)
