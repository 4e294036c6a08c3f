"""Options the commands share, defined once: the network's --layers, the training options of `neuro train` and
`neuro serve --train` (handed to the command as one `RunSettings`), and `grouped`, which hands any set of options
to a command as one object (so that no command takes a parameter per option)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import click

from neuro.costs import COSTS
from neuro.network import DTYPES, INITS
from neuro.settings import RunSettings

from .common import CLASSIC_LAYERS, parse_sizes

DEFAULTS = RunSettings()


def layers_option(help: str = "Layer sizes, input to output."):
    """The --layers option: the network's layer sizes as SIZES, like 784,16,16,10 (the classic network)."""
    return click.option("--layers", default=CLASSIC_LAYERS, show_default=True, metavar="SIZES", help=help)


def grouped(name: str, make: Callable, *options, also: tuple[str, ...] = ()) -> Callable:
    """A decorator that adds the click `options` to a command and hands the command, instead of one parameter per
    option, the parameter `name`: `make(**their values)`, with those of the options named in `also` (declared by
    the command itself)."""

    def decorate(command: Callable) -> Callable:
        @functools.wraps(command)
        def with_group(*args, **kwargs):
            values = {key: kwargs.pop(key) for key in keys}
            return command(*args, **kwargs, **{name: make(**values)})

        with_group.__click_params__ = list(getattr(command, "__click_params__", []))
        before = len(with_group.__click_params__)
        for option in reversed(options):
            with_group = option(with_group)
        keys = [*also, *(param.name for param in with_group.__click_params__[before:])]
        return with_group

    return decorate


def given_on_command_line(*names: str) -> list[str]:
    """Those of the current command's parameters `names` that were given on the command line (not defaults)."""
    ctx = click.get_current_context()
    return [name for name in names if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE]


def data_source(spec: str) -> str:
    """--data as a training record keeps it: a folder by its absolute path (a resumed run may start elsewhere)."""
    return spec if spec in ("synthetic", "mnist") else os.path.abspath(spec)


def _help(prefix: str, text: str) -> str:
    """An option's help: after `prefix` ('--train: ') as it is, else as a sentence."""
    return prefix + text if prefix else text[0].upper() + text[1:]


def run_options(prefix: str = "", dtype_default: str | None = DEFAULTS.dtype, epochs_help: str = "") -> Callable:
    """The training options, handed to the command as `run`, one `RunSettings` (not yet checked: the command
    checks it once it knows whether a resumed run's record replaces it), and `epochs`. The command declares
    --data itself (what it means differs); `prefix` begins every help text ('--train: '), `dtype_default` None
    means the command decides."""

    def make(**given) -> RunSettings:  # (the options' values, by the names of RunSettings' fields)
        return RunSettings(**given | {"layers": tuple(parse_sizes(given["layers"])),
                                      "data": data_source(given["data"] or DEFAULTS.data),
                                      "dtype": given["dtype"] or DEFAULTS.dtype})

    def decorate(command: Callable) -> Callable:
        options = [
            layers_option(_help(prefix, "layer sizes, input to output.")),
            click.option("--epochs", default=10, show_default=True, type=int,
                         help=_help(prefix, f"passes over the training images{epochs_help}.")),
            click.option("--batch-size", default=DEFAULTS.batch_size, show_default=True, type=int,
                         help=_help(prefix, "images per mini-batch (m).")),
            click.option("--eta", default=DEFAULTS.eta, show_default=True, type=float,
                         help=_help(prefix, "learning rate: w -= eta/m * nabla_w.")),
            click.option("--cost", type=click.Choice(list(COSTS)), default=DEFAULTS.cost, show_default=True,
                         help=_help(prefix, "the cost minimised.")),
            click.option("--init", type=click.Choice(list(INITS)), default=DEFAULTS.init, show_default=True,
                         help=_help(prefix, "initial weights: classic N(0,1), or scaled N(0,1/n_in).")),
            click.option("--seed", default=DEFAULTS.seed, show_default=True, type=int,
                         help=_help(prefix, "seed for the initial weights and the shuffling.")),
            click.option("--limit", type=int, default=None, metavar="N",
                         help=_help(prefix, "train on the first N training images only.")),
            click.option("--dtype", type=click.Choice(list(DTYPES)), default=dtype_default,
                         show_default=dtype_default is not None,
                         help="Floating-point precision of the parameters and the arithmetic." if dtype_default
                         else "Precision of the arithmetic. Default: the model's, float64 with --train."),
        ]
        epochs = options.pop(1)
        return epochs(grouped("run", make, *options, also=("data",))(command))

    return decorate
