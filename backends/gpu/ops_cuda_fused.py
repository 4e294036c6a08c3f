"""cuda-fused: a whole stretch of mini-batches in one kernel launch, by one thread block, for small networks.

What changed from cuda-tiled: `train_steps` launches one kernel for the whole stretch (`cuda_fused_kernels.py`),
in place of 3L launches per mini-batch. Why it should run faster: on the classic network the GPU's work per
step is tiny, so the step's time is mostly the host's, launching kernels; now a launch serves hundreds of steps,
the phases of a step are ordered by `syncthreads` inside one block, and the mini-batch's activations and deltas
stay in shared memory. What it gives up: one block runs on one of the GPU's many multiprocessors, so it only
pays while the network and the batch are small.

The rule (`fused_takes`): a stretch runs fused when the mini-batch's activations, deltas and partial sums fit in
one block's 48 KB of shared memory and the network has at most FUSED_MAX_PARAMETERS parameters; otherwise it
runs on cuda-tiled's kernels, launch by launch (`ways`: "fused" and "tiled"). The classic network at batch 10
takes 6,144 numbers of shared memory (24 KB in float32, just 48 KB in float64) and has 13,002 parameters. The
parameter limit is a stated choice, not yet a measurement: where one block stops paying is for the GPU check's
table to show.

`forward` and `gradient` are cuda-tiled's (launched per layer; they are not in the training loop's path), so a
single `train_step` is a stretch of one mini-batch: one launch too.
"""

from __future__ import annotations

import numpy as np

from neuro.sizes import parameter_count, sizes_of
from neuro.support.errors import NeuroError

from . import cuda_tiled_kernels
from .cuda_fused_kernels import SHARED_BYTES, SIMULATED_THREADS, THREADS, fused_kernel, shared_numbers
from .device import note, simulated, unavailable_reason
from .ops_cuda_naive import CudaBackend

FUSED_MAX_PARAMETERS = 65_536
"""The largest network (weights and biases) the fused kernel takes; the classic network has 13,002."""

__all__ = ["FUSED_MAX_PARAMETERS", "FusedBackend", "create", "fused_takes", "note", "simulated", "unavailable_reason"]


def fits_in_shared_memory(sizes: tuple[int, ...], batch_size: int, dtype: str) -> bool:
    """Do a mini-batch's activations, deltas and partial sums fit in one block's shared memory?"""
    return shared_numbers(tuple(sizes), batch_size) * np.dtype(dtype).itemsize <= SHARED_BYTES


def fused_takes(sizes: tuple[int, ...], batch_size: int, dtype: str) -> bool:
    """Does a stretch of this network and batch size run in the one-block kernel (the module docstring's rule)?"""
    return fits_in_shared_memory(sizes, batch_size, dtype) and parameter_count(sizes) <= FUSED_MAX_PARAMETERS


class FusedBackend(CudaBackend):
    """cuda-tiled's launches, with `train_steps` fused into one launch where `fused_takes` says so."""

    ways = ("fused", "tiled")

    def __init__(self, name: str = "cuda-fused") -> None:
        super().__init__(name, cuda_tiled_kernels)
        self._forced: str | None = None

    def force_way(self, way: str | None) -> None:
        if way not in (None, *self.ways):
            raise NeuroError(f"the {self.name} backend runs its steps fused or tiled, not {way!r}")
        self._forced = way

    def way_for(self, sizes: tuple[int, ...], batch_size: int, dtype: str) -> str:
        """The way a stretch of this network and batch size runs: the rule's (`fused_takes`); forced to "fused",
        fused wherever the activations, deltas and partial sums fit in shared memory (the parameter limit is a
        choice of speed, not of correctness), tiled beyond; forced to "tiled", tiled."""
        if self._forced == "tiled":
            return "tiled"
        if self._forced == "fused":
            return "fused" if fits_in_shared_memory(tuple(sizes), batch_size, dtype) else "tiled"
        return "fused" if fused_takes(sizes, batch_size, dtype) else "tiled"

    def launches(self, sizes: tuple[int, ...], batch_size: int, dtype: str, steps: int) -> int:
        """One per stretch where it runs fused; else cuda-tiled's 3L per step."""
        if self.way_for(tuple(sizes), batch_size, dtype) == "fused":
            return 1
        return super().launches(sizes, batch_size, dtype, steps)

    def train_steps(self, weights, biases, x, y, order, start, stop, batch_size, eta, cost) -> None:
        if self.way_for(sizes_of(weights), batch_size, weights[0].dtype.name) == "fused":
            self._fused_steps(weights, biases, x, y, order, start, stop, batch_size, eta, cost)
            return
        for first in range(start, stop, batch_size):  # cuda-tiled's way: 3L launches per step
            super().train_step(weights, biases, x, y, order, first, min(first + batch_size, stop), eta, cost)

    def train_step(self, weights, biases, x, y, order, start, stop, eta, cost) -> None:
        self.train_steps(weights, biases, x, y, order, start, stop, stop - start, eta, cost)

    def _fused_steps(self, weights, biases, x, y, order, start, stop, batch_size, eta, cost) -> None:
        """The stretch in one launch of the one-block kernel."""
        sizes, dtype = sizes_of(weights), weights[0].dtype
        kernel = fused_kernel(shared_numbers(sizes, batch_size))
        threads = SIMULATED_THREADS if simulated() else THREADS
        # eta in the parameters' dtype: a Python float would make the float32 kernel compute in float64
        kernel[1, threads](tuple(weights), tuple(biases), x, y, order, start, stop, batch_size, dtype.type(eta),
                           cost == "quadratic")


def create() -> FusedBackend:
    return FusedBackend()
