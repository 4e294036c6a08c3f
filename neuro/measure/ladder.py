"""The ladder: every rung in order, each validated against the reference, then timed, with its gain over the rung
it builds on and over python.

The rungs and what each changes, builds on and is for come from the registry (`neuro.backends.REGISTRY`);
the timing is `neuro.measure.bench.measure`'s. A rung that runs on several cores is timed on one thread too. A rung that
cannot run here, or runs only on a simulator (CUDA without a GPU), is listed and not timed. The python rung
computes in float64 only: its one row is the base of every dtype's gains.

Given the machine (`neuro.measure.machine.measure_machine`), each timed row also says how far it is from the
machine's limit: its flops per trained sample (`neuro.measure.flops`), the GFLOP/s that makes at its rate, and that
as a percentage of the measured compute peak for its dtype and the cores it runs on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from threadpoolctl import threadpool_limits

from neuro.backends import REGISTRY, backend_status, get_backend, rung_info
from neuro.measure.bench import EPOCH_IMAGES, measure
from neuro.measure.flops import flops_per_sample
from neuro.measure.machine import peak_gflops
from neuro.stretches import Stretches


@dataclass
class RungResult:
    """One rung of `neuro ladder` in one dtype: what it changes and builds on, in its own case (network and
    batch), whether it ran here and was validated, its training rate on all its threads and on one, and its gain
    over the rung it builds on and over python."""

    rung: int
    backend: str
    builds_on: str | None
    case: dict
    change: str
    dtype: str
    layers: list[int]
    batch_size: int
    timed: bool = False
    why_not: str = ""
    validated: bool | None = None
    train_samples_per_s: float | None = None
    single_thread_samples_per_s: float | None = None
    threads: int = 1
    vs_previous: float | None = None
    vs_python: float | None = None
    flops_per_sample: float | None = None
    gflops: float | None = None
    peak_gflops: float | None = None
    percent_of_peak: float | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def plan(names: Sequence[str] | None, dtypes: Sequence[str]) -> list[tuple[int, str, str]]:
    """(rung number, backend, dtype) for every row of the ladder, in the registry's order: every rung, or those
    named (an unknown name is a NeuroError; a rung from a file comes after the registered ones), in each dtype
    it computes in (python: float64 alone; a rung that
    cannot run here: one row, to say why)."""
    wanted = list(REGISTRY) if names is None else list(names)
    for name in wanted:
        backend_status(name)  # (a NeuroError listing the known backends, for a name that is none of them)
    rows = []
    own = [name for name in wanted if name not in REGISTRY]  # (rungs from a file or a package: after the ladder)
    for number, name in enumerate([*REGISTRY, *own], start=1):
        if name not in wanted:
            continue
        if not backend_status(name).available:
            rows.append((number, name, dtypes[0]))  # (one row to say why it does not run here)
            continue
        supported = get_backend(name).dtypes
        rows.extend((number, name, dtype) for dtype in dtypes if dtype in supported)
        if not any(d in supported for d in dtypes):
            rows.append((number, name, supported[0]))  # (python: its float64 row serves every dtype)
    return rows


def climb(rows: Sequence[tuple[int, str, str]], layers: list[int], batch_size: int, seconds: float,
          on_row: Callable[[RungResult], None] | None = None, machine: dict | None = None) -> list[RungResult]:
    """Validate and time every row of a `plan` on one network and batch size; then the gains (and, given the
    measured `machine`, each row's share of its peak)."""
    results = []
    for number, name, dtype in rows:
        info, status = rung_info(name), backend_status(name)
        row = RungResult(rung=number, backend=name, builds_on=info.builds_on, case=info.case.as_dict(),
                         change=info.change, dtype=dtype, layers=list(layers), batch_size=batch_size)
        if not status.available:
            row.why_not = status.reason
        elif status.simulated:
            row.why_not = f"{status.reason}: not timed"
        else:
            _time(row, seconds)
            if machine is not None and not info.module.startswith("gpu."):  # (the peaks are the CPU's)
                add_limit(row, machine)
        results.append(row)
        if on_row is not None:
            on_row(row)
    add_gains(results)
    return results


def _time(row: RungResult, seconds: float) -> None:
    backend = get_backend(row.backend)
    result = measure(row.backend, row.dtype, row.layers, row.batch_size, seconds=seconds, forward=False)
    row.timed, row.validated, row.train_samples_per_s = True, result.validated, result.train_samples_per_s
    row.threads = backend.threads
    if "float32" not in backend.dtypes:
        row.notes.append("computes in float64 only")
    steps = Stretches(EPOCH_IMAGES, row.batch_size).longest  # a GPU rung: its launches per step, a stretch's cost
    if launches := backend.launches(tuple(row.layers), row.batch_size, row.dtype, steps):
        row.notes.append(f"{launches / steps:.3g} launches per step, "
                         f"{1e6 * row.batch_size / row.train_samples_per_s:,.0f} µs per step")
    if backend.threads > 1:  # a rung on several cores: on one too
        threads = backend.threads
        backend.set_threads(1)
        try:
            with threadpool_limits(limits=1):  # (BLAS's own threads too: one thread is one thread)
                row.single_thread_samples_per_s = measure(row.backend, row.dtype, row.layers, row.batch_size,
                                                          seconds=seconds, forward=False).train_samples_per_s
        finally:
            backend.set_threads(threads)


def add_limit(row: RungResult, machine: dict) -> None:
    """A timed row's flops per sample, GFLOP/s (flops per sample x samples per second) and its percentage of the
    measured compute peak for its dtype on the cores it uses (`neuro.measure.machine.peak_gflops`)."""
    row.flops_per_sample = flops_per_sample(row.layers, row.batch_size)
    row.gflops = row.flops_per_sample * row.train_samples_per_s / 1e9
    row.peak_gflops = peak_gflops(machine, row.dtype, row.threads)
    row.percent_of_peak = 100 * row.gflops / row.peak_gflops


def add_gains(results: list[RungResult]) -> None:
    """Each timed row's gain over the rung it builds on, in the same dtype (python's float64 row where the rung it
    builds on is python), and over python."""
    rates = {(r.backend, r.dtype): r.train_samples_per_s for r in results if r.timed}
    python = rates.get(("python", "float64"))
    for r in results:
        if not r.timed:
            continue
        before = rates.get((r.builds_on, r.dtype)) or (python if r.builds_on == "python" else None)
        r.vs_previous = r.train_samples_per_s / before if before else None
        r.vs_python = r.train_samples_per_s / python if python else None
