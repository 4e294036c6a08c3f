"""The raced rungs in the server: the page's network (one lane's newest parameters) and every rung's forward pass.

The page shows one network: the parameters of the lane that has trained the most epochs so far, published after
each of its epochs (on the backend of the first raced rung that runs in this process). The answer panel can run
one drawing through every raced rung with those very parameters, so every rung gives the same answer and only
the forward pass's time differs. A rung that cannot run in this process has no forward
pass here: its lane says why.
"""

from __future__ import annotations

import time

import numpy as np

from neuro.backends import Backend
from neuro.data import IMAGE_SIDE
from neuro.data.drawn import centred_digit
from neuro.evaluation import confidence
from neuro.network import Network

from .race import Race
from .served import ServedNetwork
from .turns import TurnLock

TIMING_SECONDS = 0.02
"""How long each rung's forward pass is repeated for: its time is the fastest of the repeats."""


def fastest_forward(network: Network, pixels: np.ndarray) -> tuple[np.ndarray, float]:
    """The output activations for `pixels`, and the fastest of repeated forward passes in seconds: one pass of a
    compiled rung takes microseconds, so a single timing would be mostly the clock's and the scheduler's noise."""
    best, spent = float("inf"), 0.0
    while spent < TIMING_SECONDS or best == float("inf"):
        started = time.perf_counter()
        outputs = network.activations(pixels)[-1]
        seconds = time.perf_counter() - started
        best, spent = min(best, seconds), spent + seconds
    return outputs, best


class RacedNetworks:
    """The race, the page's network (`main`, holding the parameters of the lane `main_rung`) and, by rung, the
    backends that run here."""

    def __init__(self, race: Race, main: ServedNetwork, main_rung: str, backends: dict[str, Backend],
                 unused: dict[str, str] | None = None) -> None:
        self.race = race
        self.main, self.main_rung = main, main_rung
        self.backends = backends
        self.unused = unused or {}  # by rung not in `backends`: why it gives no answer here
        # A backend need not be thread-safe: one lock per backend object, the page's network's for its own.
        self._turns = {rung: main.turns if backend is main.backend else TurnLock()
                       for rung, backend in backends.items()}
        self._networks: dict[str, tuple[int, Network]] = {}  # by rung: (snapshot version, network holding it)

    def publish(self, rung: str, weights, biases, epoch: int) -> None:
        """A lane's parameters after `epoch` (the race's `on_epoch`): the page's network takes them when that lane
        is the one that has trained the most epochs."""
        if epoch > self.main.snapshot.epoch or (rung == self.main_rung and epoch == self.main.snapshot.epoch):
            self.main_rung = rung
            self.main.publish(weights, biases, epoch)

    def state(self) -> dict:
        snapshot = self.main.snapshot
        return self.race.state() | {"page_network": self.main_rung, "page_epoch": snapshot.epoch,
                                    "page_version": snapshot.version}

    def answers(self, drawing: np.ndarray) -> dict:
        """The drawing (raw 28×28 in 0..1, centred first) through the page's network on every raced rung: each
        one's answer and forward-pass seconds. A blank drawing is a NeuroError, as for one network."""
        pixels = centred_digit(drawing.reshape(IMAGE_SIDE, IMAGE_SIDE), what="the drawing")[np.newaxis, :]
        snapshot, whose = self.main.snapshot, self.main_rung
        answers = []
        for rung in self.race.rungs:
            if rung not in self.backends:
                answers.append({"rung": rung, "error": self.unused.get(rung, "this rung does not run in the server")})
                continue
            with self._turns[rung]:
                network = self._network(rung, snapshot)
                outputs, seconds = fastest_forward(network, pixels)
            outputs = np.asarray(outputs[0], dtype=np.float64)
            answers.append({"rung": rung, "answer": int(np.argmax(outputs)), "seconds": seconds,
                            "confidence": confidence(outputs)})
        return {"answers": answers, "parameters_of": whose, "epoch": snapshot.epoch,
                "version": snapshot.version}

    def _network(self, rung: str, snapshot) -> Network:
        """The network on `rung` holding `snapshot` (rebuilt when a newer one was published)."""
        held = self._networks.get(rung)
        if held is None or held[0] != snapshot.version:
            network = Network.from_parameters(list(snapshot.weights), list(snapshot.biases),
                                              backend=self.backends[rung], dtype=self.main.dtype)
            held = self._networks[rung] = (snapshot.version, network)
        return held[1]
