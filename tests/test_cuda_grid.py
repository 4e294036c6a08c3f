"""The launch geometry of the tiled CUDA kernels: every (column, row) of a result gets a thread. Pure Python."""

import pytest

from neuro.backends.ops_cuda import MAX_GRID_Y, grid_tiles

TILE = 16


@pytest.mark.parametrize("columns", [1, 3, 15, 16, 17, 33, 785, 1025])
@pytest.mark.parametrize("rows", [1, 3, 16, 17, 256, 1000, 16 * MAX_GRID_Y + 1])
def test_tiles_cover_every_column_and_row(columns, rows):
    (blocks_x, blocks_y), threads = grid_tiles(columns, rows, TILE)
    assert threads == (TILE, TILE)
    assert (blocks_x - 1) * TILE < columns <= blocks_x * TILE  # every column, and no block without one
    assert 1 <= blocks_y <= MAX_GRID_Y
    if rows <= MAX_GRID_Y * TILE:
        assert (blocks_y - 1) * TILE < rows <= blocks_y * TILE
    else:  # more rows than one grid holds: the kernels' grid-stride loops reach the rest
        assert blocks_y == MAX_GRID_Y
