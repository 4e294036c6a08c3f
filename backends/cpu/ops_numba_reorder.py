"""numba-reorder: the same loops, with sums the compiler may add up in any order.

What changed from `numba-loops`: one option on `weighted_sum`, `fastmath={"reassoc", "contract"}`.

Why it is faster. `z += w_j[k] * a[k]` in the order written is a chain: each addition needs the result of the
one before, and a floating-point addition takes a few cycles to come out, so the loop runs at one term per
few cycles however wide the CPU is. Allowed to reassociate ("reassoc"), the compiler splits the sum into
partial sums that run side by side, in the lanes of SIMD registers (where the loop uses 512-bit registers, 8
float64 or 16 float32 numbers per instruction; `neuro explain` reads the width used here) and in several
registers at once, and adds them up at the end, as BLAS does; allowed
to contract, it fuses each multiply and add into one instruction (a*b+c, rounded once).

What it costs: a different order of addition rounds differently, as any other order would; `neuro.measure.agreement`
bounds the rounding of a sum of n terms whatever their order. No other fast-math flag: none that assumes the
numbers finite, and none on the sigmoid, which must stay 0 or 1, never nan, at z = +-1000.

Compiled again from numba-loops by `inherit` (its source, calling this rung's functions; backends/cpu/compiled.py):
`all_activations`, `backprop`, `feedforward`, `gradient`, `output_delta`, `outputs`, `sigmoid`, `train_step`,
`train_steps`.
"""

from __future__ import annotations

import sys

from . import ops_numba_loops as previous
from .compiled import inherit, njit

SUMS = {"reassoc", "contract"}
"""The fast-math flags of the sums of products, and of nothing else."""


@njit(cache=True, fastmath=SUMS)
def weighted_sum(w_j, a):
    """sum_k w_j[k] a[k], in any order: the weighted input of the neuron whose weights are w_j (bias not included)."""
    z = w_j.dtype.type(0)
    for k in range(a.shape[0]):
        z += w_j[k] * a[k]
    return z


inherit(previous, globals())


def create():
    return previous.LoopsBackend("numba-reorder", sys.modules[__name__])
