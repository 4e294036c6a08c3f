"""The pure-Python backend: the equations of the network as loops over lists.

This is the first rung of the ladder and the executable definition of every other backend: no NumPy in the
arithmetic, one sample and one neuron at a time, in the notation of `base.py`:

    z^l = w^l a^{l-1} + b^l,   a^l = sigmoid(z^l)                                   feedforward, per sample
    delta^L = dC/dz^L,         delta^l = (w^{l+1}^T delta^{l+1}) * a^l (1 - a^l)     backprop, per sample
    nabla_b^l[j]    = sum over the samples s of delta^l_j(s)                        gradient
    nabla_w^l[j][k] = sum over the samples s of delta^l_j(s) * a^{l-1}_k(s)
    w -= eta/m * nabla_w,      b -= eta/m * nabla_b                                 train_step

Two idioms make clear Python as fast as it can be: a weighted sum is `sum(map(mul, w_j, a))`, whose loop runs
in C rather than in the interpreter, and a row of weights is rebuilt by one list comprehension rather than
changed by 784 separate `-=` statements. Both are written out in place: in the innermost loops even the call
of a helper function would cost a noticeable share of the time.
Plain Python floats are float64, so this backend computes in float64 only.
"""

from __future__ import annotations

import math
from operator import mul

import numpy as np

from neuro.support.errors import NeuroError

from .base import StepByStep

Vector = list[float]
Matrix = list[list[float]]


def sigmoid(z: float) -> float:
    """1 / (1 + e^-z), without overflow: math.exp raises OverflowError past e^709, so only e^-|z| is taken."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def feedforward(weights: list[Matrix], biases: list[Vector], a: Vector) -> list[Vector]:
    """The activations [a^0, a^1, ..., a^L] of every layer for one input a^0."""
    activations = [a]
    for w, b in zip(weights, biases):
        a = [sigmoid(sum(map(mul, w_j, a)) + b_j) for w_j, b_j in zip(w, b)]
        activations.append(a)
    return activations


def output_delta(a: Vector, y: Vector, cost: str) -> Vector:
    """delta^L = dC/dz^L: (a - y) * a (1 - a) for the quadratic cost, a - y for cross-entropy.

    For cross-entropy the sigmoid's slope a (1 - a) cancels, which is why that cost keeps learning when an
    output neuron is saturated at the wrong end.
    """
    if cost == "quadratic":
        return [(a_j - y_j) * a_j * (1.0 - a_j) for a_j, y_j in zip(a, y)]
    return [a_j - y_j for a_j, y_j in zip(a, y)]


def backprop(weights: list[Matrix], biases: list[Vector], x: Vector, y: Vector, cost: str):
    """For one sample (x, y): the activations [a^0..a^L] and the deltas, deltas[l] belonging to weights[l]."""
    activations = feedforward(weights, biases, x)
    delta = output_delta(activations[-1], y, cost)
    deltas = [delta]
    for l in range(len(weights) - 1, 0, -1):  # weights[l] maps layer l to layer l+1 (the book's w^{l+1})
        # each neuron k of layer l collects the deltas it fed, through its column w[.][k] of weights[l]
        delta = [sum(map(mul, w_k, delta)) * a_k * (1.0 - a_k) for w_k, a_k in zip(zip(*weights[l]), activations[l])]
        deltas.append(delta)
    return activations, deltas[::-1]


def gradient(weights: list[Matrix], biases: list[Vector], x: Matrix, y: Matrix, batch: list[int], cost: str):
    """(nabla_w, nabla_b): the gradient of the cost, summed over the samples x[i], y[i] for i in `batch`."""
    nabla_w = [[[0.0] * len(w_j) for w_j in w] for w in weights]
    nabla_b = [[0.0] * len(b) for b in biases]
    for i in batch:
        activations, deltas = backprop(weights, biases, x[i], y[i], cost)
        for nw, nb, a, delta in zip(nabla_w, nabla_b, activations, deltas):
            for j, delta_j in enumerate(delta):
                nw[j] = [g + delta_j * a_k for g, a_k in zip(nw[j], a)]  # nabla_w[j][k] += delta_j a_k
                nb[j] += delta_j
    return nabla_w, nabla_b


def train_step(weights: list[Matrix], biases: list[Vector], x: Matrix, y: Matrix, batch: list[int], eta: float,
               cost: str) -> None:
    """One step of gradient descent on the mini-batch x[i], y[i] for i in `batch`, in place.

    Every sample of the mini-batch is backpropagated first, so that its gradient comes from the weights before
    the step; then each sample's share eta/m * delta_j a_k is subtracted straight from the weights, which saves
    building the nabla_w matrix and walking it a second time.
    """
    per_sample = [backprop(weights, biases, x[i], y[i], cost) for i in batch]
    step = eta / len(batch)
    for activations, deltas in per_sample:
        for w, b, a, delta in zip(weights, biases, activations, deltas):
            for j, delta_j in enumerate(delta):
                c = step * delta_j
                w[j] = [w_jk - c * a_k for w_jk, a_k in zip(w[j], a)]
                b[j] -= c


class PythonBackend(StepByStep):
    """Lists of floats, loops and math.exp."""

    name = "python"
    dtypes = ("float64",)
    compiles = False

    def to_backend(self, array: np.ndarray, dtype: str) -> list:
        if dtype not in ("float64", "int64"):
            raise NeuroError(f"the python backend computes in float64 only, not {dtype}")
        return np.asarray(array, dtype=dtype).tolist()

    def to_numpy(self, stored: list) -> np.ndarray:
        return np.array(stored)

    def forward(self, weights, biases, x, all_layers=False):
        per_sample = [feedforward(weights, biases, a) for a in x]
        if all_layers:
            return [[layers[l] for layers in per_sample] for l in range(len(weights) + 1)]
        return [layers[-1] for layers in per_sample]

    def gradient(self, weights, biases, x, y, order, start, stop, cost):
        return gradient(weights, biases, x, y, order[start:stop], cost)

    def train_step(self, weights, biases, x, y, order, start, stop, eta, cost):
        train_step(weights, biases, x, y, order[start:stop], eta, cost)


def unavailable_reason() -> str | None:
    return None  # pure Python runs everywhere


def create() -> PythonBackend:
    return PythonBackend()
