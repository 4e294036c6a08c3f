"""The kernel of cuda-fused: a whole stretch of mini-batches, forward, backprop and update, in one launch.

What changed from cuda-tiled: the unit of a launch. cuda-tiled launches 3L kernels per mini-batch, and each
launch costs the host tens of microseconds, far longer than a small network's kernels run; this kernel is
launched once for a whole stretch of mini-batches (`train_steps`), and runs the steps one after another itself.
Why the machine runs it faster: the host's launch cost is paid once per stretch instead of 3L times per step,
and the mini-batch's activations and deltas never leave the chip.

The thread layout. One block of `threads` threads does everything, so that `cuda.syncthreads()`, which waits
for the threads of one block only, can order the phases of a step: a phase reads what the one before wrote.
(A grid of many blocks would need a grid-wide barrier, a cooperative launch; one block is the simple form.)
The loop nest of a stretch, and where each loop went:

    for first in mini-batches of the stretch:     # in the kernel, every thread in step
        for l in layers:                          # forward, layer by layer
            for (s, j, lane) in m x n_{l+1} x 32: # shared out: thread t takes items t, t + threads, ...
                for k in lane, lane + 32, ...: partial += a^l[s][k] w[j][k]   # in the thread
            syncthreads                           # the partial sums are in shared memory
            for (s, j) in m x n_{l+1}:
                a^{l+1}[s][j] = sigmoid(b[j] + the 32 partial sums)
            syncthreads                           # a^{l+1} complete before layer l+1 reads it
        for l in layers, last first:              # backprop, the same way over (s, k)
            ...; syncthreads
        for l in layers:                          # the update: one thread per weight w[j][k] (and bias b[j])
            for (j, k) in n_{l+1} x (n_l + 1):
                for s in m: g += delta[s][j] a^l[s][k]        # stays in the thread
                w[j][k] -= eta/m g
        syncthreads                               # the new weights are visible before the next forward pass

The forward pass gives each weighted input's sum to a warp's 32 threads (`forward_layer`), so that neighbouring
threads read neighbouring numbers of a row of w and of x (coalesced) and the first layer's 784-term sums are
spread over 32 times as many threads; backprop and the update give consecutive threads consecutive k, so a
warp writes neighbouring numbers, and in the update reads neighbouring pixels of a row of x.

What lives where. Shared memory (on chip, visible to the whole block, 48 KB at most without an opt-in that
numba-cuda does not expose) holds the mini-batch's activations a^1 .. a^L and deltas delta^1 .. delta^L, and the
forward pass's partial sums: each is written by one thread and read by others in the next phase, which is what
shared memory is for. Its size must be known when the kernel is compiled, so `fused_kernel(numbers)` compiles
one kernel per size (rounded up to a multiple of SHARED_STEP, so that nearby sizes share one). The parameters
stay in global memory, updated in place; the first layer's weights (784 x 16 = 12,544 numbers in the classic
network, 50 KB in float32) would not fit beside the rest, and every layer's weights are read through the L1 and
L2 caches. The data set x, y
and the shuffled order stay in global memory: the mini-batch's rows are read through order[first + s] where
they are needed, so there is no gather step.

One block cannot use the whole GPU: the rung is for small networks at small batches (the classic network at
batch 10), and ops_cuda_fused.py's rule sends every other case to cuda-tiled's kernels.
"""

from __future__ import annotations

from functools import cache

from numba import cuda

from neuro.sizes import CLASSIC

from .cuda_naive_kernels import output_delta, sigmoid

THREADS = 256
"""Threads of the one block on a GPU: eight warps, enough to take the classic network's 160 first-layer sums
(10 samples x 16 neurons) in one round. The kernel is written for any block size."""
SIMULATED_THREADS = 32
"""Threads of the block on Numba's simulator (one Python thread each): one warp, which also makes the small
test networks take several rounds of each phase's loop."""
SHARED_BYTES = 48 * 1024
"""Shared memory a block may use without opting in to more."""


LANES = 32
"""Threads that share one weighted input's sum in the forward pass: a warp."""
PARTIALS_ROW = LANES + 1
"""The LANES partial sums of one weighted input in shared memory, one padding number after them, so that the
threads adding them up (one per weighted input, PARTIALS_ROW apart) read from different memory banks."""
SHARED_STEP = 256
"""Shared memory sizes are rounded up to a multiple of this many numbers, so that nearby sizes share a kernel."""


def shared_numbers(sizes: tuple[int, ...], batch_size: int) -> int:
    """The numbers of shared memory a stretch needs, rounded up to a multiple of SHARED_STEP: a^l and delta^l of
    every layer l = 1 .. L for a mini-batch of batch_size samples, and the forward pass's partial sums of the
    widest layer."""
    needed = 2 * batch_size * sum(sizes[1:]) + batch_size * max(sizes[1:]) * PARTIALS_ROW
    return -(-needed // SHARED_STEP) * SHARED_STEP


@cuda.jit(device=True, inline="always")
def activations_at(weights, l, batch_size):
    """Where a^{l+1}, the output of weights[l], starts in shared memory: after a^1 .. a^l."""
    offset = 0
    for i in range(l):
        offset += batch_size * weights[i].shape[0]
    return offset


@cuda.jit(device=True, inline="always")
def forward_layer(weights, biases, l, x, y, order, first, m, batch_size, quadratic, work, deltas_at):
    """a^{l+1}[s][j] = sigmoid(b[j] + sum_k a^l[s][k] w[j][k]) for the m samples; for the last layer delta^L too.

    a^0[s] is x[order[first + s]], read from global memory; a^l for l >= 1 is in `work` (shared memory). Two
    phases, because a thread per (s, j) would leave most of the block idle on the long sums of the first layer
    and read w[j][k] a row apart from its neighbours: first LANES threads share each sum, thread `lane` taking
    k = lane, lane + LANES, ..., so that neighbouring threads read neighbouring k of one row of w and of x; their
    partial sums go to shared memory; then a thread per (s, j) adds its LANES partial sums to the bias.
    Every thread of the block must call this (it waits for the block between the phases).
    """
    w, b = weights[l], biases[l]
    n_out, n_prev = w.shape
    a_prev = activations_at(weights, l - 1, batch_size) if l > 0 else 0
    a_out = activations_at(weights, l, batch_size)
    partials = 2 * deltas_at  # after the activations and the deltas
    for o in range(cuda.threadIdx.x, m * n_out * LANES, cuda.blockDim.x):
        lane, pair = o % LANES, o // LANES  # pair = s * n_out + j
        s, j = pair // n_out, pair % n_out
        partial = type(w[0, 0])(0.0)
        if l == 0:
            i = order[first + s]
            for k in range(lane, n_prev, LANES):
                partial += x[i, k] * w[j, k]
        else:
            for k in range(lane, n_prev, LANES):
                partial += work[a_prev + s * n_prev + k] * w[j, k]
        work[partials + pair * PARTIALS_ROW + lane] = partial
    cuda.syncthreads()  # every partial sum is in shared memory
    last = l == len(weights) - 1
    for pair in range(cuda.threadIdx.x, m * n_out, cuda.blockDim.x):
        s, j = pair // n_out, pair % n_out
        z = b[j]
        for lane in range(LANES):
            z += work[partials + pair * PARTIALS_ROW + lane]
        a_j = sigmoid(z)
        work[a_out + pair] = a_j
        if last:
            work[deltas_at + a_out + pair] = output_delta(a_j, y[order[first + s], j], quadratic)


@cuda.jit(device=True, inline="always")
def backprop_layer(weights, l, m, batch_size, work, deltas_at):
    """delta^l[s][k] = (sum_j delta^{l+1}[s][j] w^l[j][k]) a^l[s][k] (1 - a^l[s][k]), with w^l = weights[l]."""
    w = weights[l]
    n_out, n_prev = w.shape
    a_here = activations_at(weights, l - 1, batch_size)  # a^l, the input of weights[l]
    delta_next = deltas_at + activations_at(weights, l, batch_size)
    delta_here = deltas_at + a_here
    for o in range(cuda.threadIdx.x, m * n_prev, cuda.blockDim.x):
        s, k = o // n_prev, o % n_prev
        total = type(w[0, 0])(0.0)
        for j in range(n_out):
            total += work[delta_next + s * n_out + j] * w[j, k]
        a_k = work[a_here + s * n_prev + k]
        work[delta_here + s * n_prev + k] = total * a_k * (type(a_k)(1.0) - a_k)


@cuda.jit(device=True, inline="always")
def update_layer(weights, biases, l, x, order, first, m, batch_size, step, work, deltas_at):
    """w[j][k] -= step sum_s delta[s][j] a^l[s][k] and b[j] -= step sum_s delta[s][j], one thread per (j, k),
    column k = n_l being the bias (the weight from an input whose activation is always 1)."""
    w, b = weights[l], biases[l]
    n_out, n_prev = w.shape
    a_prev = activations_at(weights, l - 1, batch_size) if l > 0 else 0
    delta = deltas_at + activations_at(weights, l, batch_size)
    for o in range(cuda.threadIdx.x, n_out * (n_prev + 1), cuda.blockDim.x):
        j, k = o // (n_prev + 1), o % (n_prev + 1)
        g = type(step)(0.0)
        if k == n_prev:
            for s in range(m):
                g += work[delta + s * n_out + j]
            b[j] -= step * g
        else:
            for s in range(m):
                a_k = x[order[first + s], k] if l == 0 else work[a_prev + s * n_prev + k]
                g += work[delta + s * n_out + j] * a_k
            w[j, k] -= step * g


@cache
def fused_kernel(numbers: int):
    """The kernel for stretches whose shared memory needs at most `numbers` numbers (see shared_numbers),
    compiled on its first launch in each dtype."""

    @cuda.jit
    def train_stretch(weights, biases, x, y, order, start, stop, batch_size, eta, quadratic):
        """Gradient steps on the mini-batches order[first:first + batch_size], first = start, start +
        batch_size, ... up to order[:stop] (the last may be shorter), every parameter updated in place.
        Launched as one block: train_stretch[1, threads](...)."""
        work = cuda.shared.array(numbers, weights[0].dtype)
        layers = len(weights)
        deltas_at = activations_at(weights, layers, batch_size)  # delta^1 .. delta^L after a^1 .. a^L
        for first in range(start, stop, batch_size):
            m = min(batch_size, stop - first)
            step = eta / type(eta)(m)
            for l in range(layers):
                forward_layer(weights, biases, l, x, y, order, first, m, batch_size, quadratic, work, deltas_at)
                cuda.syncthreads()  # a^{l+1} complete before the next layer reads it
            for l in range(layers - 1, 0, -1):
                backprop_layer(weights, l, m, batch_size, work, deltas_at)
                cuda.syncthreads()  # delta^l complete before the layer below reads it
            for l in range(layers):  # (no layer's update reads weights: one phase for all of them)
                update_layer(weights, biases, l, x, order, first, m, batch_size, step, work, deltas_at)
            cuda.syncthreads()  # the new parameters are visible to every thread before the next step reads them

    return train_stretch


CLASSIC_BATCH = 10
"""The size the PTX test compiles: the classic network at batch 10."""


KERNELS = {"train_stretch": fused_kernel(shared_numbers(CLASSIC, CLASSIC_BATCH))}
"""The kernels the PTX test compiles: the fused kernel sized for the classic network at batch 10 (nothing is
compiled until it is launched or compiled to PTX)."""


def ptx_signatures(dtype: str) -> dict[str, tuple]:
    """The fused kernel's argument types for the classic network (three weight layers) in `dtype`."""
    types = cuda.types
    real = getattr(types, dtype)
    layers = len(CLASSIC) - 1
    weights, biases = types.UniTuple(real[:, ::1], layers), types.UniTuple(real[::1], layers)
    integer = types.int64
    return {"train_stretch": (weights, biases, real[:, ::1], real[:, ::1], integer[::1], integer, integer, integer,
                              real, types.boolean)}
