"""How a loader reports long work (a download, drawing the synthetic digits) without printing anything itself.

A loader takes `on_progress`, a function it calls as `on_progress(what, done, total)`: `what` says the work in
a few words ("Downloading train-images-idx3-ubyte.gz"), `done` how much of it is done, `total` how much there
is (None when it is not known). Each piece of work is announced once with done = 0 before it starts. The
command line passes a function that prints (neuro.cli.progress); a program that wants silence passes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, "int | None"], None]
"""on_progress(what, done, total): see the module docstring."""
