"""A `neuro serve` page server started by a test, in this process, on a free loopback port."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from neuro.backends import get_backend
from neuro.serve.api import Api
from neuro.serve.served import ImagesToBrowse, ServedNetwork
from neuro.serve.server import PageServer
from neuro.serve.turns import TurnLock

SIZES = [784, 16, 16, 10]


def random_test_set() -> tuple[np.ndarray, np.ndarray]:
    """60 test images of sparse random pixels and their random labels."""
    rng = np.random.default_rng(0)
    images = rng.random((60, 784)).astype(np.float32) * (rng.random((60, 784)) < 0.2)
    return images, rng.integers(0, 10, 60)


def served_network(weights, biases, images, labels, backend: str = "numpy", name: str = "test") -> ServedNetwork:
    """The served network for these parameters and test images, on `backend`, in float64."""
    return ServedNetwork(weights, biases, get_backend(backend), "float64", ImagesToBrowse(name, images, labels),
                         TurnLock())


@contextlib.contextmanager
def page_server(served: ServedNetwork, training=None, **options) -> Iterator[PageServer]:
    """The server answering for `served` on 127.0.0.1 and a free port, running until the block ends; `options`
    go to PageServer (require_token=True: as it runs off loopback, but bound to loopback all the same)."""
    server = PageServer(("127.0.0.1", 0), Api(served, {"source": "a test"}, training), **options)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        if training is not None:
            training.stop()
        server.shutdown()
        server.server_close()
        thread.join()


def stroke_drawing() -> np.ndarray:
    """A raw 28×28 drawing of a slanted 1 with a base, as 784 pixels in 0..1 (not centred: off to the left)."""
    drawing = np.zeros((28, 28))
    for row in range(4, 22):
        drawing[row, 6 + row // 6 : 9 + row // 6] = 1.0
    drawing[21:23, 4:14] = 0.8
    return drawing.ravel()


def read_answer(sock: socket.socket) -> bytes:
    """One HTTP answer read from `sock`: its head and the Content-Length bytes of its body (b"" if it closed)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lengths = [line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
    while lengths and len(body) < int(lengths[0]) and (chunk := sock.recv(65536)):
        body += chunk
    return head + b"\r\n\r\n" + body


def raw_exchange(server, text: bytes, timeout: float = 30) -> bytes:
    """The server's answer to bytes written to it as they are (for requests http.client would mend)."""
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=timeout) as sock:
        sock.sendall(text)
        return read_answer(sock)


def request(server, method: str, path: str, body=None, raw: bytes | None = None) -> tuple[int, dict]:
    """(status, JSON payload) of one request; `body` is sent as JSON, `raw` as it is."""
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=30)
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    connection.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    assert response.getheader("Content-Type") == "application/json", (path, payload[:200])
    return response.status, json.loads(payload)


def start_neuro_serve(*arguments: str, data_dir: Path) -> tuple[subprocess.Popen, int]:
    """`neuro serve ARGUMENTS --port 0` running, and the port from the first line it printed (checked)."""
    neuro = Path(sys.executable).parent / "neuro"
    process = subprocess.Popen([str(neuro), "serve", *arguments, "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=dict(os.environ, NEURO_DATA_DIR=str(data_dir)))
    line = process.stdout.readline()
    assert line.startswith("Serving on http://127.0.0.1:") and line.endswith("/\n"), (line, process.stderr.read())
    return process, int(line.rsplit(":", 1)[1].strip("/\n"))


def get_json(port: int, path: str) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    payload = json.loads(connection.getresponse().read())
    connection.close()
    return payload


def ctrl_c(process: subprocess.Popen) -> str:
    """Stop the command as a user does, and return what it wrote on stderr (checked: status 0, no traceback)."""
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0 and "Traceback" not in stderr and stdout == "", stderr
    return stderr
