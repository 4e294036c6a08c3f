"""Download the four MNIST files once, verify them, and keep them in the cache folder.

`fetch_mnist()` returns a folder holding the four gzip-compressed IDX files that `read_mnist_folder`
reads. Each file is tried on the public mirrors in order, streamed to a temporary file and checked
against its known SHA-256 before it is renamed into place, so the cache never holds a partial or wrong
file. Files already present and valid are not downloaded again. Nothing touches the network on import.
"""

from __future__ import annotations

import hashlib
import http.client
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from neuro.data import paths
from neuro.data.idx import MNIST_FILES
from neuro.data.progress import Progress
from neuro.support.errors import NeuroError
from neuro.support.files import atomic_path

# Tried in order. The first two are the copies that torchvision and TensorFlow use; the last is the
# original site, which is often unreachable nowadays.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

FILES = tuple(f"{name}.gz" for _, name in MNIST_FILES)

# SHA-256 of the gzip files as served by the mirrors (the same values that tensorflow_datasets
# records in tensorflow_datasets/url_checksums/mnist.txt for the cvdf mirror).
SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

TIMEOUT_S = 30  # seconds without an answer before a mirror is given up
CHUNK = 1 << 16


class _MirrorFailed(Exception):
    """One mirror could not deliver one file; the message is the reason, the next mirror is tried."""


def _sha256(path: Path) -> str:
    """The SHA-256 of a file, as hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _reason(exc: BaseException) -> str:
    """A short, one-line description of why a request failed."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    text = str(exc.reason) if isinstance(exc, urllib.error.URLError) else str(exc)
    return " ".join((text or type(exc).__name__).split())


def _download(url: str, tmp: Path, expected: str | None, on_progress: Progress | None) -> None:
    """Stream `url` into `tmp`, checking its length and SHA-256; raise `_MirrorFailed` if it is not right."""
    request = urllib.request.Request(url, headers={"User-Agent": "neuro (MNIST downloader)"})
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _MirrorFailed(_reason(exc)) from exc
    with response, tmp.open("wb") as out:
        header = response.headers.get("Content-Length")
        length = int(header) if header and header.isdigit() else None
        digest = hashlib.sha256()
        received = 0
        what = f"Downloading {url.rsplit('/', 1)[-1]}"
        if on_progress is not None:
            on_progress(what, 0, length)
        while True:
            try:
                chunk = response.read(CHUNK)
            except (OSError, http.client.HTTPException) as exc:
                raise _MirrorFailed(f"connection lost after {received} bytes ({_reason(exc)})") from exc
            if not chunk:
                break
            out.write(chunk)
            digest.update(chunk)
            received += len(chunk)
            if on_progress is not None:
                on_progress(what, received, length)
    if length is not None and received != length:
        raise _MirrorFailed(f"connection closed after {received} of {length} bytes")
    if expected is not None and digest.hexdigest() != expected.lower():
        raise _MirrorFailed(
            f"checksum mismatch (SHA-256 {digest.hexdigest()[:16]}..., expected {expected[:16]}...)"
        )


def _fetch_file(
    name: str, folder: Path, mirrors: Sequence[str], expected: str | None, on_progress: Progress | None
) -> None:
    """Put a verified copy of `name` into `folder`, trying each mirror in turn."""
    target = folder / name
    url, reason = "", "no mirrors given"
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        try:
            with atomic_path(target) as tmp:
                _download(url, tmp, expected, on_progress)
            return
        except _MirrorFailed as exc:
            reason = str(exc)
        except OSError as exc:  # the network errors became _MirrorFailed: this is the local disk
            raise NeuroError(
                f"could not save {target} ({exc.strerror or exc}); free some disk space or set "
                "NEURO_DATA_DIR to a writable folder"
            ) from None
    raise NeuroError(
        f"could not download {name} (last reason: {reason}, from {url}); this machine seems offline or "
        f"the mirrors are unreachable: download the four files {', '.join(FILES)} by hand into {folder}, "
        "or pass --data DIR with a folder of the MNIST IDX files"
    )


def _is_valid(path: Path, expected: str | None) -> bool:
    """Whether `path` exists and, when a checksum is known, matches it."""
    if not path.is_file():
        return False
    return expected is None or _sha256(path) == expected.lower()


def fetch_mnist(
    cache_dir: Path | None = None,
    mirrors: Sequence[str] | None = None,
    checksums: Mapping[str, str] | None = None,
    on_progress: Progress | None = None,
) -> Path:
    """Make sure the four MNIST .gz files are in `<cache_dir>/mnist` and return that folder.

    `cache_dir` defaults to neuro's cache ($NEURO_DATA_DIR, else ~/.cache/neuro); `mirrors` to `MIRRORS`,
    base URLs tried in order; `checksums` maps each file name to its SHA-256 (default `SHA256`; a name
    without an entry is not verified). `on_progress(what, bytes_received, file_length)` is called as each file
arrives (the length is None when the server does not say it).
    """
    folder = (Path(cache_dir) if cache_dir is not None else paths.cache_dir()) / "mnist"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NeuroError(
            f"cannot create the data folder {folder} ({exc.strerror or exc}); "
            "set NEURO_DATA_DIR to a writable folder"
        ) from None
    mirrors = MIRRORS if mirrors is None else tuple(mirrors)
    checksums = SHA256 if checksums is None else checksums
    for name in FILES:
        expected = checksums.get(name)
        if not _is_valid(folder / name, expected):
            _fetch_file(name, folder, mirrors, expected, on_progress)
    return folder
