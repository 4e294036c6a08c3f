"""neuro: the classic digit-recognising neural network, once, on pluggable backends.

    >>> from neuro import Network, load_dataset, sgd, TrainingSettings
    >>> data = load_dataset("synthetic")
    >>> net = Network([784, 16, 16, 10], backend="numpy")
    >>> reports = sgd(net, data, TrainingSettings(epochs=3))

The framework (this package) is the same for every backend; `neuro.backends` holds the backends.
"""

from importlib.metadata import PackageNotFoundError, version

from neuro.data import Dataset, load_dataset
from neuro.evaluation import Evaluation, evaluate
from neuro.model import load_model, save_model
from neuro.network import Network
from neuro.support.errors import NeuroError
from neuro.training import EpochReport, TrainingSettings, sgd

try:
    __version__ = version("neuro")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "Dataset",
    "EpochReport",
    "Evaluation",
    "Network",
    "NeuroError",
    "TrainingSettings",
    "evaluate",
    "load_dataset",
    "load_model",
    "save_model",
    "sgd",
]
