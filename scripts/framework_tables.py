"""The ladder's docs beside other frameworks: `numba` against PyTorch's and JAX's own runs of the same network, and
the number formats every table uses (imported by scripts/ladder-docs.py, as ladder_limits is)."""

from __future__ import annotations

import json
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
             "cost and plain SGD (scripts/torch-cpu.py), in the same minutes:", "",
             "| network, batch | dtype | PyTorch train/s | `numba` train/s | `numba` / PyTorch | `numba` / `numpy` |",
             "|---|---|---:|---:|---:|---:|"]
    for layers, batch, dtype, numba, theirs in beside_numba(classic, wide, torch):
        numpy = (classic if batch == 10 else wide).get(("numpy", dtype))
        ours = numba["train_samples_per_s"]
        vs_numpy = gain(ours / numpy["train_samples_per_s"]) if numpy else "—"
        lines.append(f"| {'-'.join(map(str, layers))}, {batch} | {dtype} | {theirs:,.0f} | {ours:,.0f} | "
                     f"{gain(ours / theirs)} | {vs_numpy} |")
    return "\n".join(lines)


def jax_json(python: str) -> dict:
    """scripts/jax-cpu.py under `python`: the classic network in both dtypes, the wide one in float32."""
    script = str(ROOT / "scripts" / "jax-cpu.py")
    print("$", python, "scripts/jax-cpu.py --json", flush=True)
    runs = [json.loads(subprocess.run([python, script, *case, "--json"], capture_output=True, text=True, check=True)
                       .stdout.splitlines()[-1])
            for case in (["--layers", CLASSIC, "--batch-size", "10"],
                         ["--layers", WIDE, "--batch-size", "256", "--dtype", "float32", "--scan-steps", "20"])]
    return {**runs[0], "results": runs[0]["results"] + runs[1]["results"]}


def jax_table(classic: dict, wide: dict, jax: dict | None) -> str:
    if jax is None:
        return "(JAX was not measured in this run: `--jax PYTHON` was not given.)"
    lines = [f"JAX {jax['jax']} on the CPU ({jax['threads']} cores), each epoch one jitted `lax.scan` of the same "
             "steps (scripts/jax-cpu.py; 20 mini-batches a call on the wide network), in the same minutes:", "",
             "| network, batch | dtype | JAX train/s | `numba` train/s | `numba` / JAX |", "|---|---|---:|---:|---:|"]
    for layers, batch, dtype, numba, theirs in beside_numba(classic, wide, jax):
        ours = numba["train_samples_per_s"]
        lines.append(f"| {'-'.join(map(str, layers))}, {batch} | {dtype} | {theirs:,.0f} | {ours:,.0f} | "
                     f"{gain(ours / theirs)} |")
    return "\n".join(lines)
