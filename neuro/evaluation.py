"""How well a network does on a set of labelled images: accuracy, mean cost, and the confusion matrix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuro.costs import mean_cost
from neuro.data import N_CLASSES, one_hot
from neuro.support.memory import EVAL_CHUNK


@dataclass(frozen=True)
class Evaluation:
    """The result of `evaluate`. confusion[i][j] counts images of digit i that the network called j."""

    accuracy: float
    cost: float
    predictions: np.ndarray
    confusion: np.ndarray

    @property
    def per_digit_accuracy(self) -> np.ndarray:
        """For each digit, the share of its images recognised correctly (nan where a digit has none)."""
        totals = self.confusion.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diag(self.confusion) / totals


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, n_classes: int = N_CLASSES) -> np.ndarray:
    """counts[i, j] = number of samples with label i predicted as j."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (labels, predictions), 1)
    return counts


def outputs_of(network, x_stored, n_samples: int) -> np.ndarray:
    """The output activations for inputs already in the network's backend, fed through in chunks."""
    backend = network.backend
    chunks = []
    for start in range(0, n_samples, EVAL_CHUNK):
        # Slicing works on every backend's storage: lists, NumPy arrays and device arrays.
        stored = backend.forward(network.weights, network.biases, x_stored[start : start + EVAL_CHUNK])
        chunks.append(np.asarray(backend.to_numpy(stored), dtype=np.float64))
    return np.concatenate(chunks) if chunks else np.zeros((0, network.sizes[-1]))


def evaluate_outputs(outputs: np.ndarray, labels: np.ndarray, cost: str) -> Evaluation:
    """Accuracy, mean cost and confusion matrix from the output activations and the true labels."""
    predictions = np.argmax(outputs, axis=1)
    accuracy = float(np.mean(predictions == labels)) if len(labels) else 0.0
    return Evaluation(
        accuracy=accuracy,
        cost=mean_cost(cost, outputs, one_hot(labels, outputs.shape[1])),
        predictions=predictions,
        confusion=confusion_matrix(labels, predictions, outputs.shape[1]),
    )


def evaluate(network, images: np.ndarray, labels: np.ndarray, cost: str = "quadratic") -> Evaluation:
    """Evaluate `network` on host images (n, 784) and labels (n,)."""
    x_stored = network.to_backend(images)
    return evaluate_outputs(outputs_of(network, x_stored, len(labels)), labels, cost)


def confidence(outputs: np.ndarray) -> float:
    """The brightest output's share of all the output activations: max_j a_j / sum_j a_j (0 if all are 0)."""
    total = float(np.sum(outputs))
    return float(np.max(outputs)) / total if total > 0 else 0.0
