"""What the commands share: option parsing, JSON output, progress bars, and turning errors into one line."""

from __future__ import annotations

import contextlib
import json
import math
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

import click

from neuro.sizes import CLASSIC, check_sizes
from neuro.support.errors import NeuroError
from neuro.support.interrupts import StopAtOnce

CLASSIC_LAYERS = ",".join(map(str, CLASSIC))
"""The classic network as --layers writes it: 784,16,16,10."""


def parse_sizes(text: str) -> list[int]:
    """'784,16,16,10' -> [784, 16, 16, 10], or a NeuroError that says what is wrong, as the option was written."""
    try:
        sizes = [int(part) for part in text.replace(" ", "").split(",") if part != ""]
    except ValueError:
        raise NeuroError(f"layer sizes must be whole numbers separated by commas, like {CLASSIC_LAYERS}; "
                         f"got {text!r}") from None
    if len(sizes) < 2:
        raise NeuroError(f"give at least an input and an output layer, like {CLASSIC_LAYERS}; got {text!r}")
    try:
        return check_sizes(sizes)
    except NeuroError:  # (a layer of no neurons: said with the option's text, not the parsed list)
        raise NeuroError(f"every layer needs at least one neuron; got {text!r}") from None


def parse_int_list(text: str, what: str) -> list[int]:
    """'1,10,100' -> [1, 10, 100], each positive."""
    try:
        values = [int(part) for part in text.replace(" ", "").split(",") if part != ""]
    except ValueError:
        raise NeuroError(f"{what} must be whole numbers separated by commas; got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise NeuroError(f"{what} must be positive whole numbers; got {text!r}")
    return values


def finite(_ctx: click.Context, _param: click.Parameter, value: float | None) -> float | None:
    """A click callback: the option's number, which must be finite (click's ranges let inf and nan through)."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"must be a finite number, got {value}")
    return value


def emit_json(payload: dict[str, Any]) -> None:
    """Print `payload` as one JSON object on the last line of standard output."""
    click.echo(json.dumps(payload, default=_plain))


def _plain(value: Any) -> Any:
    """Make NumPy scalars and arrays JSON-serialisable."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def info(message: str, quiet: bool = False) -> None:
    """A line for the person at the terminal; goes to stderr when standard output is kept for JSON."""
    click.echo(message, err=quiet)


def progress_bar(length: int, label: str, show: bool = True):
    """A click progress bar on stderr, shown only when wanted and stderr is a terminal."""
    visible = show and sys.stderr.isatty()
    return click.progressbar(
        length=length, label=label, file=sys.stderr if visible else _Null(), show_eta=True, show_pos=True
    )


class _Null:
    """A file that swallows everything: a progress bar that shows nothing."""

    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM, for the whole command, stops it as Ctrl-C does (exit status 143): files being written are cleaned
    up on the way out, where the default handler would kill the process mid-write. Long work installs its own
    handlers on top (neuro.support.interrupts), which stop it more gently."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame) -> None:
        raise StopAtOnce(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class NeuroGroup(click.Group):
    """A click group whose commands report a NeuroError as one line `Error: ...` and exit with status 1."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands with the whole first line of their help: click would cut it to the terminal's width."""
        rows = [(name, self.get_command(ctx, name).get_short_help_str(limit=1000)) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with terminate_as_interrupt():
                return super().invoke(ctx)
        except NeuroError as error:
            raise click.ClickException(str(error)) from None
        except KeyboardInterrupt as interrupt:  # (a second Ctrl-C, or one outside a stoppable stretch of work)
            click.echo("Interrupted.", err=True)
            raise SystemExit(getattr(interrupt, "exit_status", 130)) from None


def _backend_name(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    """The backend named by --backend, else by $NEURO_BACKEND, else numpy: read when the command runs."""
    from neuro.backends import default_backend_name

    return value or default_backend_name()


backend_option = click.option(
    "--backend", "-b", default=None, metavar="NAME", callback=_backend_name,
    help="Backend to compute with (see `neuro backends`). Default: $NEURO_BACKEND, else numpy.",
)
dtype_option = click.option(
    "--dtype", type=click.Choice(["float64", "float32"]), default="float64", show_default=True,
    help="Floating-point precision of the parameters and the arithmetic.",
)
data_option = click.option(
    "--data", default="synthetic", show_default=True, metavar="SOURCE",
    help="'synthetic' (built-in generated digits), 'mnist' (downloaded once to $NEURO_DATA_DIR or "
         "~/.cache/neuro), or a folder holding the four MNIST IDX files.",
)
threads_option = click.option(
    "--threads", type=click.IntRange(min=1), default=None, metavar="N",
    help="CPU threads for backends that use several cores (numba). Default: NUMBA_NUM_THREADS, else all cores.",
)


def apply_threads(backend, threads: int | None, strict: bool = True) -> None:
    """Ask `backend` to use `threads` threads; a backend that runs on one thread only refuses (or, not strict, is
    left as it is)."""
    if threads is None or (not strict and backend.max_threads == 1):
        return
    backend.set_threads(threads)


def parse_dtypes(text: str) -> list[str]:
    """'float64,float32' -> ['float64', 'float32'], each one of the two."""
    dtypes = [d.strip() for d in text.split(",") if d.strip()]
    for d in dtypes:
        if d not in ("float64", "float32"):
            raise click.BadParameter(f"{d!r} is not float64 or float32", param_hint="--dtype")
    if not dtypes:
        raise click.BadParameter("give float64, float32 or both", param_hint="--dtype")
    return dtypes


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object as the last line of standard output."
)
