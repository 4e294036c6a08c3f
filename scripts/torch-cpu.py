"""PyTorch training the same network, for scale: run it in an environment that has torch (never a dependency of
neuro), on the same machine and in the same minutes as `neuro ladder`.

    python scripts/torch-cpu.py [--layers 784,16,16,10] [--batch-size 10] [--dtype float32,float64] [--seconds 2]
                                [--device cpu] [--json]

An eager loop, as a PyTorch user writes it: the same network (sigmoid layers), the quadratic cost averaged over
the mini-batch (so its gradient is eta/m times the sum, as neuro's step), plain SGD (torch.optim.SGD, no
momentum), on 60,000 random MNIST-shaped images resident in memory, visited in shuffled mini-batches. The first
second is a warm-up; then training samples per second over about `--seconds`. With --json, one JSON object on
the last line: {"torch": version, "threads": n, "device": ..., "results": [{"layers", "batch_size", "dtype",
"train_samples_per_s"}, ...]}.
"""

from __future__ import annotations

import json
import time

import torch
from scale_cases import case_parser, time_cases

IMAGES = 60_000


def network(sizes: list[int], dtype: torch.dtype, device: str) -> list[torch.nn.Linear]:
    torch.manual_seed(0)
    layers = [torch.nn.Linear(n_in, n_out) for n_in, n_out in zip(sizes, sizes[1:])]
    return [layer.to(device=device, dtype=dtype) for layer in layers]


def rate(sizes: list[int], batch_size: int, dtype: torch.dtype, seconds: float, device: str) -> float:
    """Training samples per second of eager SGD steps, after a warm-up of about a second."""
    layers = network(sizes, dtype, device)
    parameters = [p for layer in layers for p in layer.parameters()]
    optimizer = torch.optim.SGD(parameters, lr=0.1)
    generator = torch.Generator().manual_seed(0)
    x = torch.rand((IMAGES, sizes[0]), generator=generator).to(device=device, dtype=dtype)
    y = torch.nn.functional.one_hot(torch.randint(0, sizes[-1], (IMAGES,), generator=generator), sizes[-1])
    y = y.to(device=device, dtype=dtype)
    order = torch.randperm(IMAGES, generator=generator).to(device)
    batches = IMAGES // batch_size
    cursor = 0

    def step() -> None:
        nonlocal cursor
        batch = order[cursor * batch_size : (cursor + 1) * batch_size]
        cursor = (cursor + 1) % batches
        a = x[batch]
        for layer in layers:
            a = torch.sigmoid(layer(a))
        loss = 0.5 * ((a - y[batch]) ** 2).sum() / batch_size
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def run_for(budget: float) -> tuple[int, float]:
        steps, started = 0, time.perf_counter()
        while True:
            for _ in range(10):
                step()
            steps += 10
            if device != "cpu":
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - started
            if elapsed >= budget:
                return steps, elapsed

    run_for(1.0)
    steps, elapsed = run_for(seconds)
    return steps * batch_size / elapsed


def main() -> None:
    parser = case_parser(__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="the device PyTorch trains on (cpu, cuda)")
    args = parser.parse_args()
    results = time_cases(args, "torch",
                         lambda sizes, batch_size, name: rate(sizes, batch_size, getattr(torch, name), args.seconds,
                                                              args.device))
    if args.json:
        print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "device": args.device,
                          "results": results}))


if __name__ == "__main__":
    main()
