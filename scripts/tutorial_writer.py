"""What scripts/tutorial-docs.py writes into docs/tutorial.md: the step blocks and values filled in (`render`), the
machine line, and what its --check compares (`deterministic`: the tutorial with what differs from machine to
machine made the same)."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from docs_blocks import blocks, fill_blocks, fill_values, this_machine, value_names
from tutorial_steps import DERIVED, STEPS, VALUES

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"
README = ROOT / "README.md"
README_DRIFT = "readme-drift"  # README's copy of the drift step's output
IMAGES = ROOT / "docs" / "images"
RUN = "run: "  # the prefix of this script's block names
MACHINE_BLOCK = "tutorial-machine"


def machine_line(seconds: float) -> str:
    return (f"These outputs were made on {datetime.date.today().isoformat()} by `python scripts/tutorial-docs.py` "
            f"(from an empty data cache, in {seconds:.0f} s) on {this_machine()}. The seconds "
            f"and samples per second, which backends run and the digits of `neuro drift` are this machine's; "
            f"everything else is the same on "
            f"every machine.")


def render(text: str, outputs: dict[str, str], values: dict[str, str], machine: str | None) -> str:
    def body_for(name: str) -> str | None:
        if name == MACHINE_BLOCK:
            return machine
        return outputs.get(name[len(RUN):]) if name.startswith(RUN) else None

    return fill_values(fill_blocks(text, body_for), values)


def check_markers(text: str) -> None:
    """Every step has its block, every value is known: say which is missing before anything runs."""
    names = blocks(text)
    missing = [f"block `{RUN}{s.name}`" for s in STEPS if f"{RUN}{s.name}" not in names]
    known = set(VALUES) | {name for _, names in DERIVED.values() for name in names}
    missing += [f"a value named {n!r} (not one of VALUES)" for n in value_names(text) if n not in known]
    unknown = [n for n in names if n.startswith(RUN) and n[len(RUN):] not in {s.name for s in STEPS}]
    missing += [f"a step for block `{n}`" for n in unknown]
    if missing:
        raise SystemExit("tutorial-docs: docs/tutorial.md and STEPS do not match: " + "; ".join(missing))


TIMING = [
    (re.compile(r"\b\d[\d,]*(?:\.\d+)? samples/s\b"), "<N> samples/s"),
    (re.compile(r"\b\d[\d,]*(?:\.\d+)? (?:s|ms|µs|ns)\b"), "<T> s"),
]


def deterministic(text: str) -> str:
    """`text` with what may differ between machines made the same: timings, and the machine's own blocks."""
    machine_steps = {f"{RUN}{s.name}" for s in STEPS if s.machine} | {MACHINE_BLOCK}
    text = fill_blocks(text, lambda name: "(this machine's)" if name in machine_steps else None)
    for pattern, placeholder in TIMING:
        text = pattern.sub(placeholder, text)
    return text
