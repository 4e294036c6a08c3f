"""The training loop: it learns, it is reproducible, and it refuses settings that cannot work."""

import numpy as np
import pytest

from neuro import Dataset, Network, NeuroError, TrainingSettings, evaluate, sgd
from neuro.data import load_dataset
from neuro.training import check_fits


@pytest.fixture(scope="module")
def small_digits():
    data = load_dataset("synthetic")
    return Dataset("synthetic", data.train_images[:3000], data.train_labels[:3000],
                   data.test_images[:1000], data.test_labels[:1000])


def test_training_learns_the_digits(small_digits):
    net = Network([784, 16, 16, 10], seed=0)
    before = evaluate(net, small_digits.test_images, small_digits.test_labels).accuracy
    reports = sgd(net, small_digits, TrainingSettings(epochs=3))
    assert before < 0.3
    assert reports[-1].test_accuracy > 0.6
    assert [r.epoch for r in reports] == [1, 2, 3]


def test_training_is_reproducible_from_the_seed(small_digits):
    runs = []
    for _ in range(2):
        net = Network([784, 8, 10], seed=5)
        sgd(net, small_digits.limited(500), TrainingSettings(epochs=1, seed=5))
        runs.append(net.parameters()[0][0])
    np.testing.assert_array_equal(*runs)


def test_the_stretches_handed_to_the_backend_do_not_change_the_result(small_digits, monkeypatch):
    """The loop lengthens its calls while they are quick (timing-dependent); the mini-batches must not change."""
    import neuro.stretches

    runs, calls = [], []
    for seconds in (0.0, 1e9):  # never lengthen the stretch; lengthen it every call
        monkeypatch.setattr(neuro.stretches, "STRETCH_SECONDS", seconds)
        net = Network([784, 8, 10], seed=5)
        counted = []
        sgd(net, small_digits.limited(1234), TrainingSettings(epochs=2, batch_size=7, seed=5), on_batch=counted.append)
        weights, biases = net.parameters()
        runs.append(weights + biases)
        calls.append(len(counted))
    assert calls[0] > calls[1]
    for fixed, growing in zip(*runs, strict=True):
        np.testing.assert_array_equal(fixed, growing)


def test_progress_callback_counts_every_training_sample(small_digits):
    counted = []
    sgd(Network([784, 4, 10]), small_digits.limited(1234), TrainingSettings(epochs=2, batch_size=7),
        on_batch=counted.append)
    assert sum(counted) == 2 * 1234


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (TrainingSettings(eta=0.0), "eta must be positive"),
        (TrainingSettings(eta=-1.0), "eta must be positive"),
        (TrainingSettings(batch_size=0), "batch size must be at least 1"),
        (TrainingSettings(epochs=0), "epochs must be at least 1"),
        (TrainingSettings(cost="hinge"), "unknown cost"),
    ],
)
def test_impossible_settings_are_refused(settings, message):
    with pytest.raises(NeuroError, match=message):
        settings.check()


def test_layers_that_do_not_fit_the_data_are_refused(small_digits):
    with pytest.raises(NeuroError, match="input layer has 100 neurons but the images have 784 pixels"):
        check_fits(Network([100, 10]), small_digits)
    with pytest.raises(NeuroError, match="output layer has 5 neurons"):
        check_fits(Network([784, 5]), small_digits)
