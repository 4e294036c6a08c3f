"""A tiny MNIST-format folder of random pixels, for tests that need data in IDX files but not real digits."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neuro.data.idx import write_idx


def write_random_mnist(folder: Path, n_train: int, n_test: int, seed: int = 0, gzip_images: bool = False) -> Path:
    """Write the four MNIST files into `folder` (made if missing): random pixels and labels; returns `folder`.

    With `gzip_images` the two image files are gzipped (`.gz`), as MNIST's downloads are.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    suffix = ".gz" if gzip_images else ""
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n, dtype=np.uint8))
    return folder
