"""The settings of a training run, as its training record keeps them: one frozen object, checked in one place.

`neuro train` and `neuro serve --train` build a `RunSettings` from their options (neuro.cli.options); the model
file's training record (neuro.model) stores it as a JSON object of plain values, and `neuro train --resume`
reads it back and continues with it. `RunSettings.training(epochs)` gives the `TrainingSettings` that `sgd` takes
(the hyper-parameters it needs: batch size, eta, cost, seed), so each of those is defined once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from dataclasses import asdict, dataclass, fields

from neuro.costs import COSTS
from neuro.network import DTYPES, INITS
from neuro.sizes import CLASSIC, check_sizes
from neuro.support.errors import NeuroError
from neuro.training import TrainingSettings


def _whole(value, lowest: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= lowest


_FITS = {
    "eta": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0,
    "batch_size": lambda v: _whole(v, 1),
    "cost": lambda v: v in COSTS,
    "init": lambda v: v in INITS,
    "seed": lambda v: _whole(v, 0),
    "data": lambda v: isinstance(v, str) and v != "",
    "limit": lambda v: v is None or _whole(v, 1),
    "layers": lambda v: isinstance(v, list) and len(v) >= 2 and all(_whole(n, 1) for n in v),
    "dtype": lambda v: v in DTYPES,
}
"""What each setting read from a record (plain JSON values) must be for a run to have had it."""


@dataclass(frozen=True)
class RunSettings:
    """Everything that decides how a training run goes, and so how a continued run goes on: the network's
    `layers` and `init`ial weights, its `dtype`, the `data` it learns from (a folder by its absolute path) and
    its `limit`, and the hyper-parameters `batch_size`, `eta`, `cost` and `seed` (weights and shuffling)."""

    eta: float = 3.0
    batch_size: int = 10
    cost: str = "quadratic"
    init: str = "classic"
    seed: int = 0
    data: str = "synthetic"
    limit: int | None = None
    layers: tuple[int, ...] = CLASSIC
    dtype: str = "float64"

    RESUMED = ("eta", "batch_size", "cost", "init", "seed", "data", "limit", "layers", "dtype")
    """The settings a resumed run takes from the record: given again on the command line, they must agree."""

    def training(self, epochs: int) -> TrainingSettings:
        """The hyper-parameters `sgd` takes, for `epochs` epochs (checked: a NeuroError names a wrong one)."""
        return TrainingSettings(epochs=epochs, batch_size=self.batch_size, eta=self.eta, cost=self.cost,
                                seed=self.seed).check()

    def check(self) -> RunSettings:
        """These settings, or a NeuroError naming the first one that cannot work (as the option that sets it)."""
        self.training(1)  # (batch size, eta, cost: TrainingSettings says what is wrong with them)
        if self.seed < 0:
            raise NeuroError(f"--seed must be zero or positive, got {self.seed}")
        if self.limit is not None and self.limit < 1:
            raise NeuroError(f"--limit must be a positive number of images, got {self.limit}")
        if self.init not in INITS:
            raise NeuroError(f"unknown --init {self.init!r}; choose one of: {', '.join(INITS)}")
        if self.dtype not in DTYPES:
            raise NeuroError(f"unknown --dtype {self.dtype!r}; choose one of: {', '.join(DTYPES)}")
        check_sizes(self.layers)
        return self

    def continued_from(self, recorded: RunSettings, given: Collection[str], path: str) -> RunSettings:
        """The settings of a run resumed from `recorded` (read from `path`): `recorded`, or a NeuroError naming
        every setting in `given` (those on the command line) that differs from it."""
        differ = [name for name in self.RESUMED if name in given and getattr(self, name) != getattr(recorded, name)]
        if differ:
            mine = ", ".join(_option(name, getattr(self, name)) for name in differ)
            theirs = ", ".join(_option(name, getattr(recorded, name)) for name in differ)
            verb, them = ("conflicts", "the option") if len(differ) == 1 else ("conflict", "the options")
            raise NeuroError(f"{mine} {verb} with {path}, which was trained with {theirs}: leave {them} out to "
                             "continue as it was trained")
        return recorded

    def to_record(self) -> dict:
        """The settings as a training record stores them: a dict of plain JSON values (layers as a list)."""
        return {name: (list(value) if name == "layers" else value) for name, value in asdict(self).items()}

    @classmethod
    def from_record(cls, settings: dict, what: str = "the training record") -> RunSettings:
        """The settings a record's dict holds, or a NeuroError: `what` lacks some, or holds one no run had."""
        missing = [name for name in cls.RESUMED if name not in settings]
        if missing:
            raise NeuroError(f"{what} lacks the settings {', '.join(missing)}")
        for name in cls.RESUMED:
            if not _FITS[name](settings[name]):
                raise NeuroError(f"{what}'s setting {name}={json.dumps(settings[name])[:40]} cannot be continued")
        values = {field.name: settings[field.name] for field in fields(cls)}
        return cls(**(values | {"layers": tuple(values["layers"])}))


def _option(name: str, value) -> str:
    """A setting as the command-line option that sets it: '--batch-size 10', '--layers 784,16,16,10'."""
    shown = ",".join(map(str, value)) if name == "layers" else value
    return f"--{name.replace('_', '-')} {shown}"
