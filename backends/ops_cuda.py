"""The CUDA backend: the loops of the pure-Python backend as Numba CUDA kernels, one GPU thread per result.

The kernels are in `cuda_kernels.py` (with how each loop nest becomes a grid of threads); this module keeps
the data on the GPU and launches them. What lives on the device for a whole training run: the data set x and
y, the parameters (updated in place), the shuffled `order`, and per mini-batch size one set of work buffers
(every layer's activations and deltas), allocated once and reused. A mini-batch is the range [start, stop) of
`order`, read on the device, so nothing comes back to the host between mini-batches.

One `train_step` on a network of L weight layers launches 3L kernels (9 for 784-16-16-10), in order on one
stream, without waiting for any of them:

    gather_batch               1   copy the mini-batch's rows of x and y into contiguous buffers
    feedforward_layer          L-1 a^l for the hidden layers
    feedforward_output_layer   1   a^L and delta^L (fused: the same thread has both)
    backprop_delta             L-1 delta^l from delta^{l+1}, last layer first
    update_parameters          L   w -= eta/m sum_s delta a^T, b -= eta/m sum_s delta (gradient and step fused)

`gradient` launches the same, with `accumulate_gradient` storing nabla_w and nabla_b instead of the update.
Each launch costs tens of microseconds of Python on the host, so a small network's step takes as long as its 9
launches, whatever the batch size (docs/gpu.md, "Measured").

Without a GPU, `NUMBA_ENABLE_CUDASIM=1` (set before numba.cuda is first imported) runs the same kernels on
Numba's CUDA simulator: plain Python, one Python thread per GPU thread, slow, but every index and bounds
check is exercised. tests/test_cuda_ptx.py compiles every kernel to PTX for a real GPU as well.
"""

from __future__ import annotations

import importlib.util
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuro.errors import NeuroError

from .base import StepByStep

INSTALL_HINT = "pip install 'neuro[cuda]'"
SIMULATED_NOTE = "simulated (NUMBA_ENABLE_CUDASIM=1): Numba's CUDA simulator, slow, for testing"

BLOCK_X = 32
"""gather_batch's threads per block along x, the column index: one warp, so its memory accesses are
neighbouring. (The other kernels run in square tiles of cuda_kernels.TILE threads: grid_tiles.)"""
BLOCK_Y = 8
"""gather_batch's threads per block along y, the row index (the sample): 32 x 8 = 256 per block."""
MAX_GRID_Y = 65_535
"""CUDA's limit on the number of blocks along y; the kernels loop (grid-stride) over any rows beyond it."""
WORKSPACES_KEPT = 8
"""Work-buffer sets kept per backend (one per layer sizes, batch size and dtype); the oldest is dropped."""


# ----------------------------------------------------------------------------------------------------------
# Can it run here?


def _first_line(text: object) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else type(text).__name__


def simulated() -> bool:
    """True when Numba's CUDA simulator is switched on (NUMBA_ENABLE_CUDASIM=1 when numba.cuda was imported)."""
    from numba import cuda  # noqa: F401  (importing it reads the setting)

    try:
        from numba.cuda.core import config  # numba-cuda's own settings
    except ImportError:
        from numba.core import config
    return bool(config.ENABLE_CUDASIM)


def unavailable_reason() -> str | None:
    """None when a GPU (or the simulator) is usable; otherwise one line saying why not."""
    if importlib.util.find_spec("numba_cuda") is None:
        return f"numba-cuda is not installed: {INSTALL_HINT}"
    try:
        from numba import cuda
    except Exception as error:  # e.g. the CUDA Python bindings are missing or do not match
        return f"numba-cuda cannot be imported: {_first_line(error)}"
    if simulated():
        return None
    try:
        if cuda.is_available():
            return None
        error = cuda.cuda_error()  # the driver's initialisation error, or None
    except Exception as exc:  # a probe must never raise
        error = exc
    if error is None:
        return f"the CUDA compiler (NVVM) is missing: {INSTALL_HINT}"
    message = _first_line(error)
    if "cannot be found" in message or "not found" in message:
        return "no NVIDIA driver: the CUDA driver library (libcuda) cannot be found"
    if "NO_DEVICE" in str(error):
        return "no CUDA GPU: the NVIDIA driver reports no device"
    return f"the CUDA driver cannot start: {message}"


def note() -> str:
    """What runs the kernels: the simulator, or the GPU's name."""
    if simulated():
        return SIMULATED_NOTE
    from numba import cuda

    try:
        name = cuda.get_current_device().name
    except Exception as error:
        return f"GPU name unknown: {_first_line(error)}"
    return f"GPU: {name.decode() if isinstance(name, bytes) else name}"


# ----------------------------------------------------------------------------------------------------------
# Launch geometry and work buffers


def _threads(n: int, limit: int) -> int:
    """The smallest power of two >= n, at most `limit`: a small layer does not get a mostly idle block."""
    threads = 1
    while threads < min(n, limit):
        threads *= 2
    return threads


def grid_2d(n_columns: int, n_rows: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """(blocks, threads per block) for gather_batch, one thread per (column, row): x the columns, y the rows.

    Blocks are rounded up, so some threads fall outside the arrays (the kernels check); rows beyond
    MAX_GRID_Y blocks are reached by the kernels' grid-stride loops.
    """
    threads = (_threads(n_columns, BLOCK_X), _threads(n_rows, BLOCK_Y))
    blocks = (
        max(1, -(-n_columns // threads[0])),
        max(1, min(MAX_GRID_Y, -(-n_rows // threads[1]))),
    )
    return blocks, threads


def grid_tiles(n_columns: int, n_rows: int, tile: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """(blocks, threads per block) for the tiled kernels: square blocks of tile x tile threads, one thread per
    (column, row), whole tiles (the threads outside the result still help copy the tiles); rows beyond
    MAX_GRID_Y blocks are reached by the kernels' grid-stride loops."""
    blocks = (max(1, -(-n_columns // tile)), max(1, min(MAX_GRID_Y, -(-n_rows // tile))))
    return blocks, (tile, tile)


@dataclass
class Workspace:
    """Device buffers for one mini-batch of m samples: activations[l] (m, n_l), deltas[l] (m, n_{l+1}), y.

    deltas[l] belongs to weights[l], as in the other backends.
    """

    activations: list[Any]
    deltas: list[Any]
    y: Any


def _quiet_low_occupancy_warnings() -> None:
    """Turn off numba-cuda's warning for grids under 128 blocks, unless NUMBA_CUDA_LOW_OCCUPANCY_WARNINGS is set.

    The classic network's grids are small by nature (16 neurons for 10 samples is one block), so it would warn
    at nearly every launch; docs/gpu.md explains what small grids cost instead.
    """
    if "NUMBA_CUDA_LOW_OCCUPANCY_WARNINGS" in os.environ:
        return
    try:
        from numba.cuda.core import config
    except ImportError:
        from numba.core import config
    config.CUDA_LOW_OCCUPANCY_WARNINGS = 0


def _sizes(weights: list[Any]) -> tuple[int, ...]:
    return (weights[0].shape[1], *(w.shape[0] for w in weights))


# ----------------------------------------------------------------------------------------------------------
# The backend


class CudaBackend(StepByStep):
    """Numba CUDA device arrays and kernels; see the module docstring for what is launched when."""

    name = "cuda"
    dtypes = ("float64", "float32")
    compiles = True

    def __init__(self) -> None:
        from numba import cuda

        from . import cuda_kernels

        self._cuda = cuda
        self._kernels = cuda_kernels
        self._workspaces: OrderedDict[tuple, Workspace] = OrderedDict()
        _quiet_low_occupancy_warnings()

    def __repr__(self) -> str:
        return "CudaBackend(simulated)" if simulated() else "CudaBackend()"

    # storage

    def to_backend(self, array: np.ndarray, dtype: str) -> Any:
        if dtype not in ("float64", "float32", "int64"):
            raise NeuroError(f"the cuda backend stores float64, float32 or int64, not {dtype}")
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

    def forward(self, weights, biases, x, all_layers=False):
        kernels = self._kernels
        n = x.shape[0]
        activations = [x]
        for w, b in zip(weights, biases):
            a = self._cuda.device_array((n, w.shape[0]), dtype=w.dtype)
            kernels.feedforward_layer[grid_tiles(w.shape[0], n, kernels.TILE)](w, b, activations[-1], a)
            activations.append(a)
        return activations if all_layers else activations[-1]

    def _backprop(self, weights, biases, x, y, order, start, stop, cost) -> Workspace:
        """Queue the forward and backward pass of the mini-batch order[start:stop]; returns the filled buffers."""
        kernels = self._kernels
        m = stop - start
        sizes = _sizes(weights)
        work = self._workspace(sizes, m, weights[0].dtype)
        a, delta = work.activations, work.deltas
        last = len(weights) - 1
        kernels.gather_batch[grid_2d(max(sizes[0], sizes[-1]), m)](x, y, order, start, a[0], work.y)
        for l in range(last):
            kernels.feedforward_layer[grid_tiles(sizes[l + 1], m, kernels.TILE)](weights[l], biases[l], a[l], a[l + 1])
        kernels.feedforward_output_layer[grid_tiles(sizes[-1], m, kernels.TILE)](
            weights[last], biases[last], a[last], work.y, cost == "quadratic", a[last + 1], delta[last]
        )
        for l in range(last, 0, -1):  # weights[l] maps layer l to layer l+1; delta[l-1] belongs to weights[l-1]
            kernels.backprop_delta[grid_tiles(sizes[l], m, kernels.TILE)](weights[l], delta[l], a[l], delta[l - 1])
        return work

    def gradient(self, weights, biases, x, y, order, start, stop, cost):
        work = self._backprop(weights, biases, x, y, order, start, stop, cost)
        nabla_w = [self._cuda.device_array(w.shape, dtype=w.dtype) for w in weights]
        nabla_b = [self._cuda.device_array(b.shape, dtype=b.dtype) for b in biases]
        for l, w in enumerate(weights):
            n_out, n_prev = w.shape
            self._kernels.accumulate_gradient[grid_tiles(n_prev + 1, n_out, self._kernels.TILE)](
                work.deltas[l], work.activations[l], nabla_w[l], nabla_b[l]
            )
        return nabla_w, nabla_b

    def train_step(self, weights, biases, x, y, order, start, stop, eta, cost):
        work = self._backprop(weights, biases, x, y, order, start, stop, cost)
        # eta/m in the parameters' dtype: a Python float would make float32 kernels compute in float64
        step = weights[0].dtype.type(eta / (stop - start))
        for l, (w, b) in enumerate(zip(weights, biases)):
            n_out, n_prev = w.shape
            self._kernels.update_parameters[grid_tiles(n_prev + 1, n_out, self._kernels.TILE)](
                work.deltas[l], work.activations[l], step, w, b
            )

    def synchronize(self) -> None:
        self._cuda.synchronize()


def create() -> CudaBackend:
    return CudaBackend()
