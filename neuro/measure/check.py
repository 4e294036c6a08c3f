"""`neuro check RUNG`: is a rung right, and is it faster than the rung it builds on? One verdict per check.

The checks, in order (each a `Verdict`; the rung passes when every one does):

  1. storage: every dtype the rung claims comes back in that dtype (a float32 rung that quietly keeps float64
     would agree with the oracle and measure nothing);
  2. agreement: a fixed network and mini-batches, for each dtype it claims, each cost, and each way it may run
     its steps (`Backend.ways`, each forced in turn): outputs, gradients and the parameters after several
     steps against the oracle's bound (neuro.measure.agreement);
  3. properties: the project's own hypothesis tests (neuro.measure.properties), for each dtype and way: the
     networks, weights and batches it draws, and the smallest case it finds wrong if it finds one;
  4. speed: its training rate against the rung it builds on (and against the goal, `SOLUTION`, for an exercise),
     on the network and batch size of its case. A rung on a simulator is not timed.

A failing check says which quantity, where (its layer and index), in which dtype and way, and on what network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from neuro.backends import backend_status, get_backend, rung_info
from neuro.costs import COSTS
from neuro.measure.agreement import Comparison, compare, random_case, reference, run
from neuro.sizes import CLASSIC
from neuro.support.errors import NeuroError

SOLUTION_SHARE = 0.8
"""An exercise's speed target: at least this share of its solution's rate (the machine is noisy)."""


@dataclass
class Verdict:
    """One line of `neuro check`: what was checked, whether it passed, and what was found."""

    check: str
    ok: bool
    detail: str
    timed: dict | None = None
    """For the speed check: the measured rates and ratios, and the target."""

    @property
    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.check}: {self.detail}"

    def as_dict(self) -> dict:
        return {"check": self.check, "ok": self.ok, "detail": self.detail, "timed": self.timed}


def ways(backend) -> list[str | None]:
    """The ways the backend may run its steps, each to be forced in turn (None: it has one way)."""
    return list(backend.ways) if len(backend.ways) > 1 else [None]


def _forced(backend, way: str | None, action: Callable[[], object]):
    backend.force_way(way)
    try:
        return action()
    finally:
        backend.force_way(None)


def _failure(comparisons: list[Comparison], case, way: str | None) -> str | None:
    """'nabla_w exceeds its bound at layer 1 [3, 0] ...' for the worst failing quantity, or None."""
    failing = [c for c in comparisons if not c.ok]
    if not failing:
        return None
    c = max(failing, key=lambda c: c.worst)
    others = sorted({f.quantity for f in failing} - {c.quantity})
    also = f"; also {', '.join(others)}" if others else ""
    how = f", way {way!r}" if way else ""
    return (f"{c.quantity} exceeds its bound at {c.where} (diff/bound {c.worst:.3g}, max abs diff {c.max_abs:.3g}) "
            f"in {case.dtype}{how}, network {case.sizes}, batch {case.batch}, {case.cost} cost{also}")


def checked_dtypes(name: str, only: str | None = None) -> tuple[str, ...]:
    """The dtypes to check: every one the rung `name` claims, or `only` (which it must claim)."""
    claimed = tuple(get_backend(name).dtypes)
    if only is None:
        return claimed
    if only not in claimed:
        raise NeuroError(f"{name} does not compute in {only}; it claims {', '.join(claimed)}")
    return (only,)


def check_storage(name: str, only: str | None = None) -> Verdict:
    backend = get_backend(name)
    slips = []
    dtypes = checked_dtypes(name, only)
    for dtype in dtypes:
        stored = backend.to_backend(np.ones((2, 3)), dtype)
        back = np.asarray(backend.to_numpy(stored))
        if back.dtype != np.dtype(dtype):
            slips.append(f"to_backend(..., {dtype!r}) comes back as {back.dtype}")
            continue
        case = random_case([3, 2], batch=2, dtype=dtype, steps=1)
        out = backend.forward([backend.to_backend(w, dtype) for w in case.weights],
                              [backend.to_backend(b, dtype) for b in case.biases], backend.to_backend(case.x, dtype))
        if np.asarray(backend.to_numpy(out)).dtype != np.dtype(dtype):
            slips.append(f"forward in {dtype} returns {np.asarray(backend.to_numpy(out)).dtype}")
    if slips:
        return Verdict("storage", False, "; ".join(slips))
    return Verdict("storage", True, f"{', '.join(dtypes)} stored and computed as claimed")


def _agreement_sizes(name: str) -> tuple[list[int], int]:
    """The fixed case: the classic network, but a narrower one on a simulator (one Python thread per GPU thread)."""
    return ([100, 7, 10], 3) if backend_status(name).simulated else (list(CLASSIC), 10)


def check_agreement(name: str, only: str | None = None) -> list[Verdict]:
    backend = get_backend(name)
    sizes, batch = _agreement_sizes(name)
    verdicts = []
    for dtype in checked_dtypes(name, only):
        worst, problem = 0.0, None
        for cost in COSTS:
            case = random_case(sizes, batch=batch, seed=7, cost=cost, dtype=dtype, steps=3)
            values, bounds = reference(case)
            for way in ways(backend):
                comparisons = _forced(backend, way, lambda c=case, v=values, b=bounds: compare(name, c, run(backend, c),
                                                                                               v, b))
                worst = max(worst, *(c.worst for c in comparisons))
                problem = problem or _failure(comparisons, case, way)
        label = f"agreement {dtype}"
        n_ways = len(ways(backend))
        detail = problem or (f"outputs, gradients and parameters after 3 steps within the bound on {sizes}, batch "
                             f"{batch}, {len(COSTS)} costs, {n_ways} way{'s' * (n_ways > 1)} "
                             f"(worst diff/bound {worst:.2g})")
        verdicts.append(Verdict(label, problem is None, detail))
    return verdicts


def check_properties(name: str, examples: int | None = None, only: str | None = None) -> list[Verdict]:
    """The hypothesis property tests, per dtype and way; a FAIL line when hypothesis is missing."""
    from neuro.measure.properties import cases, examples_for, hypothesis_missing

    missing = hypothesis_missing()
    if missing:
        return [Verdict("properties", False, f"cannot run: {missing}")]
    from hypothesis import HealthCheck, given, settings

    backend = get_backend(name)
    simulated = backend_status(name).simulated
    slow = not backend.compiles
    count = examples or examples_for(simulated, slow)
    verdicts = []
    for dtype in checked_dtypes(name, only):
        for way in ways(backend):
            found: list[str] = []
            agrees = _property(name, backend, cases(dtype, small=simulated or slow), way, found,
                               settings(max_examples=count, deadline=None, derandomize=True, database=None,
                                        suppress_health_check=list(HealthCheck)), given)
            label = f"properties {dtype}" + (f" ({way})" if way else "")
            try:
                _forced(backend, way, agrees)
            except Exception as error:  # (the smallest failing case, or an error inside the rung)
                detail = found[-1] if found else f"{type(error).__name__}: {error}".splitlines()[0]
                verdicts.append(Verdict(label, False, detail))
                continue
            verdicts.append(Verdict(label, True, f"{count} random networks and batches agree"))
    return verdicts


def _property(name, backend, strategy, way, found: list[str], settings, given) -> Callable[[], None]:
    """A hypothesis test: every drawn case agrees with the oracle; each failure's message goes into `found`."""

    @settings
    @given(case=strategy)
    def agrees(case):
        problem = _failure(compare(name, case, run(backend, case), *reference(case)), case, way)
        if problem:
            found.append(problem)
            raise AssertionError(problem)

    return agrees


def check_speed(name: str, seconds: float, only: str | None = None) -> Verdict:
    """The rung's training rate against the rung it builds on, on its case; an exercise's against its goal too."""
    from neuro.measure.bench import measure

    info = rung_info(name)
    layers, batch = list(info.case.layers), info.case.batch_size
    where = f"{'-'.join(map(str, layers))} at batch {batch}"
    status = backend_status(name)
    if status.simulated:
        return Verdict("speed", True, f"not timed: {status.reason} (time it on a GPU: neuro check {name})")
    if info.builds_on is None:
        return Verdict("speed", True, "not timed: the first rung, with no rung below it to compare with")
    below = get_backend(info.builds_on).dtypes
    dtype = next((d for d in checked_dtypes(name, only) if d in below), None)
    if dtype is None:
        return Verdict("speed", True, f"not timed in {only}: {info.builds_on}, the rung it builds on, computes only "
                                      f"{', '.join(below)} (check without --dtype to time it)")
    solution = _solution(name)

    def rate(backend_name: str) -> float:
        return measure(backend_name, dtype, layers, batch, seconds=seconds, forward=False).train_samples_per_s

    mine, before = rate(name), rate(info.builds_on)
    ratio = mine / before
    timed = {"dtype": dtype, "layers": layers, "batch_size": batch, "samples_per_s": mine,
             "builds_on": info.builds_on, "builds_on_samples_per_s": before, "ratio": ratio}
    if solution is None:
        timed["target_ratio"] = 1.0
        ok = ratio > 1.0
        target = f"target: faster than {info.builds_on}"
    else:
        goal = rate(solution) / before
        timed.update(solution=solution, solution_ratio=goal, target_ratio=SOLUTION_SHARE * goal)
        ok = ratio >= SOLUTION_SHARE * goal
        target = (f"target: {SOLUTION_SHARE * goal:.3g}x, {SOLUTION_SHARE:.0%} of {solution}'s {goal:.3g}x "
                  f"measured now")
    detail = f"{ratio:.3g}x {info.builds_on} on {where} in {dtype} ({mine:,.0f} samples/s; {target})"
    return Verdict("speed", ok, detail if ok else f"{detail}: missed", timed)


def _solution(name: str) -> str | None:
    from neuro.backends import ALIASES, REGISTRY, loader

    if name in REGISTRY or name in ALIASES:
        return None
    solution = getattr(loader.load(name, tuple(REGISTRY)).rung, "SOLUTION", None)
    return solution if solution in REGISTRY else None


def check(name: str, examples: int | None = None, seconds: float = 1.0, speed: bool = True,
          on_verdict: Callable[[Verdict], None] | None = None, dtype: str | None = None) -> list[Verdict]:
    """Every check of the rung `name`, in order, in every dtype it claims (or only `dtype`); on_verdict sees each
    as it comes."""
    verdicts: list[Verdict] = []

    def add(found: Verdict | list[Verdict]) -> None:
        for verdict in found if isinstance(found, list) else [found]:
            verdicts.append(verdict)
            if on_verdict is not None:
                on_verdict(verdict)

    checked_dtypes(name, dtype)  # (a dtype the rung does not claim: an error before any work)
    add(check_storage(name, dtype))
    add(check_agreement(name, dtype))
    add(check_properties(name, examples, dtype))
    if speed:
        add(check_speed(name, seconds, dtype))
    return verdicts
