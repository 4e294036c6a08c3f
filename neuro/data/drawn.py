"""Reading a digit from a picture file (PNG, PGM, ...) the way MNIST prepared its digits.

MNIST's digits are light ink on a dark background, fitted into a 20×20 box (keeping their proportions) and
then placed in a 28×28 field so that their centre of mass lies at the field's centre. `read_digit` does the
same to any image Pillow can open, so that the network sees a hand-drawn digit as it saw its training data:

  1. grey levels in [0, 1]; a transparent background counts as white paper;
  2. dark ink on light paper (a border brighter than mid-grey) is inverted;
  3. the border's level becomes black and the brightest ink white;
  4. the ink's bounding box is scaled (Lanczos) to fit 20×20 and its centre of mass moved to the centre.

Pillow is part of the plot extra and is imported only when an image is read.
"""

from __future__ import annotations

import os

import numpy as np

from neuro.data import IMAGE_SIDE
from neuro.support.errors import NeuroError

BOX = 20
"""The side of the box the digit is fitted into, inside the 28×28 field."""
INK = 0.1
"""Pixels brighter than this (after step 3) count as ink when finding the digit's bounding box."""
MAX_PIXELS = 40_000_000
"""The largest picture read (a 40-megapixel photograph): its size is checked before its pixels are decoded, so a
small file announcing a vast picture is refused instead of filling the memory."""


def read_digit(path: str | os.PathLike) -> np.ndarray:
    """The digit in the image file at `path` as 784 float32 pixels in [0, 1], MNIST style (see the module)."""
    from neuro.show.charts import require_pillow

    image_module = require_pillow()
    path = os.fspath(path)
    try:
        with image_module.open(path) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise NeuroError(f"{path} is a picture of {width}x{height} pixels, more than the {MAX_PIXELS:,} "
                                 "read; crop or scale it down to the digit")
            gray = _grey_levels(image, image_module)
    except FileNotFoundError:
        raise NeuroError(f"image file {path} does not exist") from None
    except IsADirectoryError:
        raise NeuroError(f"image file {path} is a folder, not a file") from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, image_module.DecompressionBombError) as error:
        # (Pillow's UnidentifiedImageError, for a file that is no image, is an OSError)
        raise NeuroError(f"cannot read {path} as an image: {error}") from None
    return centred_digit(gray, what=path)


def _grey_levels(image, image_module) -> np.ndarray:
    """The image as a float array of grey levels in [0, 1] (alpha composed over white)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = values.max(initial=0.0)
        return values / top if top > 0 else values
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = image_module.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = image_module.alpha_composite(paper, rgba)
    return np.asarray(image.convert("L"), dtype=np.float64) / 255.0


def centred_digit(gray: np.ndarray, what: str = "the image") -> np.ndarray:
    """Grey levels (h, w) in [0, 1] of a digit as 784 MNIST-style pixels: light ink, 20×20 box, centred."""
    gray = np.asarray(gray, dtype=np.float64)
    if gray.ndim != 2 or gray.size == 0:
        raise NeuroError(f"{what} is not a two-dimensional picture")
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 0.5:  # dark ink on light paper: MNIST's ink is light
        gray, border = 1.0 - gray, 1.0 - border
    paper = float(np.median(border))
    ink = np.clip(gray - paper, 0.0, None)
    if ink.max() <= 0.0:
        raise NeuroError(f"{what} is blank: it holds no digit (no pixel differs from the background)")
    ink /= ink.max()
    rows = np.flatnonzero((ink > INK).any(axis=1))
    cols = np.flatnonzero((ink > INK).any(axis=0))
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    boxed = _fit(ink, BOX)
    return _centre_of_mass_placed(boxed, IMAGE_SIDE).ravel().astype(np.float32)


def _fit(ink: np.ndarray, box: int) -> np.ndarray:
    """`ink` scaled so that its longer side is `box` pixels, keeping its proportions."""
    from neuro.show.charts import require_pillow

    image_module = require_pillow()
    height, width = ink.shape
    factor = box / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    scaled = image_module.fromarray(ink.astype(np.float32)).resize(size, image_module.Resampling.LANCZOS)
    return np.clip(np.asarray(scaled, dtype=np.float64), 0.0, 1.0)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """The (row, column) of the centre of mass of the pixel values."""
    total = image.sum()
    if total <= 0:
        return (image.shape[0] - 1) / 2, (image.shape[1] - 1) / 2
    rows, cols = np.indices(image.shape)
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def _centre_of_mass_placed(boxed: np.ndarray, side: int) -> np.ndarray:
    """`boxed` placed in a side × side field with its centre of mass as near the field's centre as can be."""
    field = np.zeros((side, side))
    centre = (side - 1) / 2  # 13.5: the middle between pixels 13 and 14
    row, col = centre_of_mass(boxed)
    top = int(np.clip(round(centre - row), 0, side - boxed.shape[0]))
    left = int(np.clip(round(centre - col), 0, side - boxed.shape[1]))
    field[top : top + boxed.shape[0], left : left + boxed.shape[1]] = boxed
    return field
