"""`neuro predict MODEL`: what the network makes of one digit, layer by layer, and its answer."""

from __future__ import annotations

import sys

import click
import numpy as np

from neuro.cli.progress import PrintedProgress
from neuro.data import N_PIXELS, load_dataset
from neuro.evaluation import confidence
from neuro.model import load_model
from neuro.show.terminal import gray_picture, terminal_width, use_color
from neuro.support.errors import NeuroError

from .common import backend_option, data_option, emit_json, json_option
from .show import color_option, digit_lines, pick_image

BAR = 30
"""Columns of the longest output bar (an activation of 1)."""


@click.command()
@click.argument("model")
@click.argument("image", required=False)
@click.option("--index", "-i", type=int, default=None, help="A test image of --data instead of an IMAGE file.")
@data_option
@backend_option
@color_option
@json_option
def predict(model, image, index, data, backend, color, as_json):
    """Run one digit through the saved MODEL and show every layer's activations and the answer.

    The digit is test image --index I of --data, or an IMAGE file (PNG, PGM, or anything Pillow reads;
    needs the plot extra), scaled and centred the way MNIST is: light ink on dark (a light background is
    inverted), fitted into 20×20 and placed with its centre of mass at the centre of the 28×28 field.

    The network's answer is its brightest output neuron. Its confidence is that neuron's activation divided
    by the sum of all the output activations: 1 when only it lights up, 0.1 when all ten are equally bright.
    (The sigmoid outputs are not probabilities and need not sum to 1.)

    With --json the last line is one JSON object: prediction, confidence, outputs (the output activations),
    label (null for an image file), activations (every hidden layer's) and source.

    \b
    Examples:
      neuro predict model.npz --index 0
      neuro predict model.npz my-digit.png --json
    """
    if (image is None) == (index is None):
        raise NeuroError("give either an IMAGE file or --index I (a test image), not both" if image is not None
                         else "give an IMAGE file or --index I (a test image) to predict")
    saved = load_model(model)
    if saved.sizes[0] != N_PIXELS:
        raise NeuroError(f"the model's input layer has {saved.sizes[0]} neurons but a 28×28 digit has "
                         f"{N_PIXELS} pixels: predict needs a network with {N_PIXELS} inputs")
    network = saved.network(backend=backend)
    if image is not None:
        from neuro.data.drawn import read_digit

        pixels, label, source = read_digit(image), None, image
    else:
        pixels, label, source = pick_image(load_dataset(data, on_progress=PrintedProgress()), index)
    layers = [a[0] for a in network.activations(pixels[np.newaxis, :])]
    outputs = layers[-1]
    prediction = int(np.argmax(outputs))
    sure = confidence(outputs)
    if as_json:
        emit_json({
            "prediction": prediction,
            "confidence": sure,
            "outputs": outputs,
            "label": label,
            "activations": layers[1:-1],
            "source": source,
            "model": model,
        })
        return

    painted = use_color(sys.stdout, color)
    click.echo(f"Input: {source}" + (f", label {label}" if label is not None else "") +
               " (each pixel an input neuron's activation, 0 black to 1 white)")
    for line in digit_lines(pixels, painted):
        click.echo(line, color=painted)
    for l, a in enumerate(layers[1:-1], start=1):
        click.echo(f"Layer {l} ({a.size} neurons):")
        for line in _strip(a, painted):
            click.echo("  " + line, color=painted)
    click.echo(f"Output layer ({outputs.size} neurons); the brightest is the network's answer:")
    for j, a in enumerate(outputs):
        length = int(round(float(a) * BAR))
        bar = ("█" if painted else "#") * length
        mark = ("  ◀ the network's choice" if painted else "  <- the network's choice") if j == prediction else ""
        click.echo(f"  {j:>2} |{bar:<{BAR}}| {a:.3f}{mark}")
    verdict = "" if label is None else f"; the label is {label}: " + ("right" if label == prediction else "wrong")
    click.echo(f"The network says {prediction} with confidence {sure:.1%} (its activation {outputs[prediction]:.3f} "
               f"/ the sum of the outputs {outputs.sum():.3f}){verdict}.")


def _strip(a: np.ndarray, painted: bool) -> list[str]:
    """A hidden layer's activations as a strip of grey cells, two columns per neuron, and numbers if few."""
    per_line = max(1, (terminal_width() - 4) // 2)
    lines = []
    for start in range(0, a.size, per_line):
        # a row of pixels, two high (one line of half blocks) in colour; the ramp is two characters wide
        cells = a[np.newaxis, start : start + per_line]
        if painted:
            lines.append(gray_picture(np.repeat(np.repeat(cells, 2, axis=0), 2, axis=1), True)[0])
        else:
            lines.append("[" + gray_picture(cells, False)[0] + "]")
    if a.size <= 32:
        for start in range(0, a.size, 8):
            chunk = a[start : start + 8]
            lines.append(f"{start:>2}-{start + chunk.size - 1:<2}  " + " ".join(f"{v:.2f}" for v in chunk))
    return lines
