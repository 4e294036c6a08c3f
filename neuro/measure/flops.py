"""The arithmetic a training step does, and the bytes it must move: the numbers behind GFLOP/s and the roofline.

For a network of sizes n_0 (inputs), n_1, ..., n_L (outputs), trained by mini-batch SGD at batch size m, the
multiply-adds per trained sample are

    forward:   sum over l = 1..L  of n_l * n_{l-1}     (each weighted sum z_l = w_l a_{l-1} + b_l)
    backward:  sum over l = 2..L  of n_l * n_{l-1}     (each delta sent back: delta_{l-1} = w_l^T delta_l * s'(z))
    gradient:  sum over l = 1..L  of n_l * n_{l-1}     (each weight's gradient: delta_l a_{l-1}^T)
    update:    (weights + biases) / m                   (w -= (eta/m) * nabla_w, once per mini-batch)

and flops = 2 x multiply-adds (a multiply and an add). Not counted: the sigmoid and its derivative, the cost's
derivative, the bias gradients' additions and the eta/m scaling (a few per neuron, not per weight).

The bytes (the roofline's arithmetic intensity is flops / bytes): the least any rung must move per sample, the
parameters read and written once per mini-batch step, amortised over its samples, plus the sample's input and
target read once:

    bytes per sample = (2 x (weights + biases) / m + n_0 + n_L) x itemsize
"""

from __future__ import annotations

from collections.abc import Sequence

from neuro.sizes import parameter_count

ITEMSIZE = {"float64": 8, "float32": 4}


def multiply_adds_per_sample(layers: Sequence[int], batch_size: int) -> dict[str, float]:
    """The multiply-adds of one trained sample, by part (see the module docstring), and their total."""
    products = [n * before for before, n in zip(layers, layers[1:])]
    parts = {"forward": float(sum(products)), "backward": float(sum(products[1:])),
             "gradient": float(sum(products)), "update": parameter_count(layers) / batch_size}
    return {**parts, "total": sum(parts.values())}


def flops_per_sample(layers: Sequence[int], batch_size: int) -> float:
    """2 x the multiply-adds of one trained sample."""
    return 2 * multiply_adds_per_sample(layers, batch_size)["total"]


def bytes_per_sample(layers: Sequence[int], batch_size: int, dtype: str) -> float:
    """The least bytes a training step moves per sample (see the module docstring)."""
    return (2 * parameter_count(layers) / batch_size + layers[0] + layers[-1]) * ITEMSIZE[dtype]


def arithmetic_intensity(layers: Sequence[int], batch_size: int, dtype: str) -> float:
    """Flops per byte moved, per trained sample."""
    return flops_per_sample(layers, batch_size) / bytes_per_sample(layers, batch_size, dtype)
