"""JAX training the same network, for scale: run it in an environment that has jax (never a dependency of neuro),
on the same machine and in the same minutes as `neuro ladder`.

    python scripts/jax-cpu.py [--layers 784,16,16,10] [--batch-size 10] [--dtype float32,float64] [--seconds 2]
                              [--scan-steps 0] [--json]

JAX at its best on this work: the whole epoch is one jitted function, a `lax.scan` over its mini-batches (one
XLA program, no Python between steps), each step the same network (sigmoid layers), the quadratic cost averaged
over the mini-batch, its gradient by `jax.grad` and a plain SGD update, on 60,000 random MNIST-shaped images
resident in memory, visited in a shuffled order. float64 needs `jax_enable_x64`, switched on here; float32 arrays
stay float32. With --scan-steps K, one call scans K mini-batches instead of the whole epoch (for networks whose
epoch takes longer than the measurement). The first call (the compilation) and about a second are a warm-up;
then training samples per second over about `--seconds`. With --json, one JSON object on the last line, shaped as
scripts/torch-cpu.py's: {"jax": version, "threads": n, "device": ..., "results": [{"layers", "batch_size",
"dtype", "train_samples_per_s"}, ...]}.
"""

from __future__ import annotations

import json
import os
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402  (after the x64 switch, which must come first)
import numpy as np  # noqa: E402
from scale_cases import case_parser, time_cases  # noqa: E402

IMAGES = 60_000


def network(sizes: list[int], dtype) -> list[tuple[jax.Array, jax.Array]]:
    """(w, b) per layer, w of shape (n_out, n_in), drawn as scripts/torch-cpu.py's nn.Linear draws them."""
    generator = np.random.default_rng(0)
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        bound = 1 / np.sqrt(n_in)
        layers.append((jnp.asarray(generator.uniform(-bound, bound, (n_out, n_in)), dtype),
                       jnp.asarray(generator.uniform(-bound, bound, n_out), dtype)))
    return layers


def cost(layers, x, y):
    """The quadratic cost averaged over the mini-batch: sum (A^L - Y)^2 / 2m."""
    a = x
    for w, b in layers:
        a = jax.nn.sigmoid(a @ w.T + b)
    return 0.5 * jnp.sum((a - y) ** 2) / x.shape[0]


def epoch_function(eta: float):
    """(layers, x, y, batches) -> layers after one SGD step per row of `batches` (indices of one mini-batch)."""

    def epoch(layers, x, y, batches):
        def step(layers, batch):
            grads = jax.grad(cost)(layers, x[batch], y[batch])
            return jax.tree_util.tree_map(lambda p, g: p - eta * g, layers, grads), None

        layers, _ = jax.lax.scan(step, layers, batches)
        return layers

    return jax.jit(epoch)


def rate(sizes: list[int], batch_size: int, dtype, seconds: float, scan_steps: int) -> float:
    """Training samples per second of jitted scans of SGD steps, after the compilation and about a second."""
    generator = np.random.default_rng(0)
    x = jnp.asarray(generator.random((IMAGES, sizes[0])), dtype)
    y = jnp.asarray(np.eye(sizes[-1])[generator.integers(0, sizes[-1], IMAGES)], dtype)
    batches = IMAGES // batch_size
    steps = scan_steps or batches
    order = jnp.asarray(generator.permutation(IMAGES)[: batches * batch_size].reshape(batches, batch_size))
    chunks = [order[i : i + steps] for i in range(0, batches - steps + 1, steps)]
    epoch = epoch_function(0.1)
    layers = network(sizes, dtype)

    def run_for(budget: float) -> tuple[int, float]:
        nonlocal layers
        done, started, chunk = 0, time.perf_counter(), 0
        while True:
            layers = epoch(layers, x, y, chunks[chunk % len(chunks)])
            jax.block_until_ready(layers)
            chunk, done = chunk + 1, done + steps
            elapsed = time.perf_counter() - started
            if elapsed >= budget:
                return done, elapsed

    run_for(1.0)
    done, elapsed = run_for(seconds)
    return done * batch_size / elapsed


def main() -> None:
    parser = case_parser(__doc__.splitlines()[0])
    parser.add_argument("--scan-steps", type=int, default=0, help="mini-batches per jitted call (0: the epoch)")
    args = parser.parse_args()
    results = time_cases(args, "jax",
                         lambda sizes, batch_size, name: rate(sizes, batch_size, getattr(jnp, name), args.seconds,
                                                              args.scan_steps))
    if args.json:
        print(json.dumps({"jax": jax.__version__, "threads": len(os.sched_getaffinity(0)),
                          "device": jax.devices()[0].platform, "results": results}))


if __name__ == "__main__":
    main()
