"""Exercise 2: let the compiler reorder the sums.

This rung is numba-loops again, with its `weighted_sum` written out here: `z += w_j[k] * a[k]` in the order
written, each addition waiting for the one before. Your change: allow Numba to reassociate the additions (and to
fuse each multiply and add), in this one function and nowhere else. Everything else comes from numba-loops
through `inherit`, compiled again so that it calls this file's weighted_sum.

Check it:  neuro check exercises/02_reorder_sums.py
The solution is the rung numba-reorder (backends/cpu/ops_numba_reorder.py); docs/exercises.md has a hint.
"""

from __future__ import annotations

import sys

from neuro.backends.cpu import ops_numba_loops as previous
from neuro.backends.cpu.compiled import inherit, njit

BUILDS_ON = "numba-loops"
CHANGE = "sums the compiler may reorder (exercise 2)"
SOLUTION = "numba-reorder"


@njit(cache=True)  # YOUR CHANGE: the option that lets these additions run in any order
def weighted_sum(w_j, a):
    """sum_k w_j[k] a[k]: the weighted input of the neuron whose weights are w_j (its bias not included)."""
    z = w_j.dtype.type(0)
    for k in range(a.shape[0]):
        z += w_j[k] * a[k]
    return z


inherit(previous, globals())


def unavailable_reason() -> str | None:
    return None


def create():
    return previous.LoopsBackend("exercise-2", sys.modules[__name__])
