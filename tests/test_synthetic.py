"""Tests of the synthetic stroke digits: determinism, format, classes, chunking and the .npz cache."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neuro.data import synthetic
from neuro.data.synthetic import GENERATOR_VERSION, cache_path, generate_digits, load_synthetic


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty cache folder for the test."""
    monkeypatch.setenv("NEURO_DATA_DIR", str(tmp_path))
    return tmp_path


def test_same_seed_gives_the_same_bytes() -> None:
    x1, y1 = generate_digits(64, seed=5)
    x2, y2 = generate_digits(64, seed=5)
    assert x1.tobytes() == x2.tobytes()
    assert y1.tobytes() == y2.tobytes()


# The digits' bytes, per generator version: sha256 of generate_digits(300, seed=2026)'s images then labels.
# A change to the drawing changes the hash; bump GENERATOR_VERSION (so that old caches are not read as the
# new digits) and add the new version's hash here.
PINNED_DIGITS_SHA256 = {
    2: "8d4a017fbe46e1cb72484bd630dc4ca24c287a15c49e403f593221d7fb650da8",
}

HASH_DIGITS = """
import hashlib, json
import numpy as np
try:
    from numpy._core._multiarray_umath import __cpu_features__
except ImportError:  # NumPy 1.x
    from numpy.core._multiarray_umath import __cpu_features__
from neuro.data.synthetic import generate_digits
x, y = generate_digits(300, seed=2026)
print(json.dumps({"sha256": hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest(),
                  "features": [name for name, on in __cpu_features__.items() if on]}))
"""


def digits_hash(extra_env: dict[str, str] | None = None) -> dict:
    """The pinned digits' hash and the SIMD features NumPy used, computed in a fresh interpreter."""
    env = {**os.environ, **(extra_env or {})}
    done = subprocess.run([sys.executable, "-c", HASH_DIGITS], env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout)


def numpy_dispatched_features() -> list[str]:
    """The SIMD features that NumPy picks at run time on this machine (those NPY_DISABLE_CPU_FEATURES can turn off)."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    return [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]


def test_the_digits_are_the_pinned_bytes_of_their_generator_version() -> None:
    assert GENERATOR_VERSION in PINNED_DIGITS_SHA256, (
        f"GENERATOR_VERSION {GENERATOR_VERSION} has no pinned hash: add the new digits' hash to this test"
    )
    x, y = generate_digits(300, seed=2026)
    digest = hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()
    assert digest == PINNED_DIGITS_SHA256[GENERATOR_VERSION], (
        "the synthetic digits changed: if the drawing was meant to change, bump GENERATOR_VERSION and pin the "
        f"new hash {digest}; if not, something made the generator depend on the machine"
    )


def test_the_digits_do_not_depend_on_numpys_simd_or_the_openblas_kernel() -> None:
    """The same bytes with every run-time SIMD feature of NumPy switched off, and with other OpenBLAS kernels.

    (Before generator version 2, each of these gave different last bits in about 10% of the pixels.)
    """
    dispatched = numpy_dispatched_features()
    without_simd = digits_hash({"NPY_DISABLE_CPU_FEATURES": " ".join(dispatched)})
    assert not set(dispatched) & set(without_simd["features"]), "the SIMD features were really switched off"
    assert without_simd["sha256"] == PINNED_DIGITS_SHA256[GENERATOR_VERSION]
    for kernel in ("Prescott", "Haswell"):  # SSE3 only, and AVX2: other blocking and summation orders
        assert digits_hash({"OPENBLAS_CORETYPE": kernel})["sha256"] == PINNED_DIGITS_SHA256[GENERATOR_VERSION]


def test_different_seeds_give_different_digits() -> None:
    x1, y1 = generate_digits(64, seed=5)
    x2, y2 = generate_digits(64, seed=6)
    assert not np.array_equal(x1, x2)
    assert not np.array_equal(y1, y2)


def test_images_are_float32_rows_of_784_pixels_in_0_1_and_labels_uint8() -> None:
    x, y = generate_digits(100, seed=0)
    assert x.shape == (100, 784) and x.dtype == np.float32
    assert y.shape == (100,) and y.dtype == np.uint8
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert y.max() <= 9


def test_images_look_like_mnist_ink_on_a_dark_background() -> None:
    x, _ = generate_digits(200, seed=1)
    images = x.reshape(-1, 28, 28)
    assert (images.max(axis=(1, 2)) == 1.0).all(), "every digit has fully saturated ink"
    ink = (images > 0.5).mean(axis=(1, 2))
    assert (ink > 0.03).all() and (ink < 0.4).all(), "a stroke digit covers some but not most of the grid"
    frame = np.ones((28, 28), dtype=bool)
    frame[2:-2, 2:-2] = False
    reaching_the_frame = (images[:, frame] > 0.5).any(axis=1).mean()
    assert reaching_the_frame < 0.15, "digits stay (mostly) inside the central box, as in MNIST"


def test_zero_digits_gives_empty_arrays() -> None:
    x, y = generate_digits(0, seed=0)
    assert x.shape == (0, 784) and y.shape == (0,)


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 0"):
        generate_digits(-1, seed=0)


def test_all_ten_classes_appear_in_a_few_hundred_images() -> None:
    _, y = generate_digits(300, seed=2)
    counts = np.bincount(y, minlength=10)
    assert len(counts) == 10
    assert (counts >= 10).all(), counts


def test_images_do_not_depend_on_the_chunk_size(monkeypatch: pytest.MonkeyPatch) -> None:
    x_whole, y_whole = generate_digits(50, seed=9)
    monkeypatch.setattr(synthetic, "CHUNK_SIZE", 7)
    x_chunked, y_chunked = generate_digits(50, seed=9)
    np.testing.assert_array_equal(x_whole, x_chunked)
    np.testing.assert_array_equal(y_whole, y_chunked)


def test_classes_are_distinguishable_by_their_mean_images() -> None:
    """A nearest-class-mean classifier, far weaker than the network, already beats chance by far."""
    x, y = generate_digits(1500, seed=3)
    means = np.stack([x[:1000][y[:1000] == d].mean(axis=0) for d in range(10)])
    distances = np.linalg.norm(means[:, None] - means[None, :], axis=-1)
    assert distances[~np.eye(10, dtype=bool)].min() > 1.0, "every pair of class means differs clearly"
    guess = np.argmin(np.linalg.norm(x[1000:, None] - means[None], axis=-1), axis=1)
    assert (guess == y[1000:]).mean() > 0.5


def test_cache_round_trip(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    train_x, train_y, test_x, test_y = load_synthetic(n_train=40, n_test=20, seed=3)
    assert train_x.shape == (40, 784) and test_x.shape == (20, 784)
    assert train_y.shape == (40,) and test_y.shape == (20,)
    path = cache_path(40, 20, 3)
    assert path.parent == data_dir and path.is_file()
    assert f"v{GENERATOR_VERSION}" in path.name and "40" in path.name and "20" in path.name
    assert [p.name for p in data_dir.iterdir()] == [path.name], "no temporary files are left behind"

    def no_generating(n: int, seed: int) -> None:
        raise AssertionError("the cache should have been read")

    monkeypatch.setattr(synthetic, "generate_digits", no_generating)
    again = load_synthetic(n_train=40, n_test=20, seed=3)
    for before, after in zip((train_x, train_y, test_x, test_y), again, strict=True):
        np.testing.assert_array_equal(before, after)
        assert before.dtype == after.dtype


def test_train_and_test_come_from_different_streams(data_dir: Path) -> None:
    train_x, _, test_x, _ = load_synthetic(n_train=30, n_test=30, seed=0)
    assert not np.array_equal(train_x, test_x)
    other_seed = load_synthetic(n_train=30, n_test=30, seed=1)
    assert not np.array_equal(train_x, other_seed[0])


@pytest.mark.parametrize("damage", [b"", b"not a zip file at all", "truncate"])
def test_a_corrupt_cache_is_regenerated(data_dir: Path, damage: bytes | str) -> None:
    original = load_synthetic(n_train=30, n_test=10, seed=4)
    path = cache_path(30, 10, 4)
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2] if damage == "truncate" else damage)

    regenerated = load_synthetic(n_train=30, n_test=10, seed=4)
    for before, after in zip(original, regenerated, strict=True):
        np.testing.assert_array_equal(before, after)
    assert path.read_bytes() == content, "the cache file is repaired"
