"""Numerical stability of sigmoid and costs, and the gradient checked against finite differences."""

import warnings

import numpy as np
import pytest
from backends_under_test import backend_dtype_params, backend_params, is_simulated

from neuro.backends import get_backend
from neuro.costs import COSTS, mean_cost
from neuro.measure.agreement import random_case


def _network_with_weighted_sums(backend, dtype, z_values):
    """A 1-input network whose output neurons have weighted sums exactly z_values for the input 1.0."""
    w = backend.to_backend(np.array(z_values, dtype=np.float64).reshape(-1, 1), dtype)
    b = backend.to_backend(np.zeros(len(z_values)), dtype)
    x = backend.to_backend(np.ones((1, 1)), dtype)
    return [w], [b], x


@pytest.mark.parametrize(("name", "dtype"), backend_dtype_params())
def test_sigmoid_of_huge_weighted_sums_is_0_or_1_without_warnings(name, dtype):
    backend = get_backend(name)
    weights, biases, x = _network_with_weighted_sums(backend, dtype, [-1000.0, -100.0, 0.0, 100.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning fails the test
        out = np.asarray(backend.to_numpy(backend.forward(weights, biases, x)), dtype=np.float64)[0]
    assert np.all(np.isfinite(out))
    assert out[0] == pytest.approx(0.0, abs=1e-30)
    assert out[1] == pytest.approx(0.0, abs=1e-40)
    assert out[2] == pytest.approx(0.5)
    assert out[3] == pytest.approx(1.0)
    assert out[4] == 1.0


@pytest.mark.parametrize(("name", "dtype"), backend_dtype_params())
@pytest.mark.parametrize("cost", COSTS)
def test_gradient_step_with_saturated_neurons_stays_finite(name, dtype, cost):
    backend = get_backend(name)
    case = random_case([5, 4, 3], batch=4, seed=0, weight_scale=1000.0, cost=cost, dtype=dtype)
    w = [backend.to_backend(a, dtype) for a in case.weights]
    b = [backend.to_backend(a, dtype) for a in case.biases]
    x, y = backend.to_backend(case.x, dtype), backend.to_backend(case.y, dtype)
    order = backend.to_backend(case.order, "int64")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        backend.train_step(w, b, x, y, order, 0, 4, 3.0, cost)
        backend.synchronize()
    for a in w + b:
        assert np.all(np.isfinite(backend.to_numpy(a)))


@pytest.mark.parametrize("cost", COSTS)
def test_costs_are_finite_for_saturated_outputs(cost):
    a = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 1e-300]])
    y = np.array([[1.0, 0.0, 0.5], [1.0, 0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = mean_cost(cost, a, y)
    assert np.isfinite(value) and value > 0


def test_quadratic_cost_value():
    assert mean_cost("quadratic", np.array([[1.0, 0.0]]), np.array([[0.0, 0.0]])) == pytest.approx(0.5)


def test_cross_entropy_cost_value():
    a, y = np.array([[0.25]]), np.array([[1.0]])
    assert mean_cost("cross-entropy", a, y) == pytest.approx(-np.log(0.25))


def _total_cost(backend, case, weights, biases):
    """Sum over the first mini-batch of the per-sample cost, via the backend's forward pass."""
    batch = case.order[: case.batch]
    dtype = case.dtype
    w = [backend.to_backend(a, dtype) for a in weights]
    b = [backend.to_backend(a, dtype) for a in biases]
    a = np.asarray(backend.to_numpy(backend.forward(w, b, backend.to_backend(case.x[batch], dtype))))
    return mean_cost(case.cost, a, case.y[batch]) * case.batch


@pytest.mark.parametrize("name", backend_params())
@pytest.mark.parametrize("cost", COSTS)
def test_gradient_matches_finite_differences(name, cost):
    """dC/dw from backpropagation equals (C(w + h) - C(w - h)) / 2h for a sample of weights and biases."""
    backend = get_backend(name)
    # Each probe is two forward passes: on a simulator (a Python thread per GPU thread) one weight and one bias
    # per layer, elsewhere three of each.
    probes = 1 if is_simulated(name) else 3
    case = random_case([6, 5, 4, 3], batch=3, seed=11, cost=cost, dtype="float64")
    stored = [backend.to_backend(a, "float64") for a in (case.x, case.y)]
    nabla_w, nabla_b = backend.gradient(
        [backend.to_backend(w, "float64") for w in case.weights],
        [backend.to_backend(b, "float64") for b in case.biases],
        *stored, backend.to_backend(case.order, "int64"), 0, case.batch, cost,
    )
    rng = np.random.default_rng(0)
    h = 1e-6
    for l in range(len(case.weights)):
        for params, grads in ((case.weights, nabla_w), (case.biases, nabla_b)):
            analytic = np.asarray(backend.to_numpy(grads[l]))
            for _ in range(probes):
                index = tuple(rng.integers(0, n) for n in params[l].shape)
                plus = [p.copy() for p in params]
                minus = [p.copy() for p in params]
                plus[l][index] += h
                minus[l][index] -= h
                weights_plus, biases_plus = (plus, case.biases) if params is case.weights else (case.weights, plus)
                weights_minus, biases_minus = (minus, case.biases) if params is case.weights else (case.weights, minus)
                numeric = (_total_cost(backend, case, weights_plus, biases_plus)
                           - _total_cost(backend, case, weights_minus, biases_minus)) / (2 * h)
                assert analytic[index] == pytest.approx(numeric, rel=1e-5, abs=1e-8)
