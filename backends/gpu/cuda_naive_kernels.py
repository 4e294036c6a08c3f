"""The kernels of cuda-naive: the loops of ops_python, with the two outer loops handed to GPU threads.

How a loop nest becomes a grid of threads. The pure-Python backend computes, for a mini-batch of m samples,

    for s in samples:                     # feedforward: a[s][j] = sigmoid(b[j] + sum_k a_prev[s][k] w[j][k])
        for j in neurons:                 #   -> the grid's y (s) and x (j): one thread per (s, j)
            for k in inputs: ...          #   -> stays in the thread: its own sum, read from global memory

A kernel keeps the innermost loop (the sum over k) and gives each pair (s, j) of the two outer loops to a
thread of its own: the thread at x = j, y = s of a two-dimensional grid computes exactly one a[s][j], reading
every term of its sum from global memory by itself. Nothing is shared between threads, so nothing lives in
shared memory: this is llm.c's "version 1", the port of the CPU loop that the later rungs improve on.

    x: the column a thread writes (neuron j, input k or weight column k). Threads with consecutive x sit side
       by side in a warp (32 threads that execute together), so their writes touch neighbouring columns of a
       row-major array ("coalesced"). Their reads of w[j][k] in the forward pass are not: 32 threads read 32
       different rows j at once, which is what cuda-tiled mends.
    y: the row: a sample s (or, in the gradient, a neuron j). The host launches enough blocks in y for every
       row, up to CUDA's limit of 65,535 blocks; a thread then loops `for s in range(first, rows, stride)`,
       which runs once unless the data set is larger than one grid: the "grid-stride loop".

Blocks are 32 x 8 threads (fewer for a small layer, see `launch_grid`), rounded up to whole blocks, so a layer
of 17 neurons gets 32 threads across and 15 of them have no neuron: every kernel checks its indices against
the array shapes before touching memory (the classic GPU bug is a kernel that assumes whole blocks).

| kernel                     | thread (x, y) | its loop       | computes                                             |
|----------------------------|---------------|----------------|------------------------------------------------------|
| feedforward_layer, _output | (j, s)        | over inputs k  | a[s][j] = sigmoid(b[j] + sum_k a_prev[s][k] w[j][k]) |
| backprop_delta             | (k, s)        | over next j    | delta[s][k] = (sum_j delta_next[s][j] w_next[j][k])  |
|                            |               |                |               * a[s][k] (1 - a[s][k])                |
| accumulate_gradient,       | (k, j)        | over samples s | dC/dw[j][k] = sum_s delta[s][j] a_prev[s][k]         |
| update_parameters          |               |                | (column k = n_prev: dC/db[j]); the update w -= eta/m |

The gradient gets one thread per weight w[j][k], summing over the samples, so no two threads write the same
number and no atomic additions are needed; the bias b[j], the weight from an extra input whose activation is
always 1, gets the thread of column k = n_prev.

Precision: `type(z)(1.0)` is 1 in the dtype of z. A bare `1.0` is a float64 and would turn every float32
expression it touches into float64 arithmetic (slow on most GPUs, and not what float32 means); the PTX test
checks that the float32 kernels contain no float64 instruction.

These functions are compiled by numba-cuda when first launched with a given dtype (or run as plain Python by
the simulator when NUMBA_ENABLE_CUDASIM=1). `ptx_signatures` lists each kernel's argument types so that
tests/test_cuda_ptx.py can compile every kernel to PTX without a GPU. The device functions here (sigmoid,
output_delta, bias_gradient) and gather_batch are used by every later rung as they are.
"""

from __future__ import annotations

import math

from numba import cuda

BLOCK_X = 32
"""Threads per block along x, the column: one warp, so its memory accesses are neighbouring."""
BLOCK_Y = 8
"""Threads per block along y, the row (the sample): 32 x 8 = 256 per block."""
MAX_GRID_Y = 65_535
"""CUDA's limit on the number of blocks along y; the kernels loop (grid-stride) over any rows beyond it."""


def _threads(n: int, limit: int) -> int:
    """The smallest power of two >= n, at most `limit`: a small layer does not get a mostly idle block."""
    threads = 1
    while threads < min(n, limit):
        threads *= 2
    return threads


def launch_grid(n_columns: int, n_rows: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """(blocks, threads per block) for one thread per (column, row): x the columns, y the rows.

    Blocks are rounded up, so some threads fall outside the arrays (the kernels check); rows beyond MAX_GRID_Y
    blocks are reached by the kernels' grid-stride loops.
    """
    threads = (_threads(n_columns, BLOCK_X), _threads(n_rows, BLOCK_Y))
    blocks = (
        max(1, -(-n_columns // threads[0])),
        max(1, min(MAX_GRID_Y, -(-n_rows // threads[1]))),
    )
    return blocks, threads


# ----------------------------------------------------------------------------------------------------------
# Device functions: called by one thread, for one number, from inside the kernels. inline="always" pastes
# them into each kernel before compilation. The GPU compiler would inline them anyway; asking for it here also
# lets a kernel be compiled to PTX on a machine without a GPU, where numba-cuda cannot compile a separate
# device function (it asks the current device for its compute capability).


@cuda.jit(device=True, inline="always")
def sigmoid(z):
    """1 / (1 + e^-z) in the dtype of z, without overflow: only e^-|z| is taken, which lies in (0, 1]."""
    one = type(z)(1.0)
    if z >= 0:
        return one / (one + math.exp(-z))
    e = math.exp(z)
    return e / (one + e)


@cuda.jit(device=True, inline="always")
def output_delta(a_j, y_j, quadratic):
    """delta^L_j = dC/dz^L_j: (a - y) a (1 - a) for the quadratic cost, a - y for cross-entropy. (A kernel cannot
    take the cost's name, a string, as the CPU backends do: it takes `quadratic`, cost == "quadratic".)"""
    if quadratic:
        return (a_j - y_j) * a_j * (type(a_j)(1.0) - a_j)
    return a_j - y_j


@cuda.jit(device=True, inline="always")
def bias_gradient(delta, j):
    """sum over the samples s of delta[s][j]: dC/db[j], the weight from an input whose activation is always 1."""
    total = type(delta[0, j])(0.0)
    for s in range(delta.shape[0]):
        total += delta[s, j]
    return total


@cuda.jit(device=True, inline="always")
def weighted_input(w, b, a_prev, s, j):
    """z[s][j] = b[j] + sum_k a_prev[s][k] w[j][k]: the weighted input of neuron j for sample s, every term read
    from global memory by this thread alone."""
    z = b[j]
    for k in range(a_prev.shape[1]):
        z += a_prev[s, k] * w[j, k]
    return z


@cuda.jit(device=True, inline="always")
def weight_gradient(delta, a_prev, j, k):
    """sum over the samples s of delta[s][j] a_prev[s][k]: dC/dw[j][k]; for k = n_prev, dC/db[j]."""
    if k == a_prev.shape[1]:
        return bias_gradient(delta, j)
    total = type(delta[0, j])(0.0)
    for s in range(delta.shape[0]):
        total += delta[s, j] * a_prev[s, k]
    return total


# ----------------------------------------------------------------------------------------------------------
# Kernels: launched from the host as kernel[blocks, threads](arguments); one thread per element written.


@cuda.jit
def gather_batch(x, y, order, start, a0, y_batch):
    """a0[s] = x[order[start + s]], y_batch[s] = y[order[start + s]]: the mini-batch, copied into contiguous rows.

    Thread (x = k, y = s) copies column k of sample s: of the input if k < n_0, of the target if k < n_L.
    """
    k, first = cuda.grid(2)
    rows = cuda.gridsize(2)[1]
    for s in range(first, a0.shape[0], rows):
        i = order[start + s]
        if k < a0.shape[1]:
            a0[s, k] = x[i, k]
        if k < y_batch.shape[1]:
            y_batch[s, k] = y[i, k]


@cuda.jit
def feedforward_layer(w, b, a_prev, a):
    """a[s][j] = sigmoid(b[j] + sum_k a_prev[s][k] w[j][k]): one layer, every sample. Thread (x = j, y = s)."""
    j, first = cuda.grid(2)
    rows = cuda.gridsize(2)[1]
    if j < a.shape[1]:
        for s in range(first, a.shape[0], rows):
            a[s, j] = sigmoid(weighted_input(w, b, a_prev, s, j))


@cuda.jit
def feedforward_output_layer(w, b, a_prev, y, quadratic, a, delta):
    """The last layer's a[s][j], and with it delta^L[s][j] = output_delta(a[s][j], y[s][j]). Thread (x = j, y = s).

    Fused: the thread that has just computed a^L_j holds everything delta^L_j needs, so computing it here saves
    a launch and a second read of a^L.
    """
    j, first = cuda.grid(2)
    rows = cuda.gridsize(2)[1]
    if j < a.shape[1]:
        for s in range(first, a.shape[0], rows):
            a_j = sigmoid(weighted_input(w, b, a_prev, s, j))
            a[s, j] = a_j
            delta[s, j] = output_delta(a_j, y[s, j], quadratic)


@cuda.jit
def backprop_delta(w_next, delta_next, a, delta):
    """delta[s][k] = (sum_j delta_next[s][j] w_next[j][k]) * a[s][k] (1 - a[s][k]). Thread (x = k, y = s).

    Neuron k collects the deltas of the neurons it fed, through column k of the next layer's weights; the
    threads of a warp read neighbouring columns k of w_next[j] at the same time.
    """
    k, first = cuda.grid(2)
    rows = cuda.gridsize(2)[1]
    if k < delta.shape[1]:
        for s in range(first, delta.shape[0], rows):
            a_k = a[s, k]
            total = type(a_k)(0.0)
            for j in range(delta_next.shape[1]):
                total += delta_next[s, j] * w_next[j, k]
            delta[s, k] = total * a_k * (type(a_k)(1.0) - a_k)


@cuda.jit
def accumulate_gradient(delta, a_prev, nabla_w, nabla_b):
    """nabla_w[j][k] = sum_s delta[s][j] a_prev[s][k] and nabla_b[j] = sum_s delta[s][j]. Thread (x = k, y = j).

    Columns k = 0 .. n_prev - 1 are the weights, column k = n_prev the bias.
    """
    k, first = cuda.grid(2)
    rows = cuda.gridsize(2)[1]
    n_prev = a_prev.shape[1]
    if k <= n_prev:
        for j in range(first, delta.shape[1], rows):
            g = weight_gradient(delta, a_prev, j, k)
            if k < n_prev:
                nabla_w[j, k] = g
            else:
                nabla_b[j] = g


@cuda.jit
def update_parameters(delta, a_prev, step, w, b):
    """w[j][k] -= step * sum_s delta[s][j] a_prev[s][k], b[j] -= step * sum_s delta[s][j], step = eta/m.

    The gradient and the step fused: each thread sums its weight's gradient and applies it at once, so the
    gradient matrix is never stored. Safe because no thread of this launch reads w or b. Thread (x = k, y = j).
    """
    k, first = cuda.grid(2)
    rows = cuda.gridsize(2)[1]
    n_prev = a_prev.shape[1]
    if k <= n_prev:
        for j in range(first, delta.shape[1], rows):
            g = weight_gradient(delta, a_prev, j, k)
            if k < n_prev:
                w[j, k] -= step * g
            else:
                b[j] -= step * g


KERNELS = {
    kernel.__name__: kernel
    for kernel in (gather_batch, feedforward_layer, feedforward_output_layer, backprop_delta,
                   accumulate_gradient, update_parameters)
}


def ptx_signatures(dtype: str) -> dict[str, tuple]:
    """Each kernel's argument types, as the backend launches it with arrays of `dtype` (C-contiguous)."""
    types = cuda.types
    real = getattr(types, dtype)
    vector, matrix = real[::1], real[:, ::1]
    return {
        "gather_batch": (matrix, matrix, types.int64[::1], types.int64, matrix, matrix),
        "feedforward_layer": (matrix, vector, matrix, matrix),
        "feedforward_output_layer": (matrix, vector, matrix, matrix, types.boolean, matrix, matrix),
        "backprop_delta": (matrix, matrix, matrix, matrix),
        "accumulate_gradient": (matrix, matrix, matrix, vector),
        "update_parameters": (matrix, matrix, real, matrix, vector),
    }
