"""The IDX file format of MNIST, and the four-file MNIST folder built from it.

An IDX file is a tiny header followed by raw numbers, all big-endian:

    two zero bytes, a type code byte (0x08 = unsigned byte), a dimension count byte,
    one uint32 size per dimension, then the data in row-major (C) order.

The MNIST images are a (n, 28, 28) array of unsigned bytes, the labels a (n,) array of unsigned bytes.
Files may be gzip-compressed (the form the mirrors serve); that is recognised by gzip's magic bytes, so
a file's name does not matter. Every malformed file is reported as a one-line `NeuroError` naming it.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from neuro.support.errors import NeuroError
from neuro.support.files import atomic_path
from neuro.support.memory import gib, usable_memory

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


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[BinaryIO]:
    """The file as a stream of its IDX bytes: gunzipped on the fly when it starts with gzip's magic bytes, so that
    no more is inflated than is read (a small gzip file may inflate to gigabytes)."""
    try:
        raw = path.open("rb")
    except FileNotFoundError:
        raise NeuroError(f"{path}: file not found") from None
    except OSError as exc:
        raise NeuroError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    with raw:
        magic = raw.read(len(GZIP_MAGIC))
        raw.seek(0)
        if not magic:
            raise NeuroError(f"{path}: the file is empty; download it again")
        if magic != GZIP_MAGIC:
            yield raw
            return
        with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
            yield stream


def _read(stream: BinaryIO, path: Path, n_bytes: int) -> bytes:
    """At most `n_bytes` from `stream`; a broken gzip stream is a NeuroError."""
    try:
        return stream.read(n_bytes)
    except (OSError, EOFError, zlib.error) as exc:
        raise NeuroError(
            f"{path}: the gzip file is corrupt or truncated ({exc}); delete it and download it again"
        ) from None
    except MemoryError:
        raise NeuroError(f"{path}: not enough memory to read {n_bytes} bytes") from None


def _parse_header(path: Path, stream: BinaryIO) -> tuple[np.dtype, tuple[int, ...]]:
    """The element type and the dimensions of the IDX file being read from `stream`, read from its header."""
    head = _read(stream, path, 4)
    if any(head[:2]):
        raise NeuroError(
            f"{path}: not an IDX file (wrong magic number {head[:4].hex()}, it should start with two zero "
            "bytes); check that this is an MNIST IDX file"
        )
    if len(head) < 4:
        raise NeuroError(f"{path}: truncated IDX header ({len(head)} bytes); download the file again")
    type_code, ndim = head[2], head[3]
    if type_code not in IDX_TYPES:
        known = ", ".join(f"0x{code:02X}" for code in IDX_TYPES)
        raise NeuroError(f"{path}: unsupported IDX type code 0x{type_code:02X} (supported: {known})")
    sizes = _read(stream, path, 4 * ndim)
    if len(sizes) < 4 * ndim:
        raise NeuroError(
            f"{path}: truncated IDX header ({4 + len(sizes)} bytes, {4 + 4 * ndim} needed for {ndim} "
            "dimensions); download the file again"
        )
    return IDX_TYPES[type_code], struct.unpack(f">{ndim}I", sizes)


def read_idx_shape(path: str | os.PathLike) -> tuple[int, ...]:
    """The dimensions an IDX file's header announces, without reading its data."""
    path = Path(path)
    with _opened(path) as stream:
        return _parse_header(path, stream)[1]


def _wrong_length(path: Path, dims: tuple[int, ...], expected: int, found: int | None) -> NeuroError:
    """The data is not as long as the header says: `found` bytes (None: more, not inflated to count them)."""
    shortage = "truncated" if found is not None and found < expected else "longer than its header says"
    return NeuroError(
        f"{path}: IDX data {shortage} (dimensions {'x'.join(map(str, dims))} need {expected} bytes, "
        f"found {'more' if found is None else found}); download the file again"
    )


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (plain or gzip-compressed) into an array of its shape, in native byte order.

    No more is read (or inflated) than the header announces, and an announcement larger than the memory this
    process may use is refused before the data is read."""
    path = Path(path)
    with _opened(path) as stream:
        dtype, dims = _parse_header(path, stream)
        header_length = 4 + 4 * len(dims)
        expected = int(np.prod(dims, dtype=object)) * dtype.itemsize
        if not isinstance(stream, gzip.GzipFile):  # a plain file: its length tells, before anything is read
            found = os.fstat(stream.fileno()).st_size - header_length
            if found != expected:
                raise _wrong_length(path, dims, expected, found)
        usable = usable_memory()
        if usable is not None and 2 * expected > usable[0]:  # (the bytes, and the array made of them)
            raise NeuroError(
                f"{path}: its header announces {'x'.join(map(str, dims))} numbers, {gib(expected)}, more than "
                f"the {gib(usable[0] // 2)} this process can read ({usable[1]}); is this an MNIST IDX file?"
            )
        data = _read(stream, path, expected)
        if len(data) < expected:
            raise _wrong_length(path, dims, expected, len(data))
        if _read(stream, path, 1):
            raise _wrong_length(path, dims, expected, None)
    values = np.frombuffer(data, dtype=dtype).reshape(dims)
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


def find_mnist_files(folder: Path) -> list[Path]:
    """The four MNIST files of `folder`, in the order of MNIST_FILES, or a NeuroError naming those missing."""
    if not folder.is_dir():
        raise NeuroError(f"{folder}: not a folder; give a folder holding the four MNIST IDX files")
    found = {name: _find_mnist_file(folder, name) for _, name in MNIST_FILES}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise NeuroError(
            f"{folder}: missing MNIST file(s) {', '.join(missing)} (plain or .gz); put all four IDX files "
            "there, or use --data mnist to download them"
        )
    return [found[name] for _, name in MNIST_FILES]


def read_mnist_folder(
    folder: str | os.PathLike,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read the four MNIST IDX files of `folder`: (train images, train labels, test images, test labels).

    Images come back as float32 (n, 784) scaled to [0, 1], labels as int64 (n,) digits 0..9.
    """
    paths = find_mnist_files(Path(folder))
    train_x, train_y = _read_pair(paths[0], paths[1])
    test_x, test_y = _read_pair(paths[2], paths[3])
    return train_x, train_y, test_x, test_y
