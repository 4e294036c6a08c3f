"""Data sets of 28×28 grayscale digits: the built-in synthetic digits, MNIST from a folder, MNIST downloaded.

Every loader returns a `Dataset`: images as float32 rows of 784 pixels scaled to [0, 1], labels as integers
0–9. The network's backends copy them into their own storage (and dtype) once per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuro.support.errors import NeuroError

IMAGE_SIDE = 28
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE
N_CLASSES = 10


@dataclass(frozen=True)
class Dataset:
    """Training and test images (n, 784) float32 in [0, 1], with labels (n,) int64 in 0..9."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train={len(self.train_labels)}, test={len(self.test_labels)}, "
            f"pixels={self.train_images.shape[1]})"
        )

    def limited(self, limit: int | None) -> Dataset:
        """The same data with only the first `limit` training images (the test set is kept whole)."""
        if limit is None:
            return self
        if limit <= 0:
            raise NeuroError(f"--limit must be a positive number of images, got {limit}")
        return Dataset(self.name, self.train_images[:limit], self.train_labels[:limit],
                       self.test_images, self.test_labels)


def one_hot(labels: np.ndarray, n_classes: int = N_CLASSES) -> np.ndarray:
    """The desired output y for each label: 1.0 for the label's neuron, 0.0 elsewhere."""
    y = np.zeros((len(labels), n_classes), dtype=np.float32)
    y[np.arange(len(labels)), labels] = 1.0
    return y


STANDARD_SIZES = (60_000, 10_000)
"""Training and test images of MNIST, and of the synthetic digits (`load_synthetic`'s defaults)."""


def dataset_sizes(spec: str = "synthetic", limit: int | None = None) -> tuple[int, int, int]:
    """(training images, test images, pixels per image) that `load_dataset(spec, limit)` will give, known before
    the data is loaded or downloaded: for a folder, from its IDX files' headers (a NeuroError if they are
    missing or malformed)."""
    n_train, n_test = STANDARD_SIZES
    if spec not in ("synthetic", "mnist"):
        folder = Path(spec)
        if not folder.is_dir():
            raise NeuroError(
                f"--data {spec!r} is neither 'synthetic', 'mnist' nor a folder of MNIST IDX files"
            )
        from neuro.data.idx import find_mnist_files, read_idx_shape

        shapes = [read_idx_shape(path) for path in find_mnist_files(folder)]
        n_train, n_test = (shape[0] if shape else 0 for shape in (shapes[0], shapes[2]))
    if limit is not None:
        n_train = min(n_train, limit)
    return n_train, n_test, N_PIXELS


def load_dataset(spec: str = "synthetic", limit: int | None = None, on_progress=None) -> Dataset:
    """Load the data named by `spec`: "synthetic", "mnist" (downloaded once) or a folder of MNIST IDX files;
    `on_progress(what, done, total)` hears of a download or of the digits being drawn (neuro.data.progress)."""
    if spec == "synthetic":
        from neuro.data.synthetic import load_synthetic

        train_x, train_y, test_x, test_y = load_synthetic(on_progress=on_progress)
    elif spec == "mnist":
        from neuro.data.idx import read_mnist_folder
        from neuro.data.mnist import fetch_mnist

        train_x, train_y, test_x, test_y = read_mnist_folder(fetch_mnist(on_progress=on_progress))
    else:
        folder = Path(spec)
        if not folder.is_dir():
            raise NeuroError(
                f"--data {spec!r} is neither 'synthetic', 'mnist' nor a folder of MNIST IDX files"
            )
        from neuro.data.idx import read_mnist_folder

        train_x, train_y, test_x, test_y = read_mnist_folder(folder)
    dataset = Dataset(spec, train_x, train_y.astype(np.int64), test_x, test_y.astype(np.int64))
    return dataset.limited(limit)
