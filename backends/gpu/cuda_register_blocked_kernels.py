"""The kernels of cuda-register-blocked: cuda-tiled's sums, with each thread computing a 4 x 4 patch of the result.

What changed from cuda-tiled (cuda_tiled_kernels.py): how much each thread computes. There, each thread of a 16 x 16
block computes one number of the result, and for every product it takes two numbers out of shared memory: one
multiply-add per two shared-memory reads. Here each thread computes PATCH x PATCH = 16 numbers: for every t it
reads PATCH numbers of L's column and PATCH of R's row from shared memory into registers and forms all
PATCH x PATCH products from those registers, 16 multiply-adds per 8 reads. Why the GPU should run it faster:
where the tiled kernels wait on shared memory rather than on arithmetic (long sums, as in the wide network),
holding the partial sums and the operands in registers, the fastest memory there is, lets the multiply-adds run
back to back; scripts/gpu-check.sh measures it on a GPU. It is the
step after tiling in every GEMM tutorial (siboehm's SGEMM_CUDA, kernel 5). Not done: vectorised loads
(float4), which numba-cuda offers no direct way to issue from an array.

The thread layout. Every kernel is the same sum as in cuda-tiled, out[r][c] = sum_t L[r][t] R[t][c] (its table
of kernels holds here too), and the loop nest becomes:

    for r0 in row tiles of BLOCK:            # the grid's y (grid-stride beyond 65,535 blocks)
        for c0 in column tiles of BLOCK:     # the grid's x
            for (ty, tx) in EDGE x EDGE:     # the block's 64 threads
                for t0 in steps of DEPTH:    # in the thread, in step with the block:
                    (copy BLOCK x DEPTH of L and DEPTH x BLOCK of R to shared memory, 8 numbers per thread; wait)
                    for t in DEPTH:
                        l[p] = L[r0 + ty + EDGE p][t], r[q] = R[t][c0 + tx + EDGE q]   # p, q < PATCH: registers
                        acc[p][q] += l[p] r[q]                                      # 16 products, registers

A thread's patch is strided: rows ty, ty + 8, ty + 16, ty + 24 of the block's tile and columns tx, tx + 8, ...,
so that threads with consecutive tx still write neighbouring numbers of a row (coalesced) and read neighbouring
numbers of a shared-memory row (no bank conflicts), as in cuda-tiled. Shared memory holds the two tiles being
summed; the patch's partial sums (acc) and operands live in registers (`cuda.local.array` of a fixed size,
indexed only by loop counters the compiler unrolls, which it then keeps in registers).
"""

from __future__ import annotations

from numba import cuda

from .cuda_naive_kernels import MAX_GRID_Y, bias_gradient, gather_batch, output_delta, sigmoid

EDGE = 8
"""Threads per block along x and along y: 8 x 8 = 64 threads."""
PATCH = 4
"""Each thread computes PATCH x PATCH numbers of the result."""
BLOCK = EDGE * PATCH
"""A block computes a BLOCK x BLOCK tile of the result (32 x 32)."""
DEPTH = 16
"""Terms of the sum staged through shared memory at a time."""
LOADS = BLOCK * DEPTH // (EDGE * EDGE)
"""Numbers of each tile that each thread copies from global memory per stage (8)."""
LEFT_SHAPE = (BLOCK, DEPTH + 1)
"""L's tile in shared memory, [r][t]; the padding column spreads a tile column over different memory banks."""
RIGHT_SHAPE = (DEPTH, BLOCK + 1)
"""R's tile in shared memory, [t][c], padded likewise."""
PATCH_SHAPE = (PATCH, PATCH)


def launch_grid(n_columns: int, n_rows: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """(blocks, threads per block): blocks of EDGE x EDGE threads, each block a BLOCK x BLOCK tile of the result;
    rows beyond MAX_GRID_Y blocks are reached by the kernels' grid-stride loops."""
    blocks = (max(1, -(-n_columns // BLOCK)), max(1, min(MAX_GRID_Y, -(-n_rows // BLOCK))))
    return blocks, (EDGE, EDGE)


@cuda.jit(device=True, inline="always")
def blocked_sum(acc, left, left_by_t, right, right_by_c, r0, c0, shape, left_tile, right_tile):
    """acc[p][q] = sum_t L[r][t] R[t][c] for r = r0 + ty + EDGE p and c = c0 + tx + EDGE q; shape = (rows,
    columns, t's). L[r][t] is left[r, t], or left[t, r] when left_by_t; R[t][c] is right[t, c], or right[c, t]
    when right_by_c. Every thread of the block must call this (it copies its share of the tiles)."""
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    thread = ty * EDGE + tx
    rows, columns, n_t = shape
    zero = type(acc[0, 0])(0.0)
    left_column = cuda.local.array(PATCH, acc.dtype)
    right_row = cuda.local.array(PATCH, acc.dtype)
    for p in range(PATCH):
        for q in range(PATCH):
            acc[p, q] = zero
    for t0 in range(0, n_t, DEPTH):
        for i in range(LOADS):  # consecutive threads copy numbers that are neighbours in memory
            e = thread + i * EDGE * EDGE
            if left_by_t:  # memory holds left[t, r]
                t, r = e // BLOCK, e % BLOCK
                inside = r0 + r < rows and t0 + t < n_t
                left_tile[r, t] = left[t0 + t, r0 + r] if inside else zero
            else:  # left[r, t]
                r, t = e // DEPTH, e % DEPTH
                inside = r0 + r < rows and t0 + t < n_t
                left_tile[r, t] = left[r0 + r, t0 + t] if inside else zero
            if right_by_c:  # right[c, t]
                c, t = e // DEPTH, e % DEPTH
                inside = c0 + c < columns and t0 + t < n_t
                right_tile[t, c] = right[c0 + c, t0 + t] if inside else zero
            else:  # right[t, c]
                t, c = e // BLOCK, e % BLOCK
                inside = c0 + c < columns and t0 + t < n_t
                right_tile[t, c] = right[t0 + t, c0 + c] if inside else zero
        cuda.syncthreads()  # the tiles are full
        for t in range(DEPTH):
            for p in range(PATCH):
                left_column[p] = left_tile[ty + EDGE * p, t]
            for q in range(PATCH):
                right_row[q] = right_tile[t, tx + EDGE * q]
            for p in range(PATCH):
                for q in range(PATCH):
                    acc[p, q] += left_column[p] * right_row[q]
        cuda.syncthreads()  # every thread is done with the tiles before the next copy overwrites them


# ----------------------------------------------------------------------------------------------------------
# Kernels: launched as kernel[launch_grid(columns, rows)](arguments); each thread writes its patch.


@cuda.jit
def feedforward_layer(w, b, a_prev, a):
    """a[s][j] = sigmoid(b[j] + sum_k a_prev[s][k] w[j][k]): one layer, every sample. Patch of (s, j)'s."""
    left_tile = cuda.shared.array(LEFT_SHAPE, a.dtype)
    right_tile = cuda.shared.array(RIGHT_SHAPE, a.dtype)
    acc = cuda.local.array(PATCH_SHAPE, a.dtype)
    j0 = cuda.blockIdx.x * BLOCK
    for s0 in range(cuda.blockIdx.y * BLOCK, a.shape[0], cuda.gridDim.y * BLOCK):
        blocked_sum(acc, a_prev, False, w, True, s0, j0, (a.shape[0], a.shape[1], a_prev.shape[1]),
                    left_tile, right_tile)
        for p in range(PATCH):
            s = s0 + cuda.threadIdx.y + EDGE * p
            for q in range(PATCH):
                j = j0 + cuda.threadIdx.x + EDGE * q
                if s < a.shape[0] and j < a.shape[1]:
                    a[s, j] = sigmoid(b[j] + acc[p, q])


@cuda.jit
def feedforward_output_layer(w, b, a_prev, y, quadratic, a, delta):
    """The last layer's a[s][j], and with it delta^L[s][j] = output_delta(a[s][j], y[s][j]). Patch of (s, j)'s."""
    left_tile = cuda.shared.array(LEFT_SHAPE, a.dtype)
    right_tile = cuda.shared.array(RIGHT_SHAPE, a.dtype)
    acc = cuda.local.array(PATCH_SHAPE, a.dtype)
    j0 = cuda.blockIdx.x * BLOCK
    for s0 in range(cuda.blockIdx.y * BLOCK, a.shape[0], cuda.gridDim.y * BLOCK):
        blocked_sum(acc, a_prev, False, w, True, s0, j0, (a.shape[0], a.shape[1], a_prev.shape[1]),
                    left_tile, right_tile)
        for p in range(PATCH):
            s = s0 + cuda.threadIdx.y + EDGE * p
            for q in range(PATCH):
                j = j0 + cuda.threadIdx.x + EDGE * q
                if s < a.shape[0] and j < a.shape[1]:
                    a_j = sigmoid(b[j] + acc[p, q])
                    a[s, j] = a_j
                    delta[s, j] = output_delta(a_j, y[s, j], quadratic)


@cuda.jit
def backprop_delta(w_next, delta_next, a, delta):
    """delta[s][k] = (sum_j delta_next[s][j] w_next[j][k]) * a[s][k] (1 - a[s][k]). Patch of (s, k)'s."""
    left_tile = cuda.shared.array(LEFT_SHAPE, a.dtype)
    right_tile = cuda.shared.array(RIGHT_SHAPE, a.dtype)
    acc = cuda.local.array(PATCH_SHAPE, a.dtype)
    k0 = cuda.blockIdx.x * BLOCK
    for s0 in range(cuda.blockIdx.y * BLOCK, delta.shape[0], cuda.gridDim.y * BLOCK):
        blocked_sum(acc, delta_next, False, w_next, False, s0, k0,
                    (delta.shape[0], delta.shape[1], delta_next.shape[1]), left_tile, right_tile)
        for p in range(PATCH):
            s = s0 + cuda.threadIdx.y + EDGE * p
            for q in range(PATCH):
                k = k0 + cuda.threadIdx.x + EDGE * q
                if s < delta.shape[0] and k < delta.shape[1]:
                    a_k = a[s, k]
                    delta[s, k] = acc[p, q] * a_k * (type(a_k)(1.0) - a_k)


@cuda.jit(device=True, inline="always")
def gradient_patch(acc, delta, a_prev, j0, k0, left_tile, right_tile):
    """acc[p][q] = dC/dw[j][k] = sum_s delta[s][j] a_prev[s][k] for this thread's patch of (j, k), and dC/db[j]
    where k = n_prev (the bias's column). Every thread of the block calls it (see blocked_sum)."""
    n_prev = a_prev.shape[1]
    blocked_sum(acc, delta, True, a_prev, False, j0, k0, (delta.shape[1], n_prev, delta.shape[0]),
                left_tile, right_tile)
    for p in range(PATCH):
        j = j0 + cuda.threadIdx.y + EDGE * p
        for q in range(PATCH):
            if k0 + cuda.threadIdx.x + EDGE * q == n_prev and j < delta.shape[1]:
                acc[p, q] = bias_gradient(delta, j)


@cuda.jit
def accumulate_gradient(delta, a_prev, nabla_w, nabla_b):
    """nabla_w[j][k] = sum_s delta[s][j] a_prev[s][k] and nabla_b[j] = sum_s delta[s][j]. Patch of (j, k)'s;
    column k = n_prev is the bias."""
    left_tile = cuda.shared.array(LEFT_SHAPE, a_prev.dtype)
    right_tile = cuda.shared.array(RIGHT_SHAPE, a_prev.dtype)
    acc = cuda.local.array(PATCH_SHAPE, a_prev.dtype)
    n_prev = a_prev.shape[1]
    k0 = cuda.blockIdx.x * BLOCK
    for j0 in range(cuda.blockIdx.y * BLOCK, delta.shape[1], cuda.gridDim.y * BLOCK):
        gradient_patch(acc, delta, a_prev, j0, k0, left_tile, right_tile)
        for p in range(PATCH):
            j = j0 + cuda.threadIdx.y + EDGE * p
            for q in range(PATCH):
                k = k0 + cuda.threadIdx.x + EDGE * q
                if j < delta.shape[1]:
                    if k < n_prev:
                        nabla_w[j, k] = acc[p, q]
                    elif k == n_prev:
                        nabla_b[j] = acc[p, q]


@cuda.jit
def update_parameters(delta, a_prev, step, w, b):
    """w[j][k] -= step * sum_s delta[s][j] a_prev[s][k], b[j] -= step * sum_s delta[s][j], step = eta/m: the
    gradient and the step fused, as in cuda-tiled (no thread of this launch reads w or b). Patch of (j, k)'s."""
    left_tile = cuda.shared.array(LEFT_SHAPE, a_prev.dtype)
    right_tile = cuda.shared.array(RIGHT_SHAPE, a_prev.dtype)
    acc = cuda.local.array(PATCH_SHAPE, a_prev.dtype)
    n_prev = a_prev.shape[1]
    k0 = cuda.blockIdx.x * BLOCK
    for j0 in range(cuda.blockIdx.y * BLOCK, delta.shape[1], cuda.gridDim.y * BLOCK):
        gradient_patch(acc, delta, a_prev, j0, k0, left_tile, right_tile)
        for p in range(PATCH):
            j = j0 + cuda.threadIdx.y + EDGE * p
            for q in range(PATCH):
                k = k0 + cuda.threadIdx.x + EDGE * q
                if j < delta.shape[1]:
                    if k < n_prev:
                        w[j, k] -= step * acc[p, q]
                    elif k == n_prev:
                        b[j] -= step * acc[p, q]


KERNELS = {
    kernel.__name__: kernel
    for kernel in (gather_batch, feedforward_layer, feedforward_output_layer, backprop_delta,
                   accumulate_gradient, update_parameters)
}


def ptx_signatures(dtype: str) -> dict[str, tuple]:
    """Each kernel's argument types, as the backend launches it with arrays of `dtype` (C-contiguous)."""
    from .cuda_naive_kernels import ptx_signatures as naive_signatures

    return naive_signatures(dtype)  # the same kernels' names and arguments as cuda-naive's
