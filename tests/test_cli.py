"""The command line, through click's test runner: results, JSON, and one clear line for every bad input."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from tiny_mnist import write_random_mnist

from neuro import Network, save_model
from neuro.cli.main import main
from neuro.data.idx import write_idx


def run(*args, ok=True):
    result = CliRunner().invoke(main, list(args))
    if ok:
        assert result.exit_code == 0, result.output
    return result


def last_json(result):
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def mnist_folder(tmp_path_factory):
    """A tiny MNIST-format folder: 200 training and 50 test images of random pixels."""
    return write_random_mnist(tmp_path_factory.mktemp("mnist"), 200, 50, gzip_images=True)


@pytest.fixture(scope="module")
def model(tmp_path_factory, mnist_folder):
    path = tmp_path_factory.mktemp("model") / "model.npz"
    run("train", "--data", str(mnist_folder), "--epochs", "1", "--save", str(path))
    return path


def test_version():
    assert run("--version").output.startswith("neuro, version ")


def test_train_json_has_the_stable_keys(mnist_folder, tmp_path):
    result = run("train", "--data", str(mnist_folder), "--epochs", "2", "--layers", "784,8,10",
                 "--batch-size", "5", "--eta", "1.5", "--json")
    payload = last_json(result)
    assert payload["backend"] == "numpy" and payload["dtype"] == "float64"
    assert payload["layers"] == [784, 8, 10] and payload["epochs"] == 2
    assert payload["batch_size"] == 5 and payload["eta"] == 1.5
    assert 0 <= payload["test_accuracy"] <= 1
    assert len(payload["test_accuracy_per_epoch"]) == 2
    assert payload["train_seconds"] > 0


def test_train_prints_one_line_per_epoch(mnist_folder):
    output = run("train", "--data", str(mnist_folder), "--epochs", "3", "--limit", "100").output
    assert sum(line.startswith("Epoch") for line in output.splitlines()) == 3


def test_train_on_the_built_in_digits_with_the_python_backend():
    payload = last_json(run("train", "--backend", "python", "--limit", "300", "--epochs", "1",
                            "--layers", "784,10,10", "--json"))
    assert payload["backend"] == "python"


def test_evaluate_reports_accuracy_per_digit_and_confusion(model, mnist_folder):
    payload = last_json(run("evaluate", str(model), "--data", str(mnist_folder), "--json"))
    confusion = np.array(payload["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 50
    assert payload["accuracy"] == pytest.approx(np.trace(confusion) / 50)
    text = run("evaluate", str(model), "--data", str(mnist_folder)).output
    assert "Confusion matrix" in text and "Accuracy per digit" in text


def test_backends_lists_every_backend_with_a_reason():
    payload = last_json(run("backends", "--json"))
    names = [b["name"] for b in payload["backends"]]
    assert names[:2] == ["python", "numpy"]
    assert all(set(b) == {"name", "available", "reason"} for b in payload["backends"])


def test_agree_passes_and_reports_every_quantity():
    payload = last_json(run("agree", "--backends", "python,numpy", "--layers", "30,7,5", "--json"))
    assert payload["ok"] is True
    assert {r["quantity"] for r in payload["results"]} >= {"outputs", "nabla_w", "w_n"}


def test_bench_json_has_the_stable_keys():
    payload = last_json(run("bench", "--backends", "python,numpy", "--layers", "20,5,3",
                            "--batch-size", "2,4", "--seconds", "0.05", "--json"))
    rows = payload["results"]
    assert len(rows) == 4
    for row in rows:
        assert {"backend", "dtype", "layers", "batch_size", "train_samples_per_s",
                "forward_samples_per_s"} <= set(row)
        assert row["train_samples_per_s"] > 0 and row["validated"]
    assert next(r for r in rows if r["backend"] == "python")["speedup_vs_python"] == 1.0


def test_bench_table_marks_extrapolated_epochs():
    output = run("bench", "--backends", "python", "--layers", "20,5,3", "--seconds", "0.05").output
    assert "~" in output and "python" in output


def _assert_one_line_error(result, fragment):
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("Error: ") and fragment in lines[-1], result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["train", "--backend", "tpu"], "unknown backend 'tpu'"),
        (["train", "--eta", "0"], "eta must be positive"),
        (["train", "--eta", "-2"], "eta must be positive"),
        (["train", "--batch-size", "0"], "batch size must be at least 1"),
        (["train", "--layers", "784,0,10"], "at least one neuron"),
        (["train", "--layers", "784,x,10"], "whole numbers"),
        (["train", "--layers", "100,16,10", "--limit", "10"], "input layer has 100 neurons"),
        (["train", "--backend", "python", "--dtype", "float32"], "cannot compute in float32"),
        (["train", "--data", "/no/such/folder"], "neither 'synthetic', 'mnist' nor a folder"),
        (["train", "--limit", "0"], "--limit must be a positive"),
        (["evaluate", "/no/such/model.npz"], "does not exist"),
        (["bench", "--batch-size", "0"], "positive whole numbers"),
        (["agree", "--backends", "tpu"], "unknown backend"),
        (["train", "--backend", "numpy", "--threads", "2"], "does not run on several threads"),
    ],
)
def test_bad_input_gives_one_clear_error_line(args, fragment):
    _assert_one_line_error(run(*args, ok=False), fragment)


def test_a_file_that_is_not_a_model(tmp_path):
    path = tmp_path / "model.npz"
    path.write_text("not a model")
    _assert_one_line_error(run("evaluate", str(path), ok=False), "not a neuro model file")


def test_a_model_that_does_not_fit_the_data(tmp_path, mnist_folder):
    path = tmp_path / "other.npz"
    save_model(Network([100, 10]), path)
    _assert_one_line_error(run("evaluate", str(path), "--data", str(mnist_folder), ok=False),
                           "input layer has 100 neurons but the images have 784 pixels")


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (lambda f: (f / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05\x01"),
         "train-labels"),
        (lambda f: (f / "train-labels-idx1-ubyte").write_bytes(b"\x12\x34\x08\x01\x00\x00\x00\x01\x01"),
         "magic"),
        (lambda f: write_idx(f / "train-labels-idx1-ubyte", np.zeros(7, dtype=np.uint8)), "7"),
    ],
    ids=["truncated", "wrong-magic", "count-mismatch"],
)
def test_malformed_mnist_files_are_refused(tmp_path, mnist_folder, damage, fragment):
    folder = tmp_path / "data"
    folder.mkdir()
    for source in mnist_folder.iterdir():
        (folder / source.name).write_bytes(source.read_bytes())
    damage(folder)
    _assert_one_line_error(run("train", "--data", str(folder), ok=False), fragment)
