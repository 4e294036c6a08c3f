"""Exercise 3: go layer by layer over the mini-batch.

This file is the rung numba-reorder, whole: everything comes from backends/cpu/ops_numba_reorder.py through
`inherit`, compiled again here, so a function you define in this file replaces that rung's everywhere it is called.

Your change: write `train_steps` (and the `gradient` it shares code with) so that each step goes through the network
layer by layer for the whole mini-batch at once, into buffers made once per stretch, with the update fused into the
gradient sum: read the layer loops of backends/cpu/ops_numba_blocks.py only after you have tried.

Check it:  neuro check exercises/03_layer_by_layer.py
The solution is the rung numba-blocks (backends/cpu/ops_numba_blocks.py); docs/exercises.md has a hint.
"""

from __future__ import annotations

import sys

from neuro.backends.cpu import ops_numba_reorder as previous
from neuro.backends.cpu.compiled import inherit, njit  # noqa: F401  (njit: for the functions you write)

BUILDS_ON = "numba-reorder"
CHANGE = "go layer by layer over the mini-batch (exercise 3)"
SOLUTION = "numba-blocks"

# ---- YOUR CHANGE: write your functions here, above inherit(); each replaces numba-reorder's of the same name ----


inherit(previous, globals())


def unavailable_reason() -> str | None:
    return None


def create():
    return previous.create().__class__("exercise-3", sys.modules[__name__])
