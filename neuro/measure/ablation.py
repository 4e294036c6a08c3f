"""What each idea of a rung is worth: the rung timed with it and without it, in the same run (`neuro ladder
--ablate`).

A rung that bundles several ideas (numba-blocks, numba-tiles, numba-team) is timed against a variant of itself with
one idea taken out (backends/cpu/ablations), one idea at a time; a second core is taken out by running the rung on
one thread. Both sides are validated by the oracle and timed by `neuro.measure.bench.measure`, as every row of the
ladder is. The gain is samples per second with the idea over samples per second without it: a gain near 1 or
below says the idea buys nothing in this case, on this machine (the machine may be busy: rerun for a second
opinion).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from neuro.backends import backend_status, get_backend
from neuro.measure.bench import measure


@dataclass
class AblationResult:
    rung: str
    idea: str
    dtype: str
    samples_per_s_with: float | None = None
    samples_per_s_without: float | None = None
    validated: bool | None = None
    threads_with: int = 1
    threads_without: int = 1
    why_not: str = ""

    @property
    def gain(self) -> float | None:
        if self.samples_per_s_with and self.samples_per_s_without:
            return self.samples_per_s_with / self.samples_per_s_without
        return None

    def as_dict(self) -> dict:
        return {**asdict(self), "gain": self.gain}


def ablations(rungs: list[str] | None = None):
    """The ablations of the rungs named (all, for None) that run here."""
    from neuro.backends.cpu.ablations import ABLATIONS

    return [a for a in ABLATIONS if (rungs is None or a.rung in rungs)]


def _timed(name: str, backend, threads: int | None, dtype: str, layers: list[int], batch_size: int,
           seconds: float) -> tuple[float, bool, int]:
    """(samples per second, validated, threads) of `backend` on `threads` threads (None: as it is)."""
    before = backend.threads
    if threads is not None:
        backend.set_threads(min(threads, backend.max_threads))
    try:
        result = measure(name, dtype, layers, batch_size, seconds=seconds, forward=False, backend=backend)
        return result.train_samples_per_s, result.validated, backend.threads
    finally:
        backend.set_threads(before)


def ablate(dtypes: list[str], layers: list[int], batch_size: int, seconds: float, rungs: list[str] | None = None,
           on_row: Callable[[AblationResult], None] | None = None) -> list[AblationResult]:
    """Every ablation of `rungs` in every dtype: the rung with the idea and without it, each validated, then timed."""
    from neuro.backends.cpu.ablations import variant

    results = []
    for ablation in ablations(rungs):
        for dtype in dtypes:
            row = AblationResult(ablation.rung, ablation.idea, dtype)
            status = backend_status(ablation.rung)
            if not status.available:
                row.why_not = status.reason
            else:
                rung = get_backend(ablation.rung)
                without = variant(ablation.without) if ablation.without else rung
                row.samples_per_s_with, ok_with, row.threads_with = _timed(
                    ablation.rung, rung, ablation.threads_with, dtype, layers, batch_size, seconds)
                row.samples_per_s_without, ok_without, row.threads_without = _timed(
                    without.name, without, ablation.threads_without, dtype, layers, batch_size, seconds)
                row.validated = ok_with and ok_without
            results.append(row)
            if on_row is not None:
                on_row(row)
    return results


def ablation_table(results: list[AblationResult], markdown: bool = False) -> str:
    """The ablation rows as a text (or Markdown) table."""
    header = ["rung", "idea taken out", "dtype", "with", "without", "gain"]
    rows = []
    for r in results:
        if r.why_not:
            rows.append([r.rung, r.idea, r.dtype, "-", "-", f"not timed: {r.why_not}"])
            continue
        threads = f" ({r.threads_with}/{r.threads_without} threads)" if (r.threads_with, r.threads_without) != (1, 1) \
            else ""
        gain = f"{r.gain:.2f}x" if r.gain else "-"
        rows.append([r.rung, r.idea + threads, r.dtype, f"{r.samples_per_s_with:,.0f}",
                     f"{r.samples_per_s_without:,.0f}", gain + ("" if r.validated else " [WRONG]")])
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|---|---|---|---:|---:|---:|"]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "-" * len(lines[0]))
    lines.append("with/without: training samples per second, validated first; gain: with / without (below 1: the "
                 "idea costs more than it saves here).")
    return "\n".join(lines)
