"""Picture files: PNGs of weights and digits (Pillow), curves of training and the backend ladder (matplotlib).

Both libraries are the optional `plot` extra and are imported only when a picture is written; without them
the commands that write pictures say how to install them, and everything else works. Every file is written
under a temporary name and renamed into place (`neuro.support.files.atomic_path`), so a failure never leaves a
half-written picture.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from neuro.support.errors import NeuroError
from neuro.support.files import atomic_path

if TYPE_CHECKING:
    from neuro.measure.bench import BenchResult
    from neuro.measure.ladder import RungResult
    from neuro.training import EpochReport

INSTALL_HINT = "install the plot extra: pip install 'neuro[plot]' (in a checkout: pip install -e '.[plot]')"


def require_pillow():
    """Pillow's `PIL.Image` module, or a NeuroError that says how to install it."""
    try:
        from PIL import Image
    except ImportError:
        raise NeuroError(f"reading and writing images needs Pillow, which is not installed; {INSTALL_HINT}") from None
    return Image


def require_matplotlib():
    """matplotlib's `Figure` class (no pyplot, no GUI), or a NeuroError that says how to install it."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise NeuroError(f"plotting needs matplotlib, which is not installed; {INSTALL_HINT}") from None
    return Figure


def check_output(path: str | os.PathLike) -> Path:
    """`path` as a Path, or a NeuroError if no file can be written there (checked before any long work)."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise NeuroError(f"{target} is a folder; give a file name such as {target / 'picture.png'}")
    if not folder.is_dir():
        raise NeuroError(f"cannot write {target}: the folder {folder} does not exist")
    return target


def prepare_plot(path: str | os.PathLike) -> Path:
    """Check, before any long work, that matplotlib is installed and `path` can be written; `path` as a Path."""
    require_matplotlib()
    return check_output(path)


def save_png(rgb: np.ndarray, path: str | os.PathLike) -> None:
    """Write an (h, w, 3) uint8 picture to `path` as a PNG, pixel for pixel, atomically."""
    image_module = require_pillow()
    target = check_output(path)
    image = image_module.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    try:
        with atomic_path(target, suffix=".png") as tmp:
            image.save(tmp, format="PNG", optimize=True)
    except OSError as error:
        raise NeuroError(f"cannot write {target}: {error}") from None


def _save_figure(figure, path: str | os.PathLike) -> None:
    target = check_output(path)
    try:
        with atomic_path(target, suffix=".png") as tmp:
            figure.savefig(tmp, format="png", dpi=100)
    except OSError as error:
        raise NeuroError(f"cannot write {target}: {error}") from None


def plot_training(reports: Sequence[EpochReport], path: str | os.PathLike, title: str = "") -> None:
    """Test accuracy and mean test cost after each epoch, one above the other, as a PNG."""
    figure_class = require_matplotlib()
    figure = figure_class(figsize=(6.4, 5.6), layout="constrained")
    accuracy_axes, cost_axes = figure.subplots(2, 1, sharex=True)
    epochs = [r.epoch for r in reports]
    accuracy_axes.plot(epochs, [100 * r.test_accuracy for r in reports], marker="o", color="tab:green")
    accuracy_axes.set_ylabel("test accuracy (%)")
    cost_axes.plot(epochs, [r.test_cost for r in reports], marker="o", color="tab:red")
    cost_axes.set_ylabel("mean test cost")
    cost_axes.set_xlabel("epoch")
    cost_axes.xaxis.get_major_locator().set_params(integer=True)
    for axes in (accuracy_axes, cost_axes):
        axes.grid(True, alpha=0.3)
    figure.suptitle(title or "Gradient descent: after each epoch")
    _save_figure(figure, path)


def bench_labels(results: Sequence[BenchResult]) -> list[str]:
    """A label per measurement of `neuro bench`: the backend, plus whatever varies (dtype, network, batch)."""
    vary_dtype = len({r.dtype for r in results}) > 1
    vary_layers = len({tuple(r.layers) for r in results}) > 1
    vary_batch = len({r.batch_size for r in results}) > 1
    labels = []
    for r in results:
        parts = [r.backend]
        if vary_dtype:
            parts.append(r.dtype)
        if vary_layers:
            parts.append("-".join(map(str, r.layers)))
        if vary_batch:
            parts.append(f"batch {r.batch_size}")
        labels.append("\n".join(parts))
    return labels


def bench_speedups(results: Sequence[BenchResult]) -> tuple[list[float], str]:
    """Each row's speedup and what it is over: python when it was measured, else the slowest comparable row.

    Rows are comparable when they train the same network with the same batch size.
    """
    if all(r.speedup_vs_python is not None for r in results):
        return [float(r.speedup_vs_python) for r in results], "the python backend"
    slowest: dict[tuple, float] = {}
    for r in results:
        key = (tuple(r.layers), r.batch_size)
        slowest[key] = min(slowest.get(key, np.inf), r.train_samples_per_s)
    speedups = [r.train_samples_per_s / slowest[(tuple(r.layers), r.batch_size)] for r in results]
    return speedups, "the slowest bar of the same network and batch size"


def plot_bench(results: Sequence[BenchResult], path: str | os.PathLike, title: str = "") -> None:
    """`neuro bench`'s measurements as bars of training throughput on a log scale, each with its speedup written
    on it."""
    figure_class = require_matplotlib()
    speedups, base = bench_speedups(results)
    labels = bench_labels(results)
    colours = {}
    palette = ["tab:gray", "tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown"]
    for r in results:
        colours.setdefault(r.backend, palette[len(colours) % len(palette)])
    figure = figure_class(figsize=(max(6.4, 0.9 * len(results) + 2), 4.8), layout="constrained")
    axes = figure.subplots()
    rates = [r.train_samples_per_s for r in results]
    positions = np.arange(len(results))
    bars = axes.bar(positions, rates, color=[colours[r.backend] for r in results])
    axes.set_yscale("log")
    bottom, top = min(rates) / 10, max(rates) * 5
    axes.set_ylim(bottom, top)
    for bar, r, speedup in zip(bars, results, speedups):
        # the speedup inside the bar, half-way up it on the log scale; the throughput just above it
        x, height = bar.get_x() + bar.get_width() / 2, bar.get_height()
        text = f"{speedup:,.0f}×" if speedup >= 10 else f"{speedup:.1f}×"
        if not r.validated:
            bar.set_hatch("//")
            text += "\nWRONG"
        axes.text(x, np.sqrt(bottom * height), text, ha="center", va="center", color="white",
                  fontweight="bold", fontsize=10 if len(results) <= 8 else 7)
        axes.annotate(f"{height:,.0f}/s", (x, height), xytext=(0, 3), textcoords="offset points",
                      ha="center", va="bottom", fontsize=8)
    axes.set_xticks(positions, labels, fontsize=8)
    axes.set_ylabel("training samples per second (log scale)")
    axes.grid(True, axis="y", which="major", alpha=0.3)
    common = _common_settings(results)
    figure.suptitle(title or f"The backend ladder{common}: speedup over {base}", fontsize=10)
    _save_figure(figure, path)


def plot_ladder(results: Sequence[RungResult], path: str | os.PathLike) -> None:
    """`neuro ladder` as bars of training throughput on a log scale, a group of bars per rung (one per dtype), each
    with its gain over the rung it builds on written on it; rungs not timed here are left out."""
    figure_class = require_matplotlib()
    timed = [r for r in results if r.timed]
    if not timed:
        raise NeuroError("no rung of the ladder was timed here: there is nothing to draw")
    rungs = list(dict.fromkeys(r.backend for r in timed))
    dtypes = list(dict.fromkeys(r.dtype for r in timed))
    width = 0.8 / len(dtypes)
    figure = figure_class(figsize=(max(6.4, 1.1 * len(rungs) + 2), 4.8), layout="constrained")
    axes = figure.subplots()
    rates = [r.train_samples_per_s for r in timed]
    bottom, top = min(rates) / 10, max(rates) * 5
    for d, (dtype, colour) in enumerate(zip(dtypes, ["tab:blue", "tab:orange"])):
        rows = [r for r in timed if r.dtype == dtype or (r.backend == "python" and d == 0)]
        positions = [rungs.index(r.backend) + (d - (len(dtypes) - 1) / 2) * width for r in rows]
        bars = axes.bar(positions, [r.train_samples_per_s for r in rows], width, color=colour, label=dtype)
        for bar, r in zip(bars, rows):
            x, height = bar.get_x() + bar.get_width() / 2, bar.get_height()
            gain = "" if r.vs_previous is None else f"{r.vs_previous:.1f}×" if r.vs_previous < 10 else \
                f"{r.vs_previous:,.0f}×"
            if not r.validated:
                bar.set_hatch("//")
                gain += "\nWRONG"
            axes.text(x, np.sqrt(bottom * height), gain, ha="center", va="center", color="white", fontweight="bold",
                      fontsize=8, rotation=90)
            axes.annotate(f"{height:,.0f}", (x, height), xytext=(0, 3), textcoords="offset points", ha="center",
                          va="bottom", fontsize=6, rotation=90)
    axes.set_yscale("log")
    axes.set_ylim(bottom, top)
    axes.set_xticks(range(len(rungs)), [f"{i + 1}. {name}" for i, name in enumerate(rungs)], fontsize=8,
                    rotation=20, ha="right")
    axes.set_ylabel("training samples per second (log scale)")
    axes.grid(True, axis="y", which="major", alpha=0.3)
    axes.legend(fontsize=8, loc="upper left")
    first = timed[0]
    figure.suptitle(f"The ladder, {'-'.join(map(str, first.layers))} at batch {first.batch_size}: each bar's gain "
                    "over the rung it builds on", fontsize=10)
    _save_figure(figure, path)


def _common_settings(results: Sequence[BenchResult]) -> str:
    """What every row shares (network, batch size, dtype), as ', 784-16-16-10, batch 10, float64'."""
    parts = []
    if len({tuple(r.layers) for r in results}) == 1:
        parts.append("-".join(map(str, results[0].layers)))
    if len({r.batch_size for r in results}) == 1:
        parts.append(f"batch {results[0].batch_size}")
    if len({r.dtype for r in results}) == 1:
        parts.append(results[0].dtype)
    return "".join(f", {part}" for part in parts)
