"""A run survives its faults: resume bit for bit, a stop between mini-batches from any thread, divergence named,
old model files still load, the memory a run needs estimated and refused when it is not there."""

from __future__ import annotations

import gzip
import json
import struct
import subprocess
import sys
import threading
import tracemalloc

import numpy as np
import pytest
from click.testing import CliRunner
from tiny_mnist import write_random_mnist

from neuro.backends import available_backends, get_backend
from neuro.cli.main import main
from neuro.data.idx import read_idx
from neuro.model import load_model
from neuro.network import Network
from neuro.support.errors import NeuroError
from neuro.support.memory import check_fits_in_memory, estimate_training
from neuro.training import TrainingSettings, TrainingStopped, sgd


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """A tiny MNIST-format folder: 200 training and 50 test images of random pixels."""
    return write_random_mnist(tmp_path_factory.mktemp("digits"), 200, 50, seed=1)


def run(*args, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


def one_error_line(result):
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return errors[0]


@pytest.mark.parametrize("backend", ["numpy", "numba-blocks"])
def test_three_epochs_then_two_more_equal_five_epochs_bit_for_bit(digits, tmp_path, backend):
    if backend not in available_backends():
        pytest.skip(f"{backend} does not run here")
    common = ["--data", digits, "--backend", backend, "--layers", "784,12,10", "--batch-size", "7",
              "--cost", "cross-entropy", "--eta", "0.5", "--seed", "3", "--dtype", "float32"]
    run("train", *common, "--epochs", 3, "--save", tmp_path / "a.npz")
    resumed = json.loads(run("train", "--resume", tmp_path / "a.npz", "--backend", backend, "--epochs", 2,
                             "--save", tmp_path / "a.npz", "--json").stdout.splitlines()[-1])
    run("train", *common, "--epochs", 5, "--save", tmp_path / "b.npz")
    a, b = load_model(tmp_path / "a.npz"), load_model(tmp_path / "b.npz")
    for x, y in zip(a.weights + a.biases, b.weights + b.biases):
        assert x.dtype == np.float32 and np.array_equal(x, y)
    assert a.training.epochs_done == 5 and a.training.data == str(digits)
    assert resumed["epochs"] == 5 and len(resumed["test_accuracy_per_epoch"]) == 5  # the whole run's curve
    assert [h["test_cost"] for h in a.training.history] == [h["test_cost"] for h in b.training.history]


def test_resume_without_save_writes_nothing_and_refuses_a_conflicting_option(digits, tmp_path):
    model = tmp_path / "m.npz"
    run("train", "--data", digits, "--epochs", 1, "--save", model)
    before = model.read_bytes()
    run("train", "--resume", model, "--epochs", 1)
    assert model.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    line = one_error_line(run("train", "--resume", model, "--eta", "0.5", ok=False))
    assert "--eta 0.5 conflicts" in line and "3.0" in line
    run("train", "--resume", model, "--eta", "3.0", "--epochs", 1)  # the same value is no conflict


@pytest.mark.parametrize(("setting", "value"), [
    ("batch_size", 2.5), ("eta", "abc"), ("eta", -1), ("limit", "x"), ("limit", -3), ("seed", "x"), ("data", 5),
    ("layers", [784, "a", 10]), ("layers", 5), ("init", "zzz"), ("cost", None), ("dtype", "float16"),
])
def test_a_damaged_training_record_is_refused_in_one_line(digits, tmp_path, setting, value):
    model = tmp_path / "m.npz"
    run("train", "--data", digits, "--layers", "784,5,10", "--epochs", 1, "--save", model)
    with np.load(model, allow_pickle=False) as npz:
        fields = {key: npz[key] for key in npz.files}
    record = json.loads(str(fields["training"]))
    record["settings"][setting] = value
    fields["training"] = np.array(json.dumps(record))
    np.savez(model, **fields)
    line = one_error_line(run("train", "--resume", model, "--epochs", 1, ok=False))
    assert f"setting {setting}=" in line and "cannot be continued" in line


def test_a_relative_data_folder_is_found_again_from_elsewhere(digits, tmp_path, monkeypatch):
    import shutil

    shutil.copytree(digits, tmp_path / "sub" / "digits")
    monkeypatch.chdir(tmp_path / "sub")
    run("train", "--data", "digits", "--layers", "784,5,10", "--epochs", 1, "--save", "m.npz")
    monkeypatch.chdir(tmp_path)
    run("train", "--resume", "sub/m.npz", "--epochs", 1, "--save", "sub/m.npz")
    run("train", "--resume", "sub/m.npz", "--data", "sub/digits", "--epochs", 1)  # the same folder: no conflict
    assert load_model(tmp_path / "sub" / "m.npz").training.epochs_done == 2


def test_a_file_that_cannot_be_written_any_more_is_one_error(tmp_path):
    from neuro.support.files import atomic_path

    with pytest.raises(NeuroError, match="cannot write"), atomic_path(tmp_path / "gone" / "m.npz"):
        pass


def test_sigterm_while_a_file_is_written_removes_its_temporary_file(tmp_path):
    """SIGTERM anywhere in a command (here inside a write, before any handler of the work's own) stops it as
    Ctrl-C does: the temporary file goes, and the exit status is 143."""
    script = f"""
import os, signal, sys, time
from neuro.cli.common import terminate_as_interrupt
from neuro.support.files import atomic_path
try:
    with terminate_as_interrupt(), atomic_path({str(tmp_path / "m.npz")!r}) as part:
        part.write_bytes(b"half")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
except KeyboardInterrupt as stop:
    sys.exit(stop.exit_status)
"""
    done = subprocess.run([sys.executable, "-c", script], timeout=60, capture_output=True, text=True)
    assert done.returncode == 143, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_model_file_of_format_version_1_still_loads(digits, tmp_path):
    network = Network([784, 5, 10], seed=2)
    weights, biases = network.parameters()
    path = tmp_path / "old.npz"
    np.savez(path, format=np.array("neuro-model"), format_version=np.array(1), sizes=np.array([784, 5, 10]),
             activation=np.array("sigmoid"), cost=np.array("quadratic"), dtype=np.array("float64"),
             w0=weights[0], b0=biases[0], w1=weights[1], b1=biases[1])
    saved = load_model(path)
    assert saved.training is None and np.array_equal(saved.weights[0], weights[0])
    run("evaluate", path, "--data", digits)
    assert "no training record" in one_error_line(run("train", "--resume", path, ok=False))


def test_stop_between_mini_batches_from_another_thread(digits):
    """`sgd` in a worker thread (as `neuro serve --train` runs it), stopped by an Event polled after each call."""
    from neuro.data import load_dataset

    data = load_dataset(str(digits))
    network = Network([784, 8, 10])
    stop, calls, outcome = threading.Event(), [], {}

    def on_batch(n_samples: int) -> None:
        calls.append(n_samples)
        if len(calls) == 3:
            stop.set()

    def work() -> None:
        try:
            sgd(network, data, TrainingSettings(epochs=50, batch_size=5), on_batch=on_batch, should_stop=stop.is_set)
        except TrainingStopped as stopped:
            outcome["reports"] = stopped.reports

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert len(calls) == 3 and all(n % 5 == 0 for n in calls)  # whole mini-batches only
    # (the stop came within the first epoch: 3 calls of at most a tenth of an epoch each)
    assert outcome["reports"] == []


def test_divergence_is_named_and_the_good_file_is_kept(digits, tmp_path):
    model = tmp_path / "m.npz"
    run("train", "--data", digits, "--epochs", 1, "--save", model)
    before = model.read_bytes()
    # cross-entropy does not saturate: a step of 1e308 overflows the weights to infinity
    line = one_error_line(run("train", "--data", digits, "--cost", "cross-entropy", "--eta", "1e308",
                              "--epochs", 2, "--save", model, ok=False))
    assert "diverged in epoch 1" in line and "smaller --eta" in line
    assert model.read_bytes() == before


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "0", "-1"])
def test_a_learning_rate_that_is_not_positive_and_finite_is_refused_before_any_work(value, tmp_path):
    line = one_error_line(run("train", "--eta", value, "--save", tmp_path / "m.npz", ok=False))
    assert "eta must be positive and finite" in line
    assert list(tmp_path.iterdir()) == []


def test_the_classic_network_on_full_mnist_fits_a_24_gib_machine_on_every_backend():
    for name in available_backends():
        backend = get_backend(name)
        estimate = estimate_training(backend, backend.dtypes[0], [784, 16, 16, 10], 60_000, 10_000, 10)
        check_fits_in_memory(estimate, name, usable=(24 * 2**30, "a 24 GiB machine"))


def test_a_network_too_large_for_memory_is_refused_naming_both_numbers(tmp_path):
    line = one_error_line(run("train", "--layers", "784,200000,200000,10", "--save", tmp_path / "m.npz", ok=False))
    assert "needs about" in line and "TiB" in line and "this process may use about" in line
    assert list(tmp_path.iterdir()) == []


def test_the_python_backend_costs_more_than_8_bytes_a_number():
    python = estimate_training(get_backend("python"), "float64", [784, 16, 10], 1000, 100, 10)
    numpy = estimate_training(get_backend("numpy"), "float64", [784, 16, 10], 1000, 100, 10)
    assert python.parts["data"] > 3 * numpy.parts["data"]


def test_the_address_space_limit_is_part_of_the_usable_memory():
    """Under `ulimit -v` of 1 GiB more than the process already maps, that limit is the one that counts."""
    code = ("import resource, re; from neuro.support.memory import usable_memory; "
            "size = int(re.search(r'VmSize:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) * 1024; "
            "resource.setrlimit(resource.RLIMIT_AS, (size + (1 << 30), resource.RLIM_INFINITY)); "
            "room, why = usable_memory(); print(room, why)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    room, why = out.stdout.split(" ", 1)
    assert "ulimit -v" in why, out.stdout + out.stderr
    assert 0 < int(room) <= 1 << 30


def test_a_callback_that_raises_still_stops_training(digits):
    """What `neuro serve --train` does from its thread: raise its own exception from `on_batch`."""
    from neuro.data import load_dataset

    class Cancelled(Exception):
        pass

    def on_batch(_n_samples: int) -> None:
        raise Cancelled

    with pytest.raises(Cancelled):
        sgd(Network([784, 8, 10]), load_dataset(str(digits)), TrainingSettings(epochs=3), on_batch=on_batch)


def test_a_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    """A header announcing 10 labels, followed by 64 MiB of zeros: refused after reading 11 bytes of data."""
    path = tmp_path / "bomb-idx1-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(b"\x00\x00\x08\x01" + struct.pack(">I", 10))
        zeros = bytes(1 << 20)
        for _ in range(64):
            out.write(zeros)
    tracemalloc.start()
    try:
        with pytest.raises(NeuroError, match="longer than its header says"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # (inflating it all would take 64 MiB)


def test_an_announcement_larger_than_memory_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + struct.pack(">III", 2**31, 2**31, 28) + bytes(100)))
    with pytest.raises(NeuroError, match="announces .* more than"):
        read_idx(path)
