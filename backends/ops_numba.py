"""The Numba backend: the loops of the pure-Python backend, compiled to machine code for the CPU cores.

The equations and the names are those of `ops_python.py` (see `base.py` for the notation):

    z^l = w^l a^{l-1} + b^l,   a^l = sigmoid(z^l)                                   feedforward
    delta^L = dC/dz^L,         delta^l = (w^{l+1}^T delta^{l+1}) * a^l (1 - a^l)     backprop
    w -= eta/m * sum_s delta^l(s) a^{l-1}(s)^T,    b -= eta/m * sum_s delta^l(s)     the step

What changed, and why it is fast:

* Typed and compiled. `@njit` compiles each function below to machine code for the types of its first call
  (float64 or float32 arrays): no interpreter, no Python float objects, and the innermost loops run in SIMD
  instructions that multiply and add 4 to 8 numbers at once.
* A stretch of steps in one call. `train_steps` runs the loop over the mini-batches of a stretch (about 1% of
  an epoch) inside one compiled call (`steps_serial`): nothing comes back to the interpreter between
  mini-batches, where the call alone would cost a few microseconds per step. `train_step` and `gradient` are
  the same compiled code with one mini-batch, so they share its compile cache.
* No temporaries. A call allocates its buffers once for all its steps (`activations`, `deltas`, a small
  `nabla`) and every loop writes into them; the parameters are the framework's own NumPy arrays, updated in
  place.
* Layer by layer over the mini-batch. The Python backend feeds one sample through every layer; here each
  layer is computed for a block of samples before the next one (as NumPy does with matrices), so a row of
  weights, once in the fastest cache, meets every sample of the block before it is evicted.
* Tiles of four neurons and a few samples. The long loops (over a layer's inputs) work on four neurons and
  two samples at once in the weighted sums, four neurons and four samples in the gradient. In the weighted
  sums each weight, once loaded, serves both samples and each activation all four neurons; in the gradient
  each activation serves four rows, and each running sum is loaded and stored once per four samples, the
  last four adding it into the weights in the same pass. This "register blocking" is the main trick of every
  fast matrix product (the tiles are written out by hand: they are what the CPU's registers hold).
* Plain loops for narrow layers. A layer of at most `NARROW` inputs (the 16-wide hidden layers of the classic
  network) skips the tiles and goes a sample at a time: its sums are a few SIMD instructions long, and setting
  up a tile (slices, padding, the 4x4 deltas) cost more than the arithmetic.
* The inputs read where they lie. The first layer reads its inputs, the rows x[order[s]] of the mini-batch,
  straight from x, in the forward pass and in the gradient, instead of first copying them into a buffer.
* Sums the compiler may reorder. The sums of products, and nothing else, are compiled with
  `fastmath={"reassoc", "contract"}`: the compiler may then split a sum into partial sums that run side by
  side in SIMD lanes, as BLAS does, and fuse a*b+c into one instruction. That changes the rounding the way
  any other order of summation does, which is what `neuro.agreement` allows for. No flag that assumes finite
  numbers, and none at all on the sigmoid, which therefore stays 0 or 1, without overflow, at z = +-1000.
* A fused step. A step adds -eta/m times the gradient straight into the weights; `gradient` runs the same
  code with eta = -m (deltas unscaled), adding into zeros.
* Both cores, where it pays. A larger step shares its samples out between threads for the forward and
  backward passes, then the rows of each weight matrix for the update, so that no two threads ever write
  the same weight (`steps_parallel`: the loop over the mini-batches is compiled too, with the two parallel
  regions of each step inside it). Waking the threads costs microseconds, more than half a step of the
  classic network at batch 10, so small steps run on one core (`PARALLEL_WORK`). The thread count is Numba's:
  `NUMBA_NUM_THREADS` (default: all cores) or `NumbaBackend.set_threads`.
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

import math
from itertools import accumulate

import numpy as np

from neuro.backends.ops_numpy import NumpyBackend
from neuro.errors import NeuroError

from .base import StepByStep

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

NARROW = 32
"""Layers with at most this many inputs (the 16-wide hidden layers of the classic network) skip the tiles of
four neurons and samples and go a sample at a time, in plain loops: their sums are a few SIMD instructions
long, and the setup of a tile (the slices, the padding, the 4x4 deltas) cost more than the arithmetic."""

PARALLEL_WORK = 250_000
"""Multiply-adds per step (samples times weights) from which a step is shared out between threads: the
classic network (12,960 weights) from batch 20. Below it, waking the threads costs more than they save."""

PARALLEL_WORK_WORKQUEUE = 2_500_000
"""The same, when Numba has neither OpenMP nor TBB and starts each parallel loop by its own, slower, queue."""

BLAS_WORK = 2_000_000
BLAS_BATCH = 16
"""A step of at least BLAS_WORK multiply-adds on at least BLAS_BATCH samples goes to the NumPy backend."""


# ----------------------------------------------------------------------------------------------------------
# The loops


@njit(cache=True)
def sigmoid(z):
    """1 / (1 + e^-z) without overflow: as in the Python backend, only e^-|z| is ever taken."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@njit(cache=True, fastmath=SUMS)
def weighted_sum(w_j, a):
    """sum_k w_j[k] a[k]: the weighted input of the neuron whose weights are w_j (bias not included)."""
    z = w_j.dtype.type(0)  # a zero of the arrays' dtype: a literal 0.0 would turn a float32 sum into float64
    for k in range(a.shape[0]):
        z += w_j[k] * a[k]
    return z


@njit(cache=True, fastmath=SUMS)
def weighted_sums4(w, j, a):
    """The weighted inputs of neurons j..j+3 in one pass over a: each a[k], once loaded, serves four sums."""
    z0 = z1 = z2 = z3 = w.dtype.type(0)
    for k in range(a.shape[0]):
        z0 += w[j, k] * a[k]
        z1 += w[j + 1, k] * a[k]
        z2 += w[j + 2, k] * a[k]
        z3 += w[j + 3, k] * a[k]
    return z0, z1, z2, z3


@njit(cache=True, fastmath=SUMS)
def weighted_sums4x2(w, j, a, a_next):
    """weighted_sums4 for two samples at once: each weight, once loaded, serves both (8 sums in one pass)."""
    z0 = z1 = z2 = z3 = y0 = y1 = y2 = y3 = w.dtype.type(0)
    for k in range(a.shape[0]):
        z0 += w[j, k] * a[k]
        y0 += w[j, k] * a_next[k]
        z1 += w[j + 1, k] * a[k]
        y1 += w[j + 1, k] * a_next[k]
        z2 += w[j + 2, k] * a[k]
        y2 += w[j + 2, k] * a_next[k]
        z3 += w[j + 3, k] * a[k]
        y3 += w[j + 3, k] * a_next[k]
    return z0, z1, z2, z3, y0, y1, y2, y3


@njit(cache=True)
def layer_forward(w, b, inputs, rows, k0, activations, j0, s0, s1):
    """a = sigmoid(w a_in + b) into activations[s, j0:] for the samples s0 <= s < s1, where the input a_in of
    sample s is inputs[rows[s], k0:]: for the first layer a row of x itself (rows: the mini-batch's part of
    `order`), read where it lies rather than copied first into `activations`; for the others, a^l in the
    sample's own row of `activations` (rows: 0, 1, 2, ...).

    A wide layer goes four neurons (rows of w) and two samples at a time, the neurons left over one at a
    time. A narrow one (at most NARROW inputs) goes a sample at a time, neuron by neuron: its sums are too
    short for the tiles to pay for their setup.
    """
    n, n_in = w.shape
    if n_in <= NARROW:
        for s in range(s0, s1):
            a, out = inputs[rows[s], k0 : k0 + n_in], activations[s, j0 : j0 + n]
            for j in range(n):
                out[j] = sigmoid(weighted_sum(w[j], a) + b[j])
        return
    fours = n - n % 4
    for j in range(0, fours, 4):  # four rows of w, used for every sample of the block in turn
        s = s0
        while s + 1 < s1:  # two samples at a time
            z = weighted_sums4x2(w, j, inputs[rows[s], k0 : k0 + n_in], inputs[rows[s + 1], k0 : k0 + n_in])
            for r in range(4):
                activations[s, j0 + j + r] = sigmoid(z[r] + b[j + r])
                activations[s + 1, j0 + j + r] = sigmoid(z[4 + r] + b[j + r])
            s += 2
        if s < s1:  # and the last one of an odd number
            z = weighted_sums4(w, j, inputs[rows[s], k0 : k0 + n_in])
            for r in range(4):
                activations[s, j0 + j + r] = sigmoid(z[r] + b[j + r])
    for j in range(fours, n):
        for s in range(s0, s1):
            activations[s, j0 + j] = sigmoid(weighted_sum(w[j], inputs[rows[s], k0 : k0 + n_in]) + b[j])


@njit(cache=True)
def feedforward(weights, biases, x, rows, activations, samples, offsets, s0, s1):
    """a^{l+1} = sigmoid(w a^l + b), layer after layer, for the samples s0 <= s < s1 (rows of `activations`);
    a^0 of sample s is x[rows[s]], and `samples` is 0, 1, 2, ... (the row map of `activations` itself)."""
    layer_forward(weights[0], biases[0], x, rows, 0, activations, offsets[1], s0, s1)
    for l in range(1, len(weights)):
        layer_forward(weights[l], biases[l], activations, samples, offsets[l], activations, offsets[l + 1], s0, s1)


@njit(cache=True)
def backprop(weights, activations, deltas, y, order, start, offsets, s0, s1, quadratic, scale):
    """delta^l of every layer for the samples s0 <= s < s1, each multiplied by `scale`, into `deltas`.

    delta^L = (a - y) * a (1 - a) for the quadratic cost, a - y for cross-entropy; then backwards,
    delta^l = (w^{l+1}^T delta^{l+1}) * a^l (1 - a^l). The Python backend sums down the column w[.][k] of
    each neuron k; here each row w[j] adds delta_j w[j] into the whole of delta^l, for every sample of the
    block in turn: the weights are read in the order they lie in memory, and each row once per block.
    """
    L = len(weights)
    out = offsets[L]
    for s in range(s0, s1):
        i = order[start + s]
        for j in range(offsets[L + 1] - out):
            a_j = activations[s, out + j]
            delta_j = a_j - y[i, j]
            if quadratic:
                delta_j *= a_j * (1.0 - a_j)
            deltas[s, out + j] = scale * delta_j
    for l in range(L - 1, 0, -1):  # weights[l] maps layer l to layer l+1 (the book's w^{l+1})
        w = weights[l]
        k0, j0 = offsets[l], offsets[l + 1]
        if w.shape[1] <= NARROW:  # a narrow layer: the same sums, a sample at a time (no setup per row)
            for s in range(s0, s1):
                delta, a, delta_out = deltas[s, k0:j0], activations[s, k0:j0], deltas[s, j0 : j0 + w.shape[0]]
                for k in range(delta.shape[0]):
                    delta[k] = 0.0
                for j in range(w.shape[0]):
                    w_j, delta_j = w[j], delta_out[j]
                    for k in range(delta.shape[0]):
                        delta[k] += delta_j * w_j[k]
                for k in range(delta.shape[0]):
                    delta[k] *= a[k] * (1.0 - a[k])
            continue
        for s in range(s0, s1):
            deltas[s, k0:j0] = 0.0
        for j in range(w.shape[0]):
            w_j = w[j]
            for s in range(s0, s1):
                delta, delta_j = deltas[s, k0:j0], deltas[s, j0 + j]
                for k in range(delta.shape[0]):
                    delta[k] += delta_j * w_j[k]
        for s in range(s0, s1):
            delta, a = deltas[s, k0:j0], activations[s, k0:j0]
            for k in range(delta.shape[0]):
                delta[k] *= a[k] * (1.0 - a[k])


@njit(cache=True, fastmath={"contract"})
def sum_products4(nabla, c, a0, a1, a2, a3):
    """nabla[r] += c[r, 0] a0 + c[r, 1] a1 + c[r, 2] a2 + c[r, 3] a3 for the four rows r of nabla.

    Four rows and four samples in one pass: each a[k], once loaded, serves four rows, and each nabla[r, k] is
    loaded and stored once per four samples.
    """
    n0, n1, n2, n3 = nabla[0], nabla[1], nabla[2], nabla[3]
    c00, c01, c02, c03 = c[0, 0], c[0, 1], c[0, 2], c[0, 3]
    c10, c11, c12, c13 = c[1, 0], c[1, 1], c[1, 2], c[1, 3]
    c20, c21, c22, c23 = c[2, 0], c[2, 1], c[2, 2], c[2, 3]
    c30, c31, c32, c33 = c[3, 0], c[3, 1], c[3, 2], c[3, 3]
    for k in range(a0.shape[0]):
        x0, x1, x2, x3 = a0[k], a1[k], a2[k], a3[k]
        n0[k] = n0[k] + c00 * x0 + c01 * x1 + c02 * x2 + c03 * x3
        n1[k] = n1[k] + c10 * x0 + c11 * x1 + c12 * x2 + c13 * x3
        n2[k] = n2[k] + c20 * x0 + c21 * x1 + c22 * x2 + c23 * x3
        n3[k] = n3[k] + c30 * x0 + c31 * x1 + c32 * x2 + c33 * x3


@njit(cache=True, fastmath={"contract"})
def add_products4(w, j, nabla, c, a0, a1, a2, a3):
    """w[j + r] += (nabla[r] + c[r, 0] a0 + ... + c[r, 3] a3): the last four samples and the sums so far, into w.

    The brackets matter: the whole sum over the samples is formed first and rounded into w once.
    """
    w0, w1, w2, w3 = w[j], w[j + 1], w[j + 2], w[j + 3]
    n0, n1, n2, n3 = nabla[0], nabla[1], nabla[2], nabla[3]
    c00, c01, c02, c03 = c[0, 0], c[0, 1], c[0, 2], c[0, 3]
    c10, c11, c12, c13 = c[1, 0], c[1, 1], c[1, 2], c[1, 3]
    c20, c21, c22, c23 = c[2, 0], c[2, 1], c[2, 2], c[2, 3]
    c30, c31, c32, c33 = c[3, 0], c[3, 1], c[3, 2], c[3, 3]
    for k in range(w0.shape[0]):
        x0, x1, x2, x3 = a0[k], a1[k], a2[k], a3[k]
        w0[k] += n0[k] + c00 * x0 + c01 * x1 + c02 * x2 + c03 * x3
        w1[k] += n1[k] + c10 * x0 + c11 * x1 + c12 * x2 + c13 * x3
        w2[k] += n2[k] + c20 * x0 + c21 * x1 + c22 * x2 + c23 * x3
        w3[k] += n3[k] + c30 * x0 + c31 * x1 + c32 * x2 + c33 * x3


@njit(cache=True, fastmath={"contract"})
def sum_products2(nabla, c, a0, a1):
    """sum_products4 for a last group of two samples: nabla[r] += c[r, 0] a0 + c[r, 1] a1."""
    n0, n1, n2, n3 = nabla[0], nabla[1], nabla[2], nabla[3]
    c00, c01, c10, c11, c20, c21, c30, c31 = c[0, 0], c[0, 1], c[1, 0], c[1, 1], c[2, 0], c[2, 1], c[3, 0], c[3, 1]
    for k in range(a0.shape[0]):
        x0, x1 = a0[k], a1[k]
        n0[k] = n0[k] + c00 * x0 + c01 * x1
        n1[k] = n1[k] + c10 * x0 + c11 * x1
        n2[k] = n2[k] + c20 * x0 + c21 * x1
        n3[k] = n3[k] + c30 * x0 + c31 * x1


@njit(cache=True, fastmath={"contract"})
def add_products2(w, j, nabla, c, a0, a1):
    """add_products4 for a last group of two samples: w[j + r] += (nabla[r] + c[r, 0] a0 + c[r, 1] a1)."""
    w0, w1, w2, w3 = w[j], w[j + 1], w[j + 2], w[j + 3]
    n0, n1, n2, n3 = nabla[0], nabla[1], nabla[2], nabla[3]
    c00, c01, c10, c11, c20, c21, c30, c31 = c[0, 0], c[0, 1], c[1, 0], c[1, 1], c[2, 0], c[2, 1], c[3, 0], c[3, 1]
    for k in range(w0.shape[0]):
        x0, x1 = a0[k], a1[k]
        w0[k] += n0[k] + c00 * x0 + c01 * x1
        w1[k] += n1[k] + c10 * x0 + c11 * x1
        w2[k] += n2[k] + c20 * x0 + c21 * x1
        w3[k] += n3[k] + c30 * x0 + c31 * x1


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
def add_gradient(w, b, inputs, rows, k0, deltas, j0, m, r0, r1, nabla, c):
    """w[j] += sum_s delta_j(s) a(s) and b[j] += sum_s delta_j(s) over the m samples, for rows r0 <= j < r1.

    a(s) = inputs[rows[s], k0:] is the layer's input (for the first layer a row of x itself, see
    layer_forward), delta(s) = deltas[s, j0:] its deltas. With the deltas
    scaled by -eta/m this is the gradient step itself; with unscaled deltas and w, b zero, the gradient.

    Four rows at a time, the sum over the samples is formed four samples at a time in `nabla` (4 rows: it stays
    in the fastest cache), and the last four add it, with their own share, into w in the same pass. Adding
    each sample's share straight into w, as the Python backend does, would round w once per sample, which at
    large batches is more rounding than the reference allows. The samples left over after the groups of four
    go in a group of two (the 2 of batch 10), padded with zero deltas (on a repeated sample) where they are
    1 or 3: at most one wasted product per weight, where padding every group to four wasted up to three.
    A narrow layer (at most NARROW inputs) skips the tiles: its rows go one at a time (add_gradient_row).
    """
    n_in = w.shape[1]
    fours = r0 + (r1 - r0) // 4 * 4 if n_in > NARROW else r0
    for j in range(r0, fours, 4):
        for r in range(4):
            nabla[r, :n_in] = 0.0
        s = 0
        while s < m:
            group = 4 if m - s >= 3 else 2  # samples s..s+group-1: 4 (the last 3 padded), or 2 (the last 1)
            for q in range(group):  # the deltas of rows j..j+3 for those samples, zeros past the last sample
                for r in range(4):
                    c[r, q] = deltas[s + q, j0 + j + r] if s + q < m else 0.0
            a0 = inputs[rows[s], k0 : k0 + n_in]
            a1 = inputs[rows[min(s + 1, m - 1)], k0 : k0 + n_in]
            last = s + group >= m
            if group == 2:
                if last:
                    add_products2(w, j, nabla, c, a0, a1)
                else:
                    sum_products2(nabla, c, a0, a1)
            else:
                a2 = inputs[rows[min(s + 2, m - 1)], k0 : k0 + n_in]
                a3 = inputs[rows[min(s + 3, m - 1)], k0 : k0 + n_in]
                if last:
                    add_products4(w, j, nabla, c, a0, a1, a2, a3)
                else:
                    sum_products4(nabla, c, a0, a1, a2, a3)
            s += group
    for j in range(fours, r1):
        add_gradient_row(w[j], inputs, rows, k0, deltas, j0 + j, m, nabla[0, :n_in])
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
def add_gradients(targets_w, targets_b, x, rows, activations, deltas, samples, offsets, m, part, parts, nabla,
                  c):
    """add_gradient for every layer, on its share of rows: [n part/parts, n (part+1)/parts) of n. The first
    layer's inputs are the mini-batch's rows of x, x[rows]; the others' are in `activations`."""
    for l in range(len(targets_w)):
        n = targets_w[l].shape[0]
        r0, r1 = n * part // parts, n * (part + 1) // parts
        if l == 0:
            add_gradient(targets_w[0], targets_b[0], x, rows, 0, deltas, offsets[1], m, r0, r1, nabla, c)
        else:
            add_gradient(targets_w[l], targets_b[l], activations, samples, offsets[l], deltas, offsets[l + 1], m,
                         r0, r1, nabla, c)


@njit(cache=True)
def step_buffers(weights, offsets, m, threads):
    """What a step writes into, allocated once for all the steps of a call: `activations` and `deltas` (one
    row per sample, their a^0 columns unused), `samples` = 0, 1, ..., m-1 (the row map of `activations`), and
    for each thread the running sums `nabla` (4 rows) and the deltas `c` of a 4x4 tile."""
    dtype = weights[0].dtype
    widest = 0
    for w in weights:
        widest = max(widest, w.shape[1])
    activations = np.empty((m, offsets[-1]), dtype)
    deltas = np.empty((m, offsets[-1]), dtype)
    return (activations, deltas, np.arange(m), np.empty((threads, 4, widest), dtype),
            np.empty((threads, 4, 4), dtype))


@njit(cache=True)
def steps_serial(weights, biases, x, y, order, start, stop, batch_size, eta, quadratic, targets_w, targets_b):
    """Gradient steps on the mini-batches order[start:start+batch_size], ... up to stop, in one compiled call.

    Each mini-batch of m samples is backpropagated, then -eta/m times its gradient is added into the targets:
    train_step and train_steps pass the weights and biases themselves; gradient passes zeros and eta = -m,
    which adds the gradient itself. Nothing comes back to Python between the mini-batches, and the buffers
    are allocated once for all of them.
    """
    offsets = layer_offsets(weights)
    activations, deltas, samples, nabla, c = step_buffers(weights, offsets, min(batch_size, stop - start), 1)
    for first in range(start, stop, batch_size):
        m = min(batch_size, stop - first)
        rows = order[first : first + m]
        backprop_samples(weights, biases, x, y, rows, activations, deltas, samples, offsets, 0, m, quadratic,
                         -eta / m)
        add_gradients(targets_w, targets_b, x, rows, activations, deltas, samples, offsets, m, 0, 1, nabla[0],
                      c[0])


@njit(cache=True, parallel=True)
def steps_parallel(weights, biases, x, y, order, start, stop, batch_size, eta, quadratic, targets_w, targets_b,
                   threads):
    """steps_serial on `threads` threads: in each step, first each takes a share of the samples, then of every
    layer's rows (so that no two threads write the same weight)."""
    offsets = layer_offsets(weights)
    activations, deltas, samples, nabla, c = step_buffers(weights, offsets, min(batch_size, stop - start),
                                                          threads)
    for first in range(start, stop, batch_size):
        m = min(batch_size, stop - first)
        scale = -eta / m
        rows = order[first : first + m]
        for t in prange(threads):
            backprop_samples(weights, biases, x, y, rows, activations, deltas, samples, offsets,
                             m * t // threads, m * (t + 1) // threads, quadratic, scale)
        for t in prange(threads):
            add_gradients(targets_w, targets_b, x, rows, activations, deltas, samples, offsets, m, t, threads,
                          nabla[t], c[t])


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
def outputs_of_samples(weights, biases, x, outputs, s0, s1):
    """a^L of the rows s0 <= s < s1 of x into `outputs`, a block at a time through a buffer of BLOCK rows."""
    offsets = layer_offsets(weights)
    activations = np.empty((BLOCK, offsets[-1]), weights[0].dtype)  # (its a^0 columns unused)
    rows = np.arange(x.shape[0])
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
    outputs = np.empty((x.shape[0], weights[-1].shape[0]), weights[0].dtype)
    outputs_of_samples(weights, biases, x, outputs, 0, x.shape[0])
    return outputs


@njit(cache=True, parallel=True)
def forward_parallel(weights, biases, x, threads):
    """forward_serial with the rows of x shared out between `threads` threads."""
    n = x.shape[0]
    outputs = np.empty((n, weights[-1].shape[0]), weights[0].dtype)
    for t in prange(threads):
        outputs_of_samples(weights, biases, x, outputs, n * t // threads, n * (t + 1) // threads)
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
        self._parallel_work: int | None = None  # known once the threads are started
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

    def path(self, m: int, weights, blas: bool = True) -> str:
        """How a step on m samples runs: compiled loops on one thread (SERIAL) or more (PARALLEL), or BLAS."""
        work = m * sum([w.size for w in weights])
        if work < PARALLEL_WORK:
            return SERIAL
        if blas and work >= BLAS_WORK and m >= BLAS_BATCH:
            return BLAS
        if self.threads == 1 or work < self._threshold():
            return SERIAL
        return PARALLEL

    def _threshold(self) -> int:
        if self._parallel_work is None:
            numba.get_num_threads()  # starts Numba's threads, which settles the threading layer
            slow = numba.threading_layer() == "workqueue"
            self._parallel_work = PARALLEL_WORK_WORKQUEUE if slow else PARALLEL_WORK
        return self._parallel_work

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
        if self.path(len(x), weights, blas=False) == SERIAL:
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
        path = self.path(min(batch_size, stop - start), weights)
        if path == BLAS:
            return self._numpy.train_steps(weights, biases, x, y, order, start, stop, batch_size, eta, cost)
        self._steps(path, weights, biases, x, y, order, start, stop, batch_size, eta, cost, weights, biases)

    def _steps(self, path, weights, biases, x, y, order, start, stop, batch_size, eta, cost, targets_w,
               targets_b) -> None:
        """Add -eta/m times the gradient of each mini-batch of order[start:stop] into targets_w, targets_b."""
        args = (tuple(weights), tuple(biases), x, y, order, int(start), int(stop), int(batch_size), float(eta),
                cost == "quadratic", tuple(targets_w), tuple(targets_b))
        if path == PARALLEL:
            numba.set_num_threads(self.threads)
            steps_parallel(*args, self.threads)
        else:
            steps_serial(*args)


def unavailable_reason() -> str | None:
    return None  # this module imported, so numba did too


def note() -> str:
    threads = numba.config.NUMBA_NUM_THREADS
    return f"{threads} thread{'s' if threads != 1 else ''}"


def create() -> NumbaBackend:
    return NumbaBackend()
