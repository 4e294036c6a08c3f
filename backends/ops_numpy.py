"""The NumPy backend: the loops of the pure-Python backend, vectorised over the whole mini-batch.

The m samples of a mini-batch are the rows of a matrix, so one layer of the forward pass for all of them is
one matrix product, and the per-sample sums of the gradient become one product too:

    Z^l = A^{l-1} (w^l)^T + b^l           (m, n_l): every weighted sum of every sample
    A^l = sigmoid(Z^l)
    Delta^L = (A^L - Y) * A^L (1 - A^L)    (quadratic) or A^L - Y (cross-entropy)
    Delta^{l-1} = (Delta^l w^l) * A^{l-1} (1 - A^{l-1})
    nabla_b^l = sum over rows of Delta^l,  nabla_w^l = (Delta^l)^T A^{l-1}

The matrix products run in BLAS. At the classic sizes (batch 10, layers of 16) the arithmetic is tiny and the
cost is NumPy's per-call overhead, so each step uses as few NumPy calls as the equations allow and works in
place where it can.
"""

from __future__ import annotations

import numpy as np

from .base import StepByStep


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z), computed in place on z as 1/2 + 1/2 tanh(z/2), which is the same function.

    Why the tanh form: e^-z overflows for z below about -709 (float64) or -88 (float32), which NumPy reports
    with a warning, and silencing it costs a context manager per call. tanh never overflows, and the form
    takes four in-place NumPy calls, the fewest of the stable ways to write it.
    """
    z *= 0.5
    np.tanh(z, out=z)
    z *= 0.5
    z += 0.5
    return z


def forward_layers(weights: list[np.ndarray], biases: list[np.ndarray], a: np.ndarray) -> list[np.ndarray]:
    """[A^0, A^1, ..., A^L] for the batch A^0 = a (one sample per row)."""
    activations = [a]
    for w, b in zip(weights, biases):
        z = a @ w.T
        z += b
        a = sigmoid(z)
        activations.append(a)
    return activations


def backprop_deltas(
    weights: list[np.ndarray], activations: list[np.ndarray], y: np.ndarray, cost: str, scale: float = 1.0
) -> list[np.ndarray]:
    """Delta^l for every layer (Delta[l] belongs to weights[l]), computed from the last layer back.

    With `scale`, every Delta comes out multiplied by it: backpropagation is linear in Delta^L, so scaling
    Delta^L once scales them all.
    """
    a = activations[-1]
    delta = a - y
    if cost == "quadratic":
        delta *= a * (1.0 - a)
    if scale != 1.0:
        delta *= scale
    deltas = [delta]
    for l in range(len(weights) - 1, 0, -1):
        a = activations[l]
        delta = delta @ weights[l]
        delta *= a * (1.0 - a)
        deltas.append(delta)
    return deltas[::-1]


class NumpyBackend(StepByStep):
    """NumPy arrays; one matrix product per layer per mini-batch."""

    name = "numpy"
    dtypes = ("float64", "float32")
    compiles = False  # (nothing is compiled on first use: see neuro/bench.py)

    def to_backend(self, array: np.ndarray, dtype: str) -> np.ndarray:
        return np.array(array, dtype=dtype, order="C")  # always a copy: the network owns its parameters

    def to_numpy(self, stored: np.ndarray) -> np.ndarray:
        return np.array(stored)

    def forward(self, weights, biases, x, all_layers=False):
        activations = forward_layers(weights, biases, x)
        return activations if all_layers else activations[-1]

    def gradient(self, weights, biases, x, y, order, start, stop, cost):
        batch = order[start:stop]
        activations = forward_layers(weights, biases, x.take(batch, axis=0))
        deltas = backprop_deltas(weights, activations, y.take(batch, axis=0), cost)
        nabla_w = [delta.T @ a_prev for delta, a_prev in zip(deltas, activations)]
        nabla_b = [delta.sum(axis=0) for delta in deltas]
        return nabla_w, nabla_b

    def train_step(self, weights, biases, x, y, order, start, stop, eta, cost):
        batch = order[start:stop]
        activations = forward_layers(weights, biases, x.take(batch, axis=0))
        # Deltas scaled by eta/m: the step then needs no multiplication of the large (n, n_prev) gradient.
        deltas = backprop_deltas(weights, activations, y.take(batch, axis=0), cost, scale=eta / (stop - start))
        for w, b, delta, a_prev in zip(weights, biases, deltas, activations):
            w -= delta.T @ a_prev
            b -= delta.sum(axis=0)


def unavailable_reason() -> str | None:
    return None  # NumPy is a dependency of neuro itself


def create() -> NumpyBackend:
    return NumpyBackend()
