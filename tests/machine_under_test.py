"""One real measurement of this machine per test session, short, for the tests of `neuro ladder` (which would
otherwise measure it again on every run)."""

from __future__ import annotations

import functools

from neuro.measure.machine import measure_machine


@functools.cache
def measured_machine() -> dict:
    return measure_machine(0.1)
