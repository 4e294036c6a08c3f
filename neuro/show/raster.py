"""Pictures of what the network holds, as RGB arrays: digits in grey, weights in green and red.

Everything here is pure NumPy and returns `(height, width, 3)` uint8 arrays, so the same pictures can be
printed in a terminal (`neuro.show.terminal`) or saved as PNG files (`neuro.show.charts`).

The colour code of the classic explanation: a positive weight is green, a negative weight red, and the
brightness is the weight's magnitude divided by a scale (the largest magnitude of the layer, or of the
neuron), so the strongest weight is full green or full red and a zero weight is black. Cells of a grid that
stand for no weight (padding, when the number of inputs does not fill a rectangle) are grey, a colour that
no weight can have.
"""

from __future__ import annotations

import math

import numpy as np

PAD = (64, 64, 64)
"""The colour of cells that stand for no weight, and of the gutters between tiles: grey, never a weight."""
SCALES = ("layer", "neuron")
TILE_PIXELS = 112
"""About how many pixels a neuron's grid spans in a saved picture (28 weights at 4 pixels each)."""


def grid_shape(n: int) -> tuple[int, int]:
    """Rows and columns of a near-square grid for n values: 784 -> 28×28, 16 -> 4×4, 30 -> 5×6, 10 -> 3×4.

    The most square exact factorisation rows × cols = n is used when it is no more than twice as wide as it
    is tall; otherwise ceil(sqrt(n)) columns, with the last cells left as padding.
    """
    if n < 1:
        raise ValueError(f"a grid needs at least one cell, got {n}")
    rows = math.isqrt(n)
    while n % rows:
        rows -= 1
    cols = n // rows
    if cols <= 2 * rows:
        return rows, cols
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def as_grid(values: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
    """The vector `values` laid out row by row on a grid (default `grid_shape`), padded with NaN."""
    values = np.asarray(values, dtype=np.float64).ravel()
    rows, cols = shape or grid_shape(values.size)
    if rows * cols < values.size:
        raise ValueError(f"{values.size} values do not fit a {rows}×{cols} grid")
    grid = np.full(rows * cols, np.nan)
    grid[: values.size] = values
    return grid.reshape(rows, cols)


def signed_rgb(values: np.ndarray, scale: float) -> np.ndarray:
    """Green for positive, red for negative, brightness min(1, |value| / scale); zero is black, NaN grey.

    A scale of zero (all weights zero) gives black everywhere.
    """
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    magnitude = np.abs(np.nan_to_num(values))
    brightness = np.clip(magnitude / scale, 0.0, 1.0) if scale > 0 else np.zeros_like(magnitude)
    level = np.rint(brightness * 255).astype(np.uint8)
    rgb = np.zeros(values.shape + (3,), dtype=np.uint8)
    rgb[..., 0] = np.where(values < 0, level, 0)
    rgb[..., 1] = np.where(values > 0, level, 0)
    rgb[missing] = PAD
    return rgb


def gray_rgb(image: np.ndarray) -> np.ndarray:
    """Activations in [0, 1] as shades of grey: 0 black, 1 white (values outside are clipped)."""
    level = np.rint(np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0) * 255).astype(np.uint8)
    return np.repeat(level[..., np.newaxis], 3, axis=-1)


def upscale(rgb: np.ndarray, factor: int) -> np.ndarray:
    """Each pixel repeated into a factor × factor square (nearest-neighbour scaling)."""
    return np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)


def weight_scales(weights: np.ndarray, per: str = "layer") -> np.ndarray:
    """The brightness scale of each neuron's row of `weights` (n_out, n_in): max |w| of the layer or the row."""
    if per not in SCALES:
        raise ValueError(f"scale per {per!r}; choose one of {SCALES}")
    magnitude = np.abs(np.asarray(weights, dtype=np.float64))
    if per == "layer":
        return np.full(magnitude.shape[0], magnitude.max(initial=0.0))
    return magnitude.max(axis=1, initial=0.0)


def bias_bar(bias: float, bias_scale: float, height: int, width: int) -> np.ndarray:
    """A vertical bar for a bias: filled from the bottom to |bias| / bias_scale of its height, green or red."""
    bar = np.zeros((height, width, 3), dtype=np.uint8)
    bar[:] = PAD
    fraction = min(1.0, abs(bias) / bias_scale) if bias_scale > 0 else 0.0
    filled = int(round(fraction * height))
    if filled:
        bar[height - filled :] = (0, 255, 0) if bias > 0 else (255, 0, 0)
    return bar


def neuron_tile(weights: np.ndarray, bias: float, scale: float, bias_scale: float, pixel: int = 1,
                shape: tuple[int, int] | None = None) -> np.ndarray:
    """One neuron: its incoming weights as a green/red grid, `pixel` pixels per weight, its bias bar beside.

    The bar and the gap before it are each 1/28 of the grid's width (at least one and two pixels), so that a
    28×28 grid's bar is one weight wide and every layer's tiles look alike at the same size.
    """
    grid = upscale(signed_rgb(as_grid(weights, shape), scale), pixel)
    height, width = grid.shape[:2]
    gap = np.zeros((height, max(1, width // 28), 3), dtype=np.uint8)
    bar = bias_bar(bias, bias_scale, height, max(2, width // 28))
    return np.concatenate([grid, gap, bar], axis=1)


# Digits as 3×5 pixel glyphs, row by row ('#' is ink), for the neuron numbers above a mosaic's tiles: pure
# NumPy, so the same picture on every machine, whatever fonts it has.
DIGIT_GLYPHS = {
    "0": ("###", "#.#", "#.#", "#.#", "###"),
    "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"),
    "3": ("###", "..#", ".##", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"),
    "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"),
    "7": ("###", "..#", ".#.", ".#.", ".#."),
    "8": ("###", "#.#", "###", "#.#", "###"),
    "9": ("###", "#.#", "###", "..#", "###"),
}
CAPTION_INK = (224, 224, 224)


def caption(number: int, width: int, scale: int) -> np.ndarray:
    """A strip `width` pixels wide with `number` written at its left in `scale`-pixel squares, on grey."""
    glyphs = [np.array([[c == "#" for c in row] for row in DIGIT_GLYPHS[d]]) for d in str(number)]
    spaced = [np.pad(g, ((0, 0), (0, 1))) for g in glyphs]  # a column of space after each digit
    ink = np.pad(np.concatenate(spaced, axis=1), ((1, 1), (1, 0)))  # a row above and below, a column before
    strip = np.empty((ink.shape[0] * scale, width, 3), dtype=np.uint8)
    strip[:] = PAD
    text = upscale(np.where(ink[..., np.newaxis], np.uint8(CAPTION_INK), np.uint8(PAD)), scale)
    shown = min(width, text.shape[1])
    strip[:, :shown] = text[:, :shown]
    return strip


def mosaic(tiles: list[np.ndarray], columns: int | None = None, gutter: int = 2) -> np.ndarray:
    """Tiles of equal size laid out row by row, `columns` per row (default near-square), on a grey ground."""
    if not tiles:
        raise ValueError("a mosaic needs at least one tile")
    height, width = tiles[0].shape[:2]
    columns = columns or grid_shape(len(tiles))[1]
    rows = math.ceil(len(tiles) / columns)
    canvas = np.empty((rows * height + (rows + 1) * gutter, columns * width + (columns + 1) * gutter, 3),
                      dtype=np.uint8)
    canvas[:] = PAD
    for k, tile in enumerate(tiles):
        top = gutter + (k // columns) * (height + gutter)
        left = gutter + (k % columns) * (width + gutter)
        canvas[top : top + height, left : left + width] = tile
    return canvas


def pixels_per_weight(shape: tuple[int, int], target: int = TILE_PIXELS) -> int:
    """How many pixels per weight make a grid of `shape` about `target` pixels across (at least 1)."""
    return max(1, target // max(shape))


def layer_picture(weights: np.ndarray, biases: np.ndarray, neurons: list[int] | None = None,
                  per: str = "layer", pixel: int | None = None) -> np.ndarray:
    """The picture of a layer: each chosen neuron's tile (`neuron_tile`), as a mosaic when there are several.

    In a mosaic each tile has its neuron's number above it (for the output layer, the digit it stands for).
    `weights` is the layer's (n_out, n_in) matrix, `biases` its (n_out,) vector. Weights are scaled per layer
    or per neuron (`per`); bias bars are always scaled by the largest |bias| of the layer.
    """
    weights = np.asarray(weights, dtype=np.float64)
    biases = np.asarray(biases, dtype=np.float64)
    neurons = list(range(weights.shape[0])) if neurons is None else list(neurons)
    shape = grid_shape(weights.shape[1])
    pixel = pixel or pixels_per_weight(shape)
    scales = weight_scales(weights, per)
    bias_scale = float(np.abs(biases).max(initial=0.0))
    tiles = [neuron_tile(weights[k], float(biases[k]), float(scales[k]), bias_scale, pixel, shape)
             for k in neurons]
    if len(tiles) == 1:
        return tiles[0]
    height, width = tiles[0].shape[:2]
    scale = max(1, height // 40)
    labelled = [np.concatenate([caption(k, width, scale), tile]) for k, tile in zip(neurons, tiles)]
    return mosaic(labelled, gutter=max(2, height // 28))
