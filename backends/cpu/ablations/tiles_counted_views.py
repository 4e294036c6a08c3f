"""numba-tiles without "uncounted views": the steps take their slices of arrays that count references, as
numba-blocks does."""

from __future__ import annotations

import sys

from .. import ops_numba_tiles as rung
from ..compiled import inherit, njit
from ..ops_numba_tiles import steps


@njit(cache=True)
def steps_on_views(weights, biases, x, y, order, start, stop, batch_size, eta, cost, targets_w, targets_b, activations,
                   deltas, samples, nabla):
    """numba-tiles' `steps`, on the arrays themselves (reference-counted views)."""
    steps(weights, biases, x, y, order, start, stop, batch_size, eta, cost, targets_w, targets_b, activations, deltas,
          samples, nabla)


inherit(rung, globals())


def create():
    return rung.LoopsBackend("numba-tiles without uncounted views", sys.modules[__name__])
