"""Exercise 1: compile the Python loops yourself.

Below are the functions of the pure-Python rung (backends/ops_python.py), already rewritten for NumPy arrays, as
loops that Numba can compile (a weighted sum as a loop, zeros and ones in the arrays' dtype). They run as plain
Python, which is slower still than lists of floats. Your change: make `compile_me` compile each function with
Numba's `njit(cache=True)`, and tell the benchmark it compiles (`COMPILES = True`), so that it warms it up first.

Check it:  neuro check exercises/01_compile_loops.py
The solution is the rung numba-loops (backends/cpu/ops_numba_loops.py); docs/exercises.md has a hint.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from neuro.backends.cpu import ops_numba_loops as solution_shape  # (only its LoopsBackend: the Python side)

BUILDS_ON = "python"
CHANGE = "the Python backend's functions, compiled by Numba (exercise 1)"
SOLUTION = "numba-loops"
COMPILES = False  # YOUR CHANGE: True once compile_me compiles


def compile_me(function):
    """YOUR CHANGE: return `function` compiled by numba's njit(cache=True) (from numba import njit)."""
    return function


@compile_me  # <-- the marked place: see compile_me above
def sigmoid(z):
    """1 / (1 + e^-z), without overflow: only e^-|z| is ever taken, which lies in (0, 1]."""
    one = type(z)(1.0)  # 1 in the dtype of z
    if z >= 0:
        return one / (one + math.exp(-z))
    e = math.exp(z)
    return e / (one + e)


@compile_me  # <-- the marked place: see compile_me above
def weighted_sum(w_j, a):
    """sum_k w_j[k] a[k]: the weighted input of the neuron whose weights are w_j (its bias not included)."""
    z = w_j.dtype.type(0)
    for k in range(a.shape[0]):
        z += w_j[k] * a[k]
    return z


@compile_me  # <-- the marked place: see compile_me above
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


@compile_me  # <-- the marked place: see compile_me above
def output_delta(a, y, cost):
    """delta^L = dC/dz^L: (a - y) * a (1 - a) for the quadratic cost, a - y for cross-entropy."""
    one = a.dtype.type(1.0)
    delta = a - y
    if cost == "quadratic":
        for j in range(a.shape[0]):
            delta[j] *= a[j] * (one - a[j])
    return delta


@compile_me  # <-- the marked place: see compile_me above
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


@compile_me  # <-- the marked place: see compile_me above
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


@compile_me  # <-- the marked place: see compile_me above
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


@compile_me  # <-- the marked place: see compile_me above
def train_steps(weights, biases, x, y, order, start, stop, batch_size, eta, cost):
    """One train_step per mini-batch order[start:start+batch_size], ... up to order[:stop], in one compiled call."""
    for first in range(start, stop, batch_size):
        train_step(weights, biases, x, y, order[first : min(first + batch_size, stop)], eta, cost)


@compile_me  # <-- the marked place: see compile_me above
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


@compile_me  # <-- the marked place: see compile_me above
def outputs(weights, biases, x):
    """The output activations a^L for every row of x."""
    return all_activations(weights, biases, x)[-1]


class ExerciseLoops(solution_shape.LoopsBackend):
    compiles = COMPILES


def unavailable_reason() -> str | None:
    return None


def create() -> ExerciseLoops:
    return ExerciseLoops("exercise-1", sys.modules[__name__])
