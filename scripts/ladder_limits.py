"""The machine's limits in the ladder's docs: the peak block, the roofline, GFLOP/s and the share of the peak, and the
ratios of the medians (imported by scripts/ladder-docs.py, as docs_blocks is)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROOFLINE = ROOT / "docs" / "images" / "roofline.png"


def ratios_of_medians(rows: dict[tuple[str, str], dict]) -> None:
    """Each row's gains and share of the peak as the ratios of the medians the tables show beside them (a median of
    per-run ratios could rank a slower rung above a faster one)."""
    rates = {key: row["train_samples_per_s"] for key, row in rows.items() if row["timed"]}
    python = rates.get(("python", "float64"))
    for (_name, dtype), row in rows.items():
        if not row["timed"]:
            continue
        before = rates.get((row["builds_on"], dtype)) or (python if row["builds_on"] == "python" else None)
        row["vs_previous"] = row["train_samples_per_s"] / before if before else None
        row["vs_python"] = row["train_samples_per_s"] / python if python else None
        row["percent_of_peak"] = 100 * row["gflops"] / row["peak_gflops"] if row.get("peak_gflops") else None


def flops(value) -> str:
    return "—" if value is None else f"{value:,.2f}" if value < 10 else f"{value:,.1f}"


def percent(value) -> str:
    return "—" if value is None else f"{value:.2g}%" if value < 10 else f"{value:.0f}%"


def peak_block(measured: dict) -> str:
    """`neuro machine`'s lines, as it printed them, in a code block."""
    from neuro.measure.machine import describe

    return "```\n$ neuro machine\n" + "\n".join(describe(measured)) + "\n```"


def draw_roofline(measured: dict, *tables: dict) -> None:
    """docs/images/roofline.png: the median rows of every table, under the roofs `neuro machine` measured."""
    from neuro.measure.ladder import RungResult
    from neuro.show.roofline import plot_roofline

    fields = set(RungResult.__dataclass_fields__)
    rows = [RungResult(**{k: v for k, v in row.items() if k in fields}) for table in tables for row in table.values()]
    plot_roofline(rows, measured, ROOFLINE)
    print(f"wrote {ROOFLINE}")
