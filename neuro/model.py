"""Saving and loading a trained network as a `.npz` file: plain arrays, never pickle.

The file holds the layer sizes, the activation function, the cost it was trained with, the dtype, and one
array per weight matrix and bias vector (`w0, b0, w1, b1, ...`; w<l> connects layer l to layer l+1). Strings
are stored as NumPy unicode arrays, so `np.load(..., allow_pickle=False)` reads everything back. Saving
writes a temporary file and renames it, so a failed save never leaves a half-written model.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np

from neuro.costs import COSTS
from neuro.errors import NeuroError
from neuro.files import atomic_path
from neuro.network import DTYPES, Network, check_sizes

FORMAT = "neuro-model"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class SavedModel:
    """A model as read from disk: its parameters (host arrays) and what it was trained with."""

    sizes: list[int]
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    cost: str
    dtype: str
    activation: str = "sigmoid"

    def network(self, backend: str | None = None, dtype: str | None = None) -> Network:
        """The network, on `backend`, in `dtype` (default: the dtype it was saved in)."""
        return Network.from_parameters(self.weights, self.biases, backend=backend, dtype=dtype or self.dtype)


def save_model(network: Network, path: str | os.PathLike, cost: str = "quadratic") -> None:
    """Write `network` (and the cost it was trained with) to `path`, atomically."""
    weights, biases = network.parameters()
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
            **arrays,
        )


def load_model(path: str | os.PathLike) -> SavedModel:
    """Read a model written by `save_model`, checking every field; a NeuroError says what is wrong."""
    path = os.fspath(path)
    try:
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
    return _checked(path, fields)


def _checked(path: str, fields: dict[str, np.ndarray]) -> SavedModel:
    def bad(why: str) -> NeuroError:
        return NeuroError(f"{path} is not a valid neuro model: {why}")

    if "format" not in fields or str(fields["format"]) != FORMAT:
        raise bad("it has no 'neuro-model' format marker (was it saved by `neuro train --save`?)")
    if int(fields.get("format_version", -1)) != FORMAT_VERSION:
        raise bad(f"format version {fields.get('format_version')} is not {FORMAT_VERSION}")
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
        if w.shape != (n_out, n_in) or b.shape != (n_out,):
            raise bad(f"w{l} has shape {w.shape} and b{l} {b.shape}, expected {(n_out, n_in)} and {(n_out,)}")
        if not (np.issubdtype(w.dtype, np.floating) and np.issubdtype(b.dtype, np.floating)):
            raise bad(f"w{l} and b{l} must hold floating-point numbers")
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
            raise bad(f"w{l} or b{l} holds NaN or infinity")
        weights.append(w)
        biases.append(b)
    return SavedModel(sizes, weights, biases, cost, dtype, activation)
