"""numba-blocks without "a SIMD sigmoid": the sigmoid of the rungs before, a call of math.exp into the C library
for each number."""

from __future__ import annotations

import sys

from .. import ops_numba_blocks as rung
from ..compiled import inherit
from ..ops_numba_loops import sigmoid  # noqa: F401  (activate, compiled again here, calls it)

inherit(rung, globals())


def create():
    return rung.LoopsBackend("numba-blocks without a SIMD sigmoid", sys.modules[__name__])
