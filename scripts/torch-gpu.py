"""PyTorch training the same network on the same GPU, for scale: one measurement, run by scripts/gpu-check.py in
an environment that has torch (never a dependency of neuro).

    python scripts/torch-gpu.py --layers 784,16,16,10 --batch-size 10 [--dtype float32] [--mode eager]
                                [--tf32] [--seconds 2] [--device cuda] [--json]

The network, cost and optimiser are scripts/torch-cpu.py's: sigmoid layers (torch.nn.Linear), the quadratic cost
averaged over the mini-batch (its gradient is eta/m times the sum, as neuro's step), plain SGD, on 60,000 random
MNIST-shaped images resident on the device, visited in shuffled mini-batches. --mode:

    eager            the loop as a PyTorch user writes it
    compile          the forward pass and cost through torch.compile (default mode; the backward pass is compiled
                     with it, the optimiser step stays eager)
    reduce-overhead  torch.compile(mode="reduce-overhead"): the compiled graphs replayed as CUDA graphs, PyTorch's
                     own cure for launch cost

--tf32 allows TF32 matrix products for float32 (torch.backends.cuda.matmul.allow_tf32); without it they run in
full float32. Warm-up: the first calls (compiling, for a compiled mode) until a second has passed and at least 20
steps ran, timed apart as `warm_up_seconds`; then training samples per second over about --seconds. With --json,
one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

IMAGES = 60_000
MODES = ("eager", "compile", "reduce-overhead")


def measure(sizes: list[int], batch_size: int, dtype: torch.dtype, mode: str, seconds: float, device: str) -> dict:
    """{"train_samples_per_s", "warm_up_seconds"} of SGD steps in `mode` (see the module docstring)."""
    torch.manual_seed(0)
    layers = [torch.nn.Linear(n_in, n_out).to(device=device, dtype=dtype) for n_in, n_out in zip(sizes, sizes[1:])]
    optimizer = torch.optim.SGD([p for layer in layers for p in layer.parameters()], lr=0.1)
    generator = torch.Generator().manual_seed(0)
    x = torch.rand((IMAGES, sizes[0]), generator=generator).to(device=device, dtype=dtype)
    labels = torch.randint(0, sizes[-1], (IMAGES,), generator=generator)
    y = torch.nn.functional.one_hot(labels, sizes[-1]).to(device=device, dtype=dtype)
    order = torch.randperm(IMAGES, generator=generator).to(device)
    batches = IMAGES // batch_size

    def cost(a: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        for layer in layers:
            a = torch.sigmoid(layer(a))
        return 0.5 * ((a - target) ** 2).sum() / a.shape[0]

    if mode != "eager":
        cost = torch.compile(cost, mode="default" if mode == "compile" else mode)
    cursor = 0

    def step() -> None:
        nonlocal cursor
        batch = order[cursor * batch_size : (cursor + 1) * batch_size]
        cursor = (cursor + 1) % batches
        loss = cost(x[batch], y[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def synchronize() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    started, steps = time.perf_counter(), 0
    while steps < 20 or time.perf_counter() - started < 1.0:
        step()
        steps += 1
    synchronize()
    warm_up_seconds = time.perf_counter() - started
    started, steps = time.perf_counter(), 0
    while True:
        for _ in range(10):
            step()
        steps += 10
        synchronize()
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return {"train_samples_per_s": steps * batch_size / elapsed, "warm_up_seconds": warm_up_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default="784,16,16,10", help="layer sizes, input to output")
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--mode", default="eager", choices=MODES)
    parser.add_argument("--tf32", action="store_true", help="allow TF32 matrix products (float32 only)")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    sizes = [int(n) for n in args.layers.split(",")]
    result = measure(sizes, args.batch_size, getattr(torch, args.dtype), args.mode, args.seconds, args.device)
    gpu = torch.cuda.get_device_name() if args.device.startswith("cuda") else None
    record = {"torch": torch.__version__, "device": args.device, "gpu": gpu, "layers": sizes,
              "batch_size": args.batch_size, "dtype": args.dtype, "mode": args.mode, "tf32": args.tf32, **result}
    if args.json:
        print(json.dumps(record))
    else:
        print(f"torch {args.mode}{' tf32' if args.tf32 else ''} {args.dtype} {'-'.join(map(str, sizes))} "
              f"batch {args.batch_size}: {result['train_samples_per_s']:,.0f} samples/s "
              f"(warm-up {result['warm_up_seconds']:.1f} s)")


if __name__ == "__main__":
    main()
