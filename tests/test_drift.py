"""`neuro drift`: backends agree after a step within rounding, and drift apart only as SGD amplifies it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from neuro.cli.main import main
from neuro.data import Dataset
from neuro.data.synthetic import generate_digits
from neuro.measure.drift import drift
from neuro.support.errors import NeuroError


@pytest.fixture(scope="module")
def small_data() -> Dataset:
    x, y = generate_digits(400, seed=11)
    return Dataset("small", x[:300], y[:300].astype(np.int64), x[300:], y[300:].astype(np.int64))


def test_after_one_step_the_backends_differ_by_rounding_only_and_the_difference_grows(small_data):
    result = drift(["python", "numpy"], [784, 8, 10], small_data, [1, 90], batch_size=10, eta=3.0)
    first, last = (p.max_abs_diff["numpy"] for p in result.points)
    assert 0 < first < 1e-12, "one step: within float64 rounding of the reference, and not bit-equal"
    assert last > first, "SGD amplifies the difference"
    assert set(result.accuracy) == {"python", "numpy"} and 0 <= result.disagreement["numpy"] <= 1


def test_the_steps_run_across_epochs_as_training_does(small_data):
    """90 steps of 10 over 300 images are three epochs, each shuffled anew, as neuro.training.sgd shuffles."""
    from neuro.network import Network
    from neuro.training import TrainingSettings, sgd

    trained = Network([784, 8, 10], backend="numpy", seed=0)
    sgd(trained, small_data, TrainingSettings(epochs=3, batch_size=10, eta=3.0, seed=0))
    result = drift(["numpy", "python"], [784, 8, 10], small_data, [90], batch_size=10, eta=3.0)
    on_numpy = Network.from_parameters(*trained.parameters(), backend="numpy")
    from neuro.evaluation import evaluate

    evaluation = evaluate(on_numpy, small_data.test_images, small_data.test_labels)
    assert (result.accuracy["numpy"], result.cost["numpy"]) == (evaluation.accuracy, evaluation.cost)


def test_one_backend_or_the_same_twice_is_refused(small_data):
    with pytest.raises(NeuroError, match="at least two backends"):
        drift(["numpy"], [784, 8, 10], small_data, [1])
    with pytest.raises(NeuroError, match="each backend once"):
        drift(["numpy", "numpy"], [784, 8, 10], small_data, [1])


def test_the_command_prints_the_table_and_json():
    args = ["drift", "--backends", "numpy,numba-loops", "--steps", "1,20", "--layers", "784,8,10"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "Largest difference of any weight or bias from numpy's" in result.output
    assert "numba-loops's network labels" in result.output
    as_json = json.loads(CliRunner().invoke(main, [*args, "--json"]).output.strip().splitlines()[-1])
    assert [p["steps"] for p in as_json["max_abs_diff"]] == [1, 20]
    assert as_json["max_abs_diff"][0]["numba-loops"] < 1e-12


def test_an_unknown_backend_is_one_error_line():
    result = CliRunner().invoke(main, ["drift", "--backends", "numpy,nosuch"])
    assert result.exit_code != 0 and "Error:" in result.output and "Traceback" not in result.output
