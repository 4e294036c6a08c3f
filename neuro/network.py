"""The network: layers of sigmoid neurons, a weight matrix and a bias vector per layer, on any backend.

The classic digit recogniser is `Network([784, 16, 16, 10])`: 784 input neurons (one per pixel), two hidden
layers of 16 and 10 outputs, one per digit. Each neuron's activation is sigmoid(weighted sum + bias), in
[0, 1]; the brightest output neuron is the network's answer.

The parameters are drawn here, from the network's own seeded NumPy generator, and then handed to the backend:
every backend therefore starts from identical numbers, and only the arithmetic differs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neuro.backends import Backend, get_backend
from neuro.sizes import check_sizes, parameter_count, sizes_of
from neuro.support.errors import NeuroError

DTYPES = ("float64", "float32")
INITS = ("classic", "scaled")


def initial_parameters(
    sizes: Sequence[int], seed: int = 0, init: str = "classic"
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Weights w^l (n_l, n_{l-1}) and biases b^l (n_l,), drawn from a generator seeded with `seed`.

    "classic": every weight and bias from N(0, 1), as in the classic network.
    "scaled": weights from N(0, 1/n_in) instead, so that a neuron's weighted sum starts with variance about 1
    whatever the number n_in of its inputs, and the sigmoid starts unsaturated (biases stay N(0, 1)).
    """
    if init not in INITS:
        raise NeuroError(f"unknown initialisation {init!r}; choose one of: {', '.join(INITS)}")
    rng = np.random.default_rng(seed)
    weights, biases = [], []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        scale = 1.0 if init == "classic" else 1.0 / np.sqrt(n_in)
        weights.append(rng.standard_normal((n_out, n_in)) * scale)
        biases.append(rng.standard_normal(n_out))
    return weights, biases


class Network:
    """A fully connected network of sigmoid neurons whose arithmetic runs on a backend.

    `weights[l]` and `biases[l]` (in the backend's storage) connect layer l to layer l+1; `parameters()`
    returns them as NumPy arrays.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        backend: str | Backend | None = None,
        dtype: str = "float64",
        seed: int = 0,
        init: str = "classic",
    ) -> None:
        sizes = check_sizes(sizes)
        weights, biases = initial_parameters(sizes, seed, init)
        self._setup(sizes, backend, dtype, weights, biases)

    @classmethod
    def from_parameters(
        cls,
        weights: Sequence[np.ndarray],
        biases: Sequence[np.ndarray],
        backend: str | Backend | None = None,
        dtype: str = "float64",
    ) -> Network:
        """A network with the given weights and biases (host arrays), e.g. loaded from a file."""
        sizes = list(sizes_of(weights))
        network = cls.__new__(cls)
        network._setup(check_sizes(sizes), backend, dtype, list(weights), list(biases))
        return network

    def _setup(self, sizes, backend, dtype, weights, biases) -> None:
        self.backend = backend if isinstance(backend, Backend) else get_backend(backend)
        if dtype not in DTYPES:
            raise NeuroError(f"unknown dtype {dtype!r}; choose one of: {', '.join(DTYPES)}")
        if dtype not in self.backend.dtypes:
            raise NeuroError(
                f"the {self.backend.name} backend cannot compute in {dtype}; "
                f"it supports: {', '.join(self.backend.dtypes)}"
            )
        self.sizes = sizes
        self.dtype = dtype
        self.weights = [self.backend.to_backend(w, dtype) for w in weights]
        self.biases = [self.backend.to_backend(b, dtype) for b in biases]

    def __repr__(self) -> str:
        return (
            f"Network({self.sizes}, backend={self.backend.name!r}, dtype={self.dtype!r}, "
            f"parameters={self.n_parameters})"
        )

    @property
    def n_parameters(self) -> int:
        """The number of weights and biases."""
        return parameter_count(self.sizes)

    def parameters(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Copies of the weights and biases as host NumPy arrays."""
        weights = [self.backend.to_numpy(w) for w in self.weights]
        biases = [self.backend.to_numpy(b) for b in self.biases]
        return weights, biases

    def to_backend(self, x: np.ndarray) -> object:
        """Inputs or targets (n_samples, n) moved into this network's backend, in its dtype."""
        return self.backend.to_backend(np.asarray(x), self.dtype)

    def _inputs(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim == 1:
            x = x[np.newaxis, :]
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise NeuroError(
                f"the network takes {self.sizes[0]} inputs per sample, got an array of shape {x.shape}"
            )
        return x

    def feedforward(self, x: np.ndarray) -> np.ndarray:
        """The output activations a^L for each row of x (or for the single sample x)."""
        stored = self.backend.forward(self.weights, self.biases, self.to_backend(self._inputs(x)))
        return self.backend.to_numpy(stored)

    def activations(self, x: np.ndarray) -> list[np.ndarray]:
        """Every layer's activations [a^0, ..., a^L] for each row of x: what each neuron holds."""
        stored = self.backend.forward(self.weights, self.biases, self.to_backend(self._inputs(x)), all_layers=True)
        return [self.backend.to_numpy(a) for a in stored]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The network's answer for each row of x: the index of the brightest output neuron."""
        return np.argmax(self.feedforward(x), axis=1)
