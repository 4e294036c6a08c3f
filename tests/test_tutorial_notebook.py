"""docs/tutorial.ipynb, the tutorial as a notebook: it is the notebook scripts/tutorial-docs.py writes from
docs/tutorial.md, and run top to bottom (nbclient, in a kernel of this Python, in an empty folder with an empty data
cache) it prints the tutorial's outputs, timings and the machine's own steps aside, and shows its pictures inline."""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
PROGRESS_BAR_END = "\x1b[?25h\n"  # click's progress bar, when it is done on a terminal
MODULES = ["docs_blocks", "tutorial_trims", "tutorial_steps", "tutorial_runner", "tutorial_writer", "tutorial_notebook"]
NEEDS_RUNNER = ("needs the notebook's runner (nbclient, nbformat, ipykernel), in the dev extra: "
                "pip install -e '.[dev]'")


@pytest.fixture(scope="module")
def scripts():
    """The tutorial scripts' modules, imported from scripts/ (they import each other by name)."""
    sys.path.insert(0, str(SCRIPTS))
    try:
        yield type("Scripts", (), {name: importlib.import_module(name) for name in MODULES})
    finally:
        sys.path.remove(str(SCRIPTS))
        for name in MODULES[1:]:  # docs_blocks stays, as other tests leave it
            sys.modules.pop(name, None)


def test_the_checked_in_notebook_is_the_one_the_script_writes_from_the_tutorial(scripts):
    writer = scripts.tutorial_writer
    assert writer.NOTEBOOK.read_text() == scripts.tutorial_notebook.notebook_json(writer.TUTORIAL.read_text()), (
        "docs/tutorial.ipynb is not the notebook of docs/tutorial.md: run `python scripts/tutorial-docs.py`")


def test_the_notebook_has_a_cell_for_every_command_and_no_outputs(scripts):
    nbformat = pytest.importorskip("nbformat", reason=NEEDS_RUNNER)
    notebook = nbformat.reads(scripts.tutorial_writer.NOTEBOOK.read_text(), as_version=4)
    nbformat.validate(notebook)
    cells = [cell.metadata["neuro"] for cell in notebook.cells if "step" in cell.metadata.get("neuro", {})]
    expected = [{"step": step.name, "command": index}
                for step in scripts.tutorial_steps.STEPS for index, _ in enumerate(step.notebook or step.commands)]
    assert cells == expected
    assert all(not cell.get("outputs") for cell in notebook.cells)


def kernel_manager(folder: Path):
    """A kernel manager for a kernel of this Python, from a kernelspec in `folder` (nothing registered elsewhere)."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    spec = folder / "neuro-tutorial"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "neuro's Python", "language": "python"}))
    return KernelManager(kernel_name="neuro-tutorial", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(folder)]))


def printed(cell) -> str:
    """What a cell printed, as a pipe would have had it. `!` commands run in a pseudo-terminal: its line ends are
    `\\r\\n`, and click's progress bars (on a terminal only) end with a line of their own, the cursor shown again;
    the bars themselves are lines rewritten with `\\r`, which `as_shown` reduces to their last version."""
    text = "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")
    return text.replace("\r\n", "\n").replace(PROGRESS_BAR_END, "")


def differences(scripts, notebook, text: str, work: Path, data: Path) -> dict[str, str]:
    """The steps whose output in the executed `notebook` differs from their block in the tutorial `text` (timings
    aside), each with what the notebook printed; checks on the way that the machine's steps ran without an error
    and that every picture cell showed its pictures."""
    steps, runner, writer = scripts.tutorial_steps, scripts.tutorial_runner, scripts.tutorial_writer
    values = {match["name"].strip(): match["body"] for match in scripts.docs_blocks.VALUE.finditer(text)}
    tutorial = scripts.docs_blocks.blocks(text)
    by_step = {step.name: step for step in steps.STEPS}
    shown: dict[str, list[tuple[str, str]]] = {}
    for cell in notebook.cells:
        about = cell.metadata.get("neuro", {})
        if "pictures" in about:
            pngs = [output for output in cell.outputs if "image/png" in output.get("data", {})]
            assert len(pngs) == len(about["pictures"]), f"{about['pictures']} not shown inline: {cell.outputs}"
        if "step" not in about:
            continue
        step = by_step[about["step"]]
        output = runner.as_shown(printed(cell), work, data)
        if step.machine:  # its own output here: it must have run, without an error
            assert output and "Error:" not in output and "Traceback" not in output, f"{step.name}: {output}"
            continue
        command = step.commands[about["command"]].format(**values)
        shown.setdefault(step.name, []).append((command, step.trim(about["command"])(output)))

    assert set(shown) == {step.name for step in steps.STEPS if not step.machine}
    return {name: runner.console_text(outputs) for name, outputs in shown.items()
              if writer.deterministic(runner.console_block(runner.console_text(outputs)))
              != writer.deterministic(tutorial[writer.RUN + name])}


def test_the_notebook_runs_top_to_bottom_printing_the_tutorials_outputs(scripts, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason=NEEDS_RUNNER)
    nbclient = pytest.importorskip("nbclient", reason=NEEDS_RUNNER)
    pytest.importorskip("ipykernel", reason=NEEDS_RUNNER)
    pytest.importorskip("matplotlib", reason="needs matplotlib, the plot extra: pip install -e '.[plot]'")
    pytest.importorskip("PIL", reason="needs Pillow, the pictures extra: pip install -e '.[pictures]'")
    writer = scripts.tutorial_writer
    work, data = tmp_path / "work", tmp_path / "data"
    work.mkdir()
    # Jupyter's connection file and IPython's history go to the test's folder, not the user's.
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    # As a learner's Jupyter: an empty data cache, no backend chosen, no CUDA simulator (the tests' own setting).
    env = {**os.environ, "NEURO_DATA_DIR": str(data)}
    for name in ("NEURO_BACKEND", "NUMBA_ENABLE_CUDASIM", "NO_COLOR"):
        env.pop(name, None)
    notebook = nbformat.reads(writer.NOTEBOOK.read_text(), as_version=4)
    nbclient.NotebookClient(notebook, km=kernel_manager(tmp_path / "kernels"), timeout=300,
                            resources={"metadata": {"path": str(work)}}).execute(env=env)

    differ = differences(scripts, notebook, writer.TUTORIAL.read_text(), work, data)
    assert not differ, "the notebook printed, unlike the tutorial:\n" + "\n\n".join(differ.values())
