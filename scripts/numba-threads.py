"""Steady-state training throughput of the numba backend on one thread and on a team, each in its own process.

    python scripts/numba-threads.py [--batch-sizes 1,3,10] [--dtypes float64,float32] [--epochs 6]

`neuro bench --threads N` measures for about a second; on a shared machine a second is noisy, and a process that
alternates one thread and two pays for waking the second core each time. Here every (dtype, batch, threads) runs
alone in a fresh process for whole epochs of 60,000 random images, in calls of 6,000 samples as the training loop
makes them, and the median epoch after the first (which compiles or loads the cache, and warms the memory) is
reported, in samples per second.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

EPOCHS = r"""
import sys, time
import numpy as np
from neuro.backends import get_backend
from neuro.network import initial_parameters
dtype, batch, threads, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
backend = get_backend("numba")
backend.set_threads(threads)
n, rng = 60_000, np.random.default_rng(0)
x = backend.to_backend(rng.random((n, 784), dtype=np.float32), dtype)
y = backend.to_backend(np.eye(10)[rng.integers(0, 10, n)], dtype)
order = backend.to_backend(rng.permutation(n), "int64")
weights, biases = initial_parameters([784, 16, 16, 10], 0, init="scaled")
w = [backend.to_backend(a, dtype) for a in weights]
b = [backend.to_backend(a, dtype) for a in biases]
last = n - n % batch
rates = []
for epoch in range(epochs):
    started = time.perf_counter()
    for start in range(0, last, 6000):
        backend.train_steps(w, b, x, y, order, start, min(start + 6000, last), batch, 0.1, "quadratic")
    rates.append(last / (time.perf_counter() - started))
print(sorted(rates[1:])[(len(rates) - 1) // 2])
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", default="1,3,10")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    print(f"{'dtype':<8} {'batch':>5} {'1 thread':>12} {'team of 2':>12} {'ratio':>6}")
    for dtype in args.dtypes.split(","):
        for batch in args.batch_sizes.split(","):
            rates = [float(subprocess.run([sys.executable, "-c", EPOCHS, dtype, batch, str(threads), str(args.epochs)],
                                          capture_output=True, text=True, check=True).stdout)
                     for threads in (1, 2)]
            print(f"{dtype:<8} {batch:>5} {rates[0]:>12,.0f} {rates[1]:>12,.0f} {rates[1] / rates[0]:>6.2f}")


if __name__ == "__main__":
    main()
