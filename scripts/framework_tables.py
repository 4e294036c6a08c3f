"""The ladder's docs beside other frameworks: `numba` against PyTorch's and JAX's own runs of the same network, and
the number formats every table uses (imported by scripts/ladder-docs.py, as ladder_limits is)."""

from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path

import neuro.sizes

ROOT = Path(__file__).resolve().parent.parent
CLASSIC, WIDE = (",".join(map(str, sizes)) for sizes in (neuro.sizes.CLASSIC, neuro.sizes.WIDE))


def rate(value) -> str:
    return "—" if value is None else f"{value:,.0f}"


def gain(value) -> str:
    return "—" if value is None else f"{value:,.1f}×" if value < 100 else f"{value:,.0f}×"


def beside_numba(classic: dict, wide: dict, other: dict):
    """(layers, batch, dtype, numba-blas's row, the other framework's train/s) for each case both measured: the
    classic network at batch 10 and the wide one at batch 256, in each dtype."""
    by = {(tuple(r["layers"]), r["batch_size"], r["dtype"]): r["train_samples_per_s"] for r in other["results"]}
    for rows, layers, batch in ((classic, neuro.sizes.CLASSIC, 10), (wide, neuro.sizes.WIDE, 256)):
        for dtype in ("float64", "float32"):
            numba, theirs = rows.get(("numba-blas", dtype)), by.get((layers, batch, dtype))
            if numba is not None and theirs is not None:
                yield layers, batch, dtype, numba, theirs


def torch_table(classic: dict, wide: dict, torch: dict | None) -> str:
    if torch is None:
        return "(PyTorch was not measured in this run: `--torch PYTHON` was not given.)"
    lines = [f"PyTorch {torch['torch']} on the CPU ({torch['threads']} threads), an eager loop of the same network, "
             f"cost and plain SGD (scripts/torch-cpu.py); {measured_how(torch)}:", "",
             "| network, batch | dtype | PyTorch train/s | `numba` train/s | `numba` / PyTorch | `numba` / `numpy` |",
             "|---|---|---:|---:|---:|---:|"]
    for layers, batch, dtype, numba, theirs in beside_numba(classic, wide, torch):
        numpy = (classic if batch == 10 else wide).get(("numpy", dtype))
        ours = numba["train_samples_per_s"]
        vs_numpy = gain(ours / numpy["train_samples_per_s"]) if numpy else "—"
        lines.append(f"| {'-'.join(map(str, layers))}, {batch} | {dtype} | {theirs:,.0f} | {ours:,.0f} | "
                     f"{gain(ours / theirs)} | {vs_numpy} |")
    return "\n".join(lines)


def framework_json(python: str, script: str, cases: list[list[str]]) -> dict:
    """One run of `script` (scripts/torch-cpu.py or jax-cpu.py) under `python`, a call per case, as one result."""
    print("$", python, f"scripts/{script} --json", flush=True)
    runs = [json.loads(subprocess.run([python, str(ROOT / "scripts" / script), *case, "--json"], capture_output=True,
                                      text=True, check=True).stdout.splitlines()[-1])
            for case in cases]
    return {**runs[0], "results": [result for run in runs for result in run["results"]]}


def torch_json(python: str) -> dict:
    """scripts/torch-cpu.py under `python`: the classic network in both dtypes, the wide one in float32."""
    return framework_json(python, "torch-cpu.py", [["--layers", CLASSIC, "--batch-size", "10"],
                                                   ["--layers", WIDE, "--batch-size", "256", "--dtype", "float32"]])


def jax_json(python: str) -> dict:
    """scripts/jax-cpu.py under `python`: the classic network in both dtypes, the wide one in float32."""
    return framework_json(python, "jax-cpu.py", [["--layers", CLASSIC, "--batch-size", "10"],
                                                 ["--layers", WIDE, "--batch-size", "256", "--dtype", "float32",
                                                  "--scan-steps", "20"]])


def median_results(runs: list[dict]) -> dict | None:
    """The first run, each case's train/s the median over `runs` (None when there are none): the framework's
    figure beside the ladder's medians, its runs taken in turn with the ladder's."""
    if not runs:
        return None
    by_case: dict[tuple, list[float]] = {}
    for run in runs:
        for r in run["results"]:
            by_case.setdefault((tuple(r["layers"]), r["batch_size"], r["dtype"]), []).append(r["train_samples_per_s"])
    results = [{"layers": list(layers), "batch_size": batch, "dtype": dtype,
                "train_samples_per_s": statistics.median(rates)} for (layers, batch, dtype), rates in by_case.items()]
    return {**runs[0], "results": results, "runs": len(runs)}


def measured_how(other: dict) -> str:
    runs = other.get("runs", 1)
    return (f"the median of {runs} runs, each right after a run of the ladder" if runs > 1
            else "one run, right after the ladder's")


def jax_table(classic: dict, wide: dict, jax: dict | None) -> str:
    if jax is None:
        return "(JAX was not measured in this run: `--jax PYTHON` was not given.)"
    lines = [f"JAX {jax['jax']} on the CPU ({jax['threads']} cores), each epoch one jitted `lax.scan` of the same "
             f"steps (scripts/jax-cpu.py; 20 mini-batches a call on the wide network); {measured_how(jax)}:", "",
             "| network, batch | dtype | JAX train/s | `numba` train/s | `numba` / JAX |", "|---|---|---:|---:|---:|"]
    for layers, batch, dtype, numba, theirs in beside_numba(classic, wide, jax):
        ours = numba["train_samples_per_s"]
        lines.append(f"| {'-'.join(map(str, layers))}, {batch} | {dtype} | {theirs:,.0f} | {ours:,.0f} | "
                     f"{gain(ours / theirs)} |")
    return "\n".join(lines)
