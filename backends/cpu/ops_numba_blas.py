"""numba-blas: the fastest CPU rung (`--backend numba` names it too). Large steps go to BLAS, in buffers
allocated once, and each layer's weights take their step inside the product that forms their gradient; the other
steps run as in `numba-team`.

What changed from `numba-team`: once a step is a product of large matrices (`BLAS_WORK` multiply-adds on at
least `BLAS_BATCH` samples: the classic network from batch 155, 784-1024-1024-10 from batch 16), it runs as the
numpy backend runs it, one matrix product per layer through BLAS, but with two differences:
* every array a step writes lives in a `Workspace` allocated once for all the steps of that size, and
* the update w += Delta^T A^{l-1} is one call of BLAS's `gemm`, C = alpha op(A) op(B) + beta C with beta = 1:
  the product is added into the weights as it is formed (`add_product`), instead of being written out whole
  and then added in a second pass over memory.
The products go through the BLAS behind SciPy (`scipy.linalg.blas`), which takes alpha and beta; NumPy's
`matmul` takes neither.

Why it is faster. BLAS multiplies large matrices with kernels tuned by hand for each CPU, on every core, in
tiles of the caches and registers far beyond the four-by-two of numba-tiles; the compiled loops cannot match
them once the matrices are large. NumPy's temporaries are large too: a product of 256 samples by 1,024
neurons is 1 MB. The C library hands memory that large straight back to the operating system when it is freed
(until it has seen enough of it to raise its threshold), and the next step's pages are then mapped and zeroed
afresh: writing into the same buffers at every step costs none of that. And a gradient of 1,024 x 1,024 weights is
4 MB in float32, larger than a core's L2 cache on today's CPUs: written out and then added into the weights, it
goes to memory and back; added as it is formed, it never leaves the tiles of the product. `neuro ladder --ablate`
measures each idea apart (on the wide network).

The forward pass alone (evaluation) stays in the compiled loops, whatever the size: BLAS's threads keep spinning
for a while after a call, and would take the cores from the team of the next stretch of training.

A run repeats bit for bit at any thread count, as numba-team's does: whether a step goes to BLAS depends on its
size alone, not on the clock, and BLAS's products come out the same whatever its own thread count
(tests/test_determinism.py checks both).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
from scipy.linalg import blas

from neuro.sizes import sizes_of

from ..ops_numpy import sigmoid
from . import ops_numba_team as previous

BLAS = "blas"

BLAS_WORK = 2_000_000
BLAS_BATCH = 16
"""A step of at least BLAS_WORK multiply-adds (samples times weights) on at least BLAS_BATCH samples goes to BLAS."""


def column_major(matrix: np.ndarray) -> tuple[np.ndarray, bool]:
    """(f, transposed): `matrix` as BLAS sees it, in column-major order: op(f) = matrix^T, where op transposes f if
    `transposed`. A row-major matrix is its own transpose in column-major order, memory unchanged, and a
    transposed view (w.T) is column-major already."""
    if matrix.flags.c_contiguous:
        return matrix.T, False
    if matrix.flags.f_contiguous:
        return matrix, True
    raise ValueError("BLAS needs a matrix whose rows or columns are contiguous")


def product(a: np.ndarray, b: np.ndarray, out: np.ndarray, beta: float = 0.0) -> np.ndarray:
    """out = a @ b + beta * out, in place, through BLAS's gemm (C = alpha op(A) op(B) + beta C, alpha = 1), which
    works in column-major order: there it forms out^T = b^T a^T. With beta = 0, what `out` held is never read."""
    b_t, b_transposed = column_major(b)
    a_t, a_transposed = column_major(a)
    gemm = blas.sgemm if out.dtype == np.float32 else blas.dgemm
    result = gemm(1.0, b_t, a_t, beta, out.T, trans_a=b_transposed, trans_b=a_transposed, overwrite_c=True)
    if not np.may_share_memory(result, out):  # (SciPy forms a new array if `out` is not row-major: copy it back)
        out[...] = result.T
    return out


@dataclass
class Workspace:
    """What the steps of one size write into: every layer's activations A^l and deltas Delta^l (one row per sample),
    the gradient of every layer's biases, and a scratch matrix for A (1 - A)."""

    x: np.ndarray
    y: np.ndarray
    activations: list[np.ndarray]
    deltas: list[np.ndarray]
    nabla_b: list[np.ndarray]
    slope: list[np.ndarray]

    @classmethod
    def create(cls, weights: list[np.ndarray], m: int) -> Workspace:
        dtype = weights[0].dtype
        sizes = list(sizes_of(weights))
        return cls(x=np.empty((m, sizes[0]), dtype), y=np.empty((m, sizes[-1]), dtype),
                   activations=[np.empty((m, n), dtype) for n in sizes[1:]],
                   deltas=[np.empty((m, n), dtype) for n in sizes[1:]],
                   nabla_b=[np.empty(w.shape[0], dtype) for w in weights],
                   slope=[np.empty((m, n), dtype) for n in sizes[1:]])

    def fits(self, weights: list[np.ndarray], m: int) -> bool:
        return (self.x.shape == (m, weights[0].shape[1]) and self.x.dtype == weights[0].dtype
                and [a.shape[1] for a in self.activations] == [w.shape[0] for w in weights])


def feedforward(weights, biases, work: Workspace) -> list[np.ndarray]:
    """[A^0, A^1, ..., A^L] for the mini-batch in work.x: Z^l = A^{l-1} (w^l)^T + b^l, A^l = sigmoid(Z^l)."""
    activations = [work.x]
    for w, b, z in zip(weights, biases, work.activations):
        product(activations[-1], w.T, out=z)
        z += b
        activations.append(sigmoid(z))
    return activations


def output_delta(a: np.ndarray, y: np.ndarray, cost: str, scale: float, delta: np.ndarray, slope: np.ndarray):
    """Delta^L = scale * dC/dZ^L into `delta`: (A - Y) * A (1 - A) for the quadratic cost, A - Y for cross-entropy."""
    np.subtract(a, y, out=delta)
    if cost == "quadratic":
        delta *= a_slope(a, slope)
    delta *= scale
    return delta


def a_slope(a: np.ndarray, out: np.ndarray) -> np.ndarray:
    """A (1 - A), the sigmoid's slope, into `out`."""
    np.subtract(1, a, out=out)
    out *= a
    return out


def backprop(weights, biases, cost: str, scale: float, work: Workspace):
    """The activations [A^0..A^L] and the deltas (each times `scale`) of the mini-batch in work.x, work.y."""
    activations = feedforward(weights, biases, work)
    delta = output_delta(activations[-1], work.y, cost, scale, work.deltas[-1], work.slope[-1])
    for l in range(len(weights) - 1, 0, -1):  # weights[l] maps layer l to layer l+1
        delta = product(delta, weights[l], out=work.deltas[l - 1])
        delta *= a_slope(activations[l], work.slope[l - 1])
    return activations, work.deltas


def add_product(w: np.ndarray, delta: np.ndarray, a_before: np.ndarray) -> None:
    """w += Delta^T A^{l-1}, added into w by the product itself (beta = 1): with Delta scaled by -eta/m, the
    gradient step of the layer's weights."""
    product(delta.T, a_before, out=w, beta=1.0)


def train_steps(weights, biases, x, y, order, start, stop, batch_size, eta, cost, targets_w, targets_b,
                work: Workspace, last_work: Workspace | None = None, add_gradient=add_product) -> None:
    """Each mini-batch of order[start:stop] backpropagated, then -eta/m times its gradient added into the targets
    (the weights and biases themselves, or zeros for the gradient alone, with eta = -m). `work` serves the
    mini-batches of batch_size samples, `last_work` a shorter last one."""
    for first in range(start, stop, batch_size):
        batch = order[first : min(first + batch_size, stop)]
        m = len(batch)
        space = work if m == len(work.x) else last_work
        np.take(x, batch, axis=0, out=space.x)
        np.take(y, batch, axis=0, out=space.y)
        activations, deltas = backprop(weights, biases, cost, -eta / m, space)
        for w, b, delta, a_before, nabla_b in zip(targets_w, targets_b, deltas, activations, space.nabla_b):
            add_gradient(w, delta, a_before)
            b += np.sum(delta, axis=0, out=nabla_b)


class BlasBackend(previous.TeamBackend):
    """numba-team's compiled loops for small steps, BLAS for large ones."""

    ways = (*previous.TeamBackend.ways, BLAS)
    add_gradient = staticmethod(add_product)
    """How a BLAS step adds a layer's gradient into its weights (an ablation takes its idea out)."""

    def __init__(self, name: str, rung) -> None:
        super().__init__(name, rung)
        self._workspaces: dict[int, Workspace] = {}

    def uses_blas(self, weights, m: int) -> bool:
        """Do steps of m samples go to BLAS (BLAS_WORK, BLAS_BATCH)?"""
        if self._forced is not None:
            return self._forced == BLAS
        return m >= BLAS_BATCH and m * sum(w.size for w in weights) >= BLAS_WORK

    def _workspace(self, weights, m: int) -> Workspace:
        """The buffers for steps of m samples: made on first use, then reused while the network is the same."""
        work = self._workspaces.get(m)
        if work is None or not work.fits(weights, m):
            work = self._workspaces[m] = Workspace.create(weights, m)
            if len(self._workspaces) > 2:  # (at most one size and one shorter last mini-batch)
                del self._workspaces[next(iter(self._workspaces))]
        return work

    def gradient(self, weights, biases, x, y, order, start, stop, cost):
        m = stop - start
        if not self.uses_blas(weights, m):
            return super().gradient(weights, biases, x, y, order, start, stop, cost)
        nabla_w, nabla_b = [np.zeros_like(w) for w in weights], [np.zeros_like(b) for b in biases]
        train_steps(weights, biases, x, y, order, start, stop, m, -m, cost, nabla_w, nabla_b, Workspace.create(
            weights, m), add_gradient=self.add_gradient)
        return nabla_w, nabla_b

    def train_steps(self, weights, biases, x, y, order, start, stop, batch_size, eta, cost):
        m = min(batch_size, stop - start)
        if not self.uses_blas(weights, m):
            return super().train_steps(weights, biases, x, y, order, start, stop, batch_size, eta, cost)
        last = (stop - start) % batch_size
        train_steps(weights, biases, x, y, order, start, stop, batch_size, eta, cost, weights, biases,
                    self._workspace(weights, m), self._workspace(weights, last) if last else None, self.add_gradient)


def unavailable_reason() -> str | None:
    return None  # this module imported, so numba did too


note = previous.note


def create() -> BlasBackend:
    return BlasBackend("numba-blas", sys.modules[previous.__name__])
