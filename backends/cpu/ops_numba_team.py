"""numba-team: the steps shared out between a team of threads, one per core, and the memory fetched ahead.

What changed from `numba-tiles`:
* A team of threads (spin_barrier.py) runs each stretch of steps together (`steps_team`). Each member owns a share
  of every layer's neurons, the rows of its weights, in whole tiles of four: it forms their weighted sums in the
  first layer and adds the gradient into their weights, so no two members ever write the same weight. In
  between, each feeds its share of the samples through the later layers and backpropagates them. Two barriers
  a step keep the phases apart.
* Every step first asks for the rows of x of the next mini-batch and of y of this one (`fetch_rows`): the rows
  of a shuffled mini-batch lie anywhere in memory, and arrive while the core computes.
* The team watches itself. A member that has lost its core to another program would keep the others
  spinning at every barrier: a barrier's patience stops the team, and one thread finishes the stretch. And
  on a machine where the cores pass data to each other slowly, or are busy with other work, a team can train
  slower than one thread: the backend times both ways now and then and keeps the faster (`WayTimings`).

Why it is faster: two cores do the arithmetic of the first layer, most of a step, in half the time each; and
memory is read while the core computes instead of while it waits. Both gains depend on the machine. A step
pays for the barriers and for the partial sums, deltas and weights that one core wrote and the other reads, a
cost set by how far apart the cores are, and a short step (float32, small batches) hides less of it. And a
CPU's own prefetchers follow a row that is read in order once its first lines have come: where they already
fetch the rows in time, the hints only add instructions and a step runs slower with them. `neuro ladder
--ablate` measures each idea apart, on the machine it runs on.

A team computes the very same numbers as one thread, bit for bit: it shares rows out in the tiles of four that
one thread goes through (`share`), each sample's sums come out the same whatever sample they are paired with
(numba-tiles), and every sum over the samples runs over all of them in the same order. So the backend may
switch between the two ways at any step, and a training run does not depend on the number of cores
(tests/test_determinism.py checks both ways at every thread count of the machine it runs on).

Compiled again from numba-tiles by `inherit` (its source, calling this rung's functions; backends/cpu/compiled.py):
`activate`, `add_bias_gradient`, `add_gradient`, `add_gradient_row`, `add_gradients`, `add_products2`,
`add_products4`, `add_rows4`, `all_activations`, `backprop`, `borrowed_list`, `feedforward`, `gradient`,
`layer_forward`, `layer_offsets`, `layer_sums`, `output_delta`, `outputs`, `step_buffers`, `steps_on_views`,
`sum_products2`, `sum_products4`, `train_step`, `train_steps`, `weighted_sum`, `weighted_sums4x2`.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from neuro.support.errors import NeuroError

from . import ops_numba_tiles as previous
from .compiled import inherit, njit, numba, typed_list
from .ops_numba_tiles import (
    activate,
    add_gradient,
    add_gradients,
    backprop,
    borrowed,
    borrowed_list,
    feedforward,
    layer_forward,
    layer_offsets,
    layer_sums,
)
from .spin_barrier import Team, barrier, prefetch

ONE_THREAD, TEAM = "one-thread", "team"

TEAM_WORK = 50_000
TEAM_CALL_WORK = 5_000_000
"""A stretch runs on a team only if a step is at least TEAM_WORK multiply-adds (samples times weights: the
classic network, 12,960 weights, from batch 4) and the whole call at least TEAM_CALL_WORK (the classic network:
about 40 steps at batch 10). A step pays two barriers and the traffic between the cores, and a call pays for
waking the team."""

PATIENCE_SPINS = 5_000
PATIENCE_SPINS_PER_WORK = 0.01
"""A member waits at a barrier for at most PATIENCE_SPINS spins (a few pauses of the CPU each) plus
PATIENCE_SPINS_PER_WORK per multiply-add of a step, before it stops the team: long beside the wait of a healthy team,
whose members do the same work between barriers, short beside the time slice of a member that has lost its core."""

FIRST_RECHECK, LAST_RECHECK = 0.5, 8.0
"""Seconds between timings of the way that lost (see `WayTimings`): doubled each time it loses again, up to LAST."""


@njit(cache=True)
def fetch_rows(table, rows):
    """Ask for the rows table[rows] (of x, or of y) to be fetched into this core's cache, a cache line (64 bytes)
    at a time, without waiting for them (see spin_barrier.prefetch). A row need not start a line: its last element
    is asked for too."""
    for i in range(rows.shape[0]):
        row = table[rows[i]]
        for k in range(0, row.shape[0], 64 // row.itemsize):
            prefetch(row, k)
        prefetch(row, row.shape[0] - 1)


@njit(cache=True)
def steps(weights, biases, x, y, order, start, stop, batch_size, eta, cost, targets_w, targets_b, activations, deltas,
          samples, nabla):
    """The steps of numba-tiles on one thread, each first asking for the rows its successor will read."""
    offsets = layer_offsets(weights)
    fetch_rows(x, order[start : min(start + batch_size, stop)])
    for first in range(start, stop, batch_size):
        m = min(batch_size, stop - first)
        rows = order[first : first + m]
        fetch_rows(y, rows)
        fetch_rows(x, order[first + m : min(first + m + batch_size, stop)])
        feedforward(weights, biases, x, rows, activations, samples, offsets, m)
        backprop(weights, activations, deltas, y, rows, offsets, m, cost, -eta / m)
        add_gradients(targets_w, targets_b, x, rows, activations, deltas, samples, offsets, m, nabla)


@njit(cache=True)
def share(n, part, parts, unit):
    """Where part `part` of `parts` of n rows (or samples) starts: near n part / parts, at a multiple of `unit`.

    A team shares out a layer's rows in multiples of 4, the tiles in which one thread goes through them: each
    sum then meets its terms in the same order as on one thread. (Samples may be shared anywhere.)
    """
    if part >= parts:
        return n
    return n * part // parts // unit * unit


@njit(cache=True, nogil=True)
def steps_team(member, size, barrier_state, patience, weights, biases, x, y, order, start, stop, batch_size, eta,
               cost, targets_w, targets_b, activations, deltas, samples, partial_sums, nabla):
    """`steps` shared out between a team of `size` threads, of which this one is number `member`; returns where
    the team stopped: `stop`, or the first mini-batch it did not finish (a member lost patience, see barrier).

    Every member runs this whole loop over the mini-batches (see spin_barrier.py). In each step it
      1. forms the weighted sums of its rows of the first layer for every sample of the mini-batch, into
         partial_sums[member];
      2. once all have (a barrier), takes its share of the samples: gathers their sums from every member's part,
         feeds them on through a = sigmoid(z + b) and the later layers, and backpropagates them;
      3. once all have (a barrier), adds the gradient into its rows of every layer.
    What one part writes, another part reads, and the barriers keep them apart. Part 1 of the next step reads only
    this member's own rows of the first layer, which it has just updated itself: it needs no barrier. A member
    that stops at a barrier has changed no weight of that step, and the caller's join waits for every member to
    finish the step before.
    """
    weights, biases, targets_w, targets_b = (borrowed_list(weights), borrowed_list(biases), borrowed_list(targets_w),
                                             borrowed_list(targets_b))
    x, y, order, samples = borrowed(x), borrowed(y), borrowed(order), borrowed(samples)
    activations, deltas, partial_sums, nabla = borrowed(activations), borrowed(deltas), borrowed(partial_sums), \
        borrowed(nabla[member])
    offsets = layer_offsets(weights)
    first_layer = weights[0].shape[0]
    r0, r1 = share(first_layer, member, size, 4), share(first_layer, member + 1, size, 4)
    generation = 0
    for first in range(start, stop, batch_size):
        m = min(batch_size, stop - first)
        rows = order[first : first + m]
        s0, s1 = share(m, member, size, 1), share(m, member + 1, size, 1)
        fetch_rows(y, rows[s0:s1])
        layer_sums(weights[0][r0:r1], x, rows, 0, partial_sums[member], r0, m)
        generation = barrier(barrier_state, size, generation, patience)
        if generation < 0:
            return first
        fetch_rows(x, order[first + m : min(first + m + batch_size, stop)])  # (for part 1 of the next step)
        for s in range(s0, s1):
            z = activations[s, offsets[1] : offsets[2]]
            for p in range(size):  # the sums of member p's rows
                for j in range(share(first_layer, p, size, 4), share(first_layer, p + 1, size, 4)):
                    z[j] = partial_sums[p, s, j]
        mine = activations[s0:s1]  # (a view: the later layers read and write only the rows of these samples)
        activate(biases[0], mine, offsets[1], s1 - s0)
        for l in range(1, len(weights)):
            layer_forward(weights[l], biases[l], mine, samples, offsets[l], mine, offsets[l + 1], s1 - s0)
        backprop(weights, mine, deltas[s0:s1], y, rows[s0:s1], offsets, s1 - s0, cost, -eta / m)
        generation = barrier(barrier_state, size, generation, patience)
        if generation < 0:
            return first
        for l in range(len(weights)):
            n = weights[l].shape[0]
            j0, j1 = share(n, member, size, 4), share(n, member + 1, size, 4)
            inputs, inputs_rows = (x, rows) if l == 0 else (activations, samples)
            add_gradient(targets_w[l][j0:j1], targets_b[l][j0:j1], inputs, inputs_rows, offsets[l], deltas,
                         offsets[l + 1] + j0, m, nabla)
    return stop


inherit(previous, globals())


@dataclass
class WayTimings:
    """How fast each way of running a stretch of steps (ONE_THREAD, TEAM) trained when last timed, and which to take.

    Each way is timed first (its very first call is not counted: it may have compiled, or loaded its machine code
    from the disk); then the faster one runs, and now and then (FIRST_RECHECK seconds, doubled each time it
    loses again, up to LAST_RECHECK) the other one is timed again, so that the choice follows a machine whose
    other work comes and goes.
    """

    samples_per_s: dict = field(default_factory=dict)
    started: set = field(default_factory=set)
    best: str = TEAM
    wait: float = FIRST_RECHECK
    recheck_at: float = 0.0

    def next(self, now: float) -> str:
        """The way the next stretch runs."""
        untimed = [way for way in (TEAM, ONE_THREAD) if way not in self.samples_per_s]
        if untimed:
            return untimed[0]
        return self.other(self.best) if now >= self.recheck_at else self.best

    @staticmethod
    def other(way: str) -> str:
        return ONE_THREAD if way == TEAM else TEAM

    def record(self, way: str, samples: int, seconds: float, now: float) -> None:
        """A stretch of `samples` ran `way` in `seconds`."""
        if way not in self.started:  # (a first call: not a timing)
            self.started.add(way)
            return
        self.samples_per_s[way] = samples / max(seconds, 1e-9)
        if len(self.samples_per_s) < 2 or (way == self.best and now < self.recheck_at):
            return
        challenger = self.other(self.best) if way == self.best else way
        if self.samples_per_s[challenger] > self.samples_per_s[self.best]:
            self.best, self.wait = challenger, FIRST_RECHECK
        else:
            self.wait = min(2 * self.wait, LAST_RECHECK)
        self.recheck_at = now + self.wait


class TeamBackend(previous.LoopsBackend):
    """The compiled loops of the rungs before, on one thread or on a team of threads, whichever trains faster."""

    ways = (ONE_THREAD, TEAM)

    def __init__(self, name: str, rung) -> None:
        super().__init__(name, rung)
        self.threads = numba.config.NUMBA_NUM_THREADS
        self._team = Team()
        self._timings: dict[tuple, WayTimings] = {}
        self._forced: str | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, threads={self.threads})"

    @property
    def max_threads(self) -> int:
        return numba.config.NUMBA_NUM_THREADS

    def set_threads(self, threads: int) -> None:
        if not 1 <= threads <= self.max_threads:
            raise NeuroError(f"the {self.name} backend can use 1 to {self.max_threads} threads here "
                             f"(NUMBA_NUM_THREADS), not {threads}")
        self.threads = threads

    def force_way(self, way: str | None) -> None:
        if way not in (None, *self.ways):
            raise NeuroError(f"the {self.name} backend runs steps {' or '.join(self.ways)}, not {way!r}")
        self._forced = way

    def team_size(self, weights) -> int:
        """The members of a team: `threads`, but no more than the cores this process may run on (a member waiting
        for one that has no core would wait for the operating system), and at most one per tile of four rows of
        the first layer (more would have no rows of their own)."""
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        return max(1, min(self.threads, cores, weights[0].shape[0] // 4))

    def _way_timings(self, weights, m: int, samples: int) -> WayTimings | None:
        """The timings that choose between one thread and a team for calls of `samples` samples in steps of m; None
        where a team is out of the question (one core, or too little work to wake one)."""
        per_sample = sum(w.size for w in weights)
        if self.team_size(weights) < 2 or m * per_sample < TEAM_WORK or samples * per_sample < TEAM_CALL_WORK:
            return None
        # (calls of one length only are compared: a call pays for waking the team, which a long one hides)
        key = (tuple(w.shape for w in weights), weights[0].dtype.name, m, samples, self.threads)
        return self._timings.setdefault(key, WayTimings())

    def train_steps(self, weights, biases, x, y, order, start, stop, batch_size, eta, cost):
        m = min(batch_size, stop - start)
        timings = None if self._forced else self._way_timings(weights, m, stop - start)
        way = self._forced or (timings.next(time.perf_counter()) if timings else ONE_THREAD)
        started = time.perf_counter()
        done = self._team_steps(weights, biases, x, y, order, start, stop, batch_size, eta, cost) if way == TEAM \
            else start
        if done < stop:  # one thread: the whole stretch, or what a team that stopped left of it
            super().train_steps(weights, biases, x, y, order, done, stop, batch_size, eta, cost)
        if timings is not None:
            now = time.perf_counter()
            timings.record(way, stop - start, now - started, now)

    def _team_steps(self, weights, biases, x, y, order, start, stop, batch_size, eta, cost) -> int:
        """The stretch on a team (of two when the tests force it, whatever the machine); returns where it stopped."""
        size = 2 if self._forced == TEAM else self.team_size(weights)
        m, work = min(batch_size, stop - start), sum(w.size for w in weights)
        w, b = typed_list(weights), typed_list(biases)
        offsets, dtype = layer_offsets(w), weights[0].dtype
        widest = max(a.shape[1] for a in weights)
        activations, deltas = np.empty((m, offsets[-1]), dtype), np.empty((m, offsets[-1]), dtype)
        partial_sums = np.empty((size, m, weights[0].shape[0]), dtype)
        nabla = np.empty((size, 4, (widest + 15) // 16 * 16), dtype)  # (whole cache lines: each member its own)
        patience = 2**62 if self._forced == TEAM else int(PATIENCE_SPINS + PATIENCE_SPINS_PER_WORK * m * work)
        # (the rung's own steps_team: a rung that inherits from this one runs its copy, calling its functions)
        return self._team.run(self.rung.steps_team, size, patience, w, b, x, y, order, int(start), int(stop),
                              int(batch_size), float(eta), cost, w, b, activations, deltas, np.arange(m), partial_sums,
                              nabla)


def note() -> str:
    threads = numba.config.NUMBA_NUM_THREADS
    return f"{threads} thread{'s' if threads != 1 else ''}"


def create() -> TeamBackend:
    return TeamBackend("numba-team", sys.modules[__name__])
