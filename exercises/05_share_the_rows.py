"""Exercise 5: share the rows between two threads.

This file is the rung numba-tiles, whole: everything comes from backends/cpu/ops_numba_tiles.py through `inherit`,
compiled again here, so a function you define in this file replaces that rung's everywhere it is called.

Your change: run each stretch of steps on a team of threads (backends/cpu/spin_barrier.py has the team and its
barrier): give each thread its own rows of every layer, in whole tiles of four, so that no two threads ever write
the same weight, and keep the phases of a step apart with barriers.

Check it:  neuro check exercises/05_share_the_rows.py
The solution is the rung numba-team (backends/cpu/ops_numba_team.py); docs/exercises.md has a hint.
"""

from __future__ import annotations

import sys

from neuro.backends.cpu import ops_numba_tiles as previous
from neuro.backends.cpu.compiled import inherit, njit  # noqa: F401  (njit: for the functions you write)

BUILDS_ON = "numba-tiles"
CHANGE = "share the rows between two threads (exercise 5)"
SOLUTION = "numba-team"

# ---- YOUR CHANGE: write your functions here, above inherit(); each replaces numba-tiles's of the same name ----


inherit(previous, globals())


def unavailable_reason() -> str | None:
    return None


def create():
    return previous.create().__class__("exercise-5", sys.modules[__name__])
