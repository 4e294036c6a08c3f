"""How a tutorial step's output is trimmed for the docs (scripts/tutorial-docs.py): each trim takes what a command
printed and returns what docs/tutorial.md shows, with `…` in the place of every cut. A trim that cannot find the
line it cuts at raises StepFailed, so a changed output stops the script instead of being cut in the wrong place."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

CUT = "…"


class StepFailed(Exception):
    """A step of the tutorial did not print what the tutorial expects: its message says which and why."""


def as_is(output: str) -> str:
    return output


def cut(start: str, stop: str | None = None) -> Callable[[str], str]:
    """Drop the lines from the first that matches `start` up to (not including) the next that matches `stop`
    (to the end without `stop`), leaving `…` in their place."""

    def trim(output: str) -> str:
        lines = output.split("\n")
        first = next((i for i, line in enumerate(lines) if re.search(start, line)), None)
        if first is None:
            raise StepFailed(f"no line matches {start!r} in:\n{output}")
        last = len(lines) if stop is None else next(
            (i for i in range(first + 1, len(lines)) if re.search(stop, lines[i])), None)
        if last is None:
            raise StepFailed(f"no line matches {stop!r} after {start!r} in:\n{output}")
        return "\n".join(lines[:first] + [CUT] + lines[last:])

    return trim


def picture_cut(output: str) -> str:
    """Drop the first framed picture of a digit (`+----+` to `+----+`), leaving `…`."""
    return cut(r"^\+-+\+$", r"^[^+|]")(output)


def last_epoch_only(output: str) -> str:
    """A training run's output with its `Epoch` lines but the last replaced by one `…`."""
    lines = output.split("\n")
    epoch_lines = [i for i, line in enumerate(lines) if line.startswith("Epoch")]
    if len(epoch_lines) < 2:
        return output
    return "\n".join(lines[:epoch_lines[0]] + [CUT] + lines[epoch_lines[-1]:])


def short_json(output: str) -> str:
    """The last line (one JSON object) with every list shortened to its first two numbers and a `…`."""
    *before, last = output.split("\n")
    try:
        parsed = json.loads(last)
    except json.JSONDecodeError as error:
        raise StepFailed(f"the last line is not one JSON object ({error}):\n{output}") from None

    def short(value):
        if isinstance(value, list):
            return [short(v) for v in value[:2]] + ([CUT] if len(value) > 2 else [])
        return {k: short(v) for k, v in value.items()} if isinstance(value, dict) else value

    text = json.dumps(short(parsed), ensure_ascii=False)
    return "\n".join([*before, text.replace(f'"{CUT}"', CUT)])
