"""scripts/tutorial-docs.py and its modules (tutorial_steps, _trims, _runner, _writer) without running the tutorial
(CI's `--check` step does that): its markers agree with docs/tutorial.md, its checks ignore timings and nothing
else, and its trims and picks fail loudly."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


@pytest.fixture(scope="module")
def docs():
    """The script and the modules it is made of, as one namespace (they import each other from scripts/)."""
    sys.path.insert(0, str(SCRIPTS))
    try:
        spec = importlib.util.spec_from_file_location("tutorial_docs", SCRIPTS / "tutorial-docs.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        parts = [importlib.import_module(name) for name in ("tutorial_trims", "tutorial_runner", "tutorial_writer")]
        yield SimpleNamespace(**{k: v for part in [*parts, module] for k, v in vars(part).items()})
    finally:
        sys.path.remove(str(SCRIPTS))
        for name in ("tutorial_docs", "tutorial_trims", "tutorial_steps", "tutorial_runner", "tutorial_writer",
                     "tutorial_notebook"):
            sys.modules.pop(name, None)


def test_every_step_has_its_block_and_every_value_in_the_tutorial_is_known(docs):
    docs.check_markers(docs.TUTORIAL.read_text())  # raises SystemExit naming what is missing


def test_a_tutorial_without_a_steps_block_is_refused_before_anything_runs(docs):
    text = docs.TUTORIAL.read_text().replace("<!-- generated: run: evaluate -->", "<!-- generated: run: evaluat -->")
    with pytest.raises(SystemExit, match="block `run: evaluate`"):
        docs.check_markers(text)


def test_the_check_ignores_timings_but_not_a_changed_accuracy(docs):
    line = "Epoch   1/10: test accuracy  88.18%, cost 0.0928, {} s ({} samples/s) in {} ms"
    assert docs.deterministic(line.format("0.97", "61,853", "12")) == docs.deterministic(
        line.format("12.50", "4,800", "7.5"))
    assert docs.deterministic(line.format("0.97", "61,853", "12")) != docs.deterministic(
        line.format("0.97", "61,853", "12").replace("88.18%", "88.19%"))
    assert docs.deterministic("10 epochs, batch 10, 784 samples") == "10 epochs, batch 10, 784 samples"


def test_the_machines_own_blocks_are_left_out_of_the_check(docs):
    here = "<!-- generated: run: backends -->\ncuda  yes\n<!-- end: run: backends -->\n"
    there = "<!-- generated: run: backends -->\ncuda  no   no NVIDIA driver\n<!-- end: run: backends -->\n"
    assert docs.deterministic(here) == docs.deterministic(there)
    ours = "<!-- generated: run: evaluate -->\nTest accuracy 93.05%\n<!-- end: run: evaluate -->\n"
    assert docs.deterministic(ours) != docs.deterministic(ours.replace("93.05", "93.06"))


def test_a_value_that_is_not_in_the_output_stops_the_script_naming_it(docs):
    with pytest.raises(docs.StepFailed, match="value first_mistake"):
        docs.pick("first_mistake", "no mistakes here")


def test_trims_mark_their_cuts_and_fail_when_their_line_is_missing(docs):
    output = "Input: x\n+--+\n|@@|\n+--+\nLayer 1\n0.5\nOutput layer\n7"
    assert docs.cut(r"^Layer 1", r"^Output")(output) == "Input: x\n+--+\n|@@|\n+--+\n…\nOutput layer\n7"
    assert docs.picture_cut(output) == "Input: x\n…\nLayer 1\n0.5\nOutput layer\n7"
    with pytest.raises(docs.StepFailed, match="Hidden"):
        docs.cut(r"^Hidden", r"^Output")(output)
    assert docs.short_json('{"a": [1, 2, 3], "b": [[1, 2], [3]]}') == '{"a": [1, 2, …], "b": [[1, 2], [3]]}'


def test_the_ladder_docs_blocks_are_not_this_scripts(docs):
    """scripts/ladder-docs.py writes the ladder's blocks into the same file; this script must leave them alone."""
    text = "<!-- generated: ladder-classic -->\n| table |\n<!-- end: ladder-classic -->\n"
    assert docs.render(text, {"ladder-classic": "```console\nnot a table\n```"}, {}, "a machine") == text
