"""Saving and loading a trained network as a `.npz` file: plain arrays, never pickle.

The file holds the layer sizes, the activation function, the cost it was trained with, the dtype, and one
array per weight matrix and bias vector (`w0, b0, w1, b1, ...`; w<l> connects layer l to layer l+1). Strings
are stored as NumPy unicode arrays, so `np.load(..., allow_pickle=False)` reads everything back. Saving
writes a temporary file and renames it, so a failed save never leaves a half-written model.

Since format version 2 a file written by `neuro train` also holds its training record (`training`, JSON text):
the epochs done, their history, the settings, and the state of the shuffling generator, which is what
`neuro train --resume` needs to continue the run exactly. Files of version 1 (no record) still load.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np

from neuro.costs import COSTS
from neuro.network import DTYPES, Network
from neuro.settings import RunSettings
from neuro.sizes import check_sizes
from neuro.support.errors import NeuroError
from neuro.support.files import atomic_path
from neuro.support.memory import gib, usable_memory

FORMAT = "neuro-model"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)


@dataclass(frozen=True)
class TrainingRecord:
    """How a saved model was trained: the epochs done, the test accuracy and cost after each (`history`, one
    dict per epoch: epoch, test_accuracy, test_cost, seconds), the run's settings (`neuro.settings.RunSettings`;
    given as the dict a record stores, it is read with `RunSettings.from_record`), and the shuffling generator's
    state after the last epoch (NumPy's `bit_generator.state`, a dict of plain numbers)."""

    epochs_done: int
    history: list[dict]
    settings: RunSettings
    shuffle_state: dict

    def __post_init__(self) -> None:
        if isinstance(self.settings, dict):
            object.__setattr__(self, "settings", RunSettings.from_record(self.settings))

    @property
    def data(self) -> str:
        """The data set the model was trained on (`--data`)."""
        return self.settings.data

    def shuffler(self) -> np.random.Generator:
        """A generator in the saved state: it draws the orders of the epochs that come next."""
        try:
            bit_generator = getattr(np.random, self.shuffle_state["bit_generator"])()
            bit_generator.state = self.shuffle_state
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise NeuroError(f"the saved shuffling state is unusable ({error})") from None
        return np.random.Generator(bit_generator)

    @classmethod
    def after(cls, history: list[dict], settings: RunSettings, shuffler: np.random.Generator) -> TrainingRecord:
        """The record of a run that has done the epochs of `history`, its next orders to come from `shuffler`."""
        return cls(len(history), list(history), settings, shuffler.bit_generator.state)

    @staticmethod
    def entry(report) -> dict:
        """One epoch's entry in `history`, from its `neuro.training.EpochReport`."""
        return {"epoch": report.epoch, "test_accuracy": report.test_accuracy, "test_cost": report.test_cost,
                "seconds": report.seconds}

    def to_json(self) -> str:
        return json.dumps({"epochs_done": self.epochs_done, "history": self.history,
                           "settings": self.settings.to_record(), "shuffle_state": self.shuffle_state},
                          allow_nan=False)


@dataclass(frozen=True)
class SavedModel:
    """A model as read from disk: its parameters (host arrays) and what it was trained with."""

    sizes: list[int]
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    cost: str
    dtype: str
    activation: str = "sigmoid"
    training: TrainingRecord | None = None
    """How it was trained (None for a file written before training records, or by `save_model` without one)."""

    def network(self, backend: str | None = None, dtype: str | None = None) -> Network:
        """The network, on `backend`, in `dtype` (default: the dtype it was saved in)."""
        return Network.from_parameters(self.weights, self.biases, backend=backend, dtype=dtype or self.dtype)


def save_model(network: Network, path: str | os.PathLike, cost: str = "quadratic",
               training: TrainingRecord | None = None) -> None:
    """Write `network` (the cost it was trained with, and how, if `training`) to `path`, atomically."""
    weights, biases = network.parameters()
    record = {} if training is None else {"training": np.array(training.to_json())}
    arrays = {f"w{l}": w for l, w in enumerate(weights)} | {f"b{l}": b for l, b in enumerate(biases)}
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(
            tmp,
            format=np.array(FORMAT),
            format_version=np.array(FORMAT_VERSION),
            sizes=np.array(network.sizes, dtype=np.int64),
            activation=np.array("sigmoid"),
            cost=np.array(cost),
            dtype=np.array(network.dtype),
            **record,
            **arrays,
        )


def load_model(path: str | os.PathLike) -> SavedModel:
    """Read a model written by `save_model`, checking every field; a NeuroError says what is wrong."""
    path = os.fspath(path)
    _check_unpacked_size(path)
    try:
        if not os.path.isdir(path) and os.path.exists(path) and not zipfile.is_zipfile(path):
            raise ValueError("it is not a zip archive, as every .npz file is")
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):  # a lone .npy array, not an archive
            raise ValueError("it holds a single array, not an .npz archive")
        with archive:
            fields = {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise NeuroError(f"model file {path} does not exist") from None
    except IsADirectoryError:
        raise NeuroError(f"model file {path} is a folder, not a file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise NeuroError(f"{path} is not a neuro model file (.npz): {error}") from None
    except MemoryError:  # (an array's header may announce more than its member holds: NumPy allocates it first)
        raise NeuroError(f"{path} is not a usable neuro model file: it announces arrays larger than memory") from None
    return _checked(path, fields)


def _check_unpacked_size(path: str) -> None:
    """A NeuroError if the archive at `path` unpacks to more than the memory this process may use (nothing when
    it is no zip archive: np.load then says what it is)."""

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return
    usable = usable_memory()
    if usable is not None and unpacked > usable[0]:
        raise NeuroError(f"{path} unpacks to {gib(unpacked)}, more than the {gib(usable[0])} this process may use "
                         f"({usable[1]})")


def _checked(path: str, fields: dict[str, np.ndarray]) -> SavedModel:
    def bad(why: str) -> NeuroError:
        return NeuroError(f"{path} is not a valid neuro model: {why}")

    if "format" not in fields or str(fields["format"]) != FORMAT:
        raise bad("it has no 'neuro-model' format marker (was it saved by `neuro train --save`?)")
    try:
        version = int(fields.get("format_version", -1))
    except (TypeError, ValueError):
        version = -1
    if version not in READABLE_VERSIONS:
        raise bad(f"format version {fields.get('format_version')} is not one of {READABLE_VERSIONS}")
    for key in ("sizes", "activation", "cost", "dtype"):
        if key not in fields:
            raise bad(f"the field {key!r} is missing")
    try:
        sizes = check_sizes(fields["sizes"].tolist())
    except (NeuroError, TypeError, ValueError) as error:
        raise bad(f"its layer sizes are unusable ({error})") from None
    activation, cost, dtype = (str(fields[key]) for key in ("activation", "cost", "dtype"))
    if activation != "sigmoid":
        raise bad(f"activation {activation!r} is not supported (only sigmoid)")
    if cost not in COSTS:
        raise bad(f"unknown cost {cost!r}")
    if dtype not in DTYPES:
        raise bad(f"unknown dtype {dtype!r}")
    weights, biases = [], []
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w, b = fields.get(f"w{l}"), fields.get(f"b{l}")
        if w is None or b is None:
            raise bad(f"the parameters of layer {l + 1} (w{l}, b{l}) are missing")
        if not isinstance(w, np.ndarray) or not isinstance(b, np.ndarray):
            raise bad(f"w{l} and b{l} must be arrays")
        if w.shape != (n_out, n_in) or b.shape != (n_out,):
            raise bad(f"w{l} has shape {w.shape} and b{l} {b.shape}, expected {(n_out, n_in)} and {(n_out,)}")
        if not (np.issubdtype(w.dtype, np.floating) and np.issubdtype(b.dtype, np.floating)):
            raise bad(f"w{l} and b{l} must hold floating-point numbers")
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
            raise bad(f"w{l} or b{l} holds NaN or infinity")
        weights.append(w)
        biases.append(b)
    training = _record(fields["training"], bad) if "training" in fields else None
    return SavedModel(sizes, weights, biases, cost, dtype, activation, training)


def _record(field: np.ndarray, bad) -> TrainingRecord:
    """The training record stored as JSON text, checked field by field."""
    try:
        fields = json.loads(str(field))
        epochs_done, history = int(fields["epochs_done"]), list(fields["history"])
        settings, state = dict(fields["settings"]), dict(fields["shuffle_state"])
        for entry in history:
            for key in ("epoch", "test_accuracy", "test_cost", "seconds"):
                if not math.isfinite(float(entry[key])):
                    raise ValueError(f"the history's {key} is not finite")
    except (ValueError, TypeError, KeyError, RecursionError) as error:  # (JSONDecodeError is a ValueError)
        raise bad(f"its training record is unreadable ({error!r})") from None
    if epochs_done < 0 or len(history) != epochs_done:
        raise bad(f"its training record lists {len(history)} epochs in its history but says {epochs_done} were done")
    try:
        run = RunSettings.from_record(settings, "its training record")
    except NeuroError as error:
        raise bad(str(error)) from None
    return TrainingRecord(epochs_done, history, run, state)
