"""The markers by which scripts write generated text into the Markdown docs (scripts/ladder-docs.py and
scripts/tutorial-docs.py), so that no measured or printed number is typed by hand.

    <!-- generated: NAME -->          a block: everything between the two marker lines is rewritten
    ...
    <!-- end: NAME -->

    <!-- value: NAME -->93.05%<!-- end: value -->      an inline value, inside a sentence

    <!-- file: NAME -->                a file: the fenced code block right below is what is written to NAME
    ```python
    ...
    ```

A script fills only the names it knows and leaves every other block and value exactly as it is, so two scripts
can write into the same file. `this_machine()` is how every generated block names the machine that made it.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Callable
from pathlib import Path

BLOCK = re.compile(r"(<!-- generated: (?P<name>[^>]+?) -->\n)(?P<body>.*?)(<!-- end: (?P=name) -->)", re.S)
VALUE = re.compile(r"(<!-- value: (?P<name>[^>]+?) -->)(?P<body>.*?)(<!-- end: value -->)", re.S)
FILE = re.compile(r"<!-- file: (?P<name>[^>]+?) -->\n```[^\n]*\n(?P<code>.*?)^```", re.S | re.M)


def fill_blocks(text: str, body_for: Callable[[str], str | None]) -> str:
    """`text` with each block's body replaced by `body_for(name)`; a block whose body is None stays as it is."""

    def fill(match: re.Match) -> str:
        body = body_for(match["name"].strip())
        return match.group(0) if body is None else f"{match.group(1)}{body}\n{match.group(4)}"

    return BLOCK.sub(fill, text)


def fill_values(text: str, values: dict[str, str]) -> str:
    """`text` with each inline value that `values` names replaced by it; the others stay as they are."""

    def fill(match: re.Match) -> str:
        name = match["name"].strip()
        return match.group(0) if name not in values else f"{match.group(1)}{values[name]}{match.group(4)}"

    return VALUE.sub(fill, text)


def blocks(text: str) -> dict[str, str]:
    """Every block's name and its body (without the final newline)."""
    return {m["name"].strip(): m["body"].removesuffix("\n") for m in BLOCK.finditer(text)}


def value_names(text: str) -> list[str]:
    """The names of the inline values, in the order they appear."""
    return [m["name"].strip() for m in VALUE.finditer(text)]


def files(text: str) -> dict[str, str]:
    """Each `file:` marker's name and the code of the fenced block below it."""
    return {m["name"].strip(): m["code"] for m in FILE.finditer(text)}


def this_machine() -> str:
    """'AMD EPYC (2 cores, Linux), Python 3.11.7, NumPy 2.4.6, Numba 0.68.1': the machine and what it runs."""
    import numba
    import numpy

    cpu = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{cpu} ({cores} cores, {platform.system()}), Python {platform.python_version()}, NumPy "
            f"{numpy.__version__}, Numba {numba.__version__}")
