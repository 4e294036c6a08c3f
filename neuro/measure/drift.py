"""Why backends end apart: the same start and the same mini-batches, and rounding that SGD amplifies.

Every backend computes each gradient step within rounding of the reference (`neuro agree` checks it): after
one step two backends' weights differ in the last bits, about 1e-16 of their size in float64. But each step
starts from the weights the step before left, and a different last bit in a weight changes the weighted sums,
the activations, the deltas and so the next step's gradient a little; where a sigmoid is steep, the difference
grows. Over thousands of steps the networks wander apart and end at different, equally good, minima of the
cost: their test accuracies differ by a few points after an epoch, and none of them is wrong.

`drift` shows it: it trains one network per backend from the same initial parameters, on the same shuffled
mini-batches (the order is drawn once, on the host), and after each number of steps in `checkpoints` measures
the largest difference of any weight or bias from the first backend's. At the end it evaluates every
backend's network on the test set (with NumPy, from each backend's parameters, so that the evaluation itself
is the same for all).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from neuro.data import Dataset, one_hot
from neuro.evaluation import evaluate
from neuro.network import Network
from neuro.support.errors import NeuroError


@dataclass(frozen=True)
class DriftPoint:
    """After `steps` gradient steps: each backend's largest |parameter - the reference backend's parameter|."""

    steps: int
    max_abs_diff: dict[str, float]


@dataclass(frozen=True)
class DriftResult:
    """The drift after each checkpoint, and each backend's test accuracy and predictions at the end."""

    reference: str
    points: list[DriftPoint]
    accuracy: dict[str, float]
    cost: dict[str, float]  # the mean test cost
    disagreement: dict[str, float]  # share of test images each backend's network labels unlike the reference's


def max_abs_diff(a: Network, b: Network) -> float:
    """The largest difference between any weight or bias of two networks of the same sizes."""
    (wa, ba), (wb, bb) = a.parameters(), b.parameters()
    return max(float(np.max(np.abs(np.asarray(p, np.float64) - np.asarray(q, np.float64))))
               for p, q in zip(wa + ba, wb + bb))


def drift(
    names: Sequence[str], sizes: Sequence[int], data: Dataset, checkpoints: Sequence[int], batch_size: int = 10,
    eta: float = 3.0, cost: str = "quadratic", seed: int = 0, dtype: str = "float64", init: str = "classic",
    on_steps: Callable[[int], None] | None = None,
) -> DriftResult:
    """Train one network per backend in `names` side by side and measure how far they drift from the first.

    `on_steps(k)` is called after each backend has done k more steps (for a progress bar).
    """
    if len(names) < 2:
        raise NeuroError("give at least two backends to compare, like python,numpy")
    if len(set(names)) != len(names):
        raise NeuroError(f"give each backend once; got {', '.join(names)}")
    checkpoints = sorted(set(checkpoints))
    networks = {name: Network(sizes, backend=name, dtype=dtype, seed=seed, init=init) for name in names}
    n = len(data.train_labels)
    stored = {name: (net.to_backend(data.train_images), net.to_backend(one_hot(data.train_labels, sizes[-1])))
              for name, net in networks.items()}
    steps_per_epoch = -(-n // batch_size)
    rng = np.random.default_rng(seed)  # the shuffling of neuro.training.sgd: one permutation per epoch
    orders, epoch_first_step = None, 0  # (this epoch's order, in each backend's storage)
    done, points = 0, []
    reference = names[0]
    for target in checkpoints:
        while done < target:
            if orders is None or done == epoch_first_step + steps_per_epoch:
                epoch_first_step = done
                order = rng.permutation(n)
                orders = {name: net.backend.to_backend(order, "int64") for name, net in networks.items()}
            until = min(target, epoch_first_step + steps_per_epoch)
            start = (done - epoch_first_step) * batch_size
            stop = min(n, (until - epoch_first_step) * batch_size)
            for name, net in networks.items():
                x, y = stored[name]
                net.backend.train_steps(net.weights, net.biases, x, y, orders[name], start, stop, batch_size,
                                        eta, cost)
            if on_steps is not None:
                on_steps(until - done)
            done = until
        for net in networks.values():
            net.backend.synchronize()
        points.append(DriftPoint(target, {name: max_abs_diff(networks[reference], net)
                                          for name, net in networks.items() if name != reference}))
    evaluations = {}
    for name, net in networks.items():
        weights, biases = net.parameters()
        on_numpy = Network.from_parameters(weights, biases, backend="numpy", dtype="float64")
        evaluations[name] = evaluate(on_numpy, data.test_images, data.test_labels, cost)
    reference_predictions = evaluations[reference].predictions
    return DriftResult(
        reference=reference,
        points=points,
        accuracy={name: e.accuracy for name, e in evaluations.items()},
        cost={name: e.cost for name, e in evaluations.items()},
        disagreement={name: float(np.mean(e.predictions != reference_predictions))
                      for name, e in evaluations.items() if name != reference},
    )
