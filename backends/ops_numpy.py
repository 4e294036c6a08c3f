"""The NumPy backend: the loops of the pure-Python backend, vectorised over the whole mini-batch.

The m samples of a mini-batch are the rows of a matrix, so one layer of the forward pass for all of them is
one matrix product, and the per-sample sums of the gradient become one product too:

    Z^l = A^{l-1} (w^l)^T + b^l,   A^l = sigmoid(Z^l)                 feedforward: every sample at once
    Delta^L = (A^L - Y) * A^L (1 - A^L)  (quadratic)  or  A^L - Y     output_delta
    Delta^{l-1} = (Delta^l w^l) * A^{l-1} (1 - A^{l-1})               backprop
    nabla_b^l = sum over rows of Delta^l,  nabla_w^l = (Delta^l)^T A^{l-1}      gradient
    w -= eta/m * nabla_w,  b -= eta/m * nabla_b                        train_step

The functions are those of ops_python.py, with the same names, one mini-batch at a time instead of one sample.
The matrix products run in BLAS. At the classic sizes (batch 10, layers of 16) the arithmetic is tiny and the
cost is NumPy's per-call overhead, so each step uses as few NumPy calls as the equations allow and works in
place where it can.
"""

from __future__ import annotations

import numpy as np

from .base import HostArrays, StepByStep


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


def feedforward(weights: list[np.ndarray], biases: list[np.ndarray], a: np.ndarray) -> list[np.ndarray]:
    """The activations [A^0, A^1, ..., A^L] of every layer for the batch A^0 = a (one sample per row)."""
    activations = [a]
    for w, b in zip(weights, biases):
        z = a @ w.T
        z += b
        a = sigmoid(z)
        activations.append(a)
    return activations


def output_delta(a: np.ndarray, y: np.ndarray, cost: str) -> np.ndarray:
    """Delta^L = dC/dZ^L: (A - Y) * A (1 - A) for the quadratic cost, A - Y for cross-entropy."""
    delta = a - y
    if cost == "quadratic":
        delta *= a * (1.0 - a)
    return delta


def backprop(weights: list[np.ndarray], biases: list[np.ndarray], x: np.ndarray, y: np.ndarray, cost: str,
             scale: float = 1.0):
    """For the mini-batch (x, y): the activations [A^0..A^L] and the deltas, deltas[l] belonging to weights[l].

    With `scale`, every Delta comes out multiplied by it: backpropagation is linear in Delta^L, so scaling
    Delta^L once scales them all.
    """
    activations = feedforward(weights, biases, x)
    delta = output_delta(activations[-1], y, cost)
    if scale != 1.0:
        delta *= scale
    deltas = [delta]
    for l in range(len(weights) - 1, 0, -1):  # weights[l] maps layer l to layer l+1 (the book's w^{l+1})
        a = activations[l]
        delta = delta @ weights[l]
        delta *= a * (1.0 - a)
        deltas.append(delta)
    return activations, deltas[::-1]


def gradient(weights: list[np.ndarray], biases: list[np.ndarray], x: np.ndarray, y: np.ndarray, batch: np.ndarray,
             cost: str):
    """(nabla_w, nabla_b): the gradient of the cost, summed over the samples x[i], y[i] for i in `batch`."""
    activations, deltas = backprop(weights, biases, x.take(batch, axis=0), y.take(batch, axis=0), cost)
    nabla_w = [delta.T @ a_prev for delta, a_prev in zip(deltas, activations)]
    nabla_b = [delta.sum(axis=0) for delta in deltas]
    return nabla_w, nabla_b


def train_step(weights: list[np.ndarray], biases: list[np.ndarray], x: np.ndarray, y: np.ndarray, batch: np.ndarray,
               eta: float, cost: str) -> None:
    """One step of gradient descent on the mini-batch x[i], y[i] for i in `batch`, in place.

    The deltas come out scaled by eta/m: the step then needs no multiplication of the large (n, n_prev) gradient.
    """
    activations, deltas = backprop(weights, biases, x.take(batch, axis=0), y.take(batch, axis=0), cost,
                                   scale=eta / len(batch))
    for w, b, delta, a_prev in zip(weights, biases, deltas, activations):
        w -= delta.T @ a_prev
        b -= delta.sum(axis=0)


class NumpyBackend(HostArrays, StepByStep):
    """NumPy arrays; one matrix product per layer per mini-batch."""

    name = "numpy"
    dtypes = ("float64", "float32")

    def forward(self, weights, biases, x, all_layers=False):
        activations = feedforward(weights, biases, x)
        return activations if all_layers else activations[-1]

    def gradient(self, weights, biases, x, y, order, start, stop, cost):
        return gradient(weights, biases, x, y, order[start:stop], cost)

    def train_step(self, weights, biases, x, y, order, start, stop, eta, cost):
        train_step(weights, biases, x, y, order[start:stop], eta, cost)


def unavailable_reason() -> str | None:
    return None  # NumPy is a dependency of neuro itself


def create() -> NumpyBackend:
    return NumpyBackend()
