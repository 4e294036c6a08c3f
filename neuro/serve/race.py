"""`neuro serve --race`: the workers of a race (race_worker.py) started, listened to, stopped; every lane's state.

A thread reads every worker's pipe and keeps each lane's progress as the worker reported it. When every lane is
ready (compiled, and measured before training) or failed, it says "go" to all at once: the start line. A lane
whose pipe ends before the lane finished is a worker that crashed: its lane shows it as failed, the others go
on. `stop` says "stop" to every worker, waits a moment, then terminates and joins whatever is left, so no worker
outlives the race. A race shares the machine's cores among its lanes: it shows the rungs side by side, not what
each would do alone (`neuro ladder` measures that).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait

from neuro.backends import ALIASES, REGISTRY, rung_info
from neuro.settings import RunSettings

from .race_worker import LaneOrders, run_lane

FINAL = ("finished", "failed")
STOP_GRACE_SECONDS = 3.0
"""How long a worker may take to stop between two stretches before it is terminated."""


@dataclass
class Lane:
    """One rung's lane, as its worker reported it: `accuracy` holds [seconds since the start, test accuracy]."""

    rung: str
    builds_on: str | None
    status: str = "starting"  # starting (compiling) -> ready -> racing -> finished | failed
    error: str | None = None
    why: str | None = None  # how a finished lane ended: epochs, time, stopped
    samples: int = 0
    train_seconds: float = 0.0
    seconds: float = 0.0
    epoch: int = 0
    accuracy: list[list[float]] = field(default_factory=list)
    pid: int | None = None  # the worker's process

    @property
    def samples_per_second(self) -> float | None:
        return self.samples / self.train_seconds if self.train_seconds > 0 else None

    def as_dict(self) -> dict:
        return {"rung": self.rung, "builds_on": self.builds_on, "status": self.status, "error": self.error,
                "why": self.why, "samples": self.samples, "train_seconds": self.train_seconds,
                "seconds": self.seconds, "epoch": self.epoch, "accuracy": [list(p) for p in self.accuracy],
                "samples_per_second": self.samples_per_second, "pid": self.pid}


def builds_on_in_race(rung: str, raced: Sequence[str]) -> str | None:
    """The nearest rung below `rung` on the ladder (by the registry's builds-on relation) that is in this race;
    an alias stands where the rung it names stands."""
    info = rung_info(rung)
    if rung in ALIASES:
        named = [entry for entry in REGISTRY.values() if entry.module == info.module]
        info = named[0] if named else info
    below = info.builds_on
    while below is not None and below not in raced:
        below = REGISTRY[below].builds_on if below in REGISTRY else None
    return below


class Race:
    """The lanes of a race of `rungs` on the same run, for `epochs` and/or `seconds`; `on_epoch(rung, weights,
    biases, epoch)` receives each lane's parameters after each epoch, `on_change(lane)` each lane that finished
    or failed (both called in the race's thread)."""

    def __init__(self, rungs: Sequence[str], run: RunSettings, epochs: int | None, seconds: float | None,
                 on_epoch: Callable | None = None, on_change: Callable[[Lane], None] | None = None) -> None:
        self.rungs = list(rungs)
        self.run, self.epochs, self.seconds = run, epochs, seconds
        self.on_epoch, self.on_change = on_epoch, on_change
        self.lanes = {rung: Lane(rung, builds_on_in_race(rung, self.rungs)) for rung in self.rungs}
        self._lock = threading.Lock()
        self._pipes: dict[str, object] = {}
        self._workers: dict[str, multiprocessing.Process] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="neuro-race", daemon=True)
        self.started_at: float | None = None  # time.monotonic() of the start line
        self.finished = False
        self.finished_at: float | None = None

    # --- the workers -----------------------------------------------------------------------------------------

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        for rung in self.rungs:
            mine, theirs = context.Pipe(duplex=True)
            worker = context.Process(target=run_lane, name=f"neuro-race-{rung}", daemon=True,
                                     args=(LaneOrders(rung, self.run, self.epochs, self.seconds), theirs, os.getpid()))
            worker.start()
            theirs.close()  # (the worker's end: once the worker ends, ours reads end-of-file)
            self._pipes[rung], self._workers[rung] = mine, worker
            self.lanes[rung].pid = worker.pid
        self._thread.start()

    def stop(self) -> None:
        """Tell every worker to stop, then terminate (and at last kill) and join any still running after a grace."""
        self._stopping.set()
        for pipe in self._pipes.values():
            try:
                pipe.send("stop")
            except OSError:
                pass
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in self._workers.values():
            worker.join(max(0.0, deadline - time.monotonic()))
        for worker in self._workers.values():
            if worker.is_alive():
                worker.terminate()
                worker.join(STOP_GRACE_SECONDS)
            if worker.is_alive():
                worker.kill()
                worker.join()
        if self._thread.is_alive():
            self._thread.join(STOP_GRACE_SECONDS)
        if not self._thread.is_alive():  # (the listener reads them until it ends)
            for pipe in self._pipes.values():
                pipe.close()

    # --- listening -------------------------------------------------------------------------------------------

    def _listen(self) -> None:
        open_pipes = {pipe: rung for rung, pipe in self._pipes.items()}
        while open_pipes and not self._stopping.is_set():
            for pipe in wait(list(open_pipes), timeout=0.2):
                rung = open_pipes[pipe]
                try:
                    kind, fields = pipe.recv()
                except (EOFError, OSError):
                    del open_pipes[pipe]
                    self._ended(rung)
                    continue
                self._report(rung, kind, fields)
            self._maybe_start()
        with self._lock:
            self.finished = all(lane.status in FINAL for lane in self.lanes.values())

    def _ended(self, rung: str) -> None:
        """The worker's pipe ended: fine after its last report, a crash before it."""
        lane = self.lanes[rung]
        if lane.status in FINAL or self._stopping.is_set():
            return
        worker = self._workers[rung]
        worker.join(1.0)
        with self._lock:
            lane.status = "failed"
            lane.error = f"the worker process ended unexpectedly (exit code {worker.exitcode})"
        self._changed(lane)

    def _report(self, rung: str, kind: str, fields: dict) -> None:
        lane = self.lanes[rung]
        weights, biases = fields.pop("weights", None), fields.pop("biases", None)
        with self._lock:
            for name in ("samples", "train_seconds", "seconds"):
                if name in fields:
                    setattr(lane, name, fields[name])
            if kind == "ready":
                lane.status = "ready"
                lane.accuracy.append([0.0, fields["accuracy"]])
            elif kind == "progress":
                lane.status = "racing"
            elif kind == "epoch":
                lane.epoch = fields["epoch"]
                lane.accuracy.append([fields["seconds"], fields["accuracy"]])
            elif kind in FINAL:
                lane.status, lane.error, lane.why = kind, fields.get("error"), fields.get("why")
        if weights is not None and self.on_epoch is not None:
            self.on_epoch(rung, weights, biases, fields["epoch"])
        if kind in FINAL:
            self._changed(lane)

    def _maybe_start(self) -> None:
        """Say "go" to every ready lane once no lane is still starting: the start line."""
        with self._lock:
            if self.started_at is not None or any(lane.status == "starting" for lane in self.lanes.values()):
                return
            self.started_at = time.monotonic()
            ready = [rung for rung, lane in self.lanes.items() if lane.status == "ready"]
            for rung in ready:
                self.lanes[rung].status = "racing"
        for rung in ready:
            try:
                self._pipes[rung].send("go")
            except OSError:
                pass

    def _changed(self, lane: Lane) -> None:
        with self._lock:
            self.finished = all(other.status in FINAL for other in self.lanes.values())
            if self.finished and self.finished_at is None:
                self.finished_at = time.monotonic()
        if self.on_change is not None:
            self.on_change(lane)

    # --- the state, for the API ------------------------------------------------------------------------------

    def state(self) -> dict:
        with self._lock:
            lanes = [lane.as_dict() for lane in self.lanes.values()]
            started, ended = self.started_at, self.finished_at
            finished = self.finished
        return {"race": True, "epochs": self.epochs, "budget_seconds": self.seconds, "started": started is not None,
                "elapsed": 0.0 if started is None else (ended or time.monotonic()) - started, "finished": finished,
                "lanes": lanes, "table": ratio_table(lanes) if finished else None}


def ratio_table(lanes: list[dict]) -> list[dict]:
    """Each lane that trained: its samples/s and its ratio to the nearest raced rung it builds on (both from this
    race; None where that rung is not in the table)."""
    rates = {lane["rung"]: lane["samples_per_second"] for lane in lanes if lane["samples_per_second"]}
    return [{"rung": rung, "samples_per_second": rate, "builds_on": lane["builds_on"],
             "ratio": rate / rates[lane["builds_on"]] if lane["builds_on"] in rates else None}
            for lane in lanes if (rung := lane["rung"]) in rates and (rate := rates[rung])]
