"""The launch geometry of every cuda rung's kernels: every (column, row) of a result gets a thread. Pure Python."""

import pytest

from neuro.backends.gpu import cuda_naive_kernels, cuda_register_blocked_kernels, cuda_tiled_kernels
from neuro.backends.gpu.cuda_naive_kernels import MAX_GRID_Y

OUTPUTS_PER_THREAD = {
    cuda_naive_kernels: 1,
    cuda_tiled_kernels: 1,
    cuda_register_blocked_kernels: cuda_register_blocked_kernels.PATCH,
}
"""How many numbers of a row (and of a column) each thread of a rung's kernels writes."""


@pytest.mark.parametrize("kernels", list(OUTPUTS_PER_THREAD), ids=lambda module: module.__name__.rpartition(".")[2])
@pytest.mark.parametrize("columns", [1, 3, 15, 16, 17, 33, 785, 1025])
@pytest.mark.parametrize("rows", [1, 3, 16, 17, 256, 1000, 4 * MAX_GRID_Y + 1, 64 * MAX_GRID_Y + 1])
def test_grid_covers_every_column_and_row(kernels, columns, rows):
    (blocks_x, blocks_y), (threads_x, threads_y) = kernels.launch_grid(columns, rows)
    across, down = threads_x * OUTPUTS_PER_THREAD[kernels], threads_y * OUTPUTS_PER_THREAD[kernels]
    assert (blocks_x - 1) * across < columns <= blocks_x * across  # every column, and no block without one
    assert 1 <= blocks_y <= MAX_GRID_Y
    if rows <= MAX_GRID_Y * down:
        assert (blocks_y - 1) * down < rows <= blocks_y * down
    else:  # more rows than one grid holds: the kernels' grid-stride loops reach the rest
        assert blocks_y == MAX_GRID_Y


def test_a_blocked_thread_copies_whole_tiles():
    """Each of a block's threads copies the same number of each tile's entries, and together all of them."""
    k = cuda_register_blocked_kernels
    assert k.LOADS * k.EDGE * k.EDGE == k.BLOCK * k.DEPTH
