"""Write the GPU check's table into docs/gpu.md: the only way the GPU ladder's numbers get there.

    python scripts/gpu-docs.py gpu-check.json [--output docs/gpu.md] [--allow-dry-run]

Reads the JSON that scripts/gpu-check.py wrote (scripts/gpu-check.sh runs it on a GPU machine) and rewrites the
block between `<!-- generated: gpu-check -->` and `<!-- end: gpu-check -->` of the output file: the machine (GPU,
driver, CPU cores, versions), the date and command, one table of every row, and the issue's targets, each met
or not as that run measured it. A dry run's JSON (tiny sizes, possibly on the simulator) is refused: it measures
nothing. --allow-dry-run writes it anyway, marked as such, for testing this script.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from docs_blocks import BLOCK, fill_blocks

ROOT = Path(__file__).resolve().parent.parent
NAME = "gpu-check"
KINDS = {"cuda": "GPU, neuro", "cpu": "CPU, neuro", "torch": "GPU, PyTorch"}


def _number(value, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _ratio(row: dict, base: str) -> str:
    return f"{row['ratios'][base]:.2f}×" if base in row.get("ratios", {}) else "—"


def machine_line(record: dict) -> str:
    m = record["machine"]
    versions = ", ".join(f"{name} {m[name]}" for name in ("numpy", "numba", "numba-cuda", "torch") if m.get(name))
    gpu = m.get("gpu") or "GPU unknown (no nvidia-smi)"
    return (f"`{record['command']}` on {record['date'][:10]} ({record['date']}), on a machine with **{gpu}** "
            f"and {m.get('cpu_cores')} CPU cores ({m.get('cpu')}); Python {m.get('python')}, {versions}. "
            f"{record['seconds']:g} s per row; the table took {record['took_seconds']:.0f} s.")


def table(rows: list[dict]) -> str:
    lines = ["| network | batch | dtype | row | runs on | samples/s | µs per step | launches per step | vs numba "
             "| vs torch eager | note |", "|---|---:|---|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        launches = "—" if r["launches_per_step"] is None else f"{r['launches_per_step']:.3g}"
        name = f"`{r['name']}`" if r["kind"] != "torch" else r["name"]
        lines.append(f"| {'-'.join(map(str, r['layers']))} | {r['batch_size']} | {r['dtype']} | {name} | "
                     f"{KINDS[r['kind']]} | {_number(r['samples_per_s'])} | {_number(r['us_per_step'], 1)} | "
                     f"{launches} | {_ratio(r, 'numba')} | {_ratio(r, 'torch eager')} | {r['note']} |")
    return "\n".join(lines)


def target_list(found: list[dict]) -> str:
    lines = []
    for t in found:
        ratio = "not measured" if t["ratio"] is None else f"{t['ratio']:.2f}×"
        if t["ratio"] is None:
            verdict = ""
        elif t["at_least"] is None:
            verdict = " (reported)"
        else:
            verdict = f" (at least {t['at_least']:g}×: {'met' if t['met'] else 'not met'})"
        lines.append(f"- {t['target']}: {ratio}{verdict}")
    return "\n".join(lines)


def block(record: dict) -> str:
    parts = []
    if record["dry_run"]:
        parts.append("**DRY RUN: tiny networks, possibly on Numba's simulator. Nothing below is a measurement.**\n")
    if not record.get("complete", True):
        parts.append(f"**Cut short: the run ended after {len(record['rows'])} rows; the others were not measured.**\n")
    parts += [machine_line(record), "", table(record["rows"]), "", "Targets of the GPU ladder, as this run measured "
              "them:", "", target_list(record["targets"])]
    return "\n".join(parts) + "\n"


def rewrite(text: str, body: str) -> str:
    found = [m for m in BLOCK.finditer(text) if m["name"].strip() == NAME]
    if len(found) != 1:
        raise ValueError(f"expected one <!-- generated: {NAME} --> block, found {len(found)}")
    return fill_blocks(text, lambda name: body.removesuffix("\n") if name == NAME else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json_path", type=Path, help="what scripts/gpu-check.py --json wrote")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "gpu.md")
    parser.add_argument("--allow-dry-run", action="store_true", help="write a dry run's JSON too (for testing)")
    args = parser.parse_args()
    try:
        record = json.loads(args.json_path.read_text())
        if record["dry_run"] and not args.allow_dry_run:
            raise ValueError("it is a dry run (--dry-run), which measures nothing; run scripts/gpu-check.sh on a GPU")
        text = rewrite(args.output.read_text(), block(record))
    except (OSError, ValueError, KeyError, TypeError) as error:
        detail = f"missing field {error}" if isinstance(error, KeyError) else str(error)
        sys.exit(f"Error: cannot write {args.output} from {args.json_path}: {detail}")
    # nothing half-written: the whole file goes to a temporary one beside it, which then replaces it
    handle, temporary = tempfile.mkstemp(dir=args.output.parent, prefix=".gpu-docs-")
    with os.fdopen(handle, "w") as out:
        out.write(text)
    os.chmod(temporary, args.output.stat().st_mode)  # (mkstemp makes it private; keep the file's own mode)
    os.replace(temporary, args.output)
    print(f"Wrote the {NAME} block of {args.output}")


if __name__ == "__main__":
    main()
