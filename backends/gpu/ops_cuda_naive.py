"""cuda-naive: the loops of the pure-Python backend as Numba CUDA kernels, one GPU thread per result.

What changed from python: the two outer loops of every loop nest (samples and neurons, or neurons and inputs)
became a grid of GPU threads, each computing one number with the innermost loop (kernels and thread layout:
`cuda_naive_kernels.py`). Why it should run faster: thousands of threads compute at once, and the data
never leaves the GPU. What it does not yet do: share anything between threads (cuda-tiled does), or launch
fewer kernels per step (cuda-fused does).

This module keeps the data on the GPU and launches the kernels; every later cuda rung launches the same way
with its own kernels (`CudaBackend(name, kernels)`). What lives on the device for a whole training run: the data
set x and y, the parameters (updated in place), the shuffled `order`, and per mini-batch size one set of work
buffers (every layer's activations and deltas), allocated once and reused. A mini-batch is the range
[start, stop) of `order`, read on the device, so nothing comes back to the host between mini-batches.

One `train_step` on a network of L weight layers launches 3L kernels (9 for 784-16-16-10), in order on one
stream, without waiting for any of them:

    gather_batch               1   copy the mini-batch's rows of x and y into contiguous buffers
    feedforward_layer          L-1 a^l for the hidden layers
    feedforward_output_layer   1   a^L and delta^L (fused: the same thread has both)
    backprop_delta             L-1 delta^l from delta^{l+1}, last layer first
    update_parameters          L   w -= eta/m sum_s delta a^T, b -= eta/m sum_s delta (gradient and step fused)

`gradient` launches the same, with `accumulate_gradient` storing nabla_w and nabla_b instead of the update.
Each launch costs the host a fixed time of Python and driver work, so a small network's step can take as long
as its launches, whatever the batch size (`launches` says how many; scripts/gpu-check.sh times them on a GPU).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from neuro.sizes import sizes_of
from neuro.support.errors import NeuroError

from ..base import StepByStep
from . import cuda_naive_kernels
from .device import note, quiet_low_occupancy_warnings, simulated, thread_safe_shared_arrays, unavailable_reason

WORKSPACES_KEPT = 8
"""Work-buffer sets kept per backend (one per layer sizes, batch size and dtype); the oldest is dropped."""

__all__ = ["CudaBackend", "Workspace", "create", "note", "simulated", "unavailable_reason"]


@dataclass
class Workspace:
    """Device buffers for one mini-batch of m samples: activations[l] (m, n_l), deltas[l] (m, n_{l+1}), y.

    deltas[l] belongs to weights[l], as in the other backends.
    """

    activations: list[Any]
    deltas: list[Any]
    y: Any


class CudaBackend(StepByStep):
    """Numba CUDA device arrays, and one launch per kernel of a step; see the module docstring.

    `kernels` is the module of kernels it launches (cuda_naive_kernels, cuda_tiled_kernels, ...), each launched over
    `kernels.launch_grid(columns, rows)`; gather_batch is cuda-naive's in every rung.
    """

    dtypes = ("float64", "float32")
    compiles = True

    def __init__(self, name: str, kernels: ModuleType) -> None:
        from numba import cuda

        self.name = name
        self._cuda = cuda
        self._kernels = kernels
        self._workspaces: OrderedDict[tuple, Workspace] = OrderedDict()
        quiet_low_occupancy_warnings()
        thread_safe_shared_arrays()

    def __repr__(self) -> str:
        return f"CudaBackend({self.name!r}{', simulated' if simulated() else ''})"

    def launches(self, sizes: tuple[int, ...], batch_size: int, dtype: str, steps: int) -> int:
        """3L kernels per step of a network of L weight layers."""
        return 3 * (len(sizes) - 1) * steps

    # storage

    def to_backend(self, array: np.ndarray, dtype: str) -> Any:
        if dtype not in ("float64", "float32", "int64"):
            raise NeuroError(f"the {self.name} backend stores float64, float32 or int64, not {dtype}")
        return self._cuda.to_device(np.ascontiguousarray(array, dtype=dtype))

    def to_numpy(self, stored: Any) -> np.ndarray:
        return stored.copy_to_host()

    def _workspace(self, sizes: tuple[int, ...], m: int, dtype: np.dtype) -> Workspace:
        """The work buffers for this network shape, batch size and dtype: made on first use, then reused."""
        key = (sizes, m, np.dtype(dtype).name)
        work = self._workspaces.get(key)
        if work is None:
            empty = self._cuda.device_array
            work = Workspace(
                activations=[empty((m, n), dtype=dtype) for n in sizes],
                deltas=[empty((m, n), dtype=dtype) for n in sizes[1:]],
                y=empty((m, sizes[-1]), dtype=dtype),
            )
            self._workspaces[key] = work
            if len(self._workspaces) > WORKSPACES_KEPT:
                self._workspaces.popitem(last=False)
        else:
            self._workspaces.move_to_end(key)
        return work

    # arithmetic

    def _grid(self, n_columns: int, n_rows: int):
        return self._kernels.launch_grid(n_columns, n_rows)

    def forward(self, weights, biases, x, all_layers=False):
        n = x.shape[0]
        activations = [x]
        for w, b in zip(weights, biases):
            a = self._cuda.device_array((n, w.shape[0]), dtype=w.dtype)
            self._kernels.feedforward_layer[self._grid(w.shape[0], n)](w, b, activations[-1], a)
            activations.append(a)
        return activations if all_layers else activations[-1]

    def _backprop(self, weights, biases, x, y, order, start, stop, cost) -> Workspace:
        """Queue the forward and backward pass of the mini-batch order[start:stop]; returns the filled buffers."""
        kernels, grid = self._kernels, self._grid
        m = stop - start
        sizes = sizes_of(weights)
        work = self._workspace(sizes, m, weights[0].dtype)
        a, delta = work.activations, work.deltas
        last = len(weights) - 1
        gather_grid = cuda_naive_kernels.launch_grid(max(sizes[0], sizes[-1]), m)
        cuda_naive_kernels.gather_batch[gather_grid](x, y, order, start, a[0], work.y)
        for l in range(last):
            kernels.feedforward_layer[grid(sizes[l + 1], m)](weights[l], biases[l], a[l], a[l + 1])
        kernels.feedforward_output_layer[grid(sizes[-1], m)](
            weights[last], biases[last], a[last], work.y, cost == "quadratic", a[last + 1], delta[last]
        )
        for l in range(last, 0, -1):  # weights[l] maps layer l to layer l+1; delta[l-1] belongs to weights[l-1]
            kernels.backprop_delta[grid(sizes[l], m)](weights[l], delta[l], a[l], delta[l - 1])
        return work

    def gradient(self, weights, biases, x, y, order, start, stop, cost):
        work = self._backprop(weights, biases, x, y, order, start, stop, cost)
        nabla_w = [self._cuda.device_array(w.shape, dtype=w.dtype) for w in weights]
        nabla_b = [self._cuda.device_array(b.shape, dtype=b.dtype) for b in biases]
        for l, w in enumerate(weights):
            n_out, n_prev = w.shape
            self._kernels.accumulate_gradient[self._grid(n_prev + 1, n_out)](
                work.deltas[l], work.activations[l], nabla_w[l], nabla_b[l]
            )
        return nabla_w, nabla_b

    def train_step(self, weights, biases, x, y, order, start, stop, eta, cost):
        work = self._backprop(weights, biases, x, y, order, start, stop, cost)
        # eta/m in the parameters' dtype: a Python float would make float32 kernels compute in float64
        step = weights[0].dtype.type(eta / (stop - start))
        for l, (w, b) in enumerate(zip(weights, biases)):
            n_out, n_prev = w.shape
            self._kernels.update_parameters[self._grid(n_prev + 1, n_out)](
                work.deltas[l], work.activations[l], step, w, b
            )

    def synchronize(self) -> None:
        self._cuda.synchronize()


def create() -> CudaBackend:
    return CudaBackend("cuda-naive", cuda_naive_kernels)
