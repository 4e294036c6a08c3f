"""Run the tutorial's commands and write what they print into docs/tutorial.md: the only way its outputs change.

    python scripts/tutorial-docs.py [--check] [--keep DIR]

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
docs/images/ under the same names. A new step is a Step in STEPS and a `run: NAME` block where its output
belongs; the script refuses to run while the two do not match.

What differs from machine to machine, and what --check therefore ignores: the seconds and samples per second
of every output (TIMING turns them into placeholders, in the docs and in the new output alike, and nothing
else), the steps marked `machine` (`neuro backends`: which backends run here; `neuro drift`, whose numpy and numba
run their sums in an order the machine chooses) and the machine line. Every
other character is deterministic: the data are the same bytes everywhere, and the tutorial trains and
predicts with the numba-loops backend, whose sums run in the order they are written (numpy's BLAS chooses its
summation order by processor, so numpy's accuracies differ in the last digits from machine to machine).

--check reruns every step but the machine's (in a fresh scratch folder and data cache), compares the
tutorial it would write with docs/tutorial.md, and exits 1 with a unified diff when they differ. It writes
nothing, pictures included. --keep DIR runs in DIR (which must be empty or absent) and keeps it, to look at
what the commands wrote.
"""

from __future__ import annotations

import argparse
import datetime
import difflib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from docs_blocks import blocks, files, fill_blocks, fill_values, this_machine, value_names

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
README = ROOT / "README.md"
README_DRIFT = "readme-drift"  # README's copy of the drift step's output
IMAGES = ROOT / "docs" / "images"
RUN = "run: "  # the prefix of this script's block names
MACHINE_BLOCK = "tutorial-machine"
CUT = "…"


# How a step's output is trimmed for the docs.

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


@dataclass
class Step:
    """Commands run one after the other in the scratch folder; their output is the block `run: NAME`."""

    name: str
    commands: list[str]
    trims: list[Callable[[str], str]] = field(default_factory=list)  # per command, in order; missing: as_is
    pictures: list[str] = field(default_factory=list)  # files the commands write, copied into docs/images/
    machine: bool = False  # what it prints depends on the machine: not rerun by --check

    def trim(self, index: int) -> Callable[[str], str]:
        return self.trims[index] if index < len(self.trims) else as_is


NEURO = "neuro"
LOOPS = "--backend numba-loops"  # sums in the order written: the same numbers on every machine

STEPS = [
    Step("digit", [f"{NEURO} show digit --index 3"]),
    Step("train", [f"{NEURO} train {LOOPS} --epochs 10 --save model.npz --plot training.png"],
         pictures=["training.png"]),
    Step("neuron", ["python neuron.py"]),
    Step("weights-layer1", [f"{NEURO} show weights model.npz --out weights-layer1.png"],
         pictures=["weights-layer1.png"]),
    Step("weights-moved", ["python weights_moved.py"]),
    Step("one-neuron", [f"{NEURO} show weights model.npz --neuron {{most_moved}} --scale neuron"]),
    Step("scaled", [f"{NEURO} train {LOOPS} --epochs 10 --init scaled --save model-scaled.npz",
                    f"{NEURO} show weights model-scaled.npz --out weights-layer1-scaled.png"],
         trims=[last_epoch_only, as_is], pictures=["weights-layer1-scaled.png"]),
    Step("deeper", [f"{NEURO} show weights model.npz --layer 2 --out weights-layer2.png",
                    f"{NEURO} show weights model.npz --layer 3 --out weights-layer3.png"],
         pictures=["weights-layer2.png", "weights-layer3.png"]),
    Step("predict", [f"{NEURO} predict model.npz --index 3 {LOOPS}"], trims=[picture_cut]),
    Step("evaluate", [f"{NEURO} evaluate model.npz {LOOPS}"]),
    Step("mistakes", ["python mistakes.py"]),
    Step("mistake", [f"{NEURO} predict model.npz --index {{first_mistake}} {LOOPS}"],
         trims=[cut(r"^Layer 1", r"^Output")]),
    Step("predict-json", [f"{NEURO} predict model.npz --index 3 {LOOPS} --json"], trims=[short_json]),
    Step("seven", ["python draw7.py", f"{NEURO} predict model.npz seven.png {LOOPS}"],
         trims=[as_is, cut(r"^Layer 1", r"^Output")]),
    Step("seven-thick", [f"{NEURO} predict model.npz seven-thick.png {LOOPS}"],
         trims=[cut(r"^Input", r"^Output")]),
    Step("backends", [f"{NEURO} backends"], machine=True),
    # python, numpy and numba side by side: numpy's and numba's sums run in an order their machine chooses
    Step("drift", [f"{NEURO} drift"], machine=True),
]

# name: (step, regular expression); the value is its first group, in the step's output as the docs show it.
VALUES = {
    "digit_label": ("digit", r"label (\d)"),
    "hand_neuron": ("neuron", r"^neuron (\d+) of layer 1"),
    "hand_activation": ("neuron", r"sigmoid\(z\) = 1 / \(1 \+ e\^-z\) = (\d\.\d+)"),
    "center_pixel": ("weights-moved", r"central 12x12 (\d\.\d+), 3 outer"),
    "outer_pixel": ("weights-moved", r"^mean pixel:.*outer rows (\d\.\d+)"),
    "center_moved": ("weights-moved", r"^weights moved: +central 12x12 (\d\.\d+)"),
    "outer_moved": ("weights-moved", r"^weights moved:.*outer rows (\d\.\d+)"),
    "least_moved": ("weights-moved", r"moved least: neuron (\d+)"),
    "least_moved_by": ("weights-moved", r"moved least: neuron \d+ \((\d\.\d+)\)"),
    "most_moved": ("weights-moved", r"moved most: neuron (\d+)"),
    "most_moved_by": ("weights-moved", r"moved most: neuron \d+ \((\d\.\d+)\)"),
    "switch_low": ("weights-moved", r"from (\d+%) \(neuron \d+\) to"),
    "switch_high": ("weights-moved", r"to (\d+%) \(neuron \d+\)$"),
    "switch_high_neuron": ("weights-moved", r"to \d+% \(neuron (\d+)\)$"),
    "steadiest": ("weights-moved", r"steadiest: neuron (\d+)"),
    "steadiest_std": ("weights-moved", r"steadiest: neuron \d+, standard deviation (\d\.\d+)"),
    "accuracy": ("evaluate", r"Test accuracy (\d+\.\d+%)"),
    "n_mistakes": ("mistakes", r"^(\d+) of \d+ test images"),
    "first_mistake": ("mistakes", r"the first: test image (\d+)"),
    "first_mistake_label": ("mistakes", r"the first: test image \d+, labelled (\d)"),
    "first_mistake_answer": ("mistakes", r"the first: test image \d+, labelled \d, read as (\d)"),
    "thin_seven_answer": ("seven", r"The network says (\d)"),
    "thin_seven_confidence": ("seven", r"The network says \d with confidence (\d+\.\d+%)"),
    "thick_seven_answer": ("seven-thick", r"The network says (\d)"),
    "thick_seven_confidence": ("seven-thick", r"The network says \d with confidence (\d+\.\d+%)"),
}

EPOCH = re.compile(r"^Epoch +(\d+)/\d+:.*?(\d+\.\d+)%.*?cost (\d+\.\d+)", re.M)


def epochs_named(numbers: list[int]) -> str:
    """[3, 5, 8] -> "epochs 3, 5 and 8"; [3] -> "epoch 3"; [] -> "no epoch"."""
    words = [str(n) for n in numbers]
    if len(words) < 2:
        return f"epoch {words[0]}" if words else "no epoch"
    return "epochs " + ", ".join(words[:-1]) + " and " + words[-1]


def epochs(output: str) -> list[tuple[int, float, float]]:
    """(epoch, test accuracy in %, cost) of every `Epoch` line of a training run's output."""
    found = [(int(n), float(acc), float(cost)) for n, acc, cost in EPOCH.findall(output)]
    if not found:
        raise StepFailed(f"no `Epoch N/M: ... N% ... cost N` line in the training output:\n{output}")
    return found


def epoch_values(output: str) -> dict[str, str]:
    """The first epoch's accuracy, the best, the epochs in which accuracy fell and those in which the cost rose."""
    run = epochs(output)
    pairs = list(zip(run, run[1:]))
    return {"first_accuracy": f"{run[0][1]:.2f}%", "best_accuracy": f"{max(e[1] for e in run):.2f}%",
            "accuracy_drops": epochs_named([b[0] for a, b in pairs if b[1] < a[1]]),
            "cost_rises": epochs_named([b[0] for a, b in pairs if b[2] > a[2]])}


def last_accuracy(output: str) -> dict[str, str]:
    return {"scaled_accuracy": f"{epochs(output)[-1][1]:.2f}%"}


# Values computed from a step's whole output: step -> (function, the names of the values it gives).
DERIVED = {"train": (epoch_values, ["first_accuracy", "best_accuracy", "accuracy_drops", "cost_rises"]),
           "scaled": (last_accuracy, ["scaled_accuracy"])}

# What the tutorial's prose says of the values, checked on every run: (what it claims, the claim).
STORIES = [
    ("section 7: the accuracy falls in some epoch (the wobbles)",
     lambda v: v["accuracy_drops"] != "no epoch"),
    ("section 5: the outer rows of the images are darker than the centre",
     lambda v: float(v["outer_pixel"]) < float(v["center_pixel"])),
    ("section 5: the weights of the outer rows moved less than those of the centre",
     lambda v: float(v["outer_moved"]) < float(v["center_moved"])),
    ("section 5: the neuron whose weights moved least moved by less than 0.1 on average",
     lambda v: float(v["least_moved_by"]) < 0.1),
    ("section 5: the neuron whose weights moved least is the steadiest, with a standard deviation under 0.1",
     lambda v: v["least_moved"] == v["steadiest"] and float(v["steadiest_std"]) < 0.1),
    ("section 5: the neuron whose weights moved least is the one most often below 0.01 or above 0.99",
     lambda v: v["least_moved"] == v["switch_high_neuron"]),
    ("section 5: every hidden neuron is off or on for at least three images in four",
     lambda v: int(v["switch_low"].rstrip("%")) >= 75),
    ("section 6: the network gets some test images wrong", lambda v: int(v["n_mistakes"]) > 0),
    ("section 6: the thick 7 is read as a 7, the thin one less surely",
     lambda v: v["thick_seven_answer"] == "7" and (v["thin_seven_answer"] != "7" or float(
         v["thin_seven_confidence"].rstrip("%")) < float(v["thick_seven_confidence"].rstrip("%")))),
]


class StepFailed(Exception):
    pass


def neuro_command() -> list[str]:
    """`neuro` as installed beside this Python, else the same CLI through this Python."""
    installed = Path(sys.executable).parent / "neuro"
    return [str(installed)] if installed.exists() else [sys.executable, "-c", "from neuro.cli.main import main; main()"]


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def as_shown(raw: str, scratch: Path, data: Path) -> str:
    """Output as a terminal leaves it: a line rewritten with `\\r` shows its last version, no colour codes, the
    scratch folder's paths as a learner's."""
    lines = [ANSI.sub("", line.rsplit("\r", 1)[-1]).rstrip() for line in raw.rstrip("\n").split("\n")]
    text = "\n".join(lines)
    return text.replace(str(data), "~/.cache/neuro").replace(str(scratch) + os.sep, "")


def run_command(command: str, scratch: Path, env: dict) -> str:
    argv = shlex.split(command)
    argv = neuro_command() + argv[1:] if argv[0] == NEURO else [sys.executable] + argv[1:] if argv[0] == "python" \
        else argv
    # Bytes, not text mode: text mode would turn every `\r` into a line break.
    result = subprocess.run(argv, cwd=scratch, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = result.stdout.decode("utf-8", errors="replace")
    if result.returncode != 0:
        raise StepFailed(f"`{command}` exited with status {result.returncode}:\n{output}")
    return as_shown(output, scratch, Path(env["NEURO_DATA_DIR"]))


def pick(name: str, output: str) -> str:
    step, pattern = VALUES[name]
    match = re.search(pattern, output, re.M)
    if match is None:
        raise StepFailed(f"value {name}: nothing in the output of step {step!r} matches {pattern!r}; the output "
                         f"was:\n{output}")
    return match.group(1)


def run_steps(text: str, scratch: Path, skip_machine: bool) -> tuple[dict[str, str], dict[str, str]]:
    """Run every step in `scratch`; the console block of each step that ran, and every value."""
    for name, code in files(text).items():
        (scratch / name).write_text(code)
    env = {**os.environ, "NEURO_DATA_DIR": str(scratch / "data"), "NO_COLOR": "1"}
    env.pop("NEURO_BACKEND", None)
    outputs, values = {}, {}
    for step in STEPS:
        if step.machine and skip_machine:
            continue
        shown = []
        for index, template in enumerate(step.commands):
            command = template.format(**values)
            print(f"$ {command}", flush=True)
            try:
                output = step.trim(index)(run_command(command, scratch, env))
            except StepFailed as failure:
                raise StepFailed(f"step {step.name!r}, `{command}`: {failure}") from None
            shown.append(f"$ {command}" + (f"\n{output}" if output else ""))
        output = "\n".join(shown)
        outputs[step.name] = f"```console\n{output}\n```"
        for name, (source, _) in VALUES.items():
            if source == step.name:
                values[name] = pick(name, output)
        if step.name in DERIVED:
            values.update(DERIVED[step.name][0](output))
        for picture in step.pictures:
            if not (scratch / picture).is_file():
                raise StepFailed(f"step {step.name!r} did not write {picture}")
    return outputs, values


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="rerun the deterministic steps and fail, with a diff, if the tutorial differs")
    parser.add_argument("--keep", metavar="DIR", type=Path, help="run in DIR (empty or absent) and keep it")
    args = parser.parse_args()
    text = TUTORIAL.read_text()
    check_markers(text)
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
            old, new = deterministic(text), deterministic(render(text, outputs, values, None))
            if old != new:
                sys.stdout.writelines(difflib.unified_diff(
                    old.splitlines(keepends=True), new.splitlines(keepends=True),
                    "docs/tutorial.md", "what the code prints now"))
                raise SystemExit("tutorial-docs: docs/tutorial.md no longer matches what the code prints; run "
                                 "`python scripts/tutorial-docs.py` and read the diff above")
            print(f"tutorial-docs: docs/tutorial.md matches what the code prints ({seconds:.0f} s)")
            return
        new = render(text, outputs, values, machine_line(seconds))
        IMAGES.mkdir(parents=True, exist_ok=True)
        for step in STEPS:
            for picture in step.pictures:
                shutil.copyfile(scratch / picture, IMAGES / picture)
                print(f"wrote docs/images/{picture}")
        if new != text:
            TUTORIAL.write_text(new)
            print("wrote docs/tutorial.md")
        readme = README.read_text()
        with_drift = fill_blocks(readme, lambda name: outputs["drift"] if name == README_DRIFT else None)
        if with_drift != readme:
            README.write_text(with_drift)
            print("wrote README.md (its drift block)")


if __name__ == "__main__":
    main()
