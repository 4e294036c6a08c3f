"""The kernels of cuda-tiled: cuda-naive's kernels, with every sum taken through tiles of shared memory.

What changed from cuda-naive (cuda_naive_kernels.py): the sum inside each thread. There, every thread reads
every term of its sum from global memory on its own; here a block of TILE x TILE threads shares them, staging
TILE terms at a time through shared memory (`tiled_sum`). Why the GPU runs it faster: each number fetched from
global memory now serves TILE threads instead of one, and the forward pass's reads of w, which in the naive
kernels sent the 32 threads of a warp to 32 different rows at once, become neighbouring reads of one row.
The grid, the device functions (sigmoid, output_delta, bias_gradient) and gather_batch are cuda-naive's.

The thread layout. The loop nest of a layer, for a mini-batch of m samples, and where each loop went:

    for s0 in tiles of samples:           # the grid's y: a block per TILE samples (grid-stride beyond 65,535)
        for j0 in tiles of neurons:       # the grid's x: a block per TILE neurons
            for s, j in the tile:         # the block's TILE x TILE threads, one per (s, j) as in cuda-naive
                for k0 in tiles of k:     # stays in the thread, in step with the block:
                    (copy TILE x TILE of a_prev and of w into shared memory, one number per thread; wait)
                    for k in the tile:    #   the sum, from shared memory
                        z += a_prev[s][k] w[j][k]

    x: the column a thread writes (neuron j, input k or weight column k). Threads with consecutive x sit
       side by side in a warp (the 32 threads that execute together: two rows of 16 in a 16 x 16 block), so
       they touch neighbouring columns of a row-major array, which the GPU reads in few memory transactions
       ("coalesced").
    y: the row: a sample s (or, in the gradient, a neuron j). A block loops `for r0 in range(first, rows,
       stride)`, which runs once unless the rows outnumber one grid: the "grid-stride loop".

Shared memory holds the two tiles being summed (2 x 16 x 17 numbers): the only data that several threads of a
block read, which is what shared memory (on chip, visible to the whole block) is for.

Every kernel's arithmetic is one kind of sum, out[r][c] = sum_t L[r][t] R[t][c] (a matrix product), so every
kernel computes it the same way, in `tiled_sum`: a block of TILE x TILE threads computes a TILE x TILE tile of
out, staging TILE values of t at a time through shared memory, where each number fetched from global memory
serves TILE threads. Grids are rounded up to whole blocks, so a layer of 17 neurons gets 32 threads across and
15 of them have no neuron: they still help copy the tiles, but every kernel checks its indices against the
array shapes before reading or writing global memory (the classic GPU bug is a kernel that assumes whole
blocks).

| kernel                     | out[r][c]          | r  | c  | t, summed | L[r][t]          | R[t][c]      |
|----------------------------|--------------------|----|----|-----------|------------------|--------------|
| feedforward_layer, _output | z[s][j] - b[j]     | s  | j  | k         | a_prev[s][k]     | w[j][k]      |
| backprop_delta             | delta[s][k]/a(1-a) | s  | k  | j         | delta_next[s][j] | w_next[j][k] |
| accumulate_gradient,       | dC/dw[j][k]        | j  | k  | s         | delta[s][j]      | a_prev[s][k] |
| update_parameters          |                    |    |    |           |                  |              |

(gather_batch only copies the mini-batch: blocks of 32 x 8 threads, no sum.)

The gradient gets one thread per weight w[j][k], summing over the samples, so no two threads write the same
number and no atomic additions are needed; the bias b[j], the weight from an extra input whose activation is
always 1, gets the thread of column k = n_prev.

Precision: `type(z)(1.0)` is 1 in the dtype of z. A bare `1.0` is a float64 and would turn every float32
expression it touches into float64 arithmetic (slow on most GPUs, and not what float32 means); the PTX test
checks that the float32 kernels contain no float64 instruction. Every sum runs over t in order (a weighted
input starts from the bias, where the Python backend adds it last, and the GPU compiler fuses each multiply
and add into one rounding); the tiles' padding adds exact zeros at the end. So the results are not the other
backends' bit for bit: they agree within the rounding bound that the agreement tests check.

These functions are compiled by numba-cuda when first launched with a given dtype (or run as plain Python by
the simulator when NUMBA_ENABLE_CUDASIM=1). `ptx_signatures` (cuda-naive's: the kernels take the same arguments)
lists each kernel's argument types so that tests/test_cuda_ptx.py can compile every kernel to PTX without a GPU.
"""

from __future__ import annotations

from numba import cuda

from .cuda_naive_kernels import MAX_GRID_Y, bias_gradient, gather_batch, output_delta, sigmoid

# The tiles change how the sums are made, not what the kernels take: the same arguments, the same signatures.
from .cuda_naive_kernels import ptx_signatures as ptx_signatures

TILE = 16
"""Every kernel but gather_batch runs in blocks of TILE x TILE threads (256), each computing a TILE x TILE tile
of its result, and sums TILE terms at a time through shared memory."""
TILE_SHAPE = (TILE, TILE + 1)
"""A tile in shared memory. The extra column of padding puts the numbers of one tile column in different memory
banks, so the threads of a warp storing a column at once (tile[tx, ty]) do not queue for the same bank."""


def launch_grid(n_columns: int, n_rows: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """(blocks, threads per block) for the tiled kernels: square blocks of TILE x TILE threads, one thread per
    (column, row), whole tiles (the threads outside the result still help copy the tiles); rows beyond
    MAX_GRID_Y blocks are reached by the kernels' grid-stride loops."""
    return grid_tiles(n_columns, n_rows, TILE)


def grid_tiles(n_columns: int, n_rows: int, tile: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """(blocks, threads): blocks of tile x tile threads covering n_columns x n_rows, at most MAX_GRID_Y along y."""
    blocks = (max(1, -(-n_columns // tile)), max(1, min(MAX_GRID_Y, -(-n_rows // tile))))
    return blocks, (tile, tile)

# ----------------------------------------------------------------------------------------------------------
# Device functions: called by one thread, for one number, from inside the kernels. inline="always" pastes
# them into each kernel before compilation. The GPU compiler would inline them anyway; asking for it here also
# lets a kernel be compiled to PTX on a machine without a GPU, where numba-cuda cannot compile a separate
# device function (it asks the current device for its compute capability).


@cuda.jit(device=True, inline="always")
def tiled_sum(total, left, left_by_t, right, right_by_c, r0, c0, shape, left_tile, right_tile):
    """total + sum_t L[r][t] R[t][c], for this thread's r = r0 + ty and c = c0 + tx; shape = (rows, columns, t's).

    L[r][t] is left[r, t], or left[t, r] when left_by_t; R[t][c] is right[t, c], or right[c, t] when right_by_c.

    The block's TILE x TILE threads compute the sums of rows r0 .. r0 + TILE - 1 and columns c0 .. c0 + TILE - 1.
    Every thread of a block row needs the same row of L, every thread of a block column the same column of R.
    So instead of each thread reading them from global memory on its own, the block copies TILE values of t at
    a time into shared memory, each thread one number of each, neighbouring threads (tx) reading neighbouring
    numbers of a row of memory (coalesced), zero outside the arrays; waits until the tiles are full; and then
    each thread takes its TILE products from there.

    Every thread of the block must call this, also one whose (r, c) lies outside the result: it still copies
    its share of the tiles, and syncthreads() waits for all of them.
    """
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    rows, columns, n_t = shape
    zero = type(total)(0.0)
    for t0 in range(0, n_t, TILE):
        if left_by_t:  # memory holds left[t, r], rows of r: tx runs along r
            r, t = r0 + tx, t0 + ty
            left_tile[tx, ty] = left[t, r] if r < rows and t < n_t else zero
        else:  # left[r, t]: tx runs along t
            r, t = r0 + ty, t0 + tx
            left_tile[ty, tx] = left[r, t] if r < rows and t < n_t else zero
        if right_by_c:  # right[c, t]: tx runs along t
            c, t = c0 + ty, t0 + tx
            right_tile[tx, ty] = right[c, t] if c < columns and t < n_t else zero
        else:  # right[t, c]: tx runs along c
            c, t = c0 + tx, t0 + ty
            right_tile[ty, tx] = right[t, c] if c < columns and t < n_t else zero
        cuda.syncthreads()  # the tiles are full
        for t in range(TILE):  # a fixed count: the compiler unrolls it
            total += left_tile[ty, t] * right_tile[t, tx]
        cuda.syncthreads()  # every thread is done with them before the next copy overwrites them
    return total


@cuda.jit(device=True, inline="always")
def weighted_input(w, b, a_prev, s0, j0, left_tile, right_tile):
    """z[s][j] = b[j] + sum_k a_prev[s][k] w[j][k], for this thread's s = s0 + ty and j = j0 + tx: the weighted
    input of a neuron, the sum of both forward kernels. Every thread of the block calls it (see tiled_sum)."""
    j = j0 + cuda.threadIdx.x
    z = b[j] if j < w.shape[0] else type(left_tile[0, 0])(0.0)
    return tiled_sum(z, a_prev, False, w, True, s0, j0, (a_prev.shape[0], w.shape[0], a_prev.shape[1]),
                     left_tile, right_tile)


# ----------------------------------------------------------------------------------------------------------
# Kernels: launched from the host as kernel[blocks, threads](arguments); one thread per element written.


@cuda.jit
def feedforward_layer(w, b, a_prev, a):
    """a[s][j] = sigmoid(sum_k a_prev[s][k] w[j][k] + b[j]): one layer, every sample. Thread (x = j, y = s)."""
    left_tile = cuda.shared.array(TILE_SHAPE, a.dtype)
    right_tile = cuda.shared.array(TILE_SHAPE, a.dtype)
    j0 = cuda.blockIdx.x * TILE
    j = j0 + cuda.threadIdx.x
    for s0 in range(cuda.blockIdx.y * TILE, a.shape[0], cuda.gridDim.y * TILE):
        s = s0 + cuda.threadIdx.y
        z = weighted_input(w, b, a_prev, s0, j0, left_tile, right_tile)
        if s < a.shape[0] and j < a.shape[1]:
            a[s, j] = sigmoid(z)


@cuda.jit
def feedforward_output_layer(w, b, a_prev, y, quadratic, a, delta):
    """The last layer's a[s][j], and with it delta^L[s][j] = output_delta(a[s][j], y[s][j]). Thread (x = j, y = s).

    Fused: the thread that has just computed a^L_j holds everything delta^L_j needs, so computing it here saves
    a launch and a second read of a^L.
    """
    left_tile = cuda.shared.array(TILE_SHAPE, a.dtype)
    right_tile = cuda.shared.array(TILE_SHAPE, a.dtype)
    j0 = cuda.blockIdx.x * TILE
    j = j0 + cuda.threadIdx.x
    for s0 in range(cuda.blockIdx.y * TILE, a.shape[0], cuda.gridDim.y * TILE):
        s = s0 + cuda.threadIdx.y
        z = weighted_input(w, b, a_prev, s0, j0, left_tile, right_tile)
        if s < a.shape[0] and j < a.shape[1]:
            a_j = sigmoid(z)
            a[s, j] = a_j
            delta[s, j] = output_delta(a_j, y[s, j], quadratic)


@cuda.jit
def backprop_delta(w_next, delta_next, a, delta):
    """delta[s][k] = (sum_j delta_next[s][j] w_next[j][k]) * a[s][k] (1 - a[s][k]). Thread (x = k, y = s).

    Neuron k collects the deltas of the neurons it fed, through column k of the next layer's weights.
    """
    left_tile = cuda.shared.array(TILE_SHAPE, a.dtype)
    right_tile = cuda.shared.array(TILE_SHAPE, a.dtype)
    k0 = cuda.blockIdx.x * TILE
    k = k0 + cuda.threadIdx.x
    for s0 in range(cuda.blockIdx.y * TILE, delta.shape[0], cuda.gridDim.y * TILE):
        s = s0 + cuda.threadIdx.y
        total = tiled_sum(type(left_tile[0, 0])(0.0), delta_next, False, w_next, False, s0, k0,
                          (delta.shape[0], delta.shape[1], delta_next.shape[1]), left_tile, right_tile)
        if s < delta.shape[0] and k < delta.shape[1]:
            a_k = a[s, k]
            delta[s, k] = total * a_k * (type(a_k)(1.0) - a_k)


@cuda.jit(device=True, inline="always")
def gradient_tile(delta, a_prev, j0, k0, left_tile, right_tile):
    """dC/dw[j][k] = sum_s delta[s][j] a_prev[s][k] for this thread's j = j0 + ty, k = k0 + tx (if k < n_prev),
    and dC/db[j] for the thread of column k = n_prev. Every thread of the block calls it (see tiled_sum)."""
    n_prev = a_prev.shape[1]
    g = tiled_sum(type(left_tile[0, 0])(0.0), delta, True, a_prev, False, j0, k0,
                  (delta.shape[1], n_prev, delta.shape[0]), left_tile, right_tile)
    j = j0 + cuda.threadIdx.y
    if k0 + cuda.threadIdx.x == n_prev and j < delta.shape[1]:
        g = bias_gradient(delta, j)
    return g


@cuda.jit
def accumulate_gradient(delta, a_prev, nabla_w, nabla_b):
    """nabla_w[j][k] = sum_s delta[s][j] a_prev[s][k] and nabla_b[j] = sum_s delta[s][j]. Thread (x = k, y = j).

    Columns k = 0 .. n_prev - 1 are the weights, column k = n_prev the bias.
    """
    left_tile = cuda.shared.array(TILE_SHAPE, a_prev.dtype)
    right_tile = cuda.shared.array(TILE_SHAPE, a_prev.dtype)
    n_prev = a_prev.shape[1]
    k0 = cuda.blockIdx.x * TILE
    k = k0 + cuda.threadIdx.x
    for j0 in range(cuda.blockIdx.y * TILE, delta.shape[1], cuda.gridDim.y * TILE):
        j = j0 + cuda.threadIdx.y
        g = gradient_tile(delta, a_prev, j0, k0, left_tile, right_tile)
        if j < delta.shape[1]:
            if k < n_prev:
                nabla_w[j, k] = g
            elif k == n_prev:
                nabla_b[j] = g


@cuda.jit
def update_parameters(delta, a_prev, step, w, b):
    """w[j][k] -= step * sum_s delta[s][j] a_prev[s][k], b[j] -= step * sum_s delta[s][j], step = eta/m.

    The gradient and the step fused: each thread sums its weight's gradient and applies it at once, so the
    gradient matrix is never stored. Safe because no thread of this launch reads w or b. Thread (x = k, y = j).
    """
    left_tile = cuda.shared.array(TILE_SHAPE, a_prev.dtype)
    right_tile = cuda.shared.array(TILE_SHAPE, a_prev.dtype)
    n_prev = a_prev.shape[1]
    k0 = cuda.blockIdx.x * TILE
    k = k0 + cuda.threadIdx.x
    for j0 in range(cuda.blockIdx.y * TILE, delta.shape[1], cuda.gridDim.y * TILE):
        j = j0 + cuda.threadIdx.y
        g = gradient_tile(delta, a_prev, j0, k0, left_tile, right_tile)
        if j < delta.shape[1]:
            if k < n_prev:
                w[j, k] -= step * g
            elif k == n_prev:
                b[j] -= step * g


KERNELS = {
    kernel.__name__: kernel
    for kernel in (gather_batch, feedforward_layer, feedforward_output_layer, backprop_delta,
                   accumulate_gradient, update_parameters)
}
