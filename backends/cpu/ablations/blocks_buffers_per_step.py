"""numba-blocks without "buffers made once": every mini-batch allocates its own activations, deltas and running
sums, as the rungs before allocated per sample and per step."""

from __future__ import annotations

import sys

from .. import ops_numba_blocks as rung
from ..compiled import inherit, njit
from ..ops_numba_blocks import add_gradients, backprop, feedforward, layer_offsets, step_buffers


@njit(cache=True)
def steps(weights, biases, x, y, order, start, stop, batch_size, eta, cost, targets_w, targets_b, activations, deltas,
          samples, nabla):
    """numba-blocks' steps, with fresh buffers for each mini-batch (the ones passed in are not used)."""
    offsets = layer_offsets(weights)
    for first in range(start, stop, batch_size):
        m = min(batch_size, stop - first)
        rows = order[first : first + m]
        own_activations, own_deltas, own_samples, own_nabla = step_buffers(weights, m)
        feedforward(weights, biases, x, rows, own_activations, own_samples, offsets, m)
        backprop(weights, own_activations, own_deltas, y, rows, offsets, m, cost, -eta / m)
        add_gradients(targets_w, targets_b, x, rows, own_activations, own_deltas, own_samples, offsets, m, own_nabla)


inherit(rung, globals())


def create():
    return rung.LoopsBackend("numba-blocks without buffers made once", sys.modules[__name__])
