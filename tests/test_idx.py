"""Reading and writing IDX files, and reading a folder of the four MNIST files.

Tiny MNIST-shaped folders (20 training and 5 test images) are generated with `write_idx`; every kind of
malformed file must be rejected with a one-line `NeuroError` that names the file.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from neuro.data.idx import read_idx, read_mnist_folder, write_idx
from neuro.support.errors import NeuroError

NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def make_mnist_folder(
    folder: Path, n_train: int = 20, n_test: int = 5, suffix: str = ""
) -> dict[str, np.ndarray]:
    """Write four random MNIST-shaped IDX files into `folder` and return their arrays by name."""
    rng = np.random.default_rng(0)
    arrays = {
        NAMES[0]: rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        NAMES[1]: rng.integers(0, 10, size=n_train, dtype=np.uint8),
        NAMES[2]: rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        NAMES[3]: rng.integers(0, 10, size=n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        write_idx(folder / f"{name}{suffix}", array)
    return arrays


def assert_one_line_error(excinfo: pytest.ExceptionInfo, *fragments: str) -> None:
    """The error is a single line and contains every fragment."""
    message = str(excinfo.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


# --- round trips -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["plain-idx3-ubyte", "packed-idx3-ubyte.gz"])
def test_write_then_read_gives_the_same_array(tmp_path: Path, name: str) -> None:
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, array)


def test_gz_name_compresses_and_compress_flag_overrides_the_name(tmp_path: Path) -> None:
    array = np.zeros((5, 7), dtype=np.uint8)
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b", array, compress=True)
    write_idx(tmp_path / "c.gz", array, compress=False)
    assert (tmp_path / "a.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert (tmp_path / "b").read_bytes()[:2] == b"\x1f\x8b"
    assert (tmp_path / "c.gz").read_bytes()[:4] == b"\x00\x00\x08\x02"
    for name in ("a.gz", "b", "c.gz"):  # the format is recognised by content, not by name
        np.testing.assert_array_equal(read_idx(tmp_path / name), array)


def test_plain_file_has_the_documented_layout(tmp_path: Path) -> None:
    write_idx(tmp_path / "x", np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint8))
    assert (tmp_path / "x").read_bytes() == b"\x00\x00\x08\x02" + struct.pack(">II", 2, 3) + bytes(
        [1, 2, 3, 4, 5, 6]
    )


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_other_idx_types_round_trip_in_native_byte_order(tmp_path: Path, dtype: type) -> None:
    array = np.array([[-1, 2], [300, 4]]).astype(dtype) if dtype != np.int8 else np.array([-1, 2], dtype)
    write_idx(tmp_path / "x", array)
    back = read_idx(tmp_path / "x")
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, array)
    back[0] = 0  # the result is a writable array


def test_writing_leaves_no_temporary_file(tmp_path: Path) -> None:
    write_idx(tmp_path / "x.gz", np.zeros(3, dtype=np.uint8))
    assert [p.name for p in tmp_path.iterdir()] == ["x.gz"]


def test_unsupported_dtype_is_refused_on_write(tmp_path: Path) -> None:
    with pytest.raises(NeuroError) as excinfo:
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.uint64))
    assert_one_line_error(excinfo, "uint64")


# --- malformed IDX files -----------------------------------------------------------------------------


def write_raw(tmp_path: Path, contents: bytes, name: str = "bad-idx3-ubyte") -> Path:
    path = tmp_path / name
    path.write_bytes(contents)
    return path


def test_wrong_magic_is_rejected(tmp_path: Path) -> None:
    path = write_raw(tmp_path, b"PK\x03\x04" + bytes(20))
    with pytest.raises(NeuroError) as excinfo:
        read_idx(path)
    assert_one_line_error(excinfo, str(path), "not an IDX file", "magic")


def test_unsupported_type_code_is_rejected(tmp_path: Path) -> None:
    path = write_raw(tmp_path, b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(NeuroError) as excinfo:
        read_idx(path)
    assert_one_line_error(excinfo, str(path), "type code 0x07")


@pytest.mark.parametrize("contents", [b"\x00\x00", b"\x00\x00\x08\x03" + struct.pack(">II", 2, 28)])
def test_truncated_header_is_rejected(tmp_path: Path, contents: bytes) -> None:
    path = write_raw(tmp_path, contents)
    with pytest.raises(NeuroError) as excinfo:
        read_idx(path)
    assert_one_line_error(excinfo, str(path), "truncated IDX header")


def test_truncated_data_is_rejected(tmp_path: Path) -> None:
    path = write_raw(tmp_path, b"\x00\x00\x08\x03" + struct.pack(">III", 2, 28, 28) + bytes(1000))
    with pytest.raises(NeuroError) as excinfo:
        read_idx(path)
    assert_one_line_error(excinfo, str(path), "truncated", "1568 bytes", "found 1000")


def test_extra_data_is_rejected(tmp_path: Path) -> None:
    path = write_raw(tmp_path, b"\x00\x00\x08\x01" + struct.pack(">I", 3) + bytes(5))
    with pytest.raises(NeuroError) as excinfo:
        read_idx(path)
    assert_one_line_error(excinfo, str(path), "longer than its header says")


def test_huge_dimensions_are_rejected_without_allocating(tmp_path: Path) -> None:
    path = write_raw(tmp_path, b"\x00\x00\x0e\x03" + struct.pack(">III", 2**32 - 1, 2**32 - 1, 9) + bytes(8))
    with pytest.raises(NeuroError) as excinfo:
        read_idx(path)
    assert_one_line_error(excinfo, str(path), "truncated")


def test_empty_file_is_rejected(tmp_path: Path) -> None:
    path = write_raw(tmp_path, b"")
    with pytest.raises(NeuroError) as excinfo:
        read_idx(path)
    assert_one_line_error(excinfo, str(path), "empty")


def test_missing_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(NeuroError) as excinfo:
        read_idx(tmp_path / "nothing-here")
    assert_one_line_error(excinfo, "nothing-here", "not found")


def test_truncated_gzip_is_rejected(tmp_path: Path) -> None:
    packed = gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 3000) + bytes(3000))
    path = write_raw(tmp_path, packed[: len(packed) // 2], "cut.gz")
    with pytest.raises(NeuroError) as excinfo:
        read_idx(path)
    assert_one_line_error(excinfo, str(path), "gzip", "corrupt or truncated")


def test_corrupt_gzip_is_rejected(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 3000) + bytes(range(256)) * 12))
    packed[12:20] = b"\xff" * 8  # damage the deflate stream
    path = write_raw(tmp_path, bytes(packed), "damaged.gz")
    with pytest.raises(NeuroError) as excinfo:
        read_idx(path)
    assert_one_line_error(excinfo, str(path), "gzip")


def test_gzip_header_with_garbage_is_rejected(tmp_path: Path) -> None:
    path = write_raw(tmp_path, b"\x1f\x8bnot really gzip at all", "fake.gz")
    with pytest.raises(NeuroError) as excinfo:
        read_idx(path)
    assert_one_line_error(excinfo, str(path), "gzip")


# --- MNIST folders ---------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_mnist_folder_is_read_and_scaled(tmp_path: Path, suffix: str) -> None:
    arrays = make_mnist_folder(tmp_path, suffix=suffix)
    train_x, train_y, test_x, test_y = read_mnist_folder(tmp_path)
    assert train_x.shape == (20, 784) and train_x.dtype == np.float32
    assert test_x.shape == (5, 784) and test_x.dtype == np.float32
    assert train_x.min() >= 0.0 and train_x.max() <= 1.0
    np.testing.assert_allclose(train_x, arrays[NAMES[0]].reshape(20, 784) / 255.0, rtol=1e-6)
    np.testing.assert_allclose(test_x, arrays[NAMES[2]].reshape(5, 784) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(train_y, arrays[NAMES[1]])
    np.testing.assert_array_equal(test_y, arrays[NAMES[3]])
    assert np.issubdtype(train_y.dtype, np.integer)


def test_full_intensity_pixel_is_exactly_one(tmp_path: Path) -> None:
    make_mnist_folder(tmp_path)
    images = np.zeros((20, 28, 28), dtype=np.uint8)
    images[0, 0, 0] = 255
    write_idx(tmp_path / NAMES[0], images)
    train_x, *_ = read_mnist_folder(tmp_path)
    assert train_x[0, 0] == 1.0 and train_x.max() == 1.0 and train_x[0, 1] == 0.0


def test_mixed_plain_gz_and_dotted_names_are_found(tmp_path: Path) -> None:
    make_mnist_folder(tmp_path, suffix=".gz")
    (tmp_path / "train-images-idx3-ubyte.gz").rename(tmp_path / "train-images.idx3-ubyte.gz")
    (tmp_path / "t10k-labels-idx1-ubyte.gz").rename(tmp_path / "t10k-labels.idx1-ubyte")
    train_x, _, _, test_y = read_mnist_folder(tmp_path)
    assert len(train_x) == 20 and len(test_y) == 5


def test_missing_files_are_listed(tmp_path: Path) -> None:
    make_mnist_folder(tmp_path)
    (tmp_path / NAMES[1]).unlink()
    (tmp_path / NAMES[2]).unlink()
    with pytest.raises(NeuroError) as excinfo:
        read_mnist_folder(tmp_path)
    assert_one_line_error(excinfo, str(tmp_path), "missing", NAMES[1], NAMES[2])
    assert NAMES[0] not in str(excinfo.value)


def test_folder_that_does_not_exist_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(NeuroError) as excinfo:
        read_mnist_folder(tmp_path / "nowhere")
    assert_one_line_error(excinfo, "nowhere", "not a folder")


def test_count_mismatch_names_both_counts(tmp_path: Path) -> None:
    make_mnist_folder(tmp_path)
    write_idx(tmp_path / NAMES[1], np.zeros(19, dtype=np.uint8))
    with pytest.raises(NeuroError) as excinfo:
        read_mnist_folder(tmp_path)
    assert_one_line_error(excinfo, "20 images", "19 labels", NAMES[0], NAMES[1])


def test_label_above_nine_is_rejected(tmp_path: Path) -> None:
    make_mnist_folder(tmp_path)
    labels = np.zeros(5, dtype=np.uint8)
    labels[3] = 12
    write_idx(tmp_path / NAMES[3], labels)
    with pytest.raises(NeuroError) as excinfo:
        read_mnist_folder(tmp_path)
    assert_one_line_error(excinfo, NAMES[3], "0-9", "12")


def test_labels_with_two_dimensions_are_rejected(tmp_path: Path) -> None:
    make_mnist_folder(tmp_path)
    write_idx(tmp_path / NAMES[1], np.zeros((20, 1), dtype=np.uint8))
    with pytest.raises(NeuroError) as excinfo:
        read_mnist_folder(tmp_path)
    assert_one_line_error(excinfo, NAMES[1], "1-D")


@pytest.mark.parametrize("shape", [(20, 32, 32), (20, 784)])
def test_wrong_image_size_is_rejected(tmp_path: Path, shape: tuple[int, ...]) -> None:
    make_mnist_folder(tmp_path)
    write_idx(tmp_path / NAMES[0], np.zeros(shape, dtype=np.uint8))
    with pytest.raises(NeuroError) as excinfo:
        read_mnist_folder(tmp_path)
    assert_one_line_error(excinfo, NAMES[0], "28x28", str(shape))


def test_images_of_another_type_are_rejected(tmp_path: Path) -> None:
    make_mnist_folder(tmp_path)
    write_idx(tmp_path / NAMES[2], np.zeros((5, 28, 28), dtype=np.float32))
    with pytest.raises(NeuroError) as excinfo:
        read_mnist_folder(tmp_path)
    assert_one_line_error(excinfo, NAMES[2], "unsigned-byte", "float32")


def test_corrupt_file_in_folder_is_reported_by_name(tmp_path: Path) -> None:
    make_mnist_folder(tmp_path, suffix=".gz")
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(NeuroError) as excinfo:
        read_mnist_folder(tmp_path)
    assert_one_line_error(excinfo, str(path), "gzip")
