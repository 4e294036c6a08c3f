"""The `neuro` command: one click group, one module per command."""

from __future__ import annotations

import click

import neuro

from .agree import agree
from .backends import backends
from .bench import bench
from .check import check_command
from .common import NeuroGroup
from .drift import drift_command
from .evaluate import evaluate
from .explain import explain_command
from .ladder import ladder
from .machine import machine
from .predict import predict
from .serve import serve
from .show import show
from .train import train


@click.group(cls=NeuroGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(neuro.__version__, "--version", "-V", prog_name="neuro")
def main() -> None:
    """neuro: the classic digit-recognising neural network on pluggable backends.

    \b
    Train 784-16-16-10 on built-in digits:   neuro train
    See which backends run here:              neuro backends
    Check that all backends agree:            neuro agree
    Check a rung of your own:                 neuro check my_rung.py
    See why they still end apart:             neuro drift
    Climb the performance ladder:             neuro ladder
    Measure this machine's limits:            neuro machine
    See why a rung is faster:                 neuro explain RUNG
    Measure backends over sizes:              neuro bench
    Draw a digit, watch the network think:    neuro serve
    """


for command in (train, evaluate, backends, agree, ladder, machine, bench, show, predict, serve):
    main.add_command(command)
main.add_command(drift_command, name="drift")
main.add_command(check_command, name="check")
main.add_command(explain_command, name="explain")
