"""numba-tiles: the long loops work on tiles of four neurons and a few samples, held in registers, on
uncounted views of the arrays.

What changed from `numba-blocks`: the loops over a layer's inputs (the first layer's 784) compute several sums
in one pass. The weighted sums take four neurons and two samples at once (`weighted_sums4x2`: eight sums side
by side), backprop adds four rows of weights into a delta at once (`add_rows4`), and the gradient four rows and
four samples (`sum_products4`, `add_products4`, and the same for a last pair of samples). And the compiled entry
points hand the loops views of their arrays without reference counts (`borrowed`).

Why it is faster:
* In the rung before, each multiply-add of a weighted sum loaded two numbers, a weight and an activation; on a
  core that can load fewer numbers per cycle than it can multiply-add (two or three loads per cycle is common),
  the loops run at the speed of the loads. In a tile of four neurons
  and two samples, each weight, once loaded, serves both samples and each activation all four neurons: 6 loads
  for 8 multiply-adds. The gradient's running sums are loaded and stored once per four samples instead of once
  per sample. This "register blocking" is the main trick of every fast matrix product; the tiles are written
  out by hand because they are what the registers hold.
* Numba counts the references to an array's memory, and every slice taken of it (a row, a row's span) adds one
  and takes it away again: two atomic instructions, and the tiles take many slices. The arrays of a call live
  until it returns (the caller holds them), so `steps_on_views` hands the loops views that count nothing.
* `weighted_sums4x2` is pasted into its caller (`inline="always"`): as a call it would return its eight sums
  through memory. Pasted in, it takes the caller's fast-math flags, which is why `layer_sums` carries them.

Tiles change no sum's order between one sample and the next: a sample's sum comes out the same, bit for bit,
whichever sample it is paired with (the last of an odd number is paired with itself), so the samples may be
shared out anywhere, as the team of threads of the next rung does.

Compiled again from numba-blocks by `inherit` (its source, calling this rung's functions; backends/cpu/compiled.py):
`activate`, `add_bias_gradient`, `add_gradient_row`, `add_gradients`, `all_activations`, `feedforward`,
`layer_forward`, `layer_offsets`, `output_delta`, `outputs`, `step_buffers`, `steps`, `train_step`, `weighted_sum`.
"""

from __future__ import annotations

import sys

import numpy as np
from numba import types
from numba.extending import intrinsic
from numba.typed import List

from . import ops_numba_blocks as previous
from .compiled import inherit, njit
from .ops_numba_blocks import add_bias_gradient, add_gradient_row, output_delta, step_buffers, steps, weighted_sum
from .ops_numba_reorder import SUMS


@njit(cache=True, inline="always")
def weighted_sums4x2(w0, w1, w2, w3, a, a_next):
    """The weighted inputs of four neurons (weights w0..w3) for two samples (inputs a, a_next) in one pass."""
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


@njit(cache=True, fastmath=SUMS)  # (an inlined function's sums take the flags of the function it is pasted into)
def layer_sums(w, inputs, rows, k0, z, j0, m):
    """z[s, j0 + j] = w[j] . a_s for the samples s < m (a_s as in numba-blocks), four rows of w and two samples
    at a time (weighted_sums4x2); the rows left over after the fours one at a time."""
    n_in, n = w.shape[1], w.shape[0]
    fours = n // 4 * 4
    for j in range(0, fours, 4):  # four rows of w, used for every sample in turn
        w0, w1, w2, w3 = w[j], w[j + 1], w[j + 2], w[j + 3]
        for s in range(0, m, 2):  # two samples at a time (the last of an odd number twice)
            t = min(s + 1, m - 1)
            sums = weighted_sums4x2(w0, w1, w2, w3, inputs[rows[s], k0 : k0 + n_in], inputs[rows[t], k0 : k0 + n_in])
            for r in range(4):
                z[s, j0 + j + r] = sums[r]
                z[t, j0 + j + r] = sums[4 + r]
    for j in range(fours, n):
        for s in range(m):
            z[s, j0 + j] = weighted_sum(w[j], inputs[rows[s], k0 : k0 + n_in])


@njit(cache=True, inline="always")
def add_rows4(delta, d0, d1, d2, d3, w0, w1, w2, w3):
    """delta += d0 w0 + d1 w1 + d2 w2 + d3 w3: four rows of weights, each times its neuron's delta."""
    for k in range(delta.shape[0]):
        delta[k] += d0 * w0[k] + d1 * w1[k] + d2 * w2[k] + d3 * w3[k]


@njit(cache=True, fastmath={"contract"})
def backprop(weights, activations, deltas, y, rows, offsets, m, cost, scale):
    """delta^l of every layer for the samples s < m, each multiplied by `scale`, into `deltas`; four rows of w
    at a time (add_rows4), then the rows left over one by one."""
    L = len(weights)
    one = activations.dtype.type(1.0)
    for s in range(m):
        output_delta(activations[s, offsets[L] :], y[rows[s]], cost, scale, deltas[s, offsets[L] :])
    for l in range(L - 1, 0, -1):
        w, k0, j0 = weights[l], offsets[l], offsets[l + 1]
        for s in range(m):
            delta = deltas[s, k0:j0]
            for k in range(delta.shape[0]):
                delta[k] = 0.0
        n = w.shape[0]
        fours = n // 4 * 4
        for j in range(0, fours, 4):
            w0, w1, w2, w3 = w[j], w[j + 1], w[j + 2], w[j + 3]
            for s in range(m):
                d = deltas[s, j0 + j : j0 + j + 4]
                add_rows4(deltas[s, k0:j0], d[0], d[1], d[2], d[3], w0, w1, w2, w3)
        for j in range(fours, n):
            w_j = w[j]
            for s in range(m):
                delta, delta_j = deltas[s, k0:j0], deltas[s, j0 + j]
                for k in range(delta.shape[0]):
                    delta[k] += delta_j * w_j[k]
        for s in range(m):
            delta, a = deltas[s, k0:j0], activations[s, k0:j0]
            for k in range(delta.shape[0]):
                delta[k] *= a[k] * (one - a[k])


@njit(cache=True, fastmath={"contract"})
def sum_products4(nabla, c, a0, a1, a2, a3, fresh):
    """nabla[r] += c[r, 0] a0 + c[r, 1] a1 + c[r, 2] a2 + c[r, 3] a3 for the four rows r of nabla; with `fresh`
    (the first samples of a sum), nabla[r] = the same, without reading what nabla held. Each a[k], once loaded,
    serves four rows, and each nabla[r, k] is loaded and stored once per four samples."""
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
    and the sums so far (none when `fresh`), rounded into w once. The brackets matter: the whole sum over the
    samples is formed first."""
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
    """sum_products4 for a group of two samples: nabla[r] += c[r, 0] a0 + c[r, 1] a1."""
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


NABLA_ROWS = 4
"""add_gradient's running sums: one row for each row of a tile."""


@njit(cache=True, fastmath={"contract"})
def add_gradient(w, b, inputs, rows, k0, deltas, j0, m, nabla):
    """w[j] += sum_s delta_j(s) a_s and b[j] += sum_s delta_j(s) over the samples s < m, as in numba-blocks.

    Four rows at a time, the sum over the samples is formed four samples at a time in `nabla` (4 rows: it stays
    in the fastest cache), and the last four add it, with their own share, into w in the same pass. The samples
    left over after the groups of four go in a group of two (the 2 of batch 10), padded with a zero delta (on a
    repeated sample) where there is one: at most one wasted product per weight, where padding every group to
    four would waste up to three. The rows left over after the fours go one at a time (add_gradient_row).
    """
    n_in, n = w.shape[1], w.shape[0]
    c = np.empty((4, 4), w.dtype)
    fours = n // 4 * 4
    for j in range(0, fours, 4):
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
    for j in range(fours, n):
        add_gradient_row(w[j], inputs, rows, k0, deltas, j0 + j, m, nabla[0])
    add_bias_gradient(b, deltas, j0, m)


@intrinsic
def borrowed(typingctx, array):
    """The same array, without its reference count: views taken of it count nothing. (The caller must hold the
    array itself for as long as the view is used.)"""
    def codegen(context, builder, signature, args):
        source = context.make_array(signature.args[0])(context, builder, args[0])
        view = context.make_array(signature.args[0])(context, builder)
        for field in ("data", "shape", "strides", "itemsize", "nitems"):
            setattr(view, field, getattr(source, field))
        view.meminfo = context.get_constant_null(types.MemInfoPointer(types.voidptr))
        view.parent = context.get_constant_null(types.pyobject)
        return view._getvalue()

    if isinstance(array, types.Array):
        return array(array), codegen
    return None


@njit(cache=True)
def borrowed_list(arrays):
    """A typed list of uncounted views of `arrays` (the weights, or the biases)."""
    views = List()
    for a in arrays:
        views.append(borrowed(a))
    return views


@njit(cache=True)
def steps_on_views(weights, biases, x, y, order, start, stop, batch_size, eta, cost, targets_w, targets_b, activations,
                   deltas, samples, nabla):
    """`steps`, handed views of its arrays that count no references. (Its arguments are held by the caller for the
    whole call, so the views stay valid; a view of an array that the function itself had just made would not,
    since Numba frees a variable's array after the variable's last use.)"""
    steps(borrowed_list(weights), borrowed_list(biases), borrowed(x), borrowed(y), borrowed(order), start, stop,
          batch_size, eta, cost, borrowed_list(targets_w), borrowed_list(targets_b), borrowed(activations),
          borrowed(deltas), borrowed(samples), borrowed(nabla))


@njit(cache=True)
def gradient(weights, biases, x, y, batch, cost):
    """(nabla_w, nabla_b): the gradient of the cost, summed over the samples x[i], y[i] for i in `batch`."""
    nabla_w = [np.zeros_like(w) for w in weights]
    nabla_b = [np.zeros_like(b) for b in biases]
    m = len(batch)
    steps_on_views(weights, biases, x, y, batch, 0, m, m, -m, cost, nabla_w, nabla_b, *step_buffers(weights, m))
    return nabla_w, nabla_b


@njit(cache=True)
def train_steps(weights, biases, x, y, order, start, stop, batch_size, eta, cost):
    """A gradient step per mini-batch order[start:start+batch_size], ... up to order[:stop], in place."""
    steps_on_views(weights, biases, x, y, order, start, stop, batch_size, eta, cost, weights, biases,
                   *step_buffers(weights, min(batch_size, stop - start)))


inherit(previous, globals())


def create():
    return previous.LoopsBackend("numba-tiles", sys.modules[__name__])
