"""Exercise 4: tiles of four neurons.

This file is the rung numba-blocks, whole: everything comes from backends/cpu/ops_numba_blocks.py through `inherit`,
compiled again here, so a function you define in this file replaces that rung's everywhere it is called.

Your change: write your own `layer_sums` (numba-blocks' is in backends/cpu/ops_numba_blocks.py) so that it forms the
weighted sums of four neurons at once, each input a[k] read once for the four of them and the four partial sums kept
in registers.

Check it:  neuro check exercises/04_tiles_of_four.py
The solution is the rung numba-tiles (backends/cpu/ops_numba_tiles.py); docs/exercises.md has a hint.
"""

from __future__ import annotations

import sys

from neuro.backends.cpu import ops_numba_blocks as previous
from neuro.backends.cpu.compiled import inherit, njit  # noqa: F401  (njit: for the functions you write)

BUILDS_ON = "numba-blocks"
CHANGE = "tiles of four neurons (exercise 4)"
SOLUTION = "numba-tiles"

# ---- YOUR CHANGE: write your functions here, above inherit(); each replaces numba-blocks's of the same name ----


inherit(previous, globals())


def unavailable_reason() -> str | None:
    return None


def create():
    return previous.create().__class__("exercise-4", sys.modules[__name__])
