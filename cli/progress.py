"""The data loaders' progress, printed on stderr: a click progress bar when the amount of work is known, the
announcement alone when it is not (see neuro.data.progress)."""

from __future__ import annotations

import sys

import click


class PrintedProgress:
    """An `on_progress(what, done, total)` for neuro's loaders that draws on stderr."""

    def __init__(self) -> None:
        self._bar = None
        self._shown = 0

    def __call__(self, what: str, done: int, total: int | None) -> None:
        if done == 0:  # new work: finish the last bar, start the next one
            self.close()
            if total is None:
                click.echo(what, err=True)
                return
            self._bar = click.progressbar(length=total, label=what, file=sys.stderr)
            self._bar.__enter__()
            return
        if self._bar is not None:
            self._bar.update(done - self._shown)
            self._shown = done
            if total is not None and done >= total:
                self.close()

    def close(self) -> None:
        """Finish the bar being drawn, if any."""
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
        self._bar, self._shown = None, 0
