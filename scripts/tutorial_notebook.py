"""docs/tutorial.ipynb from docs/tutorial.md: the same tutorial as a Jupyter notebook, written by
scripts/tutorial-docs.py with the tutorial (never by hand), stored without outputs.

- The prose becomes Markdown cells, one per section, the values it points at as plain text.
- A `<!-- file: NAME -->` block whose file a step runs (`python NAME`) becomes a code cell holding that code: the
  notebook runs the Python the tutorial shows in its kernel.
- Every other command of a `run: NAME` block becomes a `!neuro ...` cell, the values it uses filled in; each
  command's cell says in its metadata (`neuro`: step and command) which step and command it is, so that a test
  can put the outputs of a run together as the tutorial's block and compare them (tests/test_tutorial_notebook.py).
- A picture that a step writes (`![...](images/training.png)`) is shown by a code cell, from the file this run of
  the notebook wrote; the other pictures stay links.
- The blocks other scripts write from their own runs (the ladder's measurements, the browser's screenshot) are not
  copied: a sentence links to them in the tutorial, so that those scripts need not rewrite the notebook. The
  tutorial's machine line is left out: the notebook shows no outputs of its own.

The notebook follows the tutorial exactly, except a step's `notebook` commands, which replace its commands where the
tutorial's take too long for the test (only machine steps, whose outputs are never compared).
"""

from __future__ import annotations

import json
import re

from docs_blocks import BLOCK, FILE, VALUE
from tutorial_steps import STEPS
from tutorial_writer import MACHINE_BLOCK, RUN

STEP_PICTURES = {picture for step in STEPS for picture in step.pictures}
IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\(images/(?P<file>[^)\s]+)\)")
IMAGE_LINE = re.compile(r"^(?:!\[[^\]]*\]\(images/[^)\s]+\)[ \t]*)+\n?", re.M)

ABOUT = """\
*This notebook is [the tutorial](tutorial.md) as cells, written from it by `python scripts/tutorial-docs.py`
(edit the tutorial, never this file). Run it top to bottom in a Jupyter whose kernel is the Python that neuro is
installed in with the plot extra (for example `.venv/bin/pip install -e ".[plot]" jupyterlab`, then
`.venv/bin/jupyter lab docs/tutorial.ipynb`). The tutorial's commands are `!neuro ...` cells, run in the notebook's
folder, where they leave their models and pictures; the Python files it runs are cells here. What they print is
what the tutorial shows, apart from the seconds, the samples per second and what depends on the machine
(`neuro backends`, and `neuro drift`, which here compares numpy with numba-loops, leaving out the slow python
backend): the project's tests run this notebook and check it.*"""

SETUP = """\
# `!neuro` is the neuro installed beside this kernel's Python, and draws in plain characters (NO_COLOR), as the
# tutorial shows its output; the pictures the commands write are shown by IPython.display (by its full name,
# which the tutorial's code does not take: its draw7.py imports Pillow's Image).
import os
import sys

import IPython.display

os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
os.environ["NO_COLOR"] = "1\""""


class NotebookError(Exception):
    pass


def slug(heading: str) -> str:
    """The anchor of a Markdown heading, as GitHub makes it: '7. Drawing a digit' -> '7-drawing-a-digit'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def markdown_cells(prose: str) -> list[dict]:
    """One Markdown cell per section of `prose` (a new one at every `## ` heading), values as plain text."""
    prose = VALUE.sub(lambda match: match["body"], prose)
    sections = re.split(r"\n(?=## )", prose)
    return [markdown_cell(section.strip()) for section in sections if section.strip()]


def markdown_cell(source: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def code_cell(source: str, about: dict) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {"neuro": about} if about else {},
            "outputs": [], "source": source}


def picture_cell(line: str) -> dict:
    """The code that shows the pictures of one line of `![...](images/NAME)`, from the files this run wrote."""
    images = list(IMAGE.finditer(line))
    shown = [f'IPython.display.Image(filename="{image["file"]}")' for image in images]
    code = shown[0] if len(shown) == 1 else "\n".join(f"IPython.display.display({image})" for image in shown)
    comment = "# " + "; ".join(image["alt"] for image in images)
    return code_cell(f"{comment}\n{code}", {"pictures": [image["file"] for image in images]})


def pieces(text: str) -> list[tuple[int, int, str, re.Match]]:
    """The blocks, files and lines of step pictures of `text`, in order: (start, end, kind, match)."""
    found = [(m.start(), m.end(), "block", m) for m in BLOCK.finditer(text)]
    found += [(m.start(), m.end(), "file", m) for m in FILE.finditer(text)]
    found += [(m.start(), m.end(), "pictures", m) for m in IMAGE_LINE.finditer(text)
              if {i["file"] for i in IMAGE.finditer(m.group(0))} <= STEP_PICTURES]
    found.sort(key=lambda piece: piece[0])
    for (_, end, _, _), (start, _, kind, match) in zip(found, found[1:]):
        if start < end:
            raise NotebookError(f"a {kind} inside another block of the tutorial: {match.group(0)[:60]!r}")
    return found


def step_cells(name: str, values: dict[str, str], files_run: set[str]) -> list[dict]:
    """The `!` cells of step `name`'s commands; those that run a file of the tutorial ran as its cell before."""
    step = next((s for s in STEPS if s.name == name), None)
    if step is None:
        raise NotebookError(f"no step for block `{RUN}{name}`")
    cells = []
    for index, template in enumerate(step.notebook or step.commands):
        words = template.split()
        if words[0] == "python":
            if words[1:] != [words[-1]] or words[-1] not in files_run:
                raise NotebookError(f"step {name!r} runs {template!r}, not a file the tutorial shows before it")
            continue
        cells.append(code_cell("!" + template.format(**values), {"step": name, "command": index}))
    return cells


def file_step(name: str) -> tuple[str, int]:
    """The step that runs the tutorial's file `name` (`python NAME`), and which of its commands that is."""
    for step in STEPS:
        for index, command in enumerate(step.notebook or step.commands):
            if command == f"python {name}":
                return step.name, index
    raise NotebookError(f"no step runs the tutorial's file {name} (`python {name}`)")


class Cells:
    """The notebook's cells in the order of the tutorial's text, but each step's only once the steps before it
    in STEPS have run: the tutorial may show code before the step it needs (section 2's `neuron.py` reads the
    model that section 4 trains); the notebook shows that code in its place and runs it further down."""

    def __init__(self) -> None:
        self.cells: list[dict] = []
        self.passed: set[str] = set()  # the steps whose block the text has passed
        self.waiting: dict[str, list[dict]] = {}  # step: its cells, held back until the steps before it have run

    def ready(self, name: str) -> bool:
        before = [step.name for step in STEPS][:[step.name for step in STEPS].index(name)]
        return all(step in self.passed and step not in self.waiting for step in before)

    def add(self, name: str, cells: list[dict], code: str | None = None) -> None:
        """Add step `name`'s `cells` now, or hold them back (showing `code` here) until the steps before it ran."""
        if name not in self.waiting and self.ready(name):
            self.cells += cells
            return
        if code is not None:
            needed = next(step for step in STEPS if step.name not in self.passed or step.name in self.waiting)
            self.cells.append(markdown_cell(f"```python\n{code}```\n\n*The notebook runs this code further down, "
                                            f"after `{needed.commands[0]}`, which it needs.*"))
        self.waiting.setdefault(name, []).extend(cells)

    def passed_block(self, name: str) -> None:
        """The text passed step `name`'s block: add the cells held back that can run now."""
        self.passed.add(name)
        while ready := [step for step in self.waiting if self.ready(step)]:
            held = self.waiting.pop(ready[0])
            self.cells += [markdown_cell(f"*The code shown above for step `{ready[0]}`, now that what it needs "
                                         "has run:*"), *held]


def cells_of(text: str) -> list[dict]:
    values = {match["name"].strip(): match["body"] for match in VALUE.finditer(text)}
    cells, files_run, at, heading = Cells(), set(), 0, ""
    for start, end, kind, match in pieces(text):
        prose = text[at:start]
        headings = re.findall(r"^## (.+)$", prose, re.M)
        heading = headings[-1] if headings else heading
        cells.cells += markdown_cells(prose)
        at = end
        if kind == "file":
            name, code = match["name"].strip(), match["code"]
            step, index = file_step(name)
            cells.add(step, [code_cell(code.rstrip("\n"), {"step": step, "command": index})], code)
            files_run.add(name)
        elif kind == "pictures":
            cells.cells.append(picture_cell(match.group(0)))
        elif match["name"].startswith(RUN):
            step = match["name"][len(RUN):]
            cells.add(step, step_cells(step, values, files_run))
            cells.passed_block(step)
        elif match["name"] != MACHINE_BLOCK:
            cells.cells.append(markdown_cell(
                f"*Here the tutorial shows what another script wrote from its own run (its block "
                f"`{match['name']}`): read it in [the tutorial](tutorial.md#{slug(heading)}).*"))
    if cells.waiting:
        raise NotebookError(f"the steps {', '.join(cells.waiting)} wait for steps the tutorial never runs")
    return cells.cells + markdown_cells(text[at:])


def notebook(text: str) -> dict:
    """docs/tutorial.ipynb (nbformat 4) for the tutorial `text`: its cells, with what the notebook is and its setup
    cell before the first section."""
    cells = cells_of(text)
    first = next((i for i, cell in enumerate(cells) if cell["source"].startswith("## ")), len(cells))
    cells[first:first] = [markdown_cell(ABOUT), code_cell(SETUP, {})]
    for number, cell in enumerate(cells):
        cell["id"] = f"cell-{number:03d}"
        cell["source"] = cell["source"].splitlines(keepends=True)
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}}}


def notebook_json(text: str) -> str:
    """The notebook as its file holds it: JSON as Jupyter writes it (indent 1, sorted keys)."""
    return json.dumps(notebook(text), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
