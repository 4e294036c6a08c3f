"""The launch geometry of the tiled CUDA kernels: every (column, row) of a result gets a thread. Pure Python."""

import pytest

from neuro.backends.ops_cuda import MAX_GRID_Y, grid_tiles


@pytest.mark.parametrize("tile", [4, 16])
@pytest.mark.parametrize("columns", [1, 3, 15, 16, 17, 33, 785, 1025])
@pytest.mark.parametrize("rows", [1, 3, 16, 17, 256, 1000, 4 * MAX_GRID_Y + 1, 16 * MAX_GRID_Y + 1])
def test_tiles_cover_every_column_and_row(tile, columns, rows):
    (blocks_x, blocks_y), threads = grid_tiles(columns, rows, tile)
    assert threads == (tile, tile)
    assert (blocks_x - 1) * tile < columns <= blocks_x * tile  # every column, and no block without one
    assert 1 <= blocks_y <= MAX_GRID_Y
    if rows <= MAX_GRID_Y * tile:
        assert (blocks_y - 1) * tile < rows <= blocks_y * tile
    else:  # more rows than one grid holds: the kernels' grid-stride loops reach the rest
        assert blocks_y == MAX_GRID_Y
