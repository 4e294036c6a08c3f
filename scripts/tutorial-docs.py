"""Run the tutorial's commands and write what they print into docs/tutorial.md: the only way its outputs change.

    python scripts/tutorial-docs.py [--check] [--keep DIR]

The tutorial's source, its steps and the values its prose picks, is scripts/tutorial_steps.py; they are run by
scripts/tutorial_runner.py and written by scripts/tutorial_writer.py. docs/tutorial.ipynb, the same tutorial as a
notebook, is written with it from the same source (scripts/tutorial_notebook.py).

Runs the commands of STEPS in order, as a learner would after a fresh install: in a scratch folder (commands
use paths relative to it: `--save model.npz`), with an empty data cache (a fresh NEURO_DATA_DIR), plain
characters instead of colour (NO_COLOR). Then it rewrites the tutorial's markers (scripts/docs_blocks.py):

- `<!-- generated: run: NAME -->` ... `<!-- end: run: NAME -->`: the console block of step NAME, each command
  after `$ ` and then what it printed, standard output and error together as a terminal shows them (the
  scratch folder's data cache written as ~/.cache/neuro, its default). A step may trim its output; `…` marks
  every cut.
- `<!-- file: NAME -->` right above a fenced code block: before any step runs, that code is written to NAME in
  the scratch folder, so the Python a step runs (`python NAME`) is the code the tutorial shows.
- `<!-- value: NAME -->...<!-- end: value -->` inside a sentence: a value that VALUES picks from a step's
  output by a regular expression, or DERIVED computes from it (a neuron, an image, an accuracy), so that
  prose pointing at one cannot drift from the output. A value is picked as soon as its step has run, and
  later commands may use it (`--index {first_mistake}`). A value that cannot be found, or a story of STORIES
  that no longer holds, stops the script with a message that names it; nothing is written then.
- `<!-- generated: tutorial-machine -->`: the machine, the library versions and the date that made them.
- README.md's `<!-- generated: readme-drift -->`: the output of the `drift` step, as in the tutorial.

Every other block (the ladder's, written by scripts/ladder-docs.py; `serve-screenshot`, which no step here
writes) is left exactly as it is. The pictures the commands write (`--out`, `--plot`) are copied into
docs/images/ under the same names, and docs/tutorial.ipynb is written from the new tutorial. A new step is a
Step in STEPS and a `run: NAME` block where its output belongs; the script refuses to run while the two do not
match.

What differs from machine to machine, and what --check therefore ignores: the seconds and samples per second
of every output (TIMING turns them into placeholders, in the docs and in the new output alike, and nothing
else), the steps marked `machine` (`neuro backends`: which backends run here; `neuro drift`, whose numpy and numba
run their sums in an order the machine chooses) and the machine line. Every
other character is deterministic: the data are the same bytes everywhere, and the tutorial trains and
predicts with the numba-loops backend, whose sums run in the order they are written (numpy's BLAS chooses its
summation order by processor, so numpy's accuracies differ in the last digits from machine to machine).

--check reruns every step but the machine's (in a fresh scratch folder and data cache), compares the
tutorial it would write with docs/tutorial.md, and the notebook written from docs/tutorial.md with
docs/tutorial.ipynb, and exits 1 with a unified diff when they differ. It writes nothing, pictures included.
--keep DIR runs in DIR (which must be empty or absent) and keeps it, to look at what the commands wrote.
"""

from __future__ import annotations

import argparse
import difflib
import shutil
import sys
import tempfile
import time
from pathlib import Path

from docs_blocks import fill_blocks
from tutorial_notebook import NotebookError, notebook_json
from tutorial_runner import run_steps
from tutorial_steps import STEPS, STORIES
from tutorial_trims import StepFailed
from tutorial_writer import (
    IMAGES,
    NOTEBOOK,
    README,
    README_DRIFT,
    TUTORIAL,
    check_markers,
    deterministic,
    machine_line,
    render,
)


def differs(old: str, new: str, name: str) -> bool:
    """Whether `new` differs from `old`, the file `name`; if it does, print the unified diff."""
    if old == new:
        return False
    sys.stdout.writelines(difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), name, "what the code prints now"))
    return True


def check(text: str, outputs: dict[str, str], values: dict[str, str], seconds: float) -> None:
    """Fail, with a diff, if docs/tutorial.md or its notebook is not what the script would write."""
    if differs(deterministic(text), deterministic(render(text, outputs, values, None)), "docs/tutorial.md"):
        raise SystemExit("tutorial-docs: docs/tutorial.md no longer matches what the code prints; run "
                         "`python scripts/tutorial-docs.py` and read the diff above")
    old = NOTEBOOK.read_text() if NOTEBOOK.exists() else ""
    if differs(old, notebook_json(text), "docs/tutorial.ipynb"):
        raise SystemExit("tutorial-docs: docs/tutorial.ipynb is not the notebook of docs/tutorial.md; run "
                         "`python scripts/tutorial-docs.py` and read the diff above")
    print(f"tutorial-docs: docs/tutorial.md and docs/tutorial.ipynb match what the code prints ({seconds:.0f} s)")


def write(text: str, new: str, outputs: dict[str, str], scratch: Path) -> None:
    """Write the pictures, the tutorial, its notebook and README's drift block, each only where it changed."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    for step in STEPS:
        for picture in step.pictures:
            shutil.copyfile(scratch / picture, IMAGES / picture)
            print(f"wrote docs/images/{picture}")
    if new != text:
        TUTORIAL.write_text(new)
        print("wrote docs/tutorial.md")
    notebook = notebook_json(new)
    if not NOTEBOOK.exists() or NOTEBOOK.read_text() != notebook:
        NOTEBOOK.write_text(notebook)
        print("wrote docs/tutorial.ipynb")
    readme = README.read_text()
    with_drift = fill_blocks(readme, lambda name: outputs["drift"] if name == README_DRIFT else None)
    if with_drift != readme:
        README.write_text(with_drift)
        print("wrote README.md (its drift block)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="rerun the deterministic steps and fail, with a diff, if the tutorial or its notebook "
                             "differs")
    parser.add_argument("--keep", metavar="DIR", type=Path, help="run in DIR (empty or absent) and keep it")
    args = parser.parse_args()
    text = TUTORIAL.read_text()
    check_markers(text)
    try:
        notebook_json(text)  # a tutorial the notebook cannot be made of stops here, before anything runs
    except NotebookError as error:
        raise SystemExit(f"tutorial-docs: docs/tutorial.ipynb cannot be made: {error}") from None
    if args.keep:
        if args.keep.exists() and any(args.keep.iterdir()):
            raise SystemExit(f"tutorial-docs: {args.keep} is not empty")
        args.keep.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="neuro-tutorial-") as temporary:
        scratch = (args.keep or Path(temporary)).resolve()
        try:
            outputs, values = run_steps(text, scratch, skip_machine=args.check)
        except StepFailed as failure:
            raise SystemExit(f"tutorial-docs: {failure}") from None
        broken = [claim for claim, holds in STORIES if not holds(values)]
        if broken:
            raise SystemExit("tutorial-docs: the tutorial's prose no longer holds, rewrite it: " + "; ".join(broken))
        seconds = time.perf_counter() - started
        if args.check:
            check(text, outputs, values, seconds)
            return
        write(text, render(text, outputs, values, machine_line(seconds)), outputs, scratch)


if __name__ == "__main__":
    main()
