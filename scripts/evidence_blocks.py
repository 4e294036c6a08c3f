"""The evidence blocks of docs/ladder.md, one beside each rung's explanation, written from `neuro explain RUNG --json`
and `neuro ladder --ablate --json` (used by scripts/ladder-docs.py): no lane, width or instruction count in the docs
is typed by hand, and each block names the machine (or, for PTX, the compute capability) its facts are about.

    evidence: RUNG   what the machine code (a CPU rung) or the PTX (a GPU rung) of the rung does
    ablation: RUNG   the rung with each of its ideas taken out in turn, timed in the same run
"""

from __future__ import annotations

import datetime

from docs_blocks import this_machine

from neuro.cli.explain import loop_summary, ptx_summary

COMPILED_RUNGS = ("numba-loops", "numba-reorder", "numba-blocks", "numba-tiles", "numba-team")
GPU_RUNGS = ("cuda-naive", "cuda-tiled", "cuda-fused", "cuda-register-blocked")
DTYPE = "float64"
"""The dtype the evidence is compiled for (`neuro explain`'s default)."""


def compiled_stamp() -> str:
    """The machine line of a block that was compiled here, not timed."""
    from neuro.measure.machine import host

    described = host()
    sets = ", ".join(name for name, present in described["instruction_sets"].items() if present) or "no vector set"
    return (f"Compiled on {datetime.date.today().isoformat()} on {this_machine()} (LLVM sees {described['llvm_cpu']}: "
            f"{sets}; widest vectors {described['vector_bits']} bits).")


def evidence_lines(report: dict) -> list[str]:
    """One line per function (a CPU rung) or kernel (a GPU rung): what its hottest loop does."""
    lines = []
    for entry in report.get("machine_code", []):
        hot = entry["hottest_loop"]
        if hot is not None:
            lines.append(f"- `{entry['function']}`, loop `{entry['loop']}`: {loop_summary(hot, DTYPE)}; exp: "
                         f"{entry['whole_function']['exp']}")
    for entry in report.get("ptx", {}).get("kernels", []):
        hot = entry["hottest_loop"]
        if hot is not None:
            lines.append(f"- `{entry['kernel']}`, loop `{entry['loop']}`: {ptx_summary(hot)}, "
                         f"{entry.get('bar_sync_around', 0)} bar.sync in the loop around it; shared memory "
                         f"{entry['shared_bytes']:,} bytes")
    return lines


def rung_evidence_block(report: dict, stamp: str) -> str:
    """The evidence beside one rung's section: its lines, then where they come from."""
    rung = report["rung"]
    if report.get("ptx", {}).get("kernels"):
        where = (f"Read from the PTX of each kernel `{rung}` defines, compiled by numba-cuda for compute capability "
                 f"{report['ptx']['cc']} in {DTYPE} (no GPU needed) on the machine named next: facts of the code, "
                 f"not of a run (PTX does not show the hardware registers ptxas assigns, nor the occupancy). Made by "
                 f"`neuro explain {rung} --json`.")
    elif report.get("machine_code"):
        where = (f"Read from the machine code Numba compiled for `{rung}` ({DTYPE}), the hottest loop of each function "
                 f"it defines, on the machine named next; another CPU gets other registers and counts. Made by "
                 f"`neuro explain {rung} --json`.")
    else:
        return f"No facts read for `{rung}`: {report.get('machine_note') or 'nothing compiled'}. {stamp}"
    lines = evidence_lines(report) or ["- (no loop with floating-point arithmetic)"]
    return "\n".join(["Evidence:", "", *lines, "", f"{where} {stamp}"])


def ablation_rows(ablation: list[dict], rung: str) -> list[dict]:
    return [row for row in ablation if row["rung"] == rung]


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


def evidence_blocks(reports: list[dict], stamp: str) -> dict[str, str]:
    """{"evidence: RUNG": block} for every report."""
    return {f"evidence: {report['rung']}": rung_evidence_block(report, stamp) for report in reports}


def ablation_blocks(ablation: list[dict], rungs: list[str], stamp: str, command: str) -> dict[str, str]:
    """{"ablation: RUNG": the table of that rung's ideas} for every rung ablated."""
    return {f"ablation: {rung}": ablation_block(ablation_rows(ablation, rung), stamp, command) for rung in rungs}
