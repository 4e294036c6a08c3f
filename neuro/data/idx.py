"""The IDX file format of MNIST, and the four-file MNIST folder built from it.

An IDX file is a tiny header followed by raw numbers, all big-endian:

    two zero bytes, a type code byte (0x08 = unsigned byte), a dimension count byte,
    one uint32 size per dimension, then the data in row-major (C) order.

The MNIST images are a (n, 28, 28) array of unsigned bytes, the labels a (n,) array of unsigned bytes.
Files may be gzip-compressed (the form the mirrors serve); that is recognised by gzip's magic bytes, so
a file's name does not matter. Every malformed file is reported as a one-line `NeuroError` naming it.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from neuro.errors import NeuroError
from neuro.files import atomic_path

# IDX type code -> NumPy dtype of one element, big-endian as stored in the file.
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"

IMAGE_SIDE = 28
N_CLASSES = 10

# The four standard MNIST files: (role, name). Each may also end in `.gz`, or use a dot before `idx`.
MNIST_FILES = (
    ("training images", "train-images-idx3-ubyte"),
    ("training labels", "train-labels-idx1-ubyte"),
    ("test images", "t10k-images-idx3-ubyte"),
    ("test labels", "t10k-labels-idx1-ubyte"),
)


def _read_bytes(path: Path) -> bytes:
    """The file's contents, gunzipped when they start with gzip's magic bytes."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NeuroError(f"{path}: file not found") from None
    except OSError as exc:
        raise NeuroError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if not raw:
        raise NeuroError(f"{path}: the file is empty; download it again")
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise NeuroError(
            f"{path}: the gzip file is corrupt or truncated ({exc}); delete it and download it again"
        ) from None


def _parse_header(path: Path, data: bytes) -> tuple[np.dtype, tuple[int, ...], int]:
    """The element type, the dimensions and the header length of IDX `data` read from `path`."""
    if any(data[:2]):
        raise NeuroError(
            f"{path}: not an IDX file (wrong magic number {data[:4].hex()}, it should start with two zero "
            "bytes); check that this is an MNIST IDX file"
        )
    if len(data) < 4:
        raise NeuroError(f"{path}: truncated IDX header ({len(data)} bytes); download the file again")
    type_code, ndim = data[2], data[3]
    if type_code not in IDX_TYPES:
        known = ", ".join(f"0x{code:02X}" for code in IDX_TYPES)
        raise NeuroError(f"{path}: unsupported IDX type code 0x{type_code:02X} (supported: {known})")
    header_length = 4 + 4 * ndim
    if len(data) < header_length:
        raise NeuroError(
            f"{path}: truncated IDX header ({len(data)} bytes, {header_length} needed for {ndim} "
            "dimensions); download the file again"
        )
    dims = struct.unpack(f">{ndim}I", data[4:header_length])
    return IDX_TYPES[type_code], dims, header_length


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (plain or gzip-compressed) into an array of its shape, in native byte order."""
    path = Path(path)
    data = _read_bytes(path)
    dtype, dims, header_length = _parse_header(path, data)
    expected = int(np.prod(dims, dtype=object)) * dtype.itemsize
    found = len(data) - header_length
    if found != expected:
        shortage = "truncated" if found < expected else "longer than its header says"
        raise NeuroError(
            f"{path}: IDX data {shortage} (dimensions {'x'.join(map(str, dims))} need {expected} bytes, "
            f"found {found}); download the file again"
        )
    values = np.frombuffer(data, dtype=dtype, offset=header_length).reshape(dims)
    return values.astype(dtype.newbyteorder("="))  # a writable copy in the machine's byte order


def write_idx(path: str | os.PathLike, array: np.ndarray, *, compress: bool | None = None) -> None:
    """Write `array` as an IDX file, gzip-compressed if `compress` (by default: if `path` ends in .gz).

    The file is written under a temporary name and renamed into place, so it is complete or absent.
    """
    path = Path(path)
    array = np.asarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in IDX_TYPES.items()}
    native = array.dtype.newbyteorder("=")  # only to look up the type code, whatever the byte order
    if native not in codes:
        raise NeuroError(f"{path}: cannot write dtype {array.dtype} as IDX (use uint8 for MNIST data)")
    if array.ndim > 255 or any(size >= 2**32 for size in array.shape):
        raise NeuroError(f"{path}: shape {array.shape} does not fit an IDX header")
    header = bytes([0, 0, codes[native], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    body = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder(">")).tobytes()
    contents = header + body
    if compress is None:
        compress = path.name.endswith(".gz")
    if compress:
        contents = gzip.compress(contents, mtime=0)  # mtime=0: the same array gives the same bytes
    with atomic_path(path) as tmp:
        tmp.write_bytes(contents)


def _find_mnist_file(folder: Path, name: str) -> Path | None:
    """The file `name` in `folder`, plain or .gz, also under its dotted variant name (`...images.idx3...`)."""
    dotted = name.replace("-idx", ".idx")
    for candidate in (name, f"{name}.gz", dotted, f"{dotted}.gz"):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def _check_images(path: Path, images: np.ndarray) -> None:
    """Images must be a (n, 28, 28) array of unsigned bytes."""
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise NeuroError(
            f"{path}: expected images of {IMAGE_SIDE}x{IMAGE_SIDE} pixels, shape (n, {IMAGE_SIDE}, "
            f"{IMAGE_SIDE}), found shape {images.shape}; is this an MNIST images file?"
        )
    if images.dtype != np.uint8:
        raise NeuroError(f"{path}: expected unsigned-byte pixels (IDX type 0x08), found {images.dtype}")


def _check_labels(path: Path, labels: np.ndarray) -> None:
    """Labels must be a (n,) array of unsigned bytes holding digits 0..9."""
    if labels.ndim != 1:
        raise NeuroError(
            f"{path}: expected a 1-D list of labels, found shape {labels.shape}; "
            "is this an MNIST labels file?"
        )
    if labels.dtype != np.uint8:
        raise NeuroError(f"{path}: expected unsigned-byte labels (IDX type 0x08), found {labels.dtype}")
    if labels.size and labels.max() >= N_CLASSES:
        raise NeuroError(
            f"{path}: labels must be digits 0-{N_CLASSES - 1}, found {int(labels.max())}; "
            "is this an MNIST labels file?"
        )


def _read_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One split: images as float32 rows of 784 pixels in [0, 1], labels as int64."""
    images = read_idx(images_path)
    _check_images(images_path, images)
    labels = read_idx(labels_path)
    _check_labels(labels_path, labels)
    if len(images) != len(labels):
        raise NeuroError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; "
            "the two files must come from the same set"
        )
    x = images.reshape(len(images), IMAGE_SIDE * IMAGE_SIDE).astype(np.float32)
    x /= 255.0
    return x, labels.astype(np.int64)


def read_mnist_folder(
    folder: str | os.PathLike,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read the four MNIST IDX files of `folder`: (train images, train labels, test images, test labels).

    Images come back as float32 (n, 784) scaled to [0, 1], labels as int64 (n,) digits 0..9.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NeuroError(f"{folder}: not a folder; give a folder holding the four MNIST IDX files")
    found = {name: _find_mnist_file(folder, name) for _, name in MNIST_FILES}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise NeuroError(
            f"{folder}: missing MNIST file(s) {', '.join(missing)} (plain or .gz); put all four IDX files "
            "there, or use --data mnist to download them"
        )
    paths = [found[name] for _, name in MNIST_FILES]
    train_x, train_y = _read_pair(paths[0], paths[1])
    test_x, test_y = _read_pair(paths[2], paths[3])
    return train_x, train_y, test_x, test_y
