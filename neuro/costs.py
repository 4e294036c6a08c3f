"""The two costs: how far the network's output a is from the desired output y, for one sample.

    quadratic       C = 1/2 sum_j (a_j - y_j)^2                       delta^L = (a - y) * a (1 - a)
    cross-entropy   C = -sum_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)]    delta^L = a - y

The backends compute delta^L themselves (it is part of backpropagation); this module gives the value of the
cost, averaged over samples, for reporting progress. It works on host NumPy arrays.
"""

from __future__ import annotations

import numpy as np

from neuro.support.errors import NeuroError

COSTS = ("quadratic", "cross-entropy")


def check_cost(name: str) -> str:
    """`name` if it is a known cost, else a NeuroError listing the known ones."""
    if name not in COSTS:
        raise NeuroError(f"unknown cost {name!r}; choose one of: {', '.join(COSTS)}")
    return name


def mean_cost(name: str, a: np.ndarray, y: np.ndarray) -> float:
    """The cost averaged over the samples (rows) of a and y."""
    a = np.asarray(a, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if check_cost(name) == "quadratic":
        per_sample = 0.5 * np.sum((a - y) ** 2, axis=1)
    else:
        # A saturated sigmoid gives a = 0 or 1 exactly, and ln 0 = -inf. Clipping a one float64 step away from
        # 0 and 1 keeps the cost finite (at most about 37 per neuron) where the exact value would be huge.
        eps = np.finfo(np.float64).eps
        a = np.clip(a, eps, 1.0 - eps)
        per_sample = -np.sum(y * np.log(a) + (1.0 - y) * np.log1p(-a), axis=1)
    return float(per_sample.mean()) if len(per_sample) else 0.0
