"""Downloading MNIST, against real HTTP servers on 127.0.0.1 serving small generated IDX files.

Nothing here touches the internet and urllib is not mocked: each test starts its own loopback server,
counts the requests it answers, and checks what ends up in the cache folder.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from neuro.data.idx import read_mnist_folder, write_idx
from neuro.data.mnist import FILES, MIRRORS, SHA256, fetch_mnist
from neuro.support.errors import NeuroError


class Server:
    """A threaded HTTP server for one folder, which records the paths it was asked for."""

    def __init__(self, folder: Path) -> None:
        self.requests: list[str] = []
        handler = functools.partial(_QuietHandler, self.requests, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        # A short poll interval makes shutdown() quick at the end of each test.
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging, appending each requested path to a shared list."""

    def __init__(self, requests: list[str], *args, **kwargs) -> None:
        self.requests = requests
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args) -> None:
        pass


@pytest.fixture
def serve() -> Iterator:
    """A function that starts a server for a folder; all are shut down after the test."""
    servers: list[Server] = []

    def start(folder: Path) -> Server:
        servers.append(Server(folder))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def make_mirror(folder: Path, seed: int = 0) -> dict[str, str]:
    """Write four tiny MNIST .gz files into `folder` and return their SHA-256 by name."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, size=20, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, size=5, dtype=np.uint8),
    }
    for name, array in arrays.items():
        write_idx(folder / name, array)
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in arrays}


def closed_port_url() -> str:
    """The URL of a port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def test_known_checksums_cover_the_four_files() -> None:
    assert set(SHA256) == set(FILES) and len(FILES) == 4
    assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in SHA256.values())
    assert all(mirror.endswith("/") for mirror in MIRRORS)


def test_files_arrive_verified_and_readable(tmp_path: Path, serve) -> None:
    sums = make_mirror(tmp_path / "mirror")
    server = serve(tmp_path / "mirror")
    folder = fetch_mnist(tmp_path / "cache", mirrors=[server.url], checksums=sums)
    assert folder == tmp_path / "cache" / "mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    for name in FILES:
        assert (folder / name).read_bytes() == (tmp_path / "mirror" / name).read_bytes()
    train_x, train_y, test_x, test_y = read_mnist_folder(folder)
    assert train_x.shape == (20, 784) and test_y.shape == (5,)


def test_second_call_does_not_download_again(tmp_path: Path, serve) -> None:
    sums = make_mirror(tmp_path / "mirror")
    server = serve(tmp_path / "mirror")
    fetch_mnist(tmp_path / "cache", mirrors=[server.url], checksums=sums)
    assert len(server.requests) == 4
    fetch_mnist(tmp_path / "cache", mirrors=[server.url], checksums=sums)
    assert len(server.requests) == 4


def test_damaged_cached_file_is_downloaded_again(tmp_path: Path, serve) -> None:
    sums = make_mirror(tmp_path / "mirror")
    server = serve(tmp_path / "mirror")
    folder = fetch_mnist(tmp_path / "cache", mirrors=[server.url], checksums=sums)
    (folder / FILES[1]).write_bytes(b"half a file")
    fetch_mnist(tmp_path / "cache", mirrors=[server.url], checksums=sums)
    assert server.requests[4:] == [f"/{FILES[1]}"]
    assert hashlib.sha256((folder / FILES[1]).read_bytes()).hexdigest() == sums[FILES[1]]


def test_wrong_checksum_falls_through_to_the_next_mirror(tmp_path: Path, serve) -> None:
    good_sums = make_mirror(tmp_path / "good")
    make_mirror(tmp_path / "bad", seed=1)  # same names, different bytes
    bad, good = serve(tmp_path / "bad"), serve(tmp_path / "good")
    folder = fetch_mnist(tmp_path / "cache", mirrors=[bad.url, good.url], checksums=good_sums)
    assert len(bad.requests) == 4 and len(good.requests) == 4
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)  # no partial or temporary files
    for name in FILES:
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == good_sums[name]


def test_progress_bar_goes_to_stderr(tmp_path: Path, serve, capsys: pytest.CaptureFixture) -> None:
    sums = make_mirror(tmp_path / "mirror")
    server = serve(tmp_path / "mirror")
    from neuro.cli.progress import PrintedProgress

    fetch_mnist(tmp_path / "cache", mirrors=[server.url], checksums=sums, on_progress=PrintedProgress())
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "train-images-idx3-ubyte.gz" in captured.err


def test_default_cache_folder_follows_neuro_data_dir(tmp_path: Path, serve, monkeypatch) -> None:
    sums = make_mirror(tmp_path / "mirror")
    server = serve(tmp_path / "mirror")
    monkeypatch.setenv("NEURO_DATA_DIR", str(tmp_path / "env-cache"))
    folder = fetch_mnist(mirrors=[server.url], checksums=sums)
    assert folder == tmp_path / "env-cache" / "mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)


def test_all_mirrors_failing_says_what_to_do(tmp_path: Path, serve) -> None:
    sums = make_mirror(tmp_path / "mirror")
    (tmp_path / "empty").mkdir()
    not_found = serve(tmp_path / "empty")  # answers 404 for everything
    with pytest.raises(NeuroError) as excinfo:
        mirrors = [closed_port_url(), not_found.url]
        fetch_mnist(tmp_path / "cache", mirrors=mirrors, checksums=sums)
    message = str(excinfo.value)
    assert "\n" not in message
    assert "could not download train-images-idx3-ubyte.gz" in message
    assert "404" in message  # the last reason
    assert "offline" in message and "--data DIR" in message
    assert str(tmp_path / "cache" / "mnist") in message
    assert list((tmp_path / "cache" / "mnist").iterdir()) == []  # no partial file left behind


def test_only_refused_connections_are_reported(tmp_path: Path) -> None:
    with pytest.raises(NeuroError) as excinfo:
        fetch_mnist(tmp_path / "cache", mirrors=[closed_port_url()], checksums={})
    assert "refused" in str(excinfo.value).lower()
    assert list((tmp_path / "cache" / "mnist").iterdir()) == []


def test_wrong_checksum_everywhere_leaves_nothing(tmp_path: Path, serve) -> None:
    make_mirror(tmp_path / "mirror")
    server = serve(tmp_path / "mirror")
    wrong = dict.fromkeys(FILES, "0" * 64)
    with pytest.raises(NeuroError) as excinfo:
        fetch_mnist(tmp_path / "cache", mirrors=[server.url], checksums=wrong)
    assert "checksum mismatch" in str(excinfo.value)
    assert list((tmp_path / "cache" / "mnist").iterdir()) == []
