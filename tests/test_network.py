"""The network object: initialisation, shapes, prediction, and the errors for impossible networks."""

import numpy as np
import pytest

from neuro import Network, NeuroError
from neuro.network import initial_parameters


def test_same_seed_same_parameters_on_every_backend():
    a = Network([20, 5, 3], backend="numpy", seed=4).parameters()
    b = Network([20, 5, 3], backend="python", seed=4).parameters()
    for x, y in zip(a[0] + a[1], b[0] + b[1]):
        np.testing.assert_array_equal(x, y)


def test_different_seeds_differ():
    a = Network([20, 5, 3], seed=1).parameters()[0][0]
    b = Network([20, 5, 3], seed=2).parameters()[0][0]
    assert not np.array_equal(a, b)


def test_classic_and_scaled_initialisation_have_the_documented_spread():
    w_classic = initial_parameters([2000, 400], seed=0, init="classic")[0][0]
    w_scaled = initial_parameters([2000, 400], seed=0, init="scaled")[0][0]
    assert w_classic.std() == pytest.approx(1.0, rel=0.02)
    assert w_scaled.std() == pytest.approx(1.0 / np.sqrt(2000), rel=0.02)


def test_shapes_follow_the_layer_sizes():
    weights, biases = Network([784, 16, 16, 10]).parameters()
    assert [w.shape for w in weights] == [(16, 784), (16, 16), (10, 16)]
    assert [b.shape for b in biases] == [(16,), (16,), (10,)]


def test_repr_shows_the_structure():
    assert repr(Network([784, 16, 16, 10])) == (
        "Network([784, 16, 16, 10], backend='numpy', dtype='float64', parameters=13002)"
    )


def test_predict_is_the_brightest_output_neuron():
    net = Network([3, 4], seed=0)
    x = np.random.default_rng(0).random((7, 3))
    np.testing.assert_array_equal(net.predict(x), np.argmax(net.feedforward(x), axis=1))


def test_activations_hold_every_layer_in_0_1():
    net = Network([5, 4, 3], seed=0)
    layers = net.activations(np.random.default_rng(0).random(5))
    assert [a.shape for a in layers] == [(1, 5), (1, 4), (1, 3)]
    assert all(((a >= 0) & (a <= 1)).all() for a in layers)


def test_from_parameters_round_trip():
    weights, biases = Network([6, 4, 2], seed=3).parameters()
    again = Network.from_parameters(weights, biases, backend="python")
    assert again.sizes == [6, 4, 2]
    for x, y in zip(again.parameters()[0], weights):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("sizes", [[784], [784, 0, 10], [784, -16, 10], []])
def test_impossible_sizes_are_refused(sizes):
    with pytest.raises(NeuroError):
        Network(sizes)


def test_float32_on_the_python_backend_is_refused_clearly():
    with pytest.raises(NeuroError, match="python backend cannot compute in float32"):
        Network([4, 2], backend="python", dtype="float32")


def test_wrong_input_width_is_refused():
    with pytest.raises(NeuroError, match="takes 4 inputs"):
        Network([4, 2]).feedforward(np.zeros((1, 5)))
