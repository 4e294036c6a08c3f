"""Do the backends compute the same network? The oracle of the project.

Every backend is run on the same random network and data, and its forward outputs, its gradient on the first
mini-batch, and its parameters after one and after several gradient steps are compared with a reference. The
reference is computed here, by an independent NumPy implementation in float64, together with a bound on how
far a correct backend may be from it: backends add the same products in different orders (a Python loop,
BLAS, a compiled loop, GPU threads), so they agree only up to rounding, and how much rounding is allowed
depends on the numbers.

The bound is a running (first-order, worst-case) rounding-error analysis carried through the network:

  * a sum of n products with unit roundoff u is off by at most n·u·(sum of the absolute values of its terms),
    plus the error of its inputs times the weights: ez = n·u·(|a||w| + |b|) + ea|w| + |a| ew + eb;
  * sigmoid passes an error ez on with at most its steepest slope within [z - ez, z + ez], and adds a few ulps
    of its own: a saturated neuron (slope ~0) stops errors, a neuron near z = 0 passes a quarter of them on;
  * backpropagation, the gradient sums and the updates are bounded the same way, step after step.

u is 2^-53 for a float64 backend and 2^-24 for float32 (plus the reference's own 2^-53). A float32 backend is
compared with a reference computed from the same float32-rounded inputs, so the bound covers its own
arithmetic and nothing else. A wrong index, a missing term or a wrong sign shows up at the size of the values
themselves, orders of magnitude above these bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuro.backends import Backend, get_backend
from neuro.sizes import sizes_of

UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24}
SAFETY = 2.0
"""The bound is first-order: errors times errors are left out, so leave a factor of two for them."""
SIGMOID_ULPS = 4.0
"""Absolute error of one sigmoid evaluation, in units of u (the exp and the tanh forms are both within it)."""

QUANTITIES = ("outputs", "nabla_w", "nabla_b", "w_1", "b_1", "w_n", "b_n")


@dataclass
class Case:
    """A network, a data set, the shuffled order of its samples, and the steps to take on it."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    x: np.ndarray
    y: np.ndarray
    order: np.ndarray
    batch: int
    cost: str = "quadratic"
    eta: float = 3.0
    steps: int = 3
    dtype: str = "float64"

    @property
    def sizes(self) -> list[int]:
        return list(sizes_of(self.weights))

    def rounded(self) -> Case:
        """This case with every array rounded to `dtype` and held in float64: the reference's input."""
        def r(a):
            return np.asarray(a, dtype=self.dtype).astype(np.float64)

        return Case([r(w) for w in self.weights], [r(b) for b in self.biases], r(self.x), r(self.y),
                    self.order, self.batch, self.cost, self.eta, self.steps, self.dtype)


def random_case(
    sizes: list[int], batch: int, seed: int = 0, weight_scale: float = 1.0, cost: str = "quadratic",
    dtype: str = "float64", steps: int = 3, eta: float = 3.0,
) -> Case:
    """Weights and biases ~ N(0, weight_scale^2), inputs and targets uniform in [0, 1].

    The data holds `steps` mini-batches of `batch` samples, visited in a shuffled order.
    """
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((n_out, n_in)) * weight_scale for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [rng.standard_normal(n_out) * weight_scale for n_out in sizes[1:]]
    n = batch * steps
    return Case(weights, biases, rng.random((n, sizes[0])), rng.random((n, sizes[-1])), rng.permutation(n),
                batch, cost, eta, steps, dtype)


# ---- the backend under test -------------------------------------------------------------------------------

def run(backend: Backend, case: Case) -> dict[str, list[np.ndarray]]:
    """Everything the case asks of `backend`, brought back as float64 host arrays (keys: QUANTITIES)."""
    def to(a, kind=case.dtype):
        return backend.to_backend(np.asarray(a), kind)

    def back(stored):
        return np.asarray(backend.to_numpy(stored), dtype=np.float64)

    weights, biases = [to(w) for w in case.weights], [to(b) for b in case.biases]
    x, y, order = to(case.x), to(case.y), to(case.order, "int64")
    result = {"outputs": [back(backend.forward(weights, biases, x))]}
    nabla_w, nabla_b = backend.gradient(weights, biases, x, y, order, 0, case.batch, case.cost)
    result["nabla_w"], result["nabla_b"] = [back(g) for g in nabla_w], [back(g) for g in nabla_b]
    # The first step through train_step, the others through train_steps: the training loop uses both.
    backend.train_step(weights, biases, x, y, order, 0, case.batch, case.eta, case.cost)
    result["w_1"], result["b_1"] = [back(w) for w in weights], [back(b) for b in biases]
    backend.train_steps(weights, biases, x, y, order, case.batch, case.steps * case.batch, case.batch,
                        case.eta, case.cost)
    backend.synchronize()
    result["w_n"], result["b_n"] = [back(w) for w in weights], [back(b) for b in biases]
    return result


# ---- the reference and its error bound ----------------------------------------------------------------------

def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _forward(weights, biases, ew, eb, x, u):
    """Activations of every layer and their error bounds, for the rows of x."""
    a, ea = x, np.zeros_like(x)
    acts, errs = [a], [ea]
    for w, b, e_w, e_b in zip(weights, biases, ew, eb):
        z = a @ w.T + b
        ez = (w.shape[1] + 1) * u * (np.abs(a) @ np.abs(w).T + np.abs(b)) + ea @ np.abs(w).T + a @ e_w.T + e_b
        steepest = _sigmoid(np.maximum(np.abs(z) - ez, 0.0))
        slope = steepest * (1.0 - steepest)
        a = _sigmoid(z)
        ea = np.minimum(slope * ez + SIGMOID_ULPS * u, 1.0)  # an activation is never off by more than 1
        acts.append(a)
        errs.append(ea)
    return acts, errs


def _gradient(weights, biases, ew, eb, x, y, cost, u):
    """nabla_w, nabla_b summed over the rows of (x, y), and their error bounds."""
    acts, errs = _forward(weights, biases, ew, eb, x, u)
    a, ea = acts[-1], errs[-1]
    if cost == "quadratic":
        delta = (a - y) * a * (1.0 - a)
        d_da = a * (1.0 - a) + np.abs(a - y) * np.abs(1.0 - 2.0 * a) + ea  # |d delta / d a| near a
        e_delta = d_da * ea + 4 * u * np.abs(delta)
    else:
        delta = a - y
        e_delta = ea + u * np.abs(delta)
    m = len(x)
    nabla_w, nabla_b, e_nw, e_nb = [], [], [], []
    for l in range(len(weights) - 1, -1, -1):
        a_prev, ea_prev = acts[l], errs[l]
        nabla_w.append(delta.T @ a_prev)
        e_nw.append(m * u * np.abs(delta).T @ np.abs(a_prev) + e_delta.T @ np.abs(a_prev)
                    + np.abs(delta).T @ ea_prev)
        nabla_b.append(delta.sum(axis=0))
        e_nb.append(m * u * np.abs(delta).sum(axis=0) + e_delta.sum(axis=0))
        if l > 0:
            w = weights[l]
            g = delta @ w
            e_g = w.shape[0] * u * np.abs(delta) @ np.abs(w) + e_delta @ np.abs(w) + np.abs(delta) @ ew[l]
            s = a_prev * (1.0 - a_prev)
            e_s = np.abs(1.0 - 2.0 * a_prev) * ea_prev + ea_prev**2 + 3 * u * s
            delta, e_delta = g * s, np.abs(g) * e_s + e_g * s + 2 * u * np.abs(g * s)
    return nabla_w[::-1], nabla_b[::-1], e_nw[::-1], e_nb[::-1]


def reference(case: Case) -> tuple[dict[str, list[np.ndarray]], dict[str, list[np.ndarray]]]:
    """The reference values of every quantity (float64, from the rounded case) and the allowed deviation."""
    c = case.rounded()
    u = UNIT_ROUNDOFF[case.dtype] + UNIT_ROUNDOFF["float64"]
    weights, biases = [w.copy() for w in c.weights], [b.copy() for b in c.biases]
    ew, eb = [np.zeros_like(w) for w in weights], [np.zeros_like(b) for b in biases]
    acts, errs = _forward(weights, biases, ew, eb, c.x, u)
    values, bounds = {"outputs": [acts[-1]]}, {"outputs": [errs[-1]]}
    for step in range(c.steps):
        batch = c.order[step * c.batch : (step + 1) * c.batch]
        nw, nb, e_nw, e_nb = _gradient(weights, biases, ew, eb, c.x[batch], c.y[batch], c.cost, u)
        if step == 0:
            values["nabla_w"], values["nabla_b"], bounds["nabla_w"], bounds["nabla_b"] = nw, nb, e_nw, e_nb
        rate = c.eta / c.batch
        for l in range(len(weights)):
            weights[l] = weights[l] - rate * nw[l]
            biases[l] = biases[l] - rate * nb[l]
            # the step's own error, then the rounding of the scaled gradient and of the subtraction
            ew[l] = ew[l] + rate * e_nw[l] + 3 * u * (rate * np.abs(nw[l]) + np.abs(weights[l]))
            eb[l] = eb[l] + rate * e_nb[l] + 3 * u * (rate * np.abs(nb[l]) + np.abs(biases[l]))
        if step == 0:
            values["w_1"], values["b_1"] = list(weights), list(biases)
            bounds["w_1"], bounds["b_1"] = list(ew), list(eb)
    values["w_n"], values["b_n"], bounds["w_n"], bounds["b_n"] = list(weights), list(biases), list(ew), list(eb)
    return values, bounds


# ---- the comparison -------------------------------------------------------------------------------------------

@dataclass
class Comparison:
    """How far one quantity of one backend is from the reference, and whether that is within the bound."""

    backend: str
    dtype: str
    quantity: str
    max_abs: float
    max_rel: float
    worst: float
    """max over elements of |difference| / allowed deviation: at most 1 when the backend agrees."""
    where: str = ""
    """The element where `worst` is: its layer and index, e.g. "layer 2 [3, 0]"."""

    @property
    def ok(self) -> bool:
        return self.worst <= 1.0


def compare(name: str, case: Case, result: dict, values: dict, bounds: dict) -> list[Comparison]:
    """Compare every quantity of `result` with the reference `values`, element by element, within `bounds`."""
    comparisons = []
    for quantity in QUANTITIES:
        max_abs = max_rel = worst = 0.0
        where = ""
        for layer, (got, ref, bound) in enumerate(zip(result[quantity], values[quantity], bounds[quantity],
                                                      strict=True), start=1):
            if got.shape != ref.shape:
                raise AssertionError(f"{name}: {quantity} has shape {got.shape}, the reference {ref.shape}")
            diff = np.abs(got - ref)
            diff[np.isnan(diff)] = np.inf
            allowed = SAFETY * bound + np.finfo(np.float64).tiny
            if diff.size:
                max_abs = max(max_abs, float(diff.max()))
                max_rel = max(max_rel, float((diff / np.maximum(np.abs(ref), np.finfo(np.float64).tiny)).max()))
                with np.errstate(over="ignore"):  # (a wild value: an infinite ratio, which fails as it should)
                    ratio = diff / allowed
                if float(ratio.max()) > worst:
                    worst = float(ratio.max())
                    index = [int(i) for i in np.unravel_index(int(np.argmax(ratio)), ratio.shape)]
                    where = f"layer {layer} {index}" if quantity != "outputs" else f"sample, neuron {index}"
        comparisons.append(Comparison(name, case.dtype, quantity, max_abs, max_rel, worst, where))
    return comparisons


def check_backend(name: str, case: Case, backend: Backend | None = None) -> list[Comparison]:
    """Run `case` on backend `name` (or on `backend`, a variant that is no registered backend, called `name`) and
    compare every quantity with the reference."""
    values, bounds = reference(case)
    return compare(name, case, run(backend or get_backend(name), case), values, bounds)


def check_every_way(name: str, case: Case, backend: Backend | None = None) -> list[Comparison]:
    """check_backend for each way the backend may run its steps (`Backend.ways`: one thread or a team, compiled
    loops or BLAS), each forced in turn; the comparisons of a backend with several name their way, as in
    "numba-blas (blas)". (`backend`: as in check_backend.)"""
    backend = backend or get_backend(name)
    if len(backend.ways) == 1:
        return check_backend(name, case, backend)
    values, bounds = reference(case)
    comparisons = []
    try:
        for way in backend.ways:
            backend.force_way(way)
            comparisons.extend(compare(f"{name} ({way})", case, run(backend, case), values, bounds))
    finally:
        backend.force_way(None)
    return comparisons
