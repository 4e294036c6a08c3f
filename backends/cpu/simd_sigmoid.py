"""The sigmoid in plain arithmetic, which the compiler can spread over SIMD lanes (the compiled rungs from
`numba-blocks` on).

`math.exp` compiles to a call into the C library, one number at a time, and a loop that calls it cannot run in
SIMD instructions. Written out as below, with no call and no branch, a loop over a layer's neurons computes 8
float64 or 16 float32 sigmoids per instruction where it uses 512-bit registers (`neuro explain numba-blocks` reads
the width the loop uses on the machine it runs on).

The method is the textbook one (Cody and Waite; fdlibm's `exp` works the same way):

    t = k ln2 + r      with k = round(t / ln2), an integer, and |r| <= ln2 / 2
    e^t = 2^k e^r      where e^r is the Taylor series of e^r, Horner's rule, enough terms for the dtype,
                       and 2^k is written straight into the exponent bits of a float.

ln 2 is split into a short part, whose product with k is exact, and the rest (LN2 below), so that r is
accurate to the last bit. Near the bottom of the float range e^t is a subnormal float, and 2^k goes in as two
factors; below it (t < -746 in float64, -104 in float32), t is clamped, and e^t rounds to 0. The sigmoid stays
within the agreement tests' allowance of 4 units u of the last place (u: half the machine epsilon), relative to
its own value too, down to the smallest normal float (tests/test_numba_rungs.py measures both);
sigmoid(+inf) is 1, sigmoid(-inf) 0, sigmoid(nan) nan.
"""

from __future__ import annotations

import math

import numpy as np
from numba import types
from numba.extending import overload

from .compiled import njit

LN2 = {"float64": (6.93147180369123816490e-01, 1.90821492927058770002e-10),  # fdlibm's split of ln 2
       "float32": (0.693359375, -2.12194440e-4)}                               # (Cephes' for float32)
TERMS = {"float64": 14, "float32": 8}
"""Terms of the Taylor series e^r = sum r^n / n!, n < TERMS: the first left out, (ln2/2)^n / n!, is below
half a unit of the last place."""
LOWEST = {"float64": -746.0, "float32": -104.0}
"""Below these, e^t rounds to 0 (it is under half the smallest subnormal float)."""
EXPONENT = {"float64": (np.int64, 52, 1023), "float32": (np.int32, 23, 127)}
"""The integer of the float's width, where its exponent bits start, and the exponent's bias."""


def exp_of_negative(t):
    """e^t for t <= 0 (in Python, math.exp; compiled code gets the arithmetic below, for the dtype of t)."""
    return math.exp(t)


@overload(exp_of_negative, jit_options={"cache": True})
def _exp_of_negative(t):
    if not isinstance(t, types.Float):
        return None
    name = str(t)
    real = np.float32 if name == "float32" else np.float64
    ln2_hi, ln2_lo = real(LN2[name][0]), real(LN2[name][1])
    coefficients = tuple(real(1 / math.factorial(n)) for n in reversed(range(TERMS[name])))
    lowest, log2_e, half = real(LOWEST[name]), real(1 / math.log(2)), real(0.5)
    integer, shift, bias = EXPONENT[name]

    def impl(t):  # (compiled for the dtype of t, with the constants above as constants of that dtype)
        t = max(t, lowest)
        k = np.floor(t * log2_e + half)  # the nearest integer to t / ln2 (a float of the dtype of t)
        r = (t - k * ln2_hi) - k * ln2_lo  # t - k ln2, |r| <= ln2 / 2
        e_r = coefficients[0]
        for c in coefficients[1:]:  # Horner: (..((c_N r + c_{N-1}) r + ...) r + c_0
            e_r = e_r * r + c
        # 2^k, written into exponent bits: as 2^(k//2) 2^(k - k//2), two normal floats, since 2^k alone may be
        # below the smallest normal float (whose exponent bits are all but zero) when e^t is subnormal
        k_low = integer(k) >> 1
        k_high = integer(k) - k_low
        return e_r * integer((k_low + bias) << shift).view(real) * integer((k_high + bias) << shift).view(real)

    return impl


@njit(cache=True, error_model="numpy")
def sigmoid(z):
    """1 / (1 + e^-z). Only e^-|z| is ever taken, so nothing overflows at z = +-1000; both cases are computed and
    one is chosen (a select, not a branch, so that a loop of sigmoids stays in SIMD instructions), and the
    division is not checked for zero (error_model "numpy"), since 1 + e^-|z| >= 1."""
    one = type(z)(1.0)  # 1 in the dtype of z
    e = exp_of_negative(min(z, -z))  # e^-|z|, in (0, 1]
    s = one / (one + e)  # the sigmoid of |z|
    return s if z >= 0 else e * s  # sigmoid(-|z|) = e^-|z| / (1 + e^-|z|)
