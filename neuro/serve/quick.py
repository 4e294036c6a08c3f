"""The model `neuro serve` shows when no MODEL is given: trained once, quickly, and cached beside the data.

The cache file's name records everything that made the model (the data set, the generator version of the
built-in digits, the layer sizes and the training settings), so a change to any of them trains a new one.
It is trained with the numpy backend, whatever backend then serves it: that takes seconds on any machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from neuro.data import Dataset
from neuro.data.paths import cache_dir
from neuro.data.synthetic import GENERATOR_VERSION
from neuro.model import SavedModel, load_model, save_model
from neuro.network import Network
from neuro.sizes import CLASSIC
from neuro.support.errors import NeuroError
from neuro.training import TrainingSettings, sgd

QUICK_SIZES = CLASSIC
QUICK_SETTINGS = TrainingSettings(epochs=10, batch_size=10, eta=3.0, cost="quadratic", seed=0)
QUICK_BACKEND = "numpy"


def data_key(spec: str) -> str:
    """A file-name-safe name for the data set `spec`: its generator version for the built-in digits."""
    if spec == "synthetic":
        return f"synthetic-v{GENERATOR_VERSION}"
    if spec == "mnist":
        return "mnist"
    return "folder-" + hashlib.sha256(str(Path(spec).resolve()).encode()).hexdigest()[:12]


def quick_model_path(spec: str) -> Path:
    """Where the quick model for the data set `spec` is cached."""
    s = QUICK_SETTINGS
    sizes = "-".join(str(n) for n in QUICK_SIZES)
    name = f"serve-{data_key(spec)}-{sizes}-epochs{s.epochs}-batch{s.batch_size}-eta{s.eta}-{s.cost}-seed{s.seed}.npz"
    return cache_dir() / "models" / name


def quick_model(data: Dataset, spec: str, on_batch: Callable[[int], None] | None = None) -> tuple[SavedModel, Path]:
    """The cached quick model for `data` (loaded `spec`), trained and saved first if there is none yet."""
    path = quick_model_path(spec)
    if path.is_file():
        try:
            return load_model(path), path
        except NeuroError:  # a damaged cache file is trained again, like a damaged data cache
            pass
    network = Network(list(QUICK_SIZES), backend=QUICK_BACKEND, seed=QUICK_SETTINGS.seed)
    sgd(network, data, QUICK_SETTINGS, on_batch=on_batch)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_model(network, path, cost=QUICK_SETTINGS.cost)
    return load_model(path), path


def quick_samples(data: Dataset) -> int:
    """The training samples the quick model's training goes through (the length of its progress bar)."""
    return QUICK_SETTINGS.epochs * len(data.train_labels)
