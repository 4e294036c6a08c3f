"""numba-blocks: layer by layer over the whole mini-batch, in buffers allocated once, with the step fused in.

What changed from `numba-reorder`: the loops are turned inside out, as NumPy turns them with its matrices.
`feedforward` computes each layer for every sample of the mini-batch before the next layer; `backprop` goes
back the same way; and `add_gradient` adds each weight's share of the step, summed over the samples, straight
into the weight. Every number lands in buffers allocated once per call for all its mini-batches
(`step_buffers`), one row per sample: a^0 is the sample's row of x itself, read where it lies, and
[a^1 | a^2 | ... | a^L] side by side in a row of `activations` (`offsets[l]`: the column where layer l
starts), the deltas likewise in `deltas`.

Why it is faster:
* Each row of weights, once in the fastest cache, meets every sample of the mini-batch before it is evicted;
  one sample at a time, the whole first layer (100 KB in float64) went through the cache once per sample.
* No allocation in the loops: the rung before made a dozen small arrays and lists per sample, and a fresh
  gradient (as large as the network) per step, which it then walked a second time to take the step.
* Backprop reads the weights row after row, in the order they lie in memory (each row w[j] adds delta_j w[j]
  into delta^l), where the rung before read them down the columns, one number per cache line.
* A layer's sigmoids are one loop (`activate`), and the sigmoid is now plain arithmetic (simd_sigmoid.py), not
  a call of `math.exp` into the C library: the loop runs as many sigmoids per instruction as its SIMD registers
  hold (`neuro explain numba-blocks` reads how many here).
The gradient alone (`gradient`) is the same code adding into zeros, with eta = -m.

Compiled again from numba-reorder by `inherit` (its source, calling this rung's functions;
backends/cpu/compiled.py): `train_step`, `weighted_sum`.
"""

from __future__ import annotations

import sys

import numpy as np

from . import ops_numba_reorder as previous
from .compiled import inherit, njit
from .ops_numba_reorder import weighted_sum
from .simd_sigmoid import sigmoid

BLOCK = 16
"""Samples fed through the layers together by the forward pass alone (evaluation), a block at a time."""


@njit(cache=True)
def layer_offsets(weights):
    """offsets[l]: the column where layer l starts in a row of activations; offsets[L+1] the row's length.
    (Layer 0, the input, is x itself: its columns stay unused.)"""
    offsets = np.empty(len(weights) + 2, np.int64)
    offsets[0], offsets[1] = 0, weights[0].shape[1]
    for l in range(len(weights)):
        offsets[l + 2] = offsets[l + 1] + weights[l].shape[0]
    return offsets


@njit(cache=True)
def layer_sums(w, inputs, rows, k0, z, j0, m):
    """z[s, j0 + j] = w[j] . a_s, the weighted inputs of the layer's neurons (bias not included), for the samples
    s < m, where a_s is inputs[rows[s], k0:]: a row of x for the first layer, the sample's own row of
    `activations` after it."""
    n_in = w.shape[1]
    for j in range(w.shape[0]):  # one row of weights, for every sample in turn
        w_j = w[j]
        for s in range(m):
            z[s, j0 + j] = weighted_sum(w_j, inputs[rows[s], k0 : k0 + n_in])


@njit(cache=True)
def activate(b, activations, j0, m):
    """a = sigmoid(z + b) in place, for the samples s < m, where activations[s, j0 + j] holds neuron j's z."""
    for s in range(m):
        a = activations[s, j0 : j0 + b.shape[0]]
        for j in range(a.shape[0]):
            a[j] = sigmoid(a[j] + b[j])


@njit(cache=True)
def layer_forward(w, b, inputs, rows, k0, activations, j0, m):
    """activations[s, j0 + j] = sigmoid(w[j] . a_s + b[j]) for the samples s < m (a_s as in layer_sums)."""
    layer_sums(w, inputs, rows, k0, activations, j0, m)
    activate(b, activations, j0, m)


@njit(cache=True)
def feedforward(weights, biases, x, rows, activations, samples, offsets, m):
    """a^1, ..., a^L of the samples x[rows[s]], s < m, layer after layer (`samples`: 0, 1, 2, ...)."""
    layer_forward(weights[0], biases[0], x, rows, 0, activations, offsets[1], m)
    for l in range(1, len(weights)):
        layer_forward(weights[l], biases[l], activations, samples, offsets[l], activations, offsets[l + 1], m)


@njit(cache=True)
def output_delta(a, y, cost, scale, delta):
    """delta = scale * dC/dz^L: (a - y) * a (1 - a) for the quadratic cost, a - y for cross-entropy."""
    one = a.dtype.type(1.0)
    quadratic = cost == "quadratic"
    for j in range(a.shape[0]):
        delta_j = a[j] - y[j]
        if quadratic:
            delta_j *= a[j] * (one - a[j])
        delta[j] = scale * delta_j


@njit(cache=True)
def backprop(weights, activations, deltas, y, rows, offsets, m, cost, scale):
    """delta^l of every layer for the samples s < m, each multiplied by `scale`, into `deltas`."""
    L = len(weights)
    one = activations.dtype.type(1.0)
    for s in range(m):
        output_delta(activations[s, offsets[L] :], y[rows[s]], cost, scale, deltas[s, offsets[L] :])
    for l in range(L - 1, 0, -1):  # weights[l] maps layer l to layer l+1 (the book's w^{l+1})
        w, k0, j0 = weights[l], offsets[l], offsets[l + 1]
        for s in range(m):
            delta = deltas[s, k0:j0]
            for k in range(delta.shape[0]):
                delta[k] = 0.0
        for j in range(w.shape[0]):  # delta^l += delta_j w[j], row after row of w
            w_j = w[j]
            for s in range(m):
                delta, delta_j = deltas[s, k0:j0], deltas[s, j0 + j]
                for k in range(delta.shape[0]):
                    delta[k] += delta_j * w_j[k]
        for s in range(m):
            delta, a = deltas[s, k0:j0], activations[s, k0:j0]
            for k in range(delta.shape[0]):
                delta[k] *= a[k] * (one - a[k])


@njit(cache=True)
def add_gradient_row(w_j, inputs, rows, k0, deltas, column, m, nabla_j):
    """w_j += sum_s delta_j(s) a_s over the samples s < m, for one row w_j of weights, whose deltas are the column
    `column` of `deltas` (a_s as in layer_sums). The sum over the samples is formed first, in nabla_j, and
    rounded into w_j once."""
    n_in = w_j.shape[0]
    for k in range(n_in):
        nabla_j[k] = 0.0
    for s in range(m):
        a, delta_j = inputs[rows[s], k0 : k0 + n_in], deltas[s, column]
        for k in range(n_in):
            nabla_j[k] += delta_j * a[k]
    for k in range(n_in):
        w_j[k] += nabla_j[k]


@njit(cache=True)
def add_bias_gradient(b, deltas, j0, m):
    """b[j] += sum_s delta_j(s) over the samples s < m, for every neuron j of the layer."""
    for j in range(b.shape[0]):
        total = deltas.dtype.type(0)
        for s in range(m):
            total += deltas[s, j0 + j]
        b[j] += total


@njit(cache=True)
def add_gradient(w, b, inputs, rows, k0, deltas, j0, m, nabla):
    """w[j] += sum_s delta_j(s) a_s and b[j] += sum_s delta_j(s) over the samples s < m, for every row j: with the
    deltas scaled by -eta/m, the gradient step itself. `nabla` is a buffer of at least one row of w."""
    for j in range(w.shape[0]):
        add_gradient_row(w[j], inputs, rows, k0, deltas, j0 + j, m, nabla[0])
    add_bias_gradient(b, deltas, j0, m)


NABLA_ROWS = 1
"""Rows of running sums that add_gradient needs (see step_buffers)."""


@njit(cache=True)
def step_buffers(weights, m):
    """What the steps of a call write into, allocated once for all of them: activations and deltas (one row
    per sample), `samples` (0, 1, ..., the row map of `activations` itself), and `nabla`, NABLA_ROWS rows of
    running sums as long as the longest row of weights."""
    offsets = layer_offsets(weights)
    widest = 0
    for w in weights:
        widest = max(widest, w.shape[1])
    dtype = weights[0].dtype
    return (np.empty((m, offsets[-1]), dtype), np.empty((m, offsets[-1]), dtype), np.arange(m),
            np.empty((NABLA_ROWS, widest), dtype))


@njit(cache=True)
def add_gradients(targets_w, targets_b, x, rows, activations, deltas, samples, offsets, m, nabla):
    """add_gradient for every layer: the first layer's inputs are the mini-batch's rows of x, x[rows], the later
    layers' the activations of the layer before."""
    add_gradient(targets_w[0], targets_b[0], x, rows, 0, deltas, offsets[1], m, nabla)
    for l in range(1, len(targets_w)):
        add_gradient(targets_w[l], targets_b[l], activations, samples, offsets[l], deltas, offsets[l + 1], m, nabla)


@njit(cache=True)
def steps(weights, biases, x, y, order, start, stop, batch_size, eta, cost, targets_w, targets_b, activations, deltas,
          samples, nabla):
    """Each mini-batch of order[start:stop] backpropagated, then -eta/m times its gradient added into the targets:
    train_steps passes the weights and biases themselves, gradient zeros and eta = -m. The buffers (see
    step_buffers) serve every mini-batch of the call."""
    offsets = layer_offsets(weights)
    for first in range(start, stop, batch_size):
        m = min(batch_size, stop - first)
        rows = order[first : first + m]
        feedforward(weights, biases, x, rows, activations, samples, offsets, m)
        backprop(weights, activations, deltas, y, rows, offsets, m, cost, -eta / m)
        add_gradients(targets_w, targets_b, x, rows, activations, deltas, samples, offsets, m, nabla)


@njit(cache=True)
def gradient(weights, biases, x, y, batch, cost):
    """(nabla_w, nabla_b): the gradient of the cost, summed over the samples x[i], y[i] for i in `batch`."""
    nabla_w = [np.zeros_like(w) for w in weights]
    nabla_b = [np.zeros_like(b) for b in biases]
    m = len(batch)
    steps(weights, biases, x, y, batch, 0, m, m, -m, cost, nabla_w, nabla_b, *step_buffers(weights, m))
    return nabla_w, nabla_b


@njit(cache=True)
def train_steps(weights, biases, x, y, order, start, stop, batch_size, eta, cost):
    """A gradient step per mini-batch order[start:start+batch_size], ... up to order[:stop], in place."""
    steps(weights, biases, x, y, order, start, stop, batch_size, eta, cost, weights, biases,
          *step_buffers(weights, min(batch_size, stop - start)))


@njit(cache=True)
def all_activations(weights, biases, x):
    """Every layer's activations [A^0, A^1, ..., A^L] for every row of x, one row per sample."""
    n, offsets = x.shape[0], layer_offsets(weights)
    activations, samples = np.empty((n, offsets[-1]), weights[0].dtype), np.arange(n)
    feedforward(weights, biases, x, samples, activations, samples, offsets, n)
    layers = [x.copy()]
    for l in range(1, len(weights) + 1):
        layers.append(activations[:, offsets[l] : offsets[l + 1]].copy())
    return layers


@njit(cache=True)
def outputs(weights, biases, x):
    """The output activations a^L for every row of x, BLOCK rows at a time through one buffer."""
    n, L = x.shape[0], len(weights)
    offsets = layer_offsets(weights)
    result = np.empty((n, weights[-1].shape[0]), weights[0].dtype)
    activations, samples = np.empty((BLOCK, offsets[-1]), weights[0].dtype), np.arange(max(n, BLOCK))
    for b0 in range(0, n, BLOCK):
        m = min(BLOCK, n - b0)
        feedforward(weights, biases, x, samples[b0:], activations, samples, offsets, m)
        result[b0 : b0 + m] = activations[:m, offsets[L] :]
    return result


inherit(previous, globals())


def create():
    return previous.LoopsBackend("numba-blocks", sys.modules[__name__])
