"""What scripts/torch-cpu.py and scripts/jax-cpu.py share: their options for the cases to time, and the loop over
those cases. Plain Python only: both scripts run in an environment of their own, without neuro."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def case_parser(description: str) -> argparse.ArgumentParser:
    """A parser with the options every scale script takes: the networks, batch sizes, dtypes, time and --json."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--layers", default="784,16,16,10", help="layer sizes; several networks separated by ';'")
    parser.add_argument("--batch-size", default="10", help="mini-batch size, or a comma-separated list")
    parser.add_argument("--dtype", default="float32,float64", help="float32, float64 or both, comma-separated")
    parser.add_argument("--seconds", type=float, default=2.0, help="time measured per case, after the warm-up")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    return parser


def time_cases(args: argparse.Namespace, label: str, rate: Callable[[list[int], int, str], float]) -> list[dict]:
    """`rate(sizes, batch_size, dtype name)` for every network, batch size and dtype of `args`, as result rows
    (each printed as a line unless --json)."""
    results = []
    for spec in args.layers.split(";"):
        sizes = [int(n) for n in spec.split(",")]
        for batch_size in [int(m) for m in args.batch_size.split(",")]:
            for name in args.dtype.split(","):
                samples_per_s = rate(sizes, batch_size, name)
                results.append({"layers": sizes, "batch_size": batch_size, "dtype": name,
                                "train_samples_per_s": samples_per_s})
                if not args.json:
                    print(f"{label} {name:<8} {'-'.join(map(str, sizes)):<20} {batch_size:>6} {samples_per_s:>12,.0f}")
    return results
