"""The evidence blocks of docs/ladder.md, written from `neuro explain RUNG --json` and `neuro ladder --ablate --json`
(used by scripts/ladder-docs.py): no lane, width or instruction count in the docs is typed by hand."""

from __future__ import annotations

COMPILED_RUNGS = ("numba-loops", "numba-reorder", "numba-blocks", "numba-tiles", "numba-team")


def evidence_lines(report: dict) -> list[str]:
    """One line per function of a rung: what its hottest loop does in the machine code of this machine."""
    lines = []
    for entry in report["machine_code"]:
        hot = entry["hottest_loop"]
        if hot is None:
            continue
        per = hot["instructions_per_multiply_add"]
        lines.append(f"- `{report['rung']}` `{entry['function']}`: {hot['register']} registers ({hot['vector_width']} "
                     f"bits), {hot['fma_packed']} packed and {hot['fma_scalar']} scalar FMAs, {hot['adds_scalar']} "
                     f"scalar adds, {hot['multiply_adds']} multiply-adds in {hot['instructions']} instructions "
                     f"({per:.2f} per multiply-add); exp: {entry['whole_function']['exp']}")
    return lines


def evidence_block(reports: list[dict], stamp: str) -> str:
    lines = [line for report in reports for line in evidence_lines(report)]
    return "\n".join(lines + ["", f"{stamp} Made by `neuro explain RUNG --json` for each compiled rung (float64)."])


def ablation_block(ablation: list[dict], stamp: str, command: str) -> str:
    lines = ["| rung | idea taken out | dtype | with (samples/s) | without | gain |", "|---|---|---|---:|---:|---:|"]
    for row in ablation:
        if row["gain"] is None:
            lines.append(f"| `{row['rung']}` | {row['idea']} | {row['dtype']} | - | - | not timed |")
            continue
        lines.append(f"| `{row['rung']}` | {row['idea']} | {row['dtype']} | {row['samples_per_s_with']:,.0f} | "
                     f"{row['samples_per_s_without']:,.0f} | {row['gain']:.2f}x |")
    return "\n".join(lines + ["", f"A gain below 1: the idea costs more than it saves in this case, on this machine. "
                                  f"{stamp} Made by `{command}`."])
