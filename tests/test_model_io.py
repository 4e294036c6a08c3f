"""Saving and loading models: round trip, atomic writes, no pickle, clear errors for bad files."""

import os

import numpy as np
import pytest

from neuro import Network, NeuroError, load_model, save_model
from neuro.support.files import atomic_path


def test_round_trip_keeps_parameters_and_metadata(tmp_path):
    net = Network([12, 5, 3], dtype="float32", seed=2)
    path = tmp_path / "model.npz"
    save_model(net, path, cost="cross-entropy")
    saved = load_model(path)
    assert saved.sizes == [12, 5, 3]
    assert (saved.cost, saved.dtype, saved.activation) == ("cross-entropy", "float32", "sigmoid")
    for a, b in zip(saved.weights + saved.biases, net.parameters()[0] + net.parameters()[1]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(saved.network().feedforward(np.ones(12)), net.feedforward(np.ones(12)))


def test_save_leaves_no_temporary_files(tmp_path):
    save_model(Network([4, 2]), tmp_path / "m.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_saved_files_get_ordinary_permissions(tmp_path):
    save_model(Network([4, 2]), tmp_path / "m.npz")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "m.npz").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "m.npz"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("crash while writing")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_model_files_load_without_pickle(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, format=np.array("neuro-model"), payload=np.array([object()], dtype=object))
    with pytest.raises(NeuroError, match="not a neuro model file"):
        load_model(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a neuro model file"),
        (b"this is text", "not a neuro model file"),
        (b"PK\x03\x04broken zip", "not a neuro model file"),
    ],
)
def test_files_that_are_not_models_are_refused(tmp_path, content, message):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(NeuroError, match=message):
        load_model(path)


def test_missing_model_file(tmp_path):
    with pytest.raises(NeuroError, match="does not exist"):
        load_model(tmp_path / "nope.npz")


def test_npz_of_something_else_is_refused(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.zeros(3))
    with pytest.raises(NeuroError, match="format marker"):
        load_model(path)


def test_parameters_that_do_not_fit_the_sizes_are_refused(tmp_path):
    path = tmp_path / "m.npz"
    save_model(Network([4, 3, 2]), path)
    fields = dict(np.load(path))
    fields["w1"] = np.zeros((2, 4))
    np.savez(path, **fields)
    with pytest.raises(NeuroError, match="w1 has shape"):
        load_model(path)


def test_the_training_record_survives_a_round_trip(tmp_path):
    from neuro.model import TrainingRecord

    shuffler = np.random.default_rng(7)
    shuffler.permutation(100)
    settings = {"eta": 0.5, "batch_size": 7, "cost": "cross-entropy", "init": "scaled", "seed": 7,
                "data": "mnist", "limit": 500, "layers": [784, 3, 10], "dtype": "float32"}
    history = [{"epoch": 1, "test_accuracy": 0.25, "test_cost": 1.5, "seconds": 0.01}]
    record = TrainingRecord(1, history, settings, shuffler.bit_generator.state)
    save_model(Network([784, 3, 10], dtype="float32"), tmp_path / "m.npz", cost="cross-entropy", training=record)
    loaded = load_model(tmp_path / "m.npz").training
    assert loaded == record and loaded.data == "mnist"
    assert np.array_equal(loaded.shuffler().permutation(100), shuffler.permutation(100))
