"""The backend interface: what every backend implements, and nothing more.

A backend owns the two pieces of arithmetic that differ from one machine to another: the forward pass and
the gradient step. The framework (network, training loop, evaluation, CLI) is the same for every backend and
talks to it only through the methods below.

Notation, the same in every backend (it follows the classic explanation of the digit recogniser):

    a^0          the input: one image, 784 pixel activations in [0, 1]
    w^l[j][k]    the weight from neuron k of layer l-1 to neuron j of layer l (a matrix of n_l rows, n_{l-1} columns)
    b^l[j]       the bias of neuron j of layer l
    z^l = w^l a^{l-1} + b^l          the weighted sum
    a^l = sigmoid(z^l)               the activation, in [0, 1]
    delta^L = dC/dz^L                the output error; (a^L - y) * a^L (1 - a^L) for the quadratic cost,
                                     a^L - y for cross-entropy
    delta^l = (w^{l+1}^T delta^{l+1}) * a^l (1 - a^l)      backpropagated one layer
    dC/db^l = delta^l,   dC/dw^l = delta^l (a^{l-1})^T     the gradient, summed over the mini-batch
    w -= eta/m * dC/dw,  b -= eta/m * dC/db                the step, for a mini-batch of m samples

Storage: a backend keeps arrays in its own form (Python lists, NumPy arrays, GPU device arrays), so that the
data set and the parameters stay resident for a whole training run. `to_backend` moves a host NumPy array in,
`to_numpy` brings one back. Everything else takes and returns arrays in that stored form. Shapes:

    weights[l]   (n_{l+1}, n_l)     biases[l]   (n_{l+1},)
    x            (n_samples, n_0)   a batch of inputs, one row per sample
    y            (n_samples, n_L)   the desired outputs (one-hot for digits; any values in [0, 1] allowed)
    order        (n_samples,)       integer indices into x and y; a mini-batch is order[start:stop]

A rung of your own, in a file anywhere (`--backend path/to/my_rung.py`, `module:NAME`, or a package's entry point
in the group `neuro.backends`; backends/loader.py loads it), provides what a registered rung's module does,
`unavailable_reason()` and `create()`, and says where it stands on the ladder in module-level names:

    BUILDS_ON = "numba-loops"     the registered rung it builds on: `neuro check` times it against that one
    CHANGE = "..."                what it changes, in one line (`neuro backends` and `neuro ladder` show it)
    CASE = RungCase(WIDE, 256)    optional: the network and batch where it must be faster than BUILDS_ON
    SOLUTION = "numba-reorder"    optional (the exercises): the rung whose speed is the goal
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from neuro.support.errors import NeuroError

Stored = Any
"""An array in a backend's own storage: a list (of lists), a NumPy array, a device array."""


@runtime_checkable
class Backend(Protocol):
    """What a backend provides. See the module docstring for the notation and shapes."""

    name: str
    """The name used by `--backend` and `NEURO_BACKEND`."""

    dtypes: tuple[str, ...]
    """The floating-point types this backend computes in, e.g. ("float64", "float32")."""

    compiles: bool
    """True when the first calls compile machine code (Numba, CUDA): the benchmark warms such a backend up before
    timing it, and the training loop reports the first epoch's compile time apart."""

    threads: int
    """The CPU threads its arithmetic runs on (1 for a single-threaded backend)."""

    max_threads: int
    """The most CPU threads it can run on (1: it runs on one thread only)."""

    def set_threads(self, threads: int) -> None:
        """Run on this many CPU threads from now on, or a NeuroError if the backend cannot."""
        ...

    ways: tuple[str, ...]
    """The ways this backend may run a stretch of steps, which it chooses between by itself, named in lower case
    with hyphens: "one-thread" or "team" (numba-team), and "blas" (numba-blas); "fused" or "tiled" (cuda-fused);
    the two rungs the cuda alias picks between. Most backends have one. The agreement tests force each in turn."""

    def force_way(self, way: str | None) -> None:
        """Run every stretch of steps the way `way` from now on (None: choose again), or a NeuroError."""
        ...

    def launches(self, sizes: tuple[int, ...], batch_size: int, dtype: str, steps: int) -> int:
        """The GPU kernel launches one `train_steps` call over `steps` mini-batches of this network (layer sizes
        n_0 .. n_L), batch size and dtype makes: what a GPU step costs the host. 0 for a backend on the CPU."""
        ...

    def to_backend(self, array: np.ndarray, dtype: str) -> Stored:
        """Copy a host array into this backend's storage, as `dtype` ("float64", "float32" or "int64")."""
        ...

    def to_numpy(self, stored: Stored) -> np.ndarray:
        """Copy an array from this backend's storage back to a host NumPy array."""
        ...

    def forward(
        self, weights: list[Stored], biases: list[Stored], x: Stored, all_layers: bool = False
    ) -> Stored | list[Stored]:
        """Feed every row of `x` through the network.

        Returns the output activations a^L, shape (n_samples, n_L); with `all_layers`, the list
        [a^0, a^1, ..., a^L] of every layer's activations (a^0 being `x` itself), for teaching.
        """
        ...

    def gradient(
        self, weights: list[Stored], biases: list[Stored], x: Stored, y: Stored,
        order: Stored, start: int, stop: int, cost: str,
    ) -> tuple[list[Stored], list[Stored]]:
        """Backpropagation over the mini-batch order[start:stop]: (nabla_w, nabla_b), summed over its samples."""
        ...

    def train_step(
        self, weights: list[Stored], biases: list[Stored], x: Stored, y: Stored,
        order: Stored, start: int, stop: int, eta: float, cost: str,
    ) -> None:
        """One step of gradient descent on the mini-batch order[start:stop], updating weights and biases in place.

        Must equal `gradient` followed by w -= eta/m * nabla_w, b -= eta/m * nabla_b with m = stop - start;
        a backend may fuse the two for speed.
        """
        ...

    def train_steps(
        self, weights: list[Stored], biases: list[Stored], x: Stored, y: Stored,
        order: Stored, start: int, stop: int, batch_size: int, eta: float, cost: str,
    ) -> None:
        """Consecutive gradient steps on the mini-batches order[start:start+batch_size], ... up to order[:stop].

        The last mini-batch may be shorter. Equal to one `train_step` per mini-batch; the training loop and the
        benchmark call this, a stretch of an epoch at a time, so that a compiled backend can run the loop over
        mini-batches without coming back to Python between them.
        """
        ...

    def synchronize(self) -> None:
        """Wait until all queued work is done (a no-op except on asynchronous devices); used when timing."""
        ...


class StepByStep:
    """What most backends share: nothing to compile, one thread, no GPU launches, `train_steps` as a Python loop
    of `train_step`, and nothing to synchronize."""

    name = "?"
    compiles = False
    threads = max_threads = 1
    ways = ("steps",)

    def set_threads(self, threads: int) -> None:
        if threads != 1:
            raise NeuroError(f"the {self.name} backend does not run on several threads; it cannot use {threads}")

    def force_way(self, way: str | None) -> None:
        if way not in (None, *self.ways):
            raise NeuroError(f"the {self.name} backend runs its steps one way only, not {way!r}")

    def launches(self, sizes, batch_size, dtype, steps) -> int:
        return 0

    def train_steps(self, weights, biases, x, y, order, start, stop, batch_size, eta, cost) -> None:
        for first in range(start, stop, batch_size):
            self.train_step(weights, biases, x, y, order, first, min(first + batch_size, stop), eta, cost)

    def synchronize(self) -> None:
        pass


class HostArrays:
    """Storage as host NumPy arrays, C-ordered (the numpy backend and every compiled CPU rung)."""

    def to_backend(self, array: np.ndarray, dtype: str) -> np.ndarray:
        return np.array(array, dtype=dtype, order="C")  # always a copy: the network owns its parameters

    def to_numpy(self, stored: np.ndarray) -> np.ndarray:
        return np.array(stored)
