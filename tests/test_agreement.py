"""Every registered backend computes the same network: property tests against the reference (neuro.measure.agreement).

Hypothesis draws, with neuro.measure.properties' strategies (which `neuro check` uses too), the network (depth
and widths, including widths such as 1, 3, 17 and 33 that are not multiples of a GPU block), the weights (from
tiny to magnitudes of 1000 that saturate every sigmoid), the inputs and targets, the batch size, the cost and the
learning rate. For each draw, forward outputs, the gradient, and the parameters after one and several steps must
lie within the rounding-error bound that neuro.measure.agreement computes for that very case.
"""

import numpy as np
import pytest
from backends_under_test import backend_dtype_params, backend_dtype_way_params, is_simulated
from hypothesis import HealthCheck, given, settings

from neuro.backends import get_backend
from neuro.backends.ops_numpy import NumpyBackend
from neuro.costs import COSTS
from neuro.measure.agreement import check_backend, compare, random_case, reference, run
from neuro.measure.properties import cases, examples_for
from neuro.sizes import CLASSIC


def assert_agrees(name, case):
    failures = [c for c in check_backend(name, case) if not c.ok]
    assert not failures, f"{name} disagrees with the reference on {case.sizes}: {failures}"


@pytest.fixture
def forced(request):
    """The backend of the test, made to run every stretch of steps the test's way (`Backend.force_way`)."""
    name, way = request.getfixturevalue("name"), request.getfixturevalue("way")
    backend = get_backend(name)
    backend.force_way(way)
    yield backend
    backend.force_way(None)


@pytest.mark.parametrize(("name", "dtype", "way"), backend_dtype_way_params())
def test_backend_agrees_with_reference_on_random_networks(name, dtype, way, forced):
    simulated = is_simulated(name)
    small = simulated or name == "python"
    examples = examples_for(simulated, slow=name == "python")

    @settings(max_examples=examples, suppress_health_check=[HealthCheck.too_slow])
    @given(case=cases(dtype, small))
    def check(case):
        failures = [c for c in compare(name, case, run(forced, case), *reference(case)) if not c.ok]
        assert not failures, f"{name} ({way or 'one way'}) disagrees with the reference on {case.sizes}: {failures}"

    check()


@pytest.mark.parametrize(("name", "dtype"), backend_dtype_params())
def test_backend_agrees_on_the_classic_network(name, dtype):
    # A simulator runs one Python thread per GPU thread, and a tiled kernel waits for all of a block's at every
    # tile: give it a narrower network whose input still spans several tiles and a partial one (784 inputs take
    # minutes there; scripts/gpu-check.sh runs the classic network on a real GPU).
    sizes, batch = (list(CLASSIC), 10) if not is_simulated(name) else ([100, 7, 10], 3)
    for cost in COSTS:
        assert_agrees(name, random_case(sizes, batch=batch, seed=7, cost=cost, dtype=dtype, steps=2))


def test_agreement_catches_a_backend_that_forgets_the_bias_update():
    """The oracle can fail: a backend with one term missing is far outside the bound."""

    class Broken(NumpyBackend):
        def train_step(self, weights, biases, x, y, order, start, stop, eta, cost):
            saved = [b.copy() for b in biases]
            super().train_step(weights, biases, x, y, order, start, stop, eta, cost)
            for b, old in zip(biases, saved):
                b[:] = old

    case = random_case([20, 7, 4], batch=5, seed=3)
    values, bounds = reference(case)
    failed = {c.quantity for c in compare("broken", case, run(Broken(), case), values, bounds) if not c.ok}
    assert failed == {"b_1", "b_n", "w_n"}  # w_n: later steps see the wrong biases


def test_agreement_catches_a_transposed_gradient_index():
    class Broken(NumpyBackend):
        def gradient(self, *args):
            nabla_w, nabla_b = super().gradient(*args)
            nabla_w[0] = nabla_w[0][::-1].copy()  # neurons' rows swapped
            return nabla_w, nabla_b

    case = random_case([6, 5, 3], batch=4, seed=5)
    values, bounds = reference(case)
    failed = {c.quantity for c in compare("broken", case, run(Broken(), case), values, bounds) if not c.ok}
    assert "nabla_w" in failed


def test_float32_bound_is_looser_than_float64_but_still_tight_on_gentle_weights():
    case64 = random_case([30, 10, 5], batch=4, seed=2, dtype="float64")
    case32 = random_case([30, 10, 5], batch=4, seed=2, dtype="float32")
    bound64 = reference(case64)[1]["outputs"][0].max()
    bound32 = reference(case32)[1]["outputs"][0].max()
    assert bound64 < 1e-12
    assert bound64 < bound32 < 1e-4


def test_numpy_backend_in_float32_really_computes_in_float32():
    backend = get_backend("numpy")
    w = backend.to_backend(np.ones((2, 3)), "float32")
    assert w.dtype == np.float32
