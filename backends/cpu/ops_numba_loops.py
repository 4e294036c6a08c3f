"""numba-loops: the functions of the pure-Python backend, compiled to machine code by Numba's @njit.

What changed from `python`, and only what compiling forces: NumPy arrays instead of lists (Numba compiles for
the types of the first call: float64 or float32 arrays, with no Python float objects), a weighted sum written
as a loop (`weighted_sum`: Numba has no `sum(map(mul, ...))`), and one compiled call for a whole stretch of
mini-batches (`train_steps`), so that nothing comes back to the interpreter between them. The equations, the
names and the order of the functions are those of ops_python.py; a diff of the two files shows the rest.

Why it is faster: each `+` and `*` is one machine instruction on numbers in registers, where the interpreter
does many times that work for each (finding the method, boxing the result in a new float object).
Why it is not faster still: every sum runs in the order it is written, each addition waiting for the one
before it, and each sample allocates its own small arrays. The next rungs take those on one at a time.

Two differences of detail. A zero or a one in the dtype of the arrays (`type(z)(1.0)`): a bare 1.0 is a float64
and would turn float32 arithmetic into float64. And the step adds up the whole gradient before changing the
weights: the Python backend subtracts each sample's share straight from the weights, which rounds every
weight once per sample, more rounding than the agreement tests allow at large batches.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from ..base import HostArrays, StepByStep
from .compiled import njit, typed_list


@njit(cache=True)
def sigmoid(z):
    """1 / (1 + e^-z), without overflow: only e^-|z| is ever taken, which lies in (0, 1]."""
    one = type(z)(1.0)  # 1 in the dtype of z
    if z >= 0:
        return one / (one + math.exp(-z))
    e = math.exp(z)
    return e / (one + e)


@njit(cache=True)
def weighted_sum(w_j, a):
    """sum_k w_j[k] a[k]: the weighted input of the neuron whose weights are w_j (its bias not included)."""
    z = w_j.dtype.type(0)
    for k in range(a.shape[0]):
        z += w_j[k] * a[k]
    return z


@njit(cache=True)
def feedforward(weights, biases, a):
    """The activations [a^0, a^1, ..., a^L] of every layer for one input a^0."""
    activations = [a]
    for w, b in zip(weights, biases):
        a_next = np.empty(w.shape[0], w.dtype)
        for j in range(w.shape[0]):
            a_next[j] = sigmoid(weighted_sum(w[j], a) + b[j])
        a = a_next
        activations.append(a)
    return activations


@njit(cache=True)
def output_delta(a, y, cost):
    """delta^L = dC/dz^L: (a - y) * a (1 - a) for the quadratic cost, a - y for cross-entropy."""
    one = a.dtype.type(1.0)
    delta = a - y
    if cost == "quadratic":
        for j in range(a.shape[0]):
            delta[j] *= a[j] * (one - a[j])
    return delta


@njit(cache=True)
def backprop(weights, biases, x, y, cost):
    """For one sample (x, y): the activations [a^0..a^L] and the deltas, deltas[l] belonging to weights[l]."""
    activations = feedforward(weights, biases, x)
    delta = output_delta(activations[-1], y, cost)
    deltas = [delta]
    for l in range(len(weights) - 1, 0, -1):  # weights[l] maps layer l to layer l+1 (the book's w^{l+1})
        # each neuron k of layer l collects the deltas it fed, through its column w[:, k] of weights[l]
        w, a = weights[l], activations[l]
        one = a.dtype.type(1.0)
        delta_before = np.empty(w.shape[1], w.dtype)
        for k in range(w.shape[1]):
            delta_before[k] = weighted_sum(w[:, k], delta) * a[k] * (one - a[k])
        delta = delta_before
        deltas.append(delta)
    return activations, deltas[::-1]


@njit(cache=True)
def gradient(weights, biases, x, y, batch, cost):
    """(nabla_w, nabla_b): the gradient of the cost, summed over the samples x[i], y[i] for i in `batch`."""
    nabla_w = [np.zeros_like(w) for w in weights]
    nabla_b = [np.zeros_like(b) for b in biases]
    for i in batch:
        activations, deltas = backprop(weights, biases, x[i], y[i], cost)
        for nw, nb, a, delta in zip(nabla_w, nabla_b, activations, deltas):
            for j in range(delta.shape[0]):
                for k in range(a.shape[0]):
                    nw[j, k] += delta[j] * a[k]  # nabla_w[j][k] += delta_j a_k
                nb[j] += delta[j]
    return nabla_w, nabla_b


@njit(cache=True)
def train_step(weights, biases, x, y, batch, eta, cost):
    """One step of gradient descent on the mini-batch x[i], y[i] for i in `batch`, in place: the whole gradient
    first, then w -= eta/m * nabla_w, b -= eta/m * nabla_b, each weight rounded once."""
    nabla_w, nabla_b = gradient(weights, biases, x, y, batch, cost)
    for w, b, nw, nb in zip(weights, biases, nabla_w, nabla_b):
        step = w.dtype.type(eta / len(batch))
        for j in range(w.shape[0]):
            for k in range(w.shape[1]):
                w[j, k] -= step * nw[j, k]
            b[j] -= step * nb[j]


@njit(cache=True)
def train_steps(weights, biases, x, y, order, start, stop, batch_size, eta, cost):
    """One train_step per mini-batch order[start:start+batch_size], ... up to order[:stop], in one compiled call."""
    for first in range(start, stop, batch_size):
        train_step(weights, biases, x, y, order[first : min(first + batch_size, stop)], eta, cost)


@njit(cache=True)
def all_activations(weights, biases, x):
    """Every layer's activations [A^0, A^1, ..., A^L] for every row of x, one row per sample."""
    layers = [x]
    for w in weights:
        layers.append(np.empty((x.shape[0], w.shape[0]), w.dtype))
    for i in range(x.shape[0]):
        activations = feedforward(weights, biases, x[i])
        for l in range(1, len(layers)):
            layers[l][i] = activations[l]
    return layers


@njit(cache=True)
def outputs(weights, biases, x):
    """The output activations a^L for every row of x."""
    return all_activations(weights, biases, x)[-1]


class LoopsBackend(HostArrays, StepByStep):
    """A rung of compiled loops on the CPU, on one thread. The Python side is the same for every such rung:
    it hands the arrays to the compiled functions of the rung's module, `rung`.

    The compiled functions take the weights and biases as Numba typed lists: one type for a network of any
    depth, so each function is compiled once per dtype (a tuple of arrays would be a new type per depth).
    """

    dtypes = ("float64", "float32")
    compiles = True

    def __init__(self, name: str, rung) -> None:
        self.name, self.rung = name, rung

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def forward(self, weights, biases, x, all_layers=False):
        weights, biases, x = typed_list(weights), typed_list(biases), np.ascontiguousarray(x)
        if all_layers:
            return list(self.rung.all_activations(weights, biases, x))
        return self.rung.outputs(weights, biases, x)

    def gradient(self, weights, biases, x, y, order, start, stop, cost):
        nabla_w, nabla_b = self.rung.gradient(typed_list(weights), typed_list(biases), x, y,
                                              np.ascontiguousarray(order[start:stop]), cost)
        return list(nabla_w), list(nabla_b)

    def train_step(self, weights, biases, x, y, order, start, stop, eta, cost):
        self.train_steps(weights, biases, x, y, order, start, stop, stop - start, eta, cost)

    def train_steps(self, weights, biases, x, y, order, start, stop, batch_size, eta, cost):
        self.rung.train_steps(typed_list(weights), typed_list(biases), x, y, order, int(start), int(stop),
                              int(batch_size), float(eta), cost)


def unavailable_reason() -> str | None:
    return None  # this module imported, so numba did too


def create() -> LoopsBackend:
    return LoopsBackend("numba-loops", sys.modules[__name__])
