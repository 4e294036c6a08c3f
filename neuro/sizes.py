"""The shape of a network: its layer sizes n_0 .. n_L, checked once, and what follows from them.

Everything here is plain Python on tuples of ints, imported by the framework and the backends alike (it imports
nothing of neuro but the error type), so that each fact about a network's shape is written once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from neuro.support.errors import NeuroError

CLASSIC = (784, 16, 16, 10)
"""The classic digit recogniser: 784 input neurons (one per pixel), two hidden layers of 16, 10 outputs."""

WIDE = (784, 1024, 1024, 10)
"""The wide network of the ladder, where long sums (and BLAS) matter."""


def check_sizes(sizes: Sequence[int]) -> list[int]:
    """The layer sizes as a list of ints, or a NeuroError: at least two layers, every one positive."""
    sizes = [int(n) for n in sizes]
    if len(sizes) < 2:
        raise NeuroError(f"a network needs at least an input and an output layer, got sizes {sizes}")
    if any(n <= 0 for n in sizes):
        raise NeuroError(f"every layer needs at least one neuron, got sizes {sizes}")
    return sizes


def parameter_count(sizes: Sequence[int]) -> int:
    """The weights and biases of a network of these layer sizes: n_l * n_{l-1} + n_l for each layer l >= 1."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def sizes_of(weights: Sequence[Any]) -> tuple[int, ...]:
    """(n_0, n_1, ..., n_L) of a network, from its weight matrices w^l of shape (n_l, n_{l-1}) (anything with a
    `.shape`: NumPy or device arrays)."""
    return (int(weights[0].shape[1]), *(int(w.shape[0]) for w in weights))
