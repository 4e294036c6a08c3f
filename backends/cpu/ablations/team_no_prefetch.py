"""numba-team without "the next rows fetched ahead": `fetch_rows` asks for nothing."""

from __future__ import annotations

import sys

from .. import ops_numba_team as rung
from ..compiled import inherit, njit


@njit(cache=True)
def fetch_rows(table, rows):
    """Nothing fetched ahead: the rows are read when the loops reach them."""
    return


inherit(rung, globals())


def create():
    return rung.TeamBackend("numba-team without rows fetched ahead", sys.modules[__name__])
