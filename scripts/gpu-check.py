"""The GPU check's table: every cuda rung, numpy, numba and PyTorch, on the classic and the wide network.

    python scripts/gpu-check.py [--seconds 2] [--json FILE] [--budget 270] [--torch-timeout 90]
                                [--cases classic,wide] [--rows A,B] [--dry-run]

scripts/gpu-check.sh runs it after the agreement tests, on a machine with a GPU. Two cases, float32:

    classic   784-16-16-10       batch 10    (cuda-fused's case: launch-bound)
    wide      784-1024-1024-10   batch 256   (cuda-register-blocked's case: the kernels' own time)

For each, in one process: every registered cuda rung, numpy and numba through `neuro.measure.bench.measure` (validated
against the reference, then timed training on resident data, as `neuro bench` does), with each rung's launches
per step (`Backend.launches`, at the training loop's longest stretch) and microseconds per step; then PyTorch on
the same GPU through scripts/torch-gpu.py, each in a subprocess of its own with a time limit: an eager loop and
torch.compile, with TF32 off and (wide network) allowed, and torch.compile's CUDA graphs (classic network). A
PyTorch row that cannot run (no torch, a compiler missing, the time limit, the check's budget spent) says why
and the table goes on. Then the issue's targets, each met or not, from these numbers alone.

--json writes everything (machine, date, command, rows, targets) for scripts/gpu-docs.py, which writes
docs/gpu.md. --dry-run runs a tiny network (20-7-3, batch 4) on 40 resident images, with the rungs on Numba's
CUDA simulator when there is no GPU: it checks this script end to end in seconds and measures nothing (its JSON
says so, and gpu-docs.py refuses it).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TORCH_SCRIPT = ROOT / "scripts" / "torch-gpu.py"


@dataclass(frozen=True)
class Case:
    name: str
    layers: tuple[int, ...]
    batch_size: int
    dtype: str = "float32"


CASES = (Case("classic", (784, 16, 16, 10), 10), Case("wide", (784, 1024, 1024, 10), 256))
DRY_CASES = (Case("classic", (20, 7, 3), 4), Case("wide", (20, 9, 3), 4))
DRY_IMAGES = 40
CPU_BACKENDS = ("numpy", "numba")
TORCH_ROWS = {
    "classic": (("torch eager", "eager", False), ("torch.compile", "compile", False),
                ("torch.compile cuda graphs", "reduce-overhead", False)),
    "wide": (("torch eager", "eager", False), ("torch eager, TF32", "eager", True),
             ("torch.compile", "compile", False), ("torch.compile, TF32", "compile", True)),
}
"""(row name, torch-gpu.py --mode, TF32 allowed) per case."""
MIN_COMPILE_SECONDS = 45.0
"""A torch.compile row is not started with less of the budget left than this (compiling takes tens of seconds)."""
ONLY: set[str] | None = None
"""The rows --rows asks for (None: every row)."""


@dataclass
class Row:
    """One line of the table: a neuro backend or a PyTorch variant, on one case."""

    case: str
    layers: list[int]
    batch_size: int
    dtype: str
    name: str
    kind: str  # "cuda", "cpu" or "torch"
    samples_per_s: float | None = None
    us_per_step: float | None = None
    launches_per_step: float | None = None
    validated: bool | None = None
    note: str = ""
    ratios: dict[str, float] = field(default_factory=dict)

    def timed(self, samples_per_s: float) -> None:
        self.samples_per_s = samples_per_s
        self.us_per_step = 1e6 * self.batch_size / samples_per_s


# ----------------------------------------------------------------------------------------------------------
# Measuring


def cuda_rungs() -> list[str]:
    from neuro.backends import REGISTRY

    return [name for name in REGISTRY if name.startswith("cuda")]


def measure_backend(row: Row, seconds: float, dry_run: bool) -> None:
    """Validate and time one neuro backend (neuro.measure.bench.measure), with its launches per step and its path."""
    from neuro.backends import backend_status, get_backend
    from neuro.measure.bench import EPOCH_IMAGES, measure
    from neuro.stretches import Stretches

    status = backend_status(row.name)
    if not status.available:
        row.note = f"not run: {status.reason}"
        return
    if status.simulated and not dry_run:
        row.note = "not run: the simulator, not a GPU"
        return
    backend = get_backend(row.name)
    result = measure(row.name, row.dtype, row.layers, row.batch_size, seconds=seconds, forward=False)
    row.validated = result.validated
    row.timed(result.train_samples_per_s)
    steps = Stretches(DRY_IMAGES if dry_run else EPOCH_IMAGES, row.batch_size).longest
    launches = backend.launches(tuple(row.layers), row.batch_size, row.dtype, steps)
    row.launches_per_step = launches / steps if row.kind == "cuda" else None
    notes = [] if result.validated else ["DISAGREES with the reference: the number means nothing"]
    if hasattr(backend, "way_for"):  # cuda-fused: fused, or cuda-tiled's kernels for a network too large
        notes.append(f"way: {backend.way_for(tuple(row.layers), row.batch_size, row.dtype)}")
    if backend.threads > 1:
        notes.append(f"{backend.threads} CPU threads")
    row.note = "; ".join(notes)


def measure_torch(row: Row, mode: str, tf32: bool, seconds: float, timeout: float, device: str) -> None:
    """One PyTorch variant in a subprocess of its own (scripts/torch-gpu.py), within `timeout` seconds."""
    command = [sys.executable, str(TORCH_SCRIPT), "--layers", ",".join(map(str, row.layers)), "--batch-size",
               str(row.batch_size), "--dtype", row.dtype, "--mode", mode, "--seconds", str(seconds),
               "--device", device, "--json", *(["--tf32"] if tf32 else [])]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        row.note = f"not run: did not finish within {timeout:g} s (compiling, most likely)"
        return
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit status {done.returncode}"
        row.note = "not run: PyTorch is not installed" if "No module named 'torch'" in last else f"not run: {last}"
        return
    record = json.loads(done.stdout.strip().splitlines()[-1])
    row.timed(record["train_samples_per_s"])
    row.note = f"warm-up {record['warm_up_seconds']:.1f} s" + ("" if device == "cuda" else f", on {device}")


def run_case(case: Case, seconds: float, budget_ends: float, torch_timeout: float, dry_run: bool,
             report) -> list[Row]:
    rows = []

    def row(name: str, kind: str) -> Row:
        made = Row(case.name, list(case.layers), case.batch_size, case.dtype, name, kind)
        rows.append(made)
        return made

    for name, kind in [*((n, "cuda") for n in cuda_rungs()), *((n, "cpu") for n in CPU_BACKENDS)]:
        if ONLY is None or name in ONLY:
            measure_backend(row(name, kind), seconds, dry_run)
            report(rows[-1])
    for name, mode, tf32 in TORCH_ROWS[case.name]:
        if ONLY is not None and name not in ONLY:
            continue
        torch_row = row(name, "torch")
        left = budget_ends - time.monotonic()
        if mode != "eager" and left < MIN_COMPILE_SECONDS:
            torch_row.note = "not run: the check's time budget is spent"
        else:  # (an eager row always runs: it is the table's unit of PyTorch)
            measure_torch(torch_row, mode, tf32, seconds, min(torch_timeout, max(left, MIN_COMPILE_SECONDS)),
                          "cpu" if dry_run else "cuda")
        report(torch_row)
    add_ratios(rows)
    return rows


def add_ratios(rows: list[Row]) -> None:
    """Each timed row over numba and over PyTorch's eager loop (TF32 off), in the same case."""
    rates = {r.name: r.samples_per_s for r in rows if r.samples_per_s}
    for r in rows:
        if r.samples_per_s:
            for base in ("numba", "torch eager", "cuda-tiled"):
                if rates.get(base) and base != r.name:
                    r.ratios[base] = r.samples_per_s / rates[base]


# ----------------------------------------------------------------------------------------------------------
# The targets, from the rows alone


def targets(rows: list[Row], cases: tuple[Case, ...]) -> list[dict]:
    """Each target: what it asks, the numbers it compares, and whether this run met it (None: not measured)."""
    from neuro.backends.gpu.ops_cuda import choose

    def rate(case: str, name: str) -> float | None:
        return next((r.samples_per_s for r in rows if r.case == case and r.name == name), None)

    def target(text: str, value: float | None, over: float | None, at_least: float | None) -> dict:
        ratio = value / over if value and over else None
        met = None if ratio is None or at_least is None else ratio >= at_least
        return {"target": text, "ratio": ratio, "at_least": at_least, "met": met}

    classic = next((c for c in cases if c.name == "classic"), CASES[0])
    chosen = choose(classic.layers, classic.batch_size, classic.dtype)
    fastest_torch = max((r.samples_per_s for r in rows if r.case == "classic" and r.kind == "torch"
                         and r.samples_per_s), default=None)
    return [
        target(f"classic: `cuda` ({chosen}) at least as fast as numba", rate("classic", chosen),
               rate("classic", "numba"), 1.0),
        target(f"classic: `cuda` ({chosen}) at least as fast as PyTorch's eager loop", rate("classic", chosen),
               rate("classic", "torch eager"), 1.0),
        target(f"classic: `cuda` ({chosen}) against the fastest PyTorch row", rate("classic", chosen),
               fastest_torch, 1.0),
        target("wide: cuda-register-blocked at least twice cuda-tiled", rate("wide", "cuda-register-blocked"),
               rate("wide", "cuda-tiled"), 2.0),
        target("wide: cuda-register-blocked over PyTorch eager, full float32", rate("wide", "cuda-register-blocked"),
               rate("wide", "torch eager"), None),
        target("wide: cuda-register-blocked over PyTorch eager, TF32 allowed", rate("wide", "cuda-register-blocked"),
               rate("wide", "torch eager, TF32"), None),
        target("wide: cuda-register-blocked over torch.compile, full float32", rate("wide", "cuda-register-blocked"),
               rate("wide", "torch.compile"), None),
        target("wide: cuda-register-blocked over torch.compile, TF32 allowed", rate("wide", "cuda-register-blocked"),
               rate("wide", "torch.compile, TF32"), None),
    ]


# ----------------------------------------------------------------------------------------------------------
# Output


def _number(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _launches(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


HEADER = ("network", "batch", "dtype", "row", "samples/s", "µs/step", "launches/step", "vs numba", "vs torch eager",
          "note")


def table_rows(rows: list[Row]) -> list[list[str]]:
    return [["-".join(map(str, r.layers)), str(r.batch_size), r.dtype, r.name, _number(r.samples_per_s),
             _number(r.us_per_step, 1), _launches(r.launches_per_step),
             f"{r.ratios['numba']:.2f}x" if "numba" in r.ratios else "-",
             f"{r.ratios['torch eager']:.2f}x" if "torch eager" in r.ratios else "-", r.note] for r in rows]


def text_table(rows: list[Row]) -> str:
    cells = [list(HEADER), *table_rows(rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADER) - 1)]
    lines = ["  ".join(c[i].rjust(widths[i]) if i in (1, 4, 5, 6, 7, 8) else c[i].ljust(widths[i])
                       for i in range(len(HEADER) - 1)) + "  " + c[-1] for c in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def target_lines(found: list[dict]) -> str:
    words = {True: "met", False: "NOT met", None: "not measured"}
    lines = []
    for t in found:
        ratio = "-" if t["ratio"] is None else f"{t['ratio']:.2f}x"
        verdict = words[t["met"]] if t["at_least"] is not None or t["ratio"] is None else "reported"
        lines.append(f"  {t['target']}: {ratio} ({verdict})")
    return "\n".join(lines)


def machine() -> dict:
    """The GPU (nvidia-smi, else numba-cuda's name), the CPU and the versions that matter."""
    info = {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
            "cpu_cores": os.cpu_count(), "platform": platform.platform()}
    try:
        query = ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]
        info["gpu"] = subprocess.run(query, capture_output=True, text=True, timeout=30).stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        info["gpu"] = None
    from importlib.metadata import PackageNotFoundError, version

    for package in ("numpy", "numba", "numba-cuda", "torch"):
        try:
            info[package] = version(package)
        except PackageNotFoundError:
            info[package] = None
    from neuro.backends import backend_status

    info["cuda_backend"] = backend_status("cuda-tiled").reason
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time spent measuring each row")
    parser.add_argument("--json", dest="json_path", type=Path, default=None, help="write the results here")
    parser.add_argument("--budget", type=float, default=270.0,
                        help="seconds for the whole table; torch.compile rows are skipped once it is spent")
    parser.add_argument("--torch-timeout", type=float, default=90.0, help="seconds for one PyTorch row at most")
    parser.add_argument("--dry-run", action="store_true", help="a tiny network: check the script, measure nothing")
    parser.add_argument("--cases", default="classic,wide", metavar="A,B", help="classic, wide, or both")
    parser.add_argument("--rows", default=None, metavar="A,B",
                        help="only these rows (e.g. cuda-fused,numba,torch eager); default: every row")
    args = parser.parse_args()
    if args.rows:
        global ONLY
        ONLY = {name.strip() for name in args.rows.split(",")}
    if args.json_path is not None and not args.json_path.parent.is_dir():
        sys.exit(f"Error: no folder {args.json_path.parent} for the JSON")
    if args.dry_run:
        import neuro.measure.bench

        for name in (*cuda_rungs(), *CPU_BACKENDS):  # a few images resident, so the simulator's stretches are short
            neuro.measure.bench.RESIDENT_IMAGES[name] = DRY_IMAGES
    started = time.monotonic()
    budget_ends = started + args.budget
    wanted = {name.strip() for name in args.cases.split(",")}
    cases = tuple(c for c in (DRY_CASES if args.dry_run else CASES) if c.name in wanted)
    if not cases:
        sys.exit(f"Error: --cases names none of: {', '.join(c.name for c in CASES)}")

    about = machine()

    def write_json(rows: list[Row], found: list | None) -> None:
        """The JSON of what is measured so far (`complete` once the table is done): a run cut short keeps it."""
        if args.json_path is None:
            return
        record = {"dry_run": args.dry_run, "complete": found is not None,
                  "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  "command": " ".join(["scripts/gpu-check.py", *sys.argv[1:]]), "seconds": args.seconds,
                  "took_seconds": time.monotonic() - started, "machine": about,
                  "rows": [asdict(r) for r in rows], "targets": found or []}
        args.json_path.write_text(json.dumps(record, indent=1) + "\n")

    measured: list[Row] = []

    def report(row: Row) -> None:
        print(f"  {row.case:<8} {row.name:<26} {_number(row.samples_per_s):>12} samples/s  {row.note}", flush=True)
        measured.append(row)
        write_json(measured, None)

    rows = []
    for case in cases:
        print(f"== {case.name}: {'-'.join(map(str, case.layers))}, batch {case.batch_size}, {case.dtype}", flush=True)
        rows += run_case(case, args.seconds, budget_ends, args.torch_timeout, args.dry_run, report)
    found = targets(rows, cases)
    print()
    print(text_table(rows))
    print("\nTargets (issue 17):")
    print(target_lines(found))
    took = time.monotonic() - started
    print(f"\nThe table took {took:.0f} s." + ("  DRY RUN: nothing here is a measurement." if args.dry_run else ""))
    if args.json_path is not None:
        write_json(rows, found)
        print(f"Wrote {args.json_path}")
    if any(r.validated is False for r in rows):
        sys.exit("gpu-check: a backend disagrees with the reference; its timing means nothing")


if __name__ == "__main__":
    main()
