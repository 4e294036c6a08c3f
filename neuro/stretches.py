"""How many mini-batches a backend runs per call: the one policy of the training loop and the benchmark.

A backend's `train_steps` runs a stretch of consecutive mini-batches in one call, so that a compiled backend
stays in compiled code between them, and the training loop reports progress without costing what a step costs.
The first stretch of a pass over the data is 1% of it; while a call takes less than STRETCH_SECONDS, the next
stretch doubles, up to 10% of the data (a call has a cost of its own: a fast backend would otherwise spend much
of its time starting calls; a slow one would report its progress rarely). A stretch is a whole number of
mini-batches, so the mini-batches are the same whatever the stretches are.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

STRETCH_SECONDS = 0.02
"""A call that took less than this doubles the next stretch."""
FIRST_SHARE, LONGEST_SHARE = 100, 10
"""The first stretch is 1/FIRST_SHARE of the data, the longest 1/LONGEST_SHARE (both at least one mini-batch)."""


class Stretches:
    """The stretches of whole mini-batches of `batch_size` samples that cover passes over `n_samples` samples."""

    def __init__(self, n_samples: int, batch_size: int) -> None:
        batches = -(-n_samples // batch_size)
        self.batch_size = batch_size
        self.batches = max(1, batches // FIRST_SHARE)
        self.longest = max(1, batches // LONGEST_SHARE)

    def __repr__(self) -> str:
        return f"Stretches(batch_size={self.batch_size}, batches={self.batches}, longest={self.longest})"

    def took(self, seconds: float) -> None:
        """A call took `seconds`: if that was quick, the next stretch is twice as long (up to the longest)."""
        if seconds < STRETCH_SECONDS:
            self.batches = min(2 * self.batches, self.longest)

    def calls(self, start: int, stop: int) -> Iterator[tuple[int, int]]:
        """(first, last): the samples [first, last) of one call after another, covering [start, stop). The time
        between one and the next (the call the caller made) sets the length of the following stretches."""
        while start < stop:
            end = min(start + self.batches * self.batch_size, stop)
            began = time.perf_counter()
            yield start, end
            self.took(time.perf_counter() - began)
            start = end
