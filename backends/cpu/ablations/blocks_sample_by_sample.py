"""numba-blocks without "layer by layer over the mini-batch": each sample goes through all of a layer's rows of
weights before the next sample does (the loops over rows and samples swapped back), in the weighted sums and in
backprop. Each sample's sums are the same, in the same order; only the order in which the samples meet the
weights changes."""

from __future__ import annotations

import sys

from .. import ops_numba_blocks as rung
from ..compiled import inherit, njit
from ..ops_numba_blocks import output_delta, weighted_sum


@njit(cache=True)
def layer_sums(w, inputs, rows, k0, z, j0, m):
    """z[s, j0 + j] = w[j] . a_s, sample after sample: every row of w for one sample, then the next sample."""
    n_in = w.shape[1]
    for s in range(m):
        a = inputs[rows[s], k0 : k0 + n_in]
        for j in range(w.shape[0]):
            z[s, j0 + j] = weighted_sum(w[j], a)


@njit(cache=True)
def backprop(weights, activations, deltas, y, rows, offsets, m, cost, scale):
    """numba-blocks' backprop, with every row of w added into one sample's delta before the next sample."""
    L = len(weights)
    one = activations.dtype.type(1.0)
    for s in range(m):
        output_delta(activations[s, offsets[L] :], y[rows[s]], cost, scale, deltas[s, offsets[L] :])
    for l in range(L - 1, 0, -1):
        w, k0, j0 = weights[l], offsets[l], offsets[l + 1]
        for s in range(m):
            delta = deltas[s, k0:j0]
            for k in range(delta.shape[0]):
                delta[k] = 0.0
            for j in range(w.shape[0]):
                w_j, delta_j = w[j], deltas[s, j0 + j]
                for k in range(delta.shape[0]):
                    delta[k] += delta_j * w_j[k]
            a = activations[s, k0:j0]
            for k in range(delta.shape[0]):
                delta[k] *= a[k] * (one - a[k])


inherit(rung, globals())


def create():
    return rung.LoopsBackend("numba-blocks without layer by layer", sys.modules[__name__])
