"""The network the page talks to: a consistent snapshot of its parameters, and what it answers with them.

Every answer is computed by the backend the learner chose, from a snapshot of the weights and biases that is
replaced whole (never changed in place): a request reads one snapshot from start to end, so while `--train`
runs it sees the parameters between two training stretches, never half of a step. The network that computes
the answers is rebuilt from the newest snapshot when one has been published, and every backend call is made
while holding the shared `TurnLock` (the backends need not be thread-safe).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from neuro.backends import Backend
from neuro.data import IMAGE_SIDE
from neuro.data.drawn import centred_digit
from neuro.evaluation import confidence
from neuro.network import Network
from neuro.show.raster import grid_shape
from neuro.sizes import sizes_of

from .turns import TurnLock

BROWSE_IMAGES = 1000
"""How many test images (the first ones) the test-set browser steps through, mistakes first."""


@dataclass(frozen=True)
class Snapshot:
    """The parameters as host arrays at one moment, numbered; `epoch` counts the training epochs behind them."""

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    version: int
    epoch: int


@dataclass(frozen=True)
class ImagesToBrowse:
    """The test images the browser steps through (n, 784) and their labels (n,), from the data set `name`."""

    name: str
    images: np.ndarray
    labels: np.ndarray


class ServedNetwork:
    """The network behind the page: answers for drawings and test images, a neuron's weights, all on `backend`."""

    def __init__(self, weights, biases, backend: Backend, dtype: str, test: ImagesToBrowse, turns: TurnLock,
                 epoch: int = 0) -> None:
        self.backend = backend
        self.dtype = dtype
        self.sizes = list(sizes_of(weights))
        self.test = ImagesToBrowse(test.name, test.images[:BROWSE_IMAGES], test.labels[:BROWSE_IMAGES])
        self.turns = turns
        self._publishing = threading.Lock()
        self._snapshot = Snapshot(tuple(np.array(w) for w in weights), tuple(np.array(b) for b in biases), 0, epoch)
        self._network: Network | None = None
        self._network_snapshot = self._snapshot  # the snapshot `_network` holds
        self._order: tuple[int, np.ndarray, int] | None = None  # (epoch, test images mistakes first, mistakes)

    # --- the parameters ------------------------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        """The newest snapshot (replaced whole, so reading it needs no lock)."""
        return self._snapshot

    def publish(self, weights, biases, epoch: int) -> None:
        """Make copies of these parameters the ones the page's answers are computed with from now on."""
        with self._publishing:
            version = self._snapshot.version + 1
            self._snapshot = Snapshot(tuple(np.array(w) for w in weights), tuple(np.array(b) for b in biases),
                                      version, epoch)

    def _current_network(self) -> tuple[Network, Snapshot]:
        """The network on the backend holding the newest snapshot, and that snapshot (call while holding the turn
        lock, and read the snapshot's version and epoch from what this returns, inside the lock: once the lock
        is released another request may rebuild the network from a newer snapshot)."""
        snapshot = self._snapshot
        if self._network is None or self._network_snapshot.version != snapshot.version:
            self._network = Network.from_parameters(list(snapshot.weights), list(snapshot.biases),
                                                    backend=self.backend, dtype=self.dtype)
            self._network_snapshot = snapshot
        return self._network, self._network_snapshot

    # --- answers -------------------------------------------------------------------------------------------

    def answer(self, pixels: np.ndarray) -> dict:
        """Every layer's activations for 784 input pixels (already as the network sees them), and the answer."""
        with self.turns:
            network, snapshot = self._current_network()
            started = time.perf_counter()
            layers = network.activations(np.asarray(pixels, dtype=np.float64)[np.newaxis, :])
            seconds = time.perf_counter() - started
        layers = [np.asarray(a[0], dtype=np.float64) for a in layers]
        outputs = layers[-1]
        return {
            "answer": int(np.argmax(outputs)),
            "activations": [a.tolist() for a in layers],
            "backend": self.backend.name,
            "seconds": seconds,
            "confidence": confidence(outputs),
            "version": snapshot.version,
        }

    def answer_drawing(self, drawing: np.ndarray) -> dict:
        """The answer for a raw 28×28 drawing in [0, 1], centred first exactly as `neuro predict` centres a file.

        A blank drawing is a NeuroError ("... is blank"), as it is for `neuro predict`.
        """
        return self.answer(centred_digit(drawing.reshape(IMAGE_SIDE, IMAGE_SIDE), what="the drawing"))

    # --- weights -------------------------------------------------------------------------------------------

    def weights_of(self, layer: int, neuron: int | None = None) -> dict:
        """The incoming weights and bias of one neuron of `layer` (1 = the first hidden layer), or of all of them.

        `scale` is the largest |weight| of the layer and `bias_scale` its largest |bias|: the brightness scale
        of the green/red grids, as in `neuro show weights`. `shape` is the grid the weights are laid out on.
        """
        snapshot = self._snapshot
        w, b = snapshot.weights[layer - 1], snapshot.biases[layer - 1]
        described = {
            "layer": layer,
            "inputs": int(w.shape[1]),
            "shape": list(grid_shape(w.shape[1])),
            "scale": float(np.max(np.abs(w))),
            "bias_scale": float(np.max(np.abs(b))),
            "version": snapshot.version,
            "epoch": snapshot.epoch,
        }
        if neuron is None:
            return described | {"weights": w.tolist(), "biases": b.tolist()}
        return described | {"neuron": neuron, "weights": w[neuron].tolist(), "bias": float(b[neuron])}

    # --- the test-set browser ------------------------------------------------------------------------------

    def _mistakes_first(self) -> tuple[np.ndarray, int, int]:
        """The browsed test images' indices, the network's mistakes first, how many mistakes, and after which epoch.

        Worked out once per epoch of training (once in all for a saved model), so that stepping through the
        list does not reshuffle it under the learner's feet while a training epoch runs.
        """
        if self._order is None or self._order[0] != self._snapshot.epoch:
            with self.turns:
                network, snapshot = self._current_network()
                predictions = network.predict(self.test.images)
            wrong = predictions != self.test.labels
            order = np.concatenate([np.flatnonzero(wrong), np.flatnonzero(~wrong)])
            self._order = (snapshot.epoch, order, int(wrong.sum()))  # the epoch of the network that listed them
        epoch, order, mistakes = self._order
        return order, mistakes, epoch

    def browse(self, position: int) -> dict:
        """Test image number `position` of the mistakes-first list: label, answer and every layer's activations."""
        order, mistakes, epoch = self._mistakes_first()
        index = int(order[position])
        label = int(self.test.labels[index])
        answered = self.answer(self.test.images[index])
        return answered | {
            "position": position,
            "count": len(order),
            "mistakes": mistakes,
            "listed_after_epoch": epoch,
            "index": index,
            "label": label,
            "right": answered["answer"] == label,
            "data": self.test.name,
        }
