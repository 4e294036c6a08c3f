"""Measurement: the oracle that checks every backend against the reference (agreement), the benchmark (bench),
the ladder of rungs (ladder), and how far backends drift apart over a training run (drift)."""
