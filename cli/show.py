"""`neuro show digit` and `neuro show weights`: look at an input image, or at what a layer's neurons weigh."""

from __future__ import annotations

import sys

import click
import numpy as np

from neuro.cli.progress import PrintedProgress
from neuro.data import IMAGE_SIDE, Dataset, load_dataset
from neuro.model import load_model
from neuro.show.raster import SCALES, as_grid, grid_shape, layer_picture, pixels_per_weight, weight_scales
from neuro.show.terminal import COLOR_CHOICES, gray_picture, signed_picture, terminal_width, tiled, use_color
from neuro.support.errors import NeuroError

from .common import data_option

color_option = click.option(
    "--color", "color", type=click.Choice(COLOR_CHOICES), default="auto", show_default=True,
    help="24-bit colour: 'auto' when standard output is a terminal and NO_COLOR is not set (else plain "
         "characters); 'always' even then; 'never'.",
)


def pick_image(dataset: Dataset, index: int, from_train: bool = False) -> tuple[np.ndarray, int, str]:
    """Image `index` of the test set (or training set): its 784 pixels, its label, and a description."""
    images, labels = ((dataset.train_images, dataset.train_labels) if from_train
                      else (dataset.test_images, dataset.test_labels))
    which = "training" if from_train else "test"
    if not 0 <= index < len(labels):
        raise NeuroError(f"--index {index} is out of range: the {which} set of {dataset.name} has {len(labels)} "
                         f"images, numbered 0 to {len(labels) - 1}")
    return images[index], int(labels[index]), f"{which} image {index} of {dataset.name}"


def digit_lines(pixels: np.ndarray, color: bool) -> list[str]:
    """A 784-pixel image as lines of text (half blocks in colour, else a character ramp)."""
    return gray_picture(np.asarray(pixels).reshape(IMAGE_SIDE, IMAGE_SIDE), color, frame=True)


@click.group()
def show() -> None:
    """Look inside: an input digit, or the weights of a trained network's neurons.

    \b
    Examples:
      neuro show digit --index 0                    # test image 0 in the terminal, with its label
      neuro show weights model.npz                  # every first-layer neuron's 784 weights as 28×28
      neuro show weights model.npz --neuron 3       # one neuron
      neuro show weights model.npz --out w.png      # a picture file instead
    """


@show.command()
@data_option
@click.option("--index", "-i", type=int, required=True, help="Which image (0-based).")
@click.option("--train", "from_train", is_flag=True, help="From the training set (default: the test set).")
@color_option
def digit(data, index, from_train, color):
    """Show one image of the data set in the terminal, with its label.

    Each pixel is an input neuron's activation, 0 (black) to 1 (white). In colour, each text cell shows two
    pixels, one above the other (Unicode half blocks); otherwise a character ramp from ' ' to '@'.
    """
    dataset = load_dataset(data, on_progress=PrintedProgress())
    pixels, label, what = pick_image(dataset, index, from_train)
    click.echo(f"{what[0].upper()}{what[1:]}: label {label}")
    painted = use_color(sys.stdout, color)
    for line in digit_lines(pixels, painted):
        click.echo(line, color=painted)


@show.command()
@click.argument("model")
@click.option("--layer", "-l", default=1, show_default=True, type=int,
              help="Whose incoming weights: 1 is the first hidden layer (weights from the 784 input pixels), "
                   "the last one the output layer.")
@click.option("--neuron", "-n", type=int, default=None,
              help="One neuron of that layer (0-based). Default: all of them, as a mosaic.")
@click.option("--scale", "per", type=click.Choice(SCALES), default="layer", show_default=True,
              help="Brightness is |w| divided by the largest |w| of the whole layer (compare neurons), or of "
                   "each neuron (see each one's pattern).")
@click.option("--out", "out", default=None, metavar="FILE.png",
              help="Write a PNG picture here instead of drawing in the terminal (needs the plot extra).")
@color_option
def weights(model, layer, neuron, per, out, color):
    """Show each neuron's incoming weights as a grid: green positive, red negative, brightness for size.

    A first-layer neuron has one weight per pixel, shown as a 28×28 grid in the pixels' places; other layers'
    weights are laid out on a near-square grid (16 as 4×4), row by row. Each neuron's bias is written beside
    it (in a picture, as a bar: its height is |b| over the largest |b| of the layer, green or red). Without
    colour, '+' and '-' mark weights of at least a quarter of the scale, '.' smaller ones.

    \b
    Examples:
      neuro show weights model.npz
      neuro show weights model.npz --layer 2 --neuron 0
      neuro show weights model.npz --scale neuron --out docs/images/weights-layer1.png
    """
    saved = load_model(model)
    n_layers = len(saved.sizes) - 1
    if not 1 <= layer <= n_layers:
        raise NeuroError(f"--layer {layer} does not exist: the model {saved.sizes} has layers 1 to {n_layers} "
                         "with incoming weights (layer 0 is the input)")
    w, b = saved.weights[layer - 1], saved.biases[layer - 1]
    n_out, n_in = w.shape
    if neuron is not None and not 0 <= neuron < n_out:
        raise NeuroError(f"--neuron {neuron} does not exist: layer {layer} has {n_out} neurons, numbered 0 to "
                         f"{n_out - 1}")
    neurons = list(range(n_out)) if neuron is None else [neuron]
    shape = grid_shape(n_in)
    scales = weight_scales(w, per)
    scale_text = (f"|w| / {scales[0]:.3g}, the largest |w| of layer {layer}" if per == "layer"
                  else "|w| / the largest |w| of each neuron")
    numbered = "each grid under its neuron's number" + (", the digit it stands for" if layer == n_layers else "")
    who = f"neuron {neuron}" if neuron is not None else f"{n_out} neurons (0 to {n_out - 1}, row by row; {numbered})"
    grid_text = f"{shape[0]}×{shape[1]} grid" + (", each weight in its pixel's place" if n_in == IMAGE_SIDE**2 else "")
    header = f"layer {layer}, {who}; {n_in} incoming weights per neuron on a {grid_text}"

    if out:
        from neuro.show.charts import save_png

        pixel = pixels_per_weight(shape)
        picture = layer_picture(w, b, neurons, per=per, pixel=pixel)
        save_png(picture, out)
        click.echo(f"Wrote {out} ({picture.shape[1]}×{picture.shape[0]} pixels): {header}, {pixel} pixels "
                   f"per weight. Green positive, red negative, brightness {scale_text}. The bar right of each grid "
                   f"is the bias: its height is |b| / {np.abs(b).max(initial=0):.3g}, the largest |b| of the layer.")
        return

    painted = use_color(sys.stdout, color)
    click.echo(f"{model}, {header}.")
    if painted:
        click.echo(f"Green positive, red negative, brightness {scale_text}.")
    else:
        click.echo(f"'+' positive, '-' negative: at least a quarter of the scale ({scale_text}); '.' smaller.")
    cell = max(1, 16 // shape[1]) if painted else 1
    blocks = []
    for k in neurons:
        picture = signed_picture(as_grid(w[k], shape), float(scales[k]), painted, cell)
        blocks.append([f"#{k} b={b[k]:+.2f}"] + picture)
    width = max(max(len(block[0]) for block in blocks), shape[1] * cell)
    for line in tiled(blocks, width, terminal_width()):
        click.echo(line, color=painted)
