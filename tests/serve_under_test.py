"""A `neuro serve` page server started by a test, in this process, on a free loopback port."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import numpy as np

from neuro.backends import get_backend
from neuro.serve.api import Api
from neuro.serve.served import ImagesToBrowse, ServedNetwork
from neuro.serve.server import PageServer
from neuro.serve.turns import TurnLock


def served_network(weights, biases, images, labels, backend: str = "numpy", name: str = "test") -> ServedNetwork:
    """The served network for these parameters and test images, on `backend`, in float64."""
    return ServedNetwork(weights, biases, get_backend(backend), "float64", ImagesToBrowse(name, images, labels),
                         TurnLock())


@contextlib.contextmanager
def page_server(served: ServedNetwork, training=None) -> Iterator[PageServer]:
    """The server answering for `served` on 127.0.0.1 and a free port, running until the block ends."""
    server = PageServer(("127.0.0.1", 0), Api(served, {"source": "a test"}, training))
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
