"""The command `neuro serve` as a learner runs it: its URL, --train in the background, Ctrl-C, the quick model,
bad input in one line. Each test starts the real command on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest
from serve_under_test import SIZES, ctrl_c, get_json, start_neuro_serve
from tiny_mnist import write_random_mnist

from neuro.data.paths import cache_dir
from neuro.model import load_model, save_model
from neuro.network import Network


@pytest.fixture(scope="module")
def network():
    return Network(SIZES, backend="numpy", seed=3)


@pytest.fixture(scope="module")
def digit_folder(tmp_path_factory):
    """A tiny MNIST-format folder (200 training, 20 test images of random pixels): no data to generate."""
    return write_random_mnist(tmp_path_factory.mktemp("digits"), 200, 20)


def test_neuro_serve_prints_its_url_at_once_and_stops_on_ctrl_c(tmp_path, network, digit_folder):
    model = tmp_path / "model.npz"
    save_model(network, model)
    process, port = start_neuro_serve(str(model), "--data", str(digit_folder), data_dir=tmp_path)
    try:
        model_info = get_json(port, "/api/model")
        assert model_info["sizes"] == SIZES and model_info["test_images"] == 20 and not model_info["training"]
    finally:
        assert "Stopped." in ctrl_c(process)


def test_neuro_serve_train_trains_in_the_background_and_saves_every_epoch(tmp_path, digit_folder):
    saved = tmp_path / "live.npz"
    process, port = start_neuro_serve("--train", "--epochs", "3", "--layers", "784,12,10", "--data",
                                      str(digit_folder), "--save", str(saved), data_dir=tmp_path)
    try:
        progress = get_json(port, "/api/progress")
        while not progress["finished"]:
            progress = get_json(port, "/api/progress")
        assert progress["epoch"] == 3 and progress["error"] is None and len(progress["accuracy"]) == 4
        weights = get_json(port, "/api/weights?layer=1")
    finally:
        stderr = ctrl_c(process)
    assert stderr.count(f"saved to {saved}") == 3
    trained = load_model(saved)
    assert trained.sizes == [784, 12, 10]
    np.testing.assert_array_equal(trained.weights[0], weights["weights"])
    assert trained.training.epochs_done == 3 and trained.training.data == str(digit_folder)
    assert [h["test_accuracy"] for h in trained.training.history] == progress["accuracy"][1:]

    from click.testing import CliRunner

    from neuro.cli.main import main

    more = CliRunner().invoke(main, ["train", "--resume", str(saved), "--epochs", "1", "--save", str(saved)])
    assert more.exit_code == 0, more.output
    assert load_model(saved).training.epochs_done == 4, "neuro train continues what neuro serve --train saved"

    from neuro.cli.serve import _model_to_serve

    assert _model_to_serve(str(saved), None)[1] == str(digit_folder), "served with the data it was trained on"


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_stopping_serve_train_midway_says_what_was_saved_as_neuro_train_does(tmp_path, digit_folder, signum, status):
    saved = tmp_path / "live.npz"
    process, port = start_neuro_serve("--train", "--epochs", "100000", "--layers", "784,12,10", "--data",
                                      str(digit_folder), "--save", str(saved), data_dir=tmp_path)
    try:
        while get_json(port, "/api/progress")["epoch"] < 1:
            time.sleep(0.05)
    finally:
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == status and "Traceback" not in stderr, stderr
    done = load_model(saved).training.epochs_done
    assert done >= 1 and f"saved epoch {done} to {saved}; continue with `neuro train --resume" in stderr, stderr


def test_the_quick_model_is_trained_once_and_cached_by_what_made_it(digit_folder, monkeypatch):
    from neuro.data import load_dataset
    from neuro.serve import quick

    data = load_dataset(str(digit_folder))
    path = quick.quick_model_path(str(digit_folder))
    assert path.parent.parent == cache_dir() and "784-16-16-10-epochs10-batch10-eta3.0-quadratic-seed0" in path.name
    assert quick.quick_model_path("synthetic").name.startswith("serve-synthetic-v")
    assert quick.quick_model_path("mnist") != path != quick.quick_model_path(str(digit_folder) + "/other")
    first, at = quick.quick_model(data, str(digit_folder))
    assert at == path and path.is_file() and first.sizes == list(quick.QUICK_SIZES)

    def no_training(*_args, **_kwargs):
        raise AssertionError("the cached quick model was trained again")

    monkeypatch.setattr(quick, "sgd", no_training)
    again, _ = quick.quick_model(data, str(digit_folder))
    for w, w_again in zip(first.weights, again.weights):
        np.testing.assert_array_equal(w, w_again)


@pytest.mark.parametrize("arguments, says", [
    (["model.npz", "--train"], "one of them"),
    (["--save", "m.npz"], "--train"),
    (["--epochs", "3"], "--epochs is an option of --train"),
    (["missing.npz"], "does not exist"),
    (["--train", "--layers", "100,10"], "784"),
    (["--train", "--eta", "0"], "eta"),
    (["--train", "--save", "no/such/folder/m.npz"], "does not exist"),
])
def test_neuro_serve_refuses_bad_input_in_one_line(arguments, says, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from neuro.cli.main import main

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["serve", *arguments, "--port", "0"])
    assert result.exit_code == 1 and result.output.startswith("Error:") and says in result.output, result.output
    assert result.output.count("\n") == 1
