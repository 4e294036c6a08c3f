"""The roofline: each rung's GFLOP/s against its arithmetic intensity, under the machine's measured roofs.

    arithmetic intensity = flops per sample / bytes per sample    (neuro/measure/flops.py says which bytes)
    attainable GFLOP/s   = min(compute peak, bandwidth x intensity)

A point under a sloping roof (bandwidth x intensity) is limited by memory if it is limited by anything the chart
shows; under a flat roof (the measured FMA peak, for one core and for all cores, per dtype) by arithmetic. Both axes
are logarithmic. The rows drawn are the rows of one `neuro ladder` run (rows of several networks may be passed: each
point is labelled with its rung, and its network where they differ). Written with matplotlib (the `plot` extra),
atomically, as neuro/show/charts.py writes every figure.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from neuro.measure.flops import arithmetic_intensity
from neuro.measure.ladder import RungResult
from neuro.show.charts import _save_figure, require_matplotlib
from neuro.support.errors import NeuroError

COLOURS = {"float64": "tab:blue", "float32": "tab:orange"}


def roofline_points(results: Sequence[RungResult]) -> list[tuple[float, float, RungResult]]:
    """(intensity, GFLOP/s, row) for every row that was timed against a measured peak."""
    return [(arithmetic_intensity(r.layers, r.batch_size, r.dtype), r.gflops, r) for r in results
            if r.timed and r.gflops]


def plot_roofline(results: Sequence[RungResult], machine: dict, path: str | os.PathLike) -> None:
    """Draw the roofline of `results` (rows of `neuro ladder`, with their GFLOP/s) under `machine`'s roofs."""
    figure_class = require_matplotlib()
    points = roofline_points(results)
    if not points:
        raise NeuroError("no rung was timed against the machine's peak here: there is no roofline to draw")
    intensities = [x for x, _, _ in points]
    low, high = min(intensities) / 4, max(intensities) * 4
    xs = np.geomspace(min(low, 0.01), max(high, 100), 200)
    figure = figure_class(figsize=(8, 5.6), layout="constrained")
    axes = figure.subplots()
    cores = machine["cores"]
    for dtype, peak in machine["peak_gflops"].items():
        for where, style in (("one_core", ":"), ("all_cores", "-")):
            if where == "all_cores" and cores == 1:
                continue
            axes.axhline(peak[where], color=COLOURS.get(dtype, "grey"), linestyle=style, linewidth=1,
                         label=f"{dtype} FMA peak, {'1 core' if where == 'one_core' else f'{cores} cores'}: "
                               f"{peak[where]:,.1f} GFLOP/s")
    for level, name in (("dram", "DRAM"), ("l2", "L2")):
        bandwidth = machine["bandwidth"][level]["read"] / 1e9
        axes.plot(xs, bandwidth * xs, color="grey", linestyle="--" if level == "dram" else "-.", linewidth=1,
                  label=f"{name} read, {cores} cores: {bandwidth:,.1f} GB/s x flops per byte")
    networks = {tuple(r.layers) for _, _, r in points} | {r.batch_size for _, _, r in points}
    for x, y, r in points:
        axes.scatter([x], [y], color=COLOURS.get(r.dtype, "grey"), zorder=3, s=18)
        label = r.backend if len(networks) <= 2 else f"{r.backend} ({'-'.join(map(str, r.layers))}/{r.batch_size})"
        axes.annotate(label, (x, y), xytext=(4, 2), textcoords="offset points", fontsize=7)
    gflops = [y for _, y, _ in points]
    tops = [p for peak in machine["peak_gflops"].values() for p in peak.values()]
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlim(xs[0], xs[-1])
    axes.set_ylim(min(gflops) / 5, max(tops) * 3)
    axes.set_xlabel("arithmetic intensity: flops per byte moved, per trained sample (log)")
    axes.set_ylabel("GFLOP/s (log)")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=7, loc="upper left")
    first = points[0][2]
    figure.suptitle(f"Roofline of {machine['cpu']}, {'-'.join(map(str, first.layers))} at batch {first.batch_size}"
                    if len(networks) <= 2 else f"Roofline of {machine['cpu']}", fontsize=10)
    _save_figure(figure, path)
