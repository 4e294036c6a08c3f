"""`--backend cuda`: not a rung of its own but an alias, which picks a rung of the GPU ladder for each network.

The rule (`choose`): a network and batch size that cuda-fused's one-block kernel takes (`fused_takes`: the
mini-batch's activations, deltas and partial sums fit in 48 KB of shared memory and the network has at most
FUSED_MAX_PARAMETERS parameters, as the classic network at batch 10 does) train on cuda-fused, whose one launch
per stretch saves the host the 3L launches per step that make a small network launch-bound; every other case
trains on cuda-register-blocked, the rung for long sums. `forward` and `gradient` are cuda-register-blocked's.
The rule follows what each rung is for; whether it picks the faster rung in every case is for the GPU check's
table to show (docs/gpu.md).

The alias is not registered as a rung (`neuro.backends.ALIASES`), so the agreement tests do not test the same
kernels twice; `ways` are the two rungs it chooses between, so that `neuro agree --backends cuda` checks both.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuro.sizes import sizes_of
from neuro.support.errors import NeuroError

from ..base import StepByStep
from . import ops_cuda_fused, ops_cuda_register_blocked
from .device import note, simulated, unavailable_reason
from .ops_cuda_fused import fused_takes

FUSED, BLOCKED = "cuda-fused", "cuda-register-blocked"

__all__ = ["CudaAliasBackend", "choose", "create", "note", "simulated", "unavailable_reason"]


def choose(sizes: tuple[int, ...], batch_size: int, dtype: str) -> str:
    """The rung `--backend cuda` trains this network at this batch size on (the module docstring's rule)."""
    return FUSED if fused_takes(sizes, batch_size, dtype) else BLOCKED


class CudaAliasBackend(StepByStep):
    """`cuda`: each stretch of steps on the rung that `choose` picks; the rungs share one storage (device arrays)."""

    name = "cuda"
    dtypes = ("float64", "float32")
    compiles = True
    ways = (FUSED, BLOCKED)

    def __init__(self) -> None:
        self._rungs = {FUSED: ops_cuda_fused.create(), BLOCKED: ops_cuda_register_blocked.create()}
        self._forced: str | None = None

    def __repr__(self) -> str:
        return "CudaAliasBackend(cuda-fused or cuda-register-blocked)"

    def force_way(self, way: str | None) -> None:
        if way not in (None, *self.ways):
            raise NeuroError(f"the cuda alias chooses between {' and '.join(self.ways)}, not {way!r}")
        self._forced = way

    def rung_for(self, sizes: tuple[int, ...], batch_size: int, dtype: str) -> Any:
        return self._rungs[self._forced or choose(tuple(sizes), batch_size, dtype)]

    def launches(self, sizes, batch_size, dtype, steps) -> int:
        return self.rung_for(sizes, batch_size, dtype).launches(sizes, batch_size, dtype, steps)

    def to_backend(self, array: np.ndarray, dtype: str) -> Any:
        return self._rungs[BLOCKED].to_backend(array, dtype)

    def to_numpy(self, stored: Any) -> np.ndarray:
        return self._rungs[BLOCKED].to_numpy(stored)

    def forward(self, weights, biases, x, all_layers=False):
        return self._rungs[BLOCKED].forward(weights, biases, x, all_layers)

    def gradient(self, weights, biases, x, y, order, start, stop, cost):
        return self._rungs[BLOCKED].gradient(weights, biases, x, y, order, start, stop, cost)

    def train_step(self, weights, biases, x, y, order, start, stop, eta, cost):
        rung = self.rung_for(sizes_of(weights), stop - start, weights[0].dtype.name)
        rung.train_step(weights, biases, x, y, order, start, stop, eta, cost)

    def train_steps(self, weights, biases, x, y, order, start, stop, batch_size, eta, cost):
        rung = self.rung_for(sizes_of(weights), batch_size, weights[0].dtype.name)
        rung.train_steps(weights, biases, x, y, order, start, stop, batch_size, eta, cost)

    def synchronize(self) -> None:
        self._rungs[BLOCKED].synchronize()


def create() -> CudaAliasBackend:
    return CudaAliasBackend()
