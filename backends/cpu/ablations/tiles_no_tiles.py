"""numba-tiles without "tiles in registers": numba-blocks' weighted sums, backprop and gradient, one row of
weights and one sample at a time, on the uncounted views of numba-tiles."""

from __future__ import annotations

import sys

from .. import ops_numba_tiles as rung
from ..compiled import inherit
from ..ops_numba_blocks import add_gradient, backprop, layer_sums  # noqa: F401  (the loops without tiles)

NABLA_ROWS = 1

inherit(rung, globals())


def create():
    return rung.LoopsBackend("numba-tiles without tiles", sys.modules[__name__])
