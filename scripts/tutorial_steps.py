"""The tutorial's source: the commands of docs/tutorial.md in order (STEPS), the values its prose picks from their
outputs (VALUES, DERIVED) and what the prose claims of those values (STORIES). scripts/tutorial-docs.py runs the
steps and writes their outputs into the tutorial; scripts/tutorial_notebook.py turns the same steps into the cells
of docs/tutorial.ipynb."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from tutorial_trims import StepFailed, as_is, cut, last_epoch_only, picture_cut, short_json


@dataclass
class Step:
    """Commands run one after the other in the scratch folder; their output is the block `run: NAME`."""

    name: str
    commands: list[str]
    trims: list[Callable[[str], str]] = field(default_factory=list)  # per command, in order; missing: as_is
    pictures: list[str] = field(default_factory=list)  # files the commands write, copied into docs/images/
    machine: bool = False  # what it prints depends on the machine: not rerun by --check
    # The commands docs/tutorial.ipynb runs instead, where the tutorial's take too long for the notebook's run in
    # the tests; only for a machine step, whose output is never compared with the tutorial's.
    notebook: list[str] | None = None

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
    Step("drift", [f"{NEURO} drift"], machine=True,
         notebook=[f"{NEURO} drift --backends numba-loops,numpy  # the tutorial's starts from python: slow"]),
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
