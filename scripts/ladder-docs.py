"""Measure the ladder and write its numbers into docs/ladder.md, README.md and docs/tutorial.md: the only way those
numbers change.

    python scripts/ladder-docs.py [--runs 3] [--seconds 1] [--torch PYTHON] [--jax PYTHON] [--check | --evidence]

Runs `neuro machine --json` (the machine line and the peak block), then, in turn on this machine, `--runs` times:
`neuro ladder --json` on the classic network (784-16-16-10, batch 10, float64 and float32; the first run also draws
docs/images/ladder.png), on the wide one (784-1024-1024-10, batch 256, float32, the rungs around BLAS), and with
--torch and --jax, scripts/torch-cpu.py and scripts/jax-cpu.py on both networks under those Pythons (environments
with PyTorch and JAX: neuro never depends on them). Taken in turn, a change of the shared machine's speed touches
the ladder and the frameworks alike, and each framework's figure is the median of its runs as the ladder's are.
Then once more the classic network with one core kept busy by a plain Python loop; and scripts/gemm-shapes.py, the
wide step's matrix products through NumPy's BLAS with the kernel it chose and with OpenBLAS's AVX2 (Haswell)
kernels, quiet and with one core busy (with --torch, through PyTorch's BLAS too).
Each rate, GFLOP/s and peak in a table is the median of the runs, and each ratio (the gains, the share of the
peak) the ratio of the medians shown beside it. The roofline (docs/images/roofline.png) draws those medians, both
networks, under the roofs `neuro machine` measured. Then it rewrites every block between `<!-- generated: NAME -->` and
`<!-- end: NAME -->` in the two files, the code excerpts (`code: module.function`) included, and says which rungs
gain less than RUNG_GAIN over the rung they build on, in the case each is for. With --check, it only checks that
the code excerpts match the code (no measurement) and exits non-zero if one does not. With --evidence, it rewrites
only the code excerpts and the evidence beside each rung (`neuro explain RUNG --json` for the compiled CPU rungs and
the GPU rungs' PTX: compiled, not timed, so seconds to a minute, and it leaves every measured number as it is).
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from docs_blocks import fill_blocks, this_machine
from evidence_blocks import COMPILED_RUNGS, GPU_RUNGS, ablation_blocks, compiled_stamp, evidence_blocks
from framework_tables import gain, jax_json, jax_table, median_results, rate, torch_json, torch_table
from ladder_limits import draw_roofline, flops, peak_block, percent, ratios_of_medians

import neuro.sizes

ROOT = Path(__file__).resolve().parent.parent
FILES = [ROOT / "docs" / "ladder.md", ROOT / "README.md", ROOT / "docs" / "tutorial.md"]
PLOT = ROOT / "docs" / "images" / "ladder.png"
OTHER_SCRIPTS_BLOCKS = ("race-screenshot", "serve-screenshot", "readme-drift", "tutorial-machine", "run:")
"""Blocks of FILES (names, or the start of names) that other scripts write: serve-screenshot.py, tutorial-docs.py."""
NEURO = [sys.executable, "-c", "from neuro.cli.main import main; main()"]
CLASSIC, WIDE = (",".join(map(str, sizes)) for sizes in (neuro.sizes.CLASSIC, neuro.sizes.WIDE))
WIDE_RUNGS = "numpy,numba-tiles,numba-team,numba-blas"
RUNG_GAIN = 1.2


def neuro_json(*args: str, env: dict | None = None) -> dict:
    print("$ neuro", " ".join(args), flush=True)
    output = subprocess.run([*NEURO, *args, "--json"], capture_output=True, text=True, check=True, env=env).stdout
    return json.loads(output.strip().splitlines()[-1])


def ladders(runs: int, seconds: float, layers: str, batch: int, dtypes: str, names: str | None,
            plot: Path | None = None) -> list[dict]:
    """`runs` ladders back to back; the first also draws `plot`."""
    args = ["ladder", "--layers", layers, "--batch-size", str(batch), "--dtype", dtypes, "--seconds", str(seconds),
            *(["--backends", names] if names else [])]
    return [neuro_json(*args, *(["--plot", str(plot)] if plot and run == 0 else [])) for run in range(runs)]


def barrier_ns() -> float:
    """What two threads of numba-team take to meet at a barrier now (see backends/spin_barrier.barrier_seconds)."""
    code = "from neuro.backends.cpu.spin_barrier import barrier_seconds; print(barrier_seconds() * 1e9)"
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def loaded_ladder(seconds: float) -> dict:
    """The team rungs on the classic network while another process keeps one core busy."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        return neuro_json("ladder", "--backends", "numba-tiles,numba-team,numba", "--seconds", str(seconds))
    finally:
        busy.kill()


def medians(runs: list[dict]) -> dict[tuple[str, str], dict]:
    """(backend, dtype) -> the row of the first run, with the median (and range) of every number over the runs."""
    rows: dict[tuple[str, str], dict] = {}
    for run in runs:
        for row in run["rungs"]:
            rows.setdefault((row["backend"], row["dtype"]), {**row, "runs": []})["runs"].append(row)
    for row in rows.values():
        for key in ("train_samples_per_s", "single_thread_samples_per_s", "vs_previous", "vs_python", "gflops",
                    "peak_gflops"):
            values = [r.get(key) for r in row["runs"] if r.get(key) is not None]
            row[key] = statistics.median(values) if values else None
            row[f"{key}_range"] = (min(values), max(values)) if values else None
    ratios_of_medians(rows)
    return rows


def ladder_table(rows: dict, dtypes: list[str]) -> str:
    """The ladder as Markdown: a line per rung, the dtypes side by side."""
    names = list(dict.fromkeys(name for name, _ in rows))
    head = "| # | rung | builds on | " + " | ".join(
        f"{d} train/s | 1 thread | GFLOP/s | of peak | vs the rung it builds on | vs python" for d in dtypes) + " |"
    lines = [head, "|---:|---|---|" + "---:|---:|---:|---:|---:|---:|" * len(dtypes)]
    for name in names:
        first = next(row for (n, _), row in rows.items() if n == name)
        cells = [str(first["rung"]), f"`{name}`", f"`{first['builds_on']}`" if first["builds_on"] else "—"]
        for dtype in dtypes:
            row = rows.get((name, dtype)) or (rows.get((name, "float64")) if name == "python" else None)
            if row is None or not row["timed"]:
                why = "computes in float64 only" if name == "python" else (first["why_not"] or "not run")
                cells += ([f"not timed: {why}"] if dtype == dtypes[0] else ["—"]) + [""] * 5
                continue
            cells += [rate(row["train_samples_per_s"]), rate(row["single_thread_samples_per_s"]),
                      flops(row.get("gflops")), percent(row.get("percent_of_peak")), gain(row["vs_previous"]),
                      gain(row["vs_python"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def spread_table(rows: dict) -> str:
    lines = ["| rung | dtype | slowest and fastest of the runs, train/s | gain over the rung it builds on, per run |",
             "|---|---|---:|---:|"]
    for (name, dtype), row in rows.items():
        if row["timed"]:
            low, high = row["train_samples_per_s_range"]
            gains = row["vs_previous_range"]
            lines.append(f"| `{name}` | {dtype} | {low:,.0f} – {high:,.0f} | "
                         + (f"{gains[0]:.2f} – {gains[1]:.2f}" if gains else "—") + " |")
    return "\n".join(lines)


def rule_table(classic: dict, wide: dict) -> tuple[str, list[str]]:
    """Each rung's gain over the rung it builds on in the case it is for, and the rungs below RUNG_GAIN."""
    lines = ["| rung | builds on | its case | float64 | float32 | at least " + f"{RUNG_GAIN}×? |",
             "|---|---|---|---:|---:|---|"]
    short = []
    for name in dict.fromkeys(n for n, _ in classic):
        first = classic.get((name, "float64")) or classic.get((name, "float32"))
        if not first["builds_on"] or not first["timed"]:
            continue
        case = first["case"]
        source = wide if case["layers"] == list(neuro.sizes.WIDE) else classic
        gains = {d: (source.get((name, d)) or {}).get("vs_previous") for d in ("float64", "float32")}
        best = max((g for g in gains.values() if g is not None), default=None)
        ok = best is not None and best >= RUNG_GAIN
        if not ok:
            short.append(name)
        lines.append(f"| `{name}` | `{first['builds_on']}` | {'-'.join(map(str, case['layers']))}, batch "
                     f"{case['batch_size']} | {gain(gains['float64'])} | {gain(gains['float32'])} | "
                     f"{'yes' if ok else 'NO'} |")
    return "\n".join(lines), short


BLAS_SETTINGS = (("as set here", None, False, None), ("one core busy", None, True, None),
                 ("one thread", None, False, "1"), ("Haswell", "Haswell", False, None),
                 ("Haswell, one core busy", "Haswell", True, None), ("Haswell, one thread", "Haswell", False, "1"))
"""(label, OPENBLAS_CORETYPE, one core kept busy?, threads) of each run of scripts/gemm-shapes.py; with --torch,
the same products through PyTorch's BLAS follow, on its threads and on one (OMP_NUM_THREADS)."""
TORCH_SETTINGS = (("PyTorch", "torch", False, None), ("PyTorch, one thread", "torch", False, "1"))


def blas_kernels(torch: str | None) -> list[tuple[str, dict]]:
    """(label, scripts/gemm-shapes.py --json) in each of BLAS_SETTINGS (the Haswell ones with OPENBLAS_L2_SIZE unset
    too), and in TORCH_SETTINGS under the Python `torch`, if given."""
    runs = []
    for label, core, busy, threads in BLAS_SETTINGS + (TORCH_SETTINGS if torch else ()):
        env = dict(os.environ)
        if core == "Haswell":
            env.pop("OPENBLAS_L2_SIZE", None)
            env["OPENBLAS_CORETYPE"] = core
        if threads:
            env["OPENBLAS_NUM_THREADS" if core != "torch" else "OMP_NUM_THREADS"] = threads
        options = [*(["--busy"] if busy else []), *(["--torch"] if core == "torch" else []), "--json"]
        command = [torch if core == "torch" else sys.executable, str(ROOT / "scripts" / "gemm-shapes.py"), *options]
        print("$", "scripts/gemm-shapes.py", *options, f"(OPENBLAS_CORETYPE={core})" if core == "Haswell" else "",
              f"({threads} thread)" if threads else "", flush=True)
        runs.append((label, json.loads(subprocess.run(command, capture_output=True, text=True, check=True, env=env)
                                       .stdout.splitlines()[-1])))
    return runs


def blas_table(runs: list[tuple[str, dict]]) -> str:
    """GFLOP/s of each product of a wide step in each setting, with the kernel OpenBLAS ran (or PyTorch's BLAS)."""
    heads = [f"{label} ({run['blas']['core']}, {run['blas']['threads']} thr.)" for label, run in runs]
    lines = ["| product (batch 256), GFLOP/s | dtype | " + " | ".join(heads) + " |",
             "|---|---|" + "---:|" * len(runs)]
    for i, row in enumerate(runs[0][1]["results"]):
        lines.append(f"| {row['product']} | {row['dtype']} | "
                     + " | ".join(f"{run['results'][i]['gflop_per_s']:,.1f}" for _, run in runs) + " |")
    libraries = "; ".join(dict.fromkeys(f"`{run['blas']['config']}`" for _, run in runs))
    return "\n".join(lines) + (f"\n\nBLAS {libraries}; measured on "
                               f"{datetime.date.today().isoformat()} on {this_machine()}, load average "
                               f"{os.getloadavg()[0]:.2f} after the runs.")


def loaded_table(quiet: dict, loaded: dict) -> str:
    lines = ["| rung | dtype | quiet | quiet, 1 thread | one core busy | one core busy, 1 thread | busy / busy, 1 "
             "thread |", "|---|---|---:|---:|---:|---:|---:|"]
    for row in loaded["rungs"]:
        if row["backend"] == "numba-tiles" or not row["timed"]:
            continue
        calm = quiet.get((row["backend"], row["dtype"]), {})
        ratio = row["train_samples_per_s"] / row["single_thread_samples_per_s"] if row[
            "single_thread_samples_per_s"] else None
        lines.append(f"| `{row['backend']}` | {row['dtype']} | {rate(calm.get('train_samples_per_s'))} | "
                     f"{rate(calm.get('single_thread_samples_per_s'))} | {rate(row['train_samples_per_s'])} | "
                     f"{rate(row['single_thread_samples_per_s'])} | {gain(ratio)} |")
    return "\n".join(lines)


def rung_gains(classic: dict, wide: dict) -> dict[str, str]:
    """`gain: NAME` blocks: one sentence per rung, its gains over the rung it builds on, in its case."""
    blocks = {}
    for name in dict.fromkeys(n for n, _ in classic):
        first = classic.get((name, "float64")) or classic.get((name, "float32"))
        source = wide if first["case"]["layers"] == list(neuro.sizes.WIDE) else classic
        parts = []
        for dtype in ("float64", "float32"):
            row = source.get((name, dtype))
            if row and row["timed"] and row["vs_previous"] is not None:
                parts.append(f"{gain(row['vs_previous'])} in {dtype} ({rate(row['train_samples_per_s'])} samples/s)")
        case = first["case"]
        where = f"{'-'.join(map(str, case['layers']))} at batch {case['batch_size']}"
        blocks[f"gain: {name}"] = (f"Measured: {' and '.join(parts)} over `{first['builds_on']}`, on {where} "
                                   f"(median of the runs, [below](#measured))." if parts and first["builds_on"]
                                   else "Not measured here.")
    return blocks


def code_excerpt(spec: str) -> str:
    """`module.function` (a module of backends/): that function's source, as it is in the file."""
    module, _, function = spec.strip().rpartition(".")
    source = (ROOT / "backends" / f"{module}.py").read_text()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            body = "\n".join(source.splitlines()[first - 1 : node.end_lineno])
            return f"```python\n{body}\n```"
    raise SystemExit(f"ladder-docs: no function {function} in backends/{module}.py")


def evidence_reports() -> list[dict]:
    return [neuro_json("explain", rung) for rung in (*COMPILED_RUNGS, *GPU_RUNGS)]


def machine(barriers: list[float], measured: dict) -> str:
    meet = (f"; two threads of a team met at a barrier in {barriers[0]:,.0f} ns before the ladder's runs and "
            f"{barriers[1]:,.0f} ns after them")
    sets = ", ".join(name for name, present in measured["instruction_sets"].items() if present) or "no vector set"
    return (f"Measured on {datetime.date.today().isoformat()} on {this_machine()} (LLVM sees {measured['llvm_cpu']}: "
            f"{sets}; widest vectors {measured['vector_bits']} bits){meet}.")


def rewrite(blocks: dict[str, str], check: bool, complete: bool = False) -> bool:
    """Fill every generated block of FILES (code excerpts always, the others when `blocks` has them). With
    `complete` (a full run), a block that `blocks` has no body for is an error, found before any file is written:
    it would keep an old run's text."""
    unknown, new_texts = [], {}
    for path in FILES:

        def body_for(name: str, path: Path = path) -> str | None:
            if name.startswith("code:"):
                return code_excerpt(name[len("code:"):])
            if name not in blocks and not name.startswith(OTHER_SCRIPTS_BLOCKS):
                unknown.append(f"{path.relative_to(ROOT)}: {name}")
            return blocks.get(name)

        text = path.read_text()
        new_texts[path] = (text, fill_blocks(text, body_for))
    if complete and unknown:
        raise SystemExit(f"ladder-docs: no run makes these blocks (renamed or removed?): {', '.join(unknown)}")
    stale = False
    for path, (text, new) in new_texts.items():
        if new != text:
            stale = True
            if not check:
                path.write_text(new)
                print(f"wrote {path.relative_to(ROOT)}")
    return stale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--torch", metavar="PYTHON", help="a Python with PyTorch, for scripts/torch-cpu.py")
    parser.add_argument("--jax", metavar="PYTHON", help="a Python with JAX, for scripts/jax-cpu.py")
    parser.add_argument("--check", action="store_true", help="only check the code excerpts against the code")
    parser.add_argument("--evidence", action="store_true",
                        help="only rewrite the code excerpts and each rung's evidence (compiled here, not timed)")
    args = parser.parse_args()
    if args.evidence:
        rewrite(evidence_blocks(evidence_reports(), compiled_stamp()), check=False)
        return
    if args.check:
        if rewrite({}, check=True):
            raise SystemExit("ladder-docs: a code excerpt in the docs differs from the code; run the script")
        return
    measured = neuro_json("machine")
    barriers = [barrier_ns()]
    classic_runs, wide_runs, torch_runs, jax_runs = [], [], [], []
    for run in range(args.runs):  # in turn, so that a change of the machine's speed touches every figure alike
        classic_runs += ladders(1, args.seconds, CLASSIC, 10, "float64,float32", None, plot=PLOT if run == 0 else None)
        wide_runs += ladders(1, args.seconds, WIDE, 256, "float32", WIDE_RUNGS)
        torch_runs += [torch_json(args.torch)] if args.torch else []
        jax_runs += [jax_json(args.jax)] if args.jax else []
    barriers.append(barrier_ns())
    loaded = loaded_ladder(args.seconds)
    torch, jax = median_results(torch_runs), median_results(jax_runs)
    kernels = blas_kernels(args.torch)
    reports = evidence_reports()
    ablated = ["numba-blocks", "numba-tiles", "numba-team"]
    ablate_args = ["ladder", "--backends", ",".join(ablated), "--seconds", str(args.seconds), "--ablate"]
    ablation = neuro_json(*ablate_args)["ablation"]
    blas_ablate_args = ["ladder", "--backends", "numba-blas", "--layers", WIDE, "--batch-size", "256", "--dtype",
                        "float32", "--seconds", str(args.seconds), "--ablate"]
    blas_ablation = neuro_json(*blas_ablate_args)["ablation"]
    classic, wide = medians(classic_runs), medians(wide_runs)
    rules, short = rule_table(classic, wide)
    stamp = machine(barriers, measured)
    draw_roofline(measured, classic, wide)
    frameworks = " and ".join(name for name, given in (("PyTorch", args.torch), ("JAX", args.jax)) if given)
    commands = (f"`python scripts/ladder-docs.py --runs {args.runs} --seconds {args.seconds:g}"
                f"{' --torch PYTHON' if args.torch else ''}"
                f"{' --jax PYTHON' if args.jax else ''}`, which runs `neuro ladder --json` {args.runs} times on "
                f"the classic network (both dtypes) and {args.runs} times with `--layers {WIDE} --batch-size 256 "
                f"--dtype float32 --backends {WIDE_RUNGS}`, "
                f"{f'each pair followed by {frameworks} on both networks, ' if frameworks else ''}"
                "in turn; each number is the median of those runs.")
    blocks = {
        "machine": f"{stamp} Made by {commands}",
        "peaks": peak_block(measured),
        "roofline": f"![The roofline: each rung under this machine's roofs](images/roofline.png)\n\n{stamp}",
        "ladder-classic": ladder_table(classic, ["float64", "float32"]),
        "ladder-wide": ladder_table(wide, ["float32"]),
        "spread": spread_table(classic) + "\n\n" + spread_table(wide),
        "rule": rules,
        "torch": torch_table(classic, wide, torch),
        "jax": jax_table(classic, wide, jax),
        "blas-kernels": blas_table(kernels),
        "loaded": loaded_table(classic, loaded),
        "readme-ladder": ladder_table(classic, ["float64", "float32"]) + f"\n\n{stamp} Made by {commands}",
        **rung_gains(classic, wide),
        **evidence_blocks(reports, stamp),
        **ablation_blocks(ablation, ablated, stamp, "neuro " + " ".join(ablate_args) + " --json"),
        **ablation_blocks(blas_ablation, ["numba-blas"], stamp, "neuro " + " ".join(blas_ablate_args) + " --json"),
    }
    rewrite(blocks, check=False, complete=True)
    if short:
        print(f"ladder-docs: gaining less than {RUNG_GAIN}x over the rung they build on, in their case: "
              f"{', '.join(short)}")


if __name__ == "__main__":
    main()
