"""numba-blocks without "the step fused": each mini-batch's gradient goes into zeros first, and a second pass over
every weight takes the step, as the rungs before did. (The sum over the samples is formed the same way and rounded
into the weight once, so the weights come out the same.)"""

from __future__ import annotations

import sys

import numpy as np

from .. import ops_numba_blocks as rung
from ..compiled import inherit, njit
from ..ops_numba_blocks import add_gradients, backprop, feedforward, layer_offsets


@njit(cache=True)
def steps(weights, biases, x, y, order, start, stop, batch_size, eta, cost, targets_w, targets_b, activations, deltas,
          samples, nabla):
    """numba-blocks' steps, the gradient of each mini-batch (times -eta/m) formed in zeros, then added to the
    targets in a pass of its own."""
    offsets = layer_offsets(weights)
    nabla_w = [np.zeros_like(w) for w in targets_w]
    nabla_b = [np.zeros_like(b) for b in targets_b]
    for first in range(start, stop, batch_size):
        m = min(batch_size, stop - first)
        rows = order[first : first + m]
        feedforward(weights, biases, x, rows, activations, samples, offsets, m)
        backprop(weights, activations, deltas, y, rows, offsets, m, cost, -eta / m)
        for l in range(len(nabla_w)):
            nabla_w[l][:] = 0.0
            nabla_b[l][:] = 0.0
        add_gradients(nabla_w, nabla_b, x, rows, activations, deltas, samples, offsets, m, nabla)
        for l in range(len(nabla_w)):
            w, b, nw, nb = targets_w[l], targets_b[l], nabla_w[l], nabla_b[l]
            for j in range(w.shape[0]):
                for k in range(w.shape[1]):
                    w[j, k] += nw[j, k]
                b[j] += nb[j]


inherit(rung, globals())


def create():
    return rung.LoopsBackend("numba-blocks without the step fused", sys.modules[__name__])
