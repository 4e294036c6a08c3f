"""The Numba backend: the loops of the pure-Python backend, compiled to machine code for the CPU cores.

The equations and the names are those of `ops_python.py` (see `base.py` for the notation):

    z^l = w^l a^{l-1} + b^l,   a^l = sigmoid(z^l)                                   feedforward
    delta^L = dC/dz^L,         delta^l = (w^{l+1}^T delta^{l+1}) * a^l (1 - a^l)     backprop
    w -= eta/m * sum_s delta^l(s) a^{l-1}(s)^T,    b -= eta/m * sum_s delta^l(s)     the step

What changed, and why it is fast:

* Typed and compiled. `@njit` compiles each function below to machine code for the types of its first call
  (float64 or float32 arrays): no interpreter, no Python float objects, and the innermost loops run in SIMD
  instructions that multiply and add 4 to 8 numbers at once.
* A stretch of steps in one call. `train_steps` runs the loop over the mini-batches of a stretch (1% to 10% of
  an epoch, see neuro/training.py) inside one compiled call (`steps_serial`, or `steps_team`): nothing comes
  back to the interpreter between mini-batches, where the call alone would cost a few microseconds per step.
  `train_step` and `gradient` are the same compiled code with one mini-batch, so they share its compile cache.
* No temporaries. A call allocates its buffers once for all its steps (`step_buffers`) and every loop writes
  into them; the parameters are the framework's own NumPy arrays, updated in place.
* Views without reference counts. Numba counts the references to an array's memory, and every slice taken of
  it (a row, a row's span) adds one and takes it away again: two atomic instructions, a fifth of the time of
  the first layer's loops. The arrays of a call live until it returns (the caller holds them), so the
  compiled steps take uncounted views of them first (`borrowed`, in numba_team.py).
* Layer by layer over the mini-batch. The Python backend feeds one sample through every layer; here each
  layer is computed for a block of samples before the next one (as NumPy does with matrices), so a row of
  weights, once in the fastest cache, meets every sample of the block before it is evicted.
* Function calls inlined. Numba compiles each function on its own, and a call passes every array as seven
  numbers (data, shape, strides, ...); for a layer of 16 inputs, the calls to the tile of the weighted sums cost
  more than its arithmetic. `inline="always"` makes Numba copy a small function into its caller instead.
* Tiles of four neurons and a few samples. The long loops (over a layer's inputs) work on four neurons and
  two samples at once in the weighted sums, four neurons and four samples in the gradient. In the weighted
  sums each weight, once loaded, serves both samples and each activation all four neurons; in the gradient
  each activation serves four rows, and each running sum is loaded and stored once per four samples, the
  last four adding it into the weights in the same pass. This "register blocking" is the main trick of every
  fast matrix product (the tiles are written out by hand: they are what the CPU's registers hold).
* A sigmoid in SIMD lanes. `math.exp` is a call into the C library, one number at a time, and the 420 of a
  step of the classic network at batch 10 took about 2.7 microseconds, an eighth of the step. numba_sigmoid.py
  computes e^-|z| in plain arithmetic (range reduction, a polynomial, the exponent written into the bits),
  which the compiler spreads over SIMD lanes like any other loop.
* The inputs read where they lie. The first layer reads its inputs, the rows x[order[s]] of the mini-batch,
  straight from x, in the forward pass and in the gradient, instead of first copying them into a buffer.
* Sums the compiler may reorder. The sums of products, and nothing else, are compiled with
  `fastmath={"reassoc", "contract"}`: the compiler may then split a sum into partial sums that run side by
  side in SIMD lanes, as BLAS does, and fuse a*b+c into one instruction. That changes the rounding the way
  any other order of summation does, which is what `neuro.agreement` allows for. No flag that assumes finite
  numbers, and none at all on the sigmoid, which stays 0 or 1, without overflow, at z = +-1000.
* A fused step. A step adds -eta/m times the gradient straight into the weights; `gradient` runs the same
  code with eta = -m (deltas unscaled), adding into zeros.
* Both cores, in a team. Each thread of a team owns a share of every layer's neurons (rows of weights): it
  forms their weighted sums and updates their weights, so no two threads ever write the same weight; in
  between, each feeds its share of the samples through the later layers and backpropagates them
  (`steps_team`). Numba's own `prange` would start and stop its threads twice a step, a few microseconds each
  time, more than a second core saves at batch 10; a team is started once per call and meets at a spin
  barrier, a fraction of a microsecond (numba_team.py). When the rows of x are long (`COLUMNS_ROW_BYTES`: the
  classic network in float64), a team of two shares the first layer out by columns instead, one half of the
  inputs each, so that each core reads only half of every row of the mini-batch from memory; every path then
  forms the first layer's sums in those two halves (`first_half`). When the later layers are small (the
  classic network in float32) and so is the batch, one member owns them all and the others take more of the
  first layer (OWNER): sharing out a few hundred weights costs more in traffic between the cores than it
  saves, and while the owner works through them, the others fetch the next mini-batch's rows of x into their
  caches. A team computes the same numbers as one thread, bit for bit (see `share`). Short calls (single
  steps; `TEAM_CALL_WORK`), small steps (the classic network below batch 4; `TEAM_WORK`) and tiny networks
  stay on one core; a team has at most one member per four neurons of the first layer, and per core. The
  thread count is Numba's: `NUMBA_NUM_THREADS` (default: all cores), `--threads`, or
  `NumbaBackend.set_threads`.
* BLAS for the big matrix products. Once a step is a product of large matrices (`BLAS_WORK`, e.g. the
  classic network from batch 155, or 784-1024-1024-10 from batch 16), the hand-tuned BLAS behind NumPy beats
  any loop compiled here, so the steps go to the NumPy backend, one NumPy step per mini-batch. (Numba can
  call BLAS from compiled code, through `np.dot`, but only with SciPy installed, which neuro does not need.)
  The forward pass never does: see `NumbaBackend.forward`.
* Compiled once. `cache=True` stores the machine code in `__pycache__` next to this file, so a second
  process loads it in a fraction of a second instead of compiling for several seconds. Nothing compiles at
  import: each kernel compiles (or loads) on its first call, for the dtype and depth it is called with.

Layout. The compiled code takes the per-layer weights and biases as tuples (Numba compiles a tuple of arrays
of one type well; a Python list of arrays it cannot). A mini-batch's `activations` has one row per sample
holding [a^0 | a^1 | ... | a^L] side by side; `offsets[l]` is the column where layer l starts. The a^0
columns are filled only by `all_activations`, which returns them: the steps and the forward pass read a^0
from x itself, through a row map (`rows`: the mini-batch's part of `order`; `samples`: 0, 1, 2, ... for the
rows of `activations` themselves). `deltas` has the same layout (its a^0 columns unused), so a^l and
delta^l share their columns. The forward pass alone (evaluation) goes through a buffer of BLOCK such rows
and keeps only a^L.

Indexing. The innermost loops index a row taken out once (`a = activations[s, k0:j0]`, `w[j]`) with the
loop variable itself, never `activations[s, k0 + k]`: Numba allows negative indices (counted from the end)
and must test for them unless it can see that an index cannot be negative. With `k0 + k` it cannot, and
that test alone keeps a loop out of SIMD instructions, five times slower.
"""

from __future__ import annotations

import os
from itertools import accumulate

import numpy as np

from neuro.backends.ops_numpy import NumpyBackend
from neuro.errors import NeuroError

from .base import StepByStep
from .numba_sigmoid import sigmoid
from .numba_team import Team, barrier, borrowed, prefetch

try:
    import numba
    from numba import njit, prange
except ImportError:
    raise
except Exception as error:  # installed but broken (e.g. an llvmlite that cannot load): report it as missing
    raise ImportError(f"numba is installed but cannot be imported: {error}") from error

SUMS = {"reassoc", "contract"}
"""The fastmath flags of the sums of products (see the module docstring), and of nothing else."""

BLOCK = 16
"""Samples fed through the layers together, a block at a time."""

TEAM_WORK = 50_000
TEAM_CALL_WORK = 5_000_000
"""Steps run on a team of threads (see steps_team) when a step is at least TEAM_WORK multiply-adds (samples
times weights: the classic network, 12,960 weights, from batch 4), and the call at least TEAM_CALL_WORK (the
classic network: about 40 steps at batch 10). A step pays two barriers, a fraction of a microsecond each, and
the threads' traffic between the cores; a call pays about 0.1 ms to wake the team. Measured with
scripts/numba-threads.py on a shared 2-core machine: at batches 1 to 3 the team was about as often slower
as faster than one thread; from batch 4 to 100, in the last run, faster by 1.35-1.67 times in float64 and
1.16-1.42 times in float32."""

FORWARD_PARALLEL_WORK = 250_000
"""Multiply-adds (samples times weights) from which a forward pass is shared out between Numba's threads, in
a parallel loop: e.g. the classic network (12,960 weights) from 20 samples. Below it, waking the threads
costs more than they save."""

FORWARD_PARALLEL_WORK_WORKQUEUE = 2_500_000
"""The same, when Numba has neither OpenMP nor TBB and starts each parallel loop by its own, slower, queue."""

COLUMNS_ROW_BYTES = 4096
"""A team of two shares the first layer out by columns (see steps_team) when a row of x is at least this long:
the classic network's 784 inputs in float64 (6,272 bytes), not in float32 (3,136). Measured on a shared 2-core
machine, the first layer's forward pass and gradient at batch 10 took 11.6-12.2 microseconds a step by columns
against 13.7-14.9 by rows in float64, and 7.8-7.9 against 7.4-7.6 in float32."""

ROWS, COLUMNS, OWNER = 0, 1, 2
"""The ways a team shares out a step (see steps_team): every layer by rows; the first layer by columns and the
later ones by rows; the first layer by rows and every later one to one member, its owner."""

OWNER_BATCH = 32
LATER_LAYERS_SHARE = 8
"""A team works the OWNER way on mini-batches of fewer than OWNER_BATCH samples of a network whose later layers
are small, all their weights together at most 1/LATER_LAYERS_SHARE of the first layer's (the classic network:
416 against 12,544), unless it works by COLUMNS. Measured with a prototype of steps_team on a shared 2-core
machine, the classic network in float32 (median of 5 to 10 epochs), against ROWS: 1.08-1.21 times faster at
batch 4 to 20, as fast at 30 and 60 (0.98-1.02), slower at 120 (0.92), where the owner's part, the later layers
of 120 samples, keeps the others waiting longest."""

BLAS_WORK = 2_000_000
BLAS_BATCH = 16
"""A step of at least BLAS_WORK multiply-adds on at least BLAS_BATCH samples goes to the NumPy backend."""


# ----------------------------------------------------------------------------------------------------------
# The loops


@njit(cache=True, fastmath=SUMS, inline="always")
def weighted_sum(w_j, a):
    """sum_k w_j[k] a[k]: the weighted input of the neuron whose weights are w_j (bias not included)."""
    z = w_j.dtype.type(0)  # a zero of the arrays' dtype: a literal 0.0 would turn a float32 sum into float64
    for k in range(a.shape[0]):
        z += w_j[k] * a[k]
    return z


@njit(cache=True, fastmath=SUMS, inline="always")
def weighted_sums4x2(w0, w1, w2, w3, a, a_next):
    """The weighted inputs of four neurons (weights w0..w3) for two samples (inputs a, a_next) in one pass: each
    weight, once loaded, serves both samples, and each input all four neurons (8 sums side by side)."""
    z0 = z1 = z2 = z3 = y0 = y1 = y2 = y3 = w0.dtype.type(0)
    for k in range(a.shape[0]):
        z0 += w0[k] * a[k]
        y0 += w0[k] * a_next[k]
        z1 += w1[k] * a[k]
        y1 += w1[k] * a_next[k]
        z2 += w2[k] * a[k]
        y2 += w2[k] * a_next[k]
        z3 += w3[k] * a[k]
        y3 += w3[k] * a_next[k]
    return z0, z1, z2, z3, y0, y1, y2, y3


@njit(cache=True, fastmath=SUMS, inline="always")
def weighted_sums4x2_in_halves(w0, w1, w2, w3, a, a_next, half):
    """weighted_sums4x2 formed in two parts, over the inputs k < half and k >= half, then added."""
    left = weighted_sums4x2(w0[:half], w1[:half], w2[:half], w3[:half], a[:half], a_next[:half])
    right = weighted_sums4x2(w0[half:], w1[half:], w2[half:], w3[half:], a[half:], a_next[half:])
    return (left[0] + right[0], left[1] + right[1], left[2] + right[2], left[3] + right[3],
            left[4] + right[4], left[5] + right[5], left[6] + right[6], left[7] + right[7])


@njit(cache=True, fastmath=SUMS)
def layer_sums(w, inputs, rows, k0, z, j0, s0, s1, r0, r1):
    """z[s, j0 + j] = sum_k w[j, k] a_s[k], the weighted inputs of the neurons (rows of w) r0 <= j < r1 for the
    samples s0 <= s < s1, bias not included. The input a_s of sample s is inputs[rows[s], k0:]: for the first
    layer a row of x itself (rows: the mini-batch's part of `order`), read where it lies rather than copied
    first into `activations`; for the others, a^l in the sample's own row of `activations` (rows: 0, 1, ...).

    Four neurons and two samples at a time (weighted_sums4x2); the neurons left over after the fours go one at
    a time. The last sample of an odd number goes through the same code as a pair with itself: a sum then comes
    out the same, bit for bit, whatever sample it is paired with, and a team of threads may share the samples
    out anywhere (see `share`).
    """
    n_in = w.shape[1]
    fours = r0 + (r1 - r0) // 4 * 4
    for j in range(r0, fours, 4):  # four rows of w, used for every sample of the block in turn
        w0, w1, w2, w3 = w[j], w[j + 1], w[j + 2], w[j + 3]
        for s in range(s0, s1, 2):  # two samples at a time (the last of an odd number twice)
            t = min(s + 1, s1 - 1)
            sums = weighted_sums4x2(w0, w1, w2, w3, inputs[rows[s], k0 : k0 + n_in], inputs[rows[t], k0 : k0 + n_in])
            for r in range(4):
                z[s, j0 + j + r] = sums[r]
                z[t, j0 + j + r] = sums[4 + r]
    for j in range(fours, r1):
        for s in range(s0, s1):
            z[s, j0 + j] = weighted_sum(w[j], inputs[rows[s], k0 : k0 + n_in])


@njit(cache=True, fastmath=SUMS)
def layer_sums_in_halves(w, inputs, rows, k0, z, j0, s0, s1, r0, r1, half):
    """layer_sums with each sum formed in two parts, over the inputs k < half and k >= half, then added: the
    first layer's, split where `first_half` says (a team of two shares the halves out between its members)."""
    n_in = w.shape[1]
    fours = r0 + (r1 - r0) // 4 * 4
    for j in range(r0, fours, 4):
        w0, w1, w2, w3 = w[j], w[j + 1], w[j + 2], w[j + 3]
        for s in range(s0, s1, 2):
            t = min(s + 1, s1 - 1)
            sums = weighted_sums4x2_in_halves(w0, w1, w2, w3, inputs[rows[s], k0 : k0 + n_in],
                                              inputs[rows[t], k0 : k0 + n_in], half)
            for r in range(4):  # (t may be s: the halves are added before storing, so that such a sum counts once)
                z[s, j0 + j + r] = sums[r]
                z[t, j0 + j + r] = sums[4 + r]
    for j in range(fours, r1):
        for s in range(s0, s1):
            a = inputs[rows[s], k0 : k0 + n_in]
            z[s, j0 + j] = weighted_sum(w[j, :half], a[:half]) + weighted_sum(w[j, half:], a[half:])


@njit(cache=True)
def first_layer_sums(w, x, rows, z, j0, s0, s1, r0, r1):
    """layer_sums for the first layer (weights w, inputs x[rows]), in two halves where `first_half` splits."""
    half = first_half(w)
    if half < w.shape[1]:
        layer_sums_in_halves(w, x, rows, 0, z, j0, s0, s1, r0, r1, half)
    else:
        layer_sums(w, x, rows, 0, z, j0, s0, s1, r0, r1)


@njit(cache=True)
def first_half(w):
    """Where the first layer's weighted sums are split in two (layer_sums), for its weights w: nowhere (the
    number of inputs) if its rows of x are shorter than COLUMNS_ROW_BYTES, else half the inputs, rounded down to
    a whole cache line of float32 (16), so that the two halves of a row of x or of w never share a line. Every
    path splits there, so a team of two, which shares the halves out (see steps_team), and one thread compute
    the same numbers, bit for bit."""
    n_in = w.shape[1]
    if n_in * w.itemsize < COLUMNS_ROW_BYTES:
        return n_in
    return n_in // 2 // 16 * 16


@njit(cache=True)
def activate(b, activations, j0, s0, s1, r0, r1):
    """a = sigmoid(z + b) in place, where activations[s, j0 + j] holds the weighted sum z of neuron j."""
    for s in range(s0, s1):
        a = activations[s, j0 + r0 : j0 + r1]
        for j in range(a.shape[0]):
            a[j] = sigmoid(a[j] + b[r0 + j])


@njit(cache=True)
def layer_forward(w, b, inputs, rows, k0, activations, j0, s0, s1):
    """a = sigmoid(w a_in + b) into activations[s, j0:] for the samples s0 <= s < s1 (see layer_sums)."""
    layer_sums(w, inputs, rows, k0, activations, j0, s0, s1, 0, w.shape[0])
    activate(b, activations, j0, s0, s1, 0, w.shape[0])


@njit(cache=True)
def later_layers_forward(weights, biases, activations, samples, offsets, s0, s1):
    """a^{l+1} = sigmoid(w a^l + b) for every layer after the first, for the samples s0 <= s < s1."""
    for l in range(1, len(weights)):
        layer_forward(weights[l], biases[l], activations, samples, offsets[l], activations, offsets[l + 1], s0, s1)


@njit(cache=True)
def feedforward(weights, biases, x, rows, activations, samples, offsets, s0, s1):
    """a^{l+1} = sigmoid(w a^l + b), layer after layer, for the samples s0 <= s < s1 (rows of `activations`);
    a^0 of sample s is x[rows[s]], and `samples` is 0, 1, 2, ... (the row map of `activations` itself)."""
    first_layer_sums(weights[0], x, rows, activations, offsets[1], s0, s1, 0, weights[0].shape[0])
    activate(biases[0], activations, offsets[1], s0, s1, 0, weights[0].shape[0])
    later_layers_forward(weights, biases, activations, samples, offsets, s0, s1)


@njit(cache=True, fastmath={"contract"}, inline="always")
def add_rows4(delta, d0, d1, d2, d3, w0, w1, w2, w3):
    """delta += d0 w0 + d1 w1 + d2 w2 + d3 w3: four rows of weights, each times its neuron's delta."""
    for k in range(delta.shape[0]):
        delta[k] += d0 * w0[k] + d1 * w1[k] + d2 * w2[k] + d3 * w3[k]


@njit(cache=True, fastmath={"contract"})
def backprop(weights, activations, deltas, y, order, start, offsets, s0, s1, quadratic, scale):
    """delta^l of every layer for the samples s0 <= s < s1, each multiplied by `scale`, into `deltas`.

    delta^L = (a - y) * a (1 - a) for the quadratic cost, a - y for cross-entropy; then backwards,
    delta^l = (w^{l+1}^T delta^{l+1}) * a^l (1 - a^l). The Python backend sums down the column w[.][k] of
    each neuron k; here each row w[j] adds delta_j w[j] into the whole of delta^l, four rows in one pass
    (add_rows4), for every sample of the block in turn: the weights are read in the order they lie in memory,
    and each row once per block.
    """
    L = len(weights)
    out = offsets[L]
    one = activations.dtype.type(1)  # (a literal 1.0 would compute a float32 network's a (1 - a) in float64)
    for s in range(s0, s1):
        i = order[start + s]
        for j in range(offsets[L + 1] - out):
            a_j = activations[s, out + j]
            delta_j = a_j - y[i, j]
            if quadratic:
                delta_j *= a_j * (one - a_j)
            deltas[s, out + j] = scale * delta_j
    for l in range(L - 1, 0, -1):  # weights[l] maps layer l to layer l+1 (the book's w^{l+1})
        w = weights[l]
        k0, j0 = offsets[l], offsets[l + 1]
        for s in range(s0, s1):
            delta = deltas[s, k0:j0]
            for k in range(delta.shape[0]):  # (a loop: Numba's delta[:] = 0.0 is a slower, general fill)
                delta[k] = 0.0
        n = w.shape[0]
        fours = n // 4 * 4
        for j in range(0, fours, 4):  # four rows at a time (add_rows4), then the rows left over one by one
            w0, w1, w2, w3 = w[j], w[j + 1], w[j + 2], w[j + 3]
            for s in range(s0, s1):
                d = deltas[s, j0 + j : j0 + j + 4]
                add_rows4(deltas[s, k0:j0], d[0], d[1], d[2], d[3], w0, w1, w2, w3)
        for j in range(fours, n):
            w_j = w[j]
            for s in range(s0, s1):
                delta, delta_j = deltas[s, k0:j0], deltas[s, j0 + j]
                for k in range(delta.shape[0]):
                    delta[k] += delta_j * w_j[k]
        for s in range(s0, s1):
            delta, a = deltas[s, k0:j0], activations[s, k0:j0]
            for k in range(delta.shape[0]):
                delta[k] *= a[k] * (one - a[k])


@njit(cache=True, fastmath={"contract"})
def sum_products4(nabla, c, a0, a1, a2, a3, fresh):
    """nabla[r] += c[r, 0] a0 + c[r, 1] a1 + c[r, 2] a2 + c[r, 3] a3 for the four rows r of nabla; with `fresh`
    (the first samples of a sum), nabla[r] = the same, without reading what nabla held.

    Four rows and four samples in one pass: each a[k], once loaded, serves four rows, and each nabla[r, k] is
    loaded and stored once per four samples.
    """
    n0, n1, n2, n3 = nabla[0], nabla[1], nabla[2], nabla[3]
    zero = nabla.dtype.type(0)
    c00, c01, c02, c03 = c[0, 0], c[0, 1], c[0, 2], c[0, 3]
    c10, c11, c12, c13 = c[1, 0], c[1, 1], c[1, 2], c[1, 3]
    c20, c21, c22, c23 = c[2, 0], c[2, 1], c[2, 2], c[2, 3]
    c30, c31, c32, c33 = c[3, 0], c[3, 1], c[3, 2], c[3, 3]
    for k in range(a0.shape[0]):
        x0, x1, x2, x3 = a0[k], a1[k], a2[k], a3[k]
        n0[k] = (zero if fresh else n0[k]) + c00 * x0 + c01 * x1 + c02 * x2 + c03 * x3
        n1[k] = (zero if fresh else n1[k]) + c10 * x0 + c11 * x1 + c12 * x2 + c13 * x3
        n2[k] = (zero if fresh else n2[k]) + c20 * x0 + c21 * x1 + c22 * x2 + c23 * x3
        n3[k] = (zero if fresh else n3[k]) + c30 * x0 + c31 * x1 + c32 * x2 + c33 * x3


@njit(cache=True, fastmath={"contract"})
def add_products4(w0, w1, w2, w3, nabla, c, a0, a1, a2, a3, fresh):
    """w_r += (nabla[r] + c[r, 0] a0 + ... + c[r, 3] a3) for four rows w0..w3 of weights: the last four samples
    and the sums so far, into w (without nabla when `fresh`: these are all the samples).

    The brackets matter: the whole sum over the samples is formed first and rounded into w once.
    """
    n0, n1, n2, n3 = nabla[0], nabla[1], nabla[2], nabla[3]
    zero = nabla.dtype.type(0)
    c00, c01, c02, c03 = c[0, 0], c[0, 1], c[0, 2], c[0, 3]
    c10, c11, c12, c13 = c[1, 0], c[1, 1], c[1, 2], c[1, 3]
    c20, c21, c22, c23 = c[2, 0], c[2, 1], c[2, 2], c[2, 3]
    c30, c31, c32, c33 = c[3, 0], c[3, 1], c[3, 2], c[3, 3]
    for k in range(w0.shape[0]):
        x0, x1, x2, x3 = a0[k], a1[k], a2[k], a3[k]
        w0[k] += (zero if fresh else n0[k]) + c00 * x0 + c01 * x1 + c02 * x2 + c03 * x3
        w1[k] += (zero if fresh else n1[k]) + c10 * x0 + c11 * x1 + c12 * x2 + c13 * x3
        w2[k] += (zero if fresh else n2[k]) + c20 * x0 + c21 * x1 + c22 * x2 + c23 * x3
        w3[k] += (zero if fresh else n3[k]) + c30 * x0 + c31 * x1 + c32 * x2 + c33 * x3


@njit(cache=True, fastmath={"contract"})
def sum_products2(nabla, c, a0, a1, fresh):
    """sum_products4 for a last group of two samples: nabla[r] += c[r, 0] a0 + c[r, 1] a1."""
    n0, n1, n2, n3 = nabla[0], nabla[1], nabla[2], nabla[3]
    zero = nabla.dtype.type(0)
    c00, c01, c10, c11, c20, c21, c30, c31 = c[0, 0], c[0, 1], c[1, 0], c[1, 1], c[2, 0], c[2, 1], c[3, 0], c[3, 1]
    for k in range(a0.shape[0]):
        x0, x1 = a0[k], a1[k]
        n0[k] = (zero if fresh else n0[k]) + c00 * x0 + c01 * x1
        n1[k] = (zero if fresh else n1[k]) + c10 * x0 + c11 * x1
        n2[k] = (zero if fresh else n2[k]) + c20 * x0 + c21 * x1
        n3[k] = (zero if fresh else n3[k]) + c30 * x0 + c31 * x1


@njit(cache=True, fastmath={"contract"})
def add_products2(w0, w1, w2, w3, nabla, c, a0, a1, fresh):
    """add_products4 for a last group of two samples: w_r += (nabla[r] + c[r, 0] a0 + c[r, 1] a1)."""
    n0, n1, n2, n3 = nabla[0], nabla[1], nabla[2], nabla[3]
    zero = nabla.dtype.type(0)
    c00, c01, c10, c11, c20, c21, c30, c31 = c[0, 0], c[0, 1], c[1, 0], c[1, 1], c[2, 0], c[2, 1], c[3, 0], c[3, 1]
    for k in range(w0.shape[0]):
        x0, x1 = a0[k], a1[k]
        w0[k] += (zero if fresh else n0[k]) + c00 * x0 + c01 * x1
        w1[k] += (zero if fresh else n1[k]) + c10 * x0 + c11 * x1
        w2[k] += (zero if fresh else n2[k]) + c20 * x0 + c21 * x1
        w3[k] += (zero if fresh else n3[k]) + c30 * x0 + c31 * x1


@njit(cache=True, fastmath={"contract"})
def add_gradient_row(w_j, inputs, rows, k0, deltas, column, m, nabla_j):
    """w_j += sum_s delta_j(s) a(s) for one row, a sample at a time (the rows left over from the tiles of four,
    and every row of a narrow layer)."""
    for k in range(nabla_j.shape[0]):  # (a loop: Numba's nabla_j[:] = 0.0 is a slower, general fill)
        nabla_j[k] = 0.0
    for s in range(m):
        a, delta_j = inputs[rows[s], k0 : k0 + w_j.shape[0]], deltas[s, column]
        for k in range(a.shape[0]):
            nabla_j[k] += delta_j * a[k]
    for k in range(w_j.shape[0]):
        w_j[k] += nabla_j[k]


@njit(cache=True)
def add_gradient(w, inputs, rows, k0, deltas, j0, m, r0, r1, nabla, c):
    """w[j] += sum_s delta_j(s) a_s over the m samples, for the rows r0 <= j < r1.

    a_s = inputs[rows[s], k0:] is the layer's input (for the first layer a row of x itself, see layer_sums),
    delta(s) = deltas[s, j0:] its deltas. With the deltas scaled by -eta/m this is the gradient step itself;
    with unscaled deltas and w zero, the gradient.

    Four rows at a time, the sum over the samples is formed four samples at a time in `nabla` (4 rows: it stays
    in the fastest cache), and the last four add it, with their own share, into w in the same pass. Adding
    each sample's share straight into w, as the Python backend does, would round w once per sample, which at
    large batches is more rounding than the reference allows. The samples left over after the groups of four
    go in a group of two (the 2 of batch 10), padded with zero deltas (on a repeated sample) where they are
    1 or 3: at most one wasted product per weight, where padding every group to four wasted up to three.
    The rows left over after the fours go one at a time (add_gradient_row).
    """
    n_in = w.shape[1]
    fours = r0 + (r1 - r0) // 4 * 4
    for j in range(r0, fours, 4):
        w0, w1, w2, w3 = w[j], w[j + 1], w[j + 2], w[j + 3]
        s = 0
        while s < m:
            group = 4 if m - s >= 3 else 2  # samples s..s+group-1: 4 (the last 3 padded), or 2 (the last 1)
            for q in range(group):  # the deltas of rows j..j+3 for those samples, zeros past the last sample
                for r in range(4):
                    c[r, q] = deltas[s + q, j0 + j + r] if s + q < m else 0.0
            a0 = inputs[rows[s], k0 : k0 + n_in]
            a1 = inputs[rows[min(s + 1, m - 1)], k0 : k0 + n_in]
            fresh, last = s == 0, s + group >= m
            if group == 2:
                if last:
                    add_products2(w0, w1, w2, w3, nabla, c, a0, a1, fresh)
                else:
                    sum_products2(nabla, c, a0, a1, fresh)
            else:
                a2 = inputs[rows[min(s + 2, m - 1)], k0 : k0 + n_in]
                a3 = inputs[rows[min(s + 3, m - 1)], k0 : k0 + n_in]
                if last:
                    add_products4(w0, w1, w2, w3, nabla, c, a0, a1, a2, a3, fresh)
                else:
                    sum_products4(nabla, c, a0, a1, a2, a3, fresh)
            s += group
    for j in range(fours, r1):
        add_gradient_row(w[j], inputs, rows, k0, deltas, j0 + j, m, nabla[0, :n_in])


@njit(cache=True)
def add_bias_gradient(b, deltas, j0, m, r0, r1):
    """b[j] += sum_s delta_j(s) over the m samples, for r0 <= j < r1 (the deltas scaled as in add_gradient)."""
    for j in range(r0, r1):
        total = deltas.dtype.type(0)
        for s in range(m):
            total += deltas[s, j0 + j]
        b[j] += total


# ----------------------------------------------------------------------------------------------------------
# The compiled entry points: one call per forward pass or step


@njit(cache=True)
def layer_offsets(weights):
    """offsets[l]: the column where layer l starts in a row of activations; offsets[L+1] the row's length."""
    offsets = np.empty(len(weights) + 2, np.int64)
    offsets[0] = 0
    offsets[1] = weights[0].shape[1]
    for l in range(len(weights)):
        offsets[l + 2] = offsets[l + 1] + weights[l].shape[0]
    return offsets


@njit(cache=True)
def load_inputs(x, activations, offsets, s0, s1):
    """a^0 = x[s] into the rows s0 <= s < s1 of `activations` (only all_activations keeps a^0: the steps and
    the forward pass read x where it lies)."""
    for s in range(s0, s1):
        x_i, a = x[s], activations[s, : offsets[1]]
        for k in range(a.shape[0]):  # (a loop: Numba's a[:] = x_i is a slower, general copy)
            a[k] = x_i[k]


@njit(cache=True)
def backprop_samples(weights, biases, x, y, rows, activations, deltas, samples, offsets, s0, s1, quadratic,
                     scale):
    """Feed forward and backprop the samples s0 <= s < s1 of the mini-batch x[rows], a block at a time."""
    for b0 in range(s0, s1, BLOCK):
        b1 = min(b0 + BLOCK, s1)
        feedforward(weights, biases, x, rows, activations, samples, offsets, b0, b1)
        backprop(weights, activations, deltas, y, rows, 0, offsets, b0, b1, quadratic, scale)


@njit(cache=True)
def share(n, part, parts, unit):
    """Where part `part` of `parts` of n rows (or samples) starts: near n part / parts, at a multiple of `unit`.

    A team shares out a layer's rows in multiples of 4, the tiles in which one thread goes through them
    (layer_sums, add_gradient): each sum then meets its terms in the same order as on one thread, and a team
    computes the very same numbers, bit for bit, as one thread. (Samples go in any number: see layer_sums.)
    """
    if part >= parts:
        return n
    return n * part // parts // unit * unit


@njit(cache=True)
def first_share(n, part, parts, mode):
    """Where part `part` of `parts` of the first layer's n rows starts: as `share` says, except with the OWNER way
    of working (see steps_team), where the last member, which also feeds every sample through the later layers,
    takes a third of the rows of any other (the classic network on two cores: rows 0-11 and 12-15)."""
    if mode != OWNER:
        return share(n, part, parts, 4)
    if part >= parts:
        return n
    return n * 3 * part // (3 * parts - 2) // 4 * 4


@njit(cache=True)
def team_rows(weights, member, size, mode):
    """own[l] = (r0, r1): the rows of layer l whose weights and biases member `member` of a team of `size` updates
    (one thread, member 0 of 1: all of them). ROWS and COLUMNS: a share of every layer (`share`; by COLUMNS, the
    first layer's weights go by columns, see steps_team, and only its biases by these rows); OWNER: a share of
    the first layer (`first_share`), and every later layer's rows to the last member alone."""
    own = np.empty((len(weights), 2), np.int64)
    for l in range(len(weights)):
        n = weights[l].shape[0]
        if l == 0:
            own[l, 0], own[l, 1] = first_share(n, member, size, mode), first_share(n, member + 1, size, mode)
        elif mode == OWNER:
            own[l, 0], own[l, 1] = 0, n if member == size - 1 else 0
        else:
            own[l, 0], own[l, 1] = share(n, member, size, 4), share(n, member + 1, size, 4)
    return own


@njit(cache=True)
def add_gradients(targets_w, targets_b, x, rows, activations, deltas, samples, offsets, m, own, nabla, c,
                  first_weights):
    """add_gradient and add_bias_gradient for every layer, on the rows own[l] (see `team_rows`); the first
    layer's weights only if `first_weights` (a team of two may add those by columns instead, see steps_team).
    The first layer's inputs are the mini-batch's rows of x, x[rows]; the others' are in `activations`."""
    for l in range(len(targets_w)):
        r0, r1 = own[l, 0], own[l, 1]
        if l > 0:
            add_gradient(targets_w[l], activations, samples, offsets[l], deltas, offsets[l + 1], m, r0, r1, nabla, c)
        elif first_weights:
            add_gradient(targets_w[0], x, rows, 0, deltas, offsets[1], m, r0, r1, nabla, c)
        add_bias_gradient(targets_b[l], deltas, offsets[l + 1], m, r0, r1)


@njit(cache=True)
def step_buffers(weights, m, threads):
    """What the steps of a call write into, allocated once for all of them (by the caller, which keeps them
    alive while the compiled code takes uncounted views of them, see `borrowed`):

    activations, deltas   one row per sample, [a^0 | a^1 | ... | a^L] (their a^0 columns unused)
    samples               0, 1, ..., m-1: the row map of `activations`
    partial_sums          for a team, each member's part of the first layer's weighted sums, one row per sample
    nabla, c              for each thread, add_gradient's running sums (4 rows) and the deltas of a 4x4 tile;
                          each thread's part padded to whole cache lines of 64 bytes (16 float32), since a line
                          that two cores write in turn travels between them each time
    """
    dtype = weights[0].dtype
    offsets = layer_offsets(weights)
    widest = 0
    for w in weights:
        widest = max(widest, w.shape[1])
    return (np.empty((m, offsets[-1]), dtype), np.empty((m, offsets[-1]), dtype), np.arange(m),
            np.empty((threads, m, weights[0].shape[0]), dtype),
            np.empty((threads, 4, (widest + 15) // 16 * 16), dtype), np.empty((threads, 4, 16), dtype))


@njit(cache=True)
def steps_serial(weights, biases, x, y, order, start, stop, batch_size, eta, quadratic, targets_w, targets_b,
                 activations, deltas, samples, nabla, c):
    """Gradient steps on the mini-batches order[start:start+batch_size], ... up to stop, in one compiled call.

    Each mini-batch of m samples is backpropagated, then -eta/m times its gradient is added into the targets:
    train_step and train_steps pass the weights and biases themselves; gradient passes zeros and eta = -m,
    which adds the gradient itself. Nothing comes back to Python between the mini-batches, and the buffers
    (see step_buffers) serve all of them.
    """
    weights, biases, x, y, order = borrowed(weights), borrowed(biases), borrowed(x), borrowed(y), borrowed(order)
    targets_w, targets_b = borrowed(targets_w), borrowed(targets_b)
    activations, deltas, samples, nabla, c = (borrowed(activations), borrowed(deltas), borrowed(samples),
                                              borrowed(nabla[0]), borrowed(c[0]))
    offsets, own = layer_offsets(weights), team_rows(weights, 0, 1, ROWS)
    for first in range(start, stop, batch_size):
        m = min(batch_size, stop - first)
        rows = order[first : first + m]
        fetch_rows(y, rows)  # backprop reads them after the first layer: by then they are here (see steps_team)
        backprop_samples(weights, biases, x, y, rows, activations, deltas, samples, offsets, 0, m, quadratic,
                         -eta / m)
        add_gradients(targets_w, targets_b, x, rows, activations, deltas, samples, offsets, m, own, nabla, c, True)


@njit(cache=True, nogil=True)
def steps_team(member, size, barrier_state, weights, biases, x, y, order, start, stop, batch_size, eta, quadratic,
               targets_w, targets_b, activations, deltas, samples, partial_sums, nabla, c, halves, target_halves,
               mode):
    """steps_serial shared out between a team of `size` threads, of which this one is number `member`.

    Every member runs this whole loop over the mini-batches (see numba_team.py), in one of three ways (`mode`,
    chosen by NumbaBackend.team_mode). Of the first layer, the layer of most weights, each member owns a share of
    the rows (ROWS, OWNER), or, in a team of two whose rows of x are long (COLUMNS), one half of the inputs
    (columns): halves[member] is its own copy of that half of the weights, which it updates in place
    (target_halves[member], the same arrays unless the targets are not the weights), and which the caller
    copies back after the call. Of the later layers, each member owns a share of the rows (ROWS, COLUMNS), or
    the last member owns them all (OWNER). In each step it
      1. asks for the rows of y of the samples its part 2 will take (`fetch_rows`: they lie anywhere in
         memory, and arrive while it works), then forms the weighted sums of the first layer over its share,
         for every sample of the mini-batch, into partial_sums[member]: whole sums of its rows, or the sums
         over its half of every row;
      2. once all have (a barrier), takes its share of the samples: gathers their weighted sums from the
         members who formed them (by columns, adding the two halves as one thread does, see layer_sums), then
         feeds them on through a = sigmoid(z + b) and the later layers, and backpropagates them. OWNER: the
         last member takes every sample, and the others, with nothing to do until the next barrier, fetch the
         rows of x of the next mini-batch into their caches (`prefetch`), which their part 1 will read;
      3. once all have (a barrier), adds the gradient into its share of every layer (`team_rows`).
    What one part writes, another part reads, and the barriers keep them apart. Part 1 of the next step reads
    only this member's own share of the first layer, which it has just updated itself: it needs no barrier.
    By columns, each member reads only its half of each row of x, the inputs that a step reads from memory
    (the rows of a shuffled mini-batch lie anywhere in x); by rows, each reads every row. The OWNER way passes
    only the first layer's sums and deltas between the cores; sharing out the later layers' samples and rows
    too passes their activations, deltas and weights back and forth at every step, a cache line at a time,
    which for small layers costs more than the second core saves (see OWNER_BATCH).
    """
    weights, biases, x, y, order = borrowed(weights), borrowed(biases), borrowed(x), borrowed(y), borrowed(order)
    targets_w, targets_b = borrowed(targets_w), borrowed(targets_b)
    activations, deltas, samples, partial_sums = (borrowed(activations), borrowed(deltas), borrowed(samples),
                                                  borrowed(partial_sums))
    nabla, c = borrowed(nabla[member]), borrowed(c[member])
    half, target_half = borrowed(halves[member]), borrowed(target_halves[member])
    offsets, own = layer_offsets(weights), team_rows(weights, member, size, mode)
    n_first = weights[0].shape[0]
    c0 = first_half(weights[0]) if member == 1 else 0  # by columns: where this member's half of a row of x starts
    last = size - 1  # OWNER: the member that feeds every sample through the later layers
    generation = 0
    for first in range(start, stop, batch_size):
        m = min(batch_size, stop - first)
        rows = order[first : first + m]
        if mode != OWNER:
            s0, s1 = share(m, member, size, 1), share(m, member + 1, size, 1)
        elif member == last:
            s0, s1 = 0, m
        else:
            s0 = s1 = 0
        fetch_rows(y, rows[s0:s1])  # the targets this member's part 2 reads: random rows, from far in memory
        if mode == COLUMNS:
            layer_sums(half, x, rows, c0, partial_sums[member], 0, 0, m, 0, n_first)
        else:
            first_layer_sums(weights[0], x, rows, partial_sums[member], 0, 0, m, own[0, 0], own[0, 1])
        generation = barrier(barrier_state, size, generation)
        if generation < 0:  # another member failed
            return
        if mode == OWNER and member != last:
            fetch_rows(x, order[first + m : min(first + m + batch_size, stop)])
        for s in range(s0, s1):
            z = activations[s, offsets[1] : offsets[2]]
            if mode == COLUMNS:
                for j in range(n_first):
                    z[j] = partial_sums[0, s, j] + partial_sums[1, s, j]
            else:
                for p in range(size):  # the sums of member p's rows
                    for j in range(first_share(n_first, p, size, mode), first_share(n_first, p + 1, size, mode)):
                        z[j] = partial_sums[p, s, j]
        activate(biases[0], activations, offsets[1], s0, s1, 0, n_first)
        for b0 in range(s0, s1, BLOCK):
            b1 = min(b0 + BLOCK, s1)
            later_layers_forward(weights, biases, activations, samples, offsets, b0, b1)
            backprop(weights, activations, deltas, y, rows, 0, offsets, b0, b1, quadratic, -eta / m)
        generation = barrier(barrier_state, size, generation)
        if generation < 0:
            return
        if mode == COLUMNS:
            add_gradient(target_half, x, rows, c0, deltas, offsets[1], m, 0, n_first, nabla, c)
        add_gradients(targets_w, targets_b, x, rows, activations, deltas, samples, offsets, m, own, nabla, c,
                      mode != COLUMNS)


@njit(cache=True)
def fetch_rows(table, rows):
    """Ask for the rows table[rows] (of x, or of y) to be fetched into this core's cache, a cache line (64 bytes)
    at a time, without waiting for them (see numba_team.prefetch). A row need not start a line: its last element
    is asked for too, in case it lies in one more."""
    for i in range(rows.shape[0]):
        row = table[rows[i]]
        for k in range(0, row.shape[0], 64 // row.itemsize):
            prefetch(row, k)
        prefetch(row, row.shape[0] - 1)


@njit(cache=True)
def all_activations(weights, biases, x):
    """Every layer's activations for every row of x, as rows [a^0 | a^1 | ... | a^L] (for teaching)."""
    n = x.shape[0]
    offsets = layer_offsets(weights)
    activations = np.empty((n, offsets[-1]), weights[0].dtype)
    samples = np.arange(n)
    load_inputs(x, activations, offsets, 0, n)  # the caller wants a^0 too
    feedforward(weights, biases, activations, samples, activations, samples, offsets, 0, n)
    return activations


@njit(cache=True)
def outputs_of_samples(weights, biases, x, outputs, s0, s1, activations, rows):
    """a^L of the rows s0 <= s < s1 of x into `outputs`, a block at a time through `activations`, a buffer of
    BLOCK rows (its a^0 columns unused); `rows` is 0, 1, ..., the row map of x. The caller allocates the buffers
    and holds every array for the whole call, so the loops take uncounted views of them (see `borrowed`)."""
    weights, biases, x, outputs = borrowed(weights), borrowed(biases), borrowed(x), borrowed(outputs)
    activations, rows = borrowed(activations), borrowed(rows)
    offsets = layer_offsets(weights)
    samples = rows[:BLOCK]
    L = len(weights)
    for b0 in range(s0, s1, BLOCK):
        n = min(BLOCK, s1 - b0)
        feedforward(weights, biases, x, rows[b0:], activations, samples, offsets, 0, n)
        for s in range(n):
            a_out, out = activations[s, offsets[L] :], outputs[b0 + s]
            for j in range(out.shape[0]):
                out[j] = a_out[j]


@njit(cache=True)
def forward_serial(weights, biases, x):
    """The output activations a^L of every row of x."""
    n = x.shape[0]
    outputs = np.empty((n, weights[-1].shape[0]), weights[0].dtype)
    activations = np.empty((BLOCK, layer_offsets(weights)[-1]), weights[0].dtype)
    outputs_of_samples(weights, biases, x, outputs, 0, n, activations, np.arange(max(n, BLOCK)))
    return outputs


@njit(cache=True, parallel=True)
def forward_parallel(weights, biases, x, threads):
    """forward_serial with the rows of x shared out between `threads` threads."""
    n = x.shape[0]
    outputs = np.empty((n, weights[-1].shape[0]), weights[0].dtype)
    activations = np.empty((threads, BLOCK, layer_offsets(weights)[-1]), weights[0].dtype)
    rows = np.arange(max(n, BLOCK))
    for t in prange(threads):
        outputs_of_samples(weights, biases, x, outputs, n * t // threads, n * (t + 1) // threads, activations[t],
                           rows)
    return outputs


# ----------------------------------------------------------------------------------------------------------
# The backend

SERIAL, PARALLEL, BLAS = "serial", "parallel", "blas"


class NumbaBackend(StepByStep):
    """NumPy arrays, and the loops of the Python backend compiled by Numba, on one or more CPU cores."""

    name = "numba"
    dtypes = ("float64", "float32")

    def __init__(self) -> None:
        self.threads = numba.config.NUMBA_NUM_THREADS
        self._forward_parallel_work: int | None = None  # known once Numba's threads are started
        self._team = Team()
        self._numpy = NumpyBackend()

    def __repr__(self) -> str:
        return f"NumbaBackend(threads={self.threads})"

    def set_threads(self, threads: int) -> None:
        """Use this many threads (at most NUMBA_NUM_THREADS, which defaults to the number of cores)."""
        limit = numba.config.NUMBA_NUM_THREADS
        if not 1 <= threads <= limit:
            raise NeuroError(f"the numba backend can use 1 to {limit} threads here (NUMBA_NUM_THREADS), "
                             f"not {threads}")
        self.threads = threads

    def path(self, m: int, weights, blas: bool = True, samples: int | None = None) -> str:
        """How steps on m samples run, `samples` in all (default m): compiled loops on one thread (SERIAL) or a
        team of threads (PARALLEL), or BLAS."""
        per_sample = sum([w.size for w in weights])
        work, call_work = m * per_sample, (m if samples is None else samples) * per_sample
        if blas and work >= BLAS_WORK and m >= BLAS_BATCH:
            return BLAS
        if self._team_members(weights) > 1 and work >= TEAM_WORK and call_work >= TEAM_CALL_WORK:
            return PARALLEL
        return SERIAL

    def _team_size(self) -> int:
        """The threads of a team: `threads`, but no more than the cores this process may run on (a member that
        spins at a barrier, waiting for one that has no core, would wait for the scheduler's next turn)."""
        return min(self.threads, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else
                   os.cpu_count() or 1)

    def _team_members(self, weights) -> int:
        """The members of a team for this network: _team_size, and at most one per tile of four rows of the
        first layer (more would have no rows of their own)."""
        return min(self._team_size(), max(1, weights[0].shape[0] // 4))

    @staticmethod
    def team_mode(weights, size: int, batch_size: int) -> int:
        """How a team of `size` shares out steps of batch_size samples (see steps_team): COLUMNS for a team of two
        whose rows of x are long (`first_half`), OWNER on small batches of a network with small later layers
        (OWNER_BATCH), else ROWS."""
        first, later = weights[0], sum([w.size for w in weights[1:]])
        if size == 2 and first_half(first) < first.shape[1]:
            return COLUMNS
        if batch_size < OWNER_BATCH and later * LATER_LAYERS_SHARE <= first.size:
            return OWNER
        return ROWS

    def _forward_in_parallel(self, n: int, weights) -> bool:
        """Is a forward pass of n samples worth Numba's parallel loop (FORWARD_PARALLEL_WORK)?"""
        work = n * sum([w.size for w in weights])
        if self.threads == 1 or work < FORWARD_PARALLEL_WORK:
            return False
        if self._forward_parallel_work is None:
            numba.get_num_threads()  # starts Numba's threads, which settles the threading layer
            slow = numba.threading_layer() == "workqueue"
            self._forward_parallel_work = FORWARD_PARALLEL_WORK_WORKQUEUE if slow else FORWARD_PARALLEL_WORK
        return work >= self._forward_parallel_work

    def to_backend(self, array: np.ndarray, dtype: str) -> np.ndarray:
        return np.array(array, dtype=dtype, order="C")  # always a copy: the network owns its parameters

    def to_numpy(self, stored: np.ndarray) -> np.ndarray:
        return np.array(stored)

    def forward(self, weights, biases, x, all_layers=False):
        # Never BLAS here, whatever the size: the evaluation after each epoch would wake NumPy's BLAS threads,
        # which keep spinning for a while afterwards and take the cores from this backend's own threads.
        weights, biases, x = tuple(weights), tuple(biases), np.ascontiguousarray(x)
        if all_layers:
            activations = all_activations(weights, biases, x)
            widths = [weights[0].shape[1]] + [w.shape[0] for w in weights]  # of a^0, a^1, ..., a^L
            return [activations[:, lo : lo + n].copy() for lo, n in zip(accumulate(widths, initial=0), widths)]
        if not self._forward_in_parallel(len(x), weights):
            return forward_serial(weights, biases, x)
        numba.set_num_threads(self.threads)
        return forward_parallel(weights, biases, x, self.threads)

    def gradient(self, weights, biases, x, y, order, start, stop, cost):
        m = stop - start
        path = self.path(m, weights)
        if path == BLAS:
            return self._numpy.gradient(weights, biases, x, y, order, start, stop, cost)
        nabla_w = [np.zeros_like(w) for w in weights]
        nabla_b = [np.zeros_like(b) for b in biases]
        # one step of eta = -m adds -eta/m = 1 times the gradient into the zeros
        self._steps(path, weights, biases, x, y, order, start, stop, m, -m, cost, nabla_w, nabla_b)
        return nabla_w, nabla_b

    def train_step(self, weights, biases, x, y, order, start, stop, eta, cost):
        self.train_steps(weights, biases, x, y, order, start, stop, stop - start, eta, cost)

    def train_steps(self, weights, biases, x, y, order, start, stop, batch_size, eta, cost):
        path = self.path(min(batch_size, stop - start), weights, samples=stop - start)
        if path == BLAS:
            return self._numpy.train_steps(weights, biases, x, y, order, start, stop, batch_size, eta, cost)
        self._steps(path, weights, biases, x, y, order, start, stop, batch_size, eta, cost, weights, biases)

    def _steps(self, path, weights, biases, x, y, order, start, stop, batch_size, eta, cost, targets_w,
               targets_b) -> None:
        """Add -eta/m times the gradient of each mini-batch of order[start:stop] into targets_w, targets_b."""
        args = (tuple(weights), tuple(biases), x, y, order, int(start), int(stop), int(batch_size), float(eta),
                cost == "quadratic", tuple(targets_w), tuple(targets_b))
        size = self._team_members(weights) if path == PARALLEL else 1
        activations, deltas, samples, partial_sums, nabla, c = step_buffers(args[0], min(batch_size, stop - start),
                                                                            size)
        if path != PARALLEL:
            steps_serial(*args, activations, deltas, samples, nabla, c)
            return
        w, target = args[0][0], args[10][0]
        mode = self.team_mode(weights, size, batch_size)
        if mode == COLUMNS:  # each member's own copy of its half of the first layer's weights (see steps_team)
            cut = first_half(w)
            halves = (np.ascontiguousarray(w[:, :cut]), np.ascontiguousarray(w[:, cut:]))
            target_halves = halves if targets_w is weights else (np.ascontiguousarray(target[:, :cut]),
                                                                 np.ascontiguousarray(target[:, cut:]))
        else:
            halves = target_halves = (w,) * size  # (unused)
        self._team.run(steps_team, size, *args, activations, deltas, samples, partial_sums, nabla, c, halves,
                       target_halves, mode)
        if mode == COLUMNS:
            target[:, :cut], target[:, cut:] = target_halves


def unavailable_reason() -> str | None:
    return None  # this module imported, so numba did too


def note() -> str:
    threads = numba.config.NUMBA_NUM_THREADS
    return f"{threads} thread{'s' if threads != 1 else ''}"


def create() -> NumbaBackend:
    return NumbaBackend()
