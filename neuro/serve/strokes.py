"""The pen strokes of a built-in test digit, in pixels: to draw it on the page as a hand would.

The synthetic digits are drawn from strokes (neuro/data/synthetic.py); this module draws the same random
writers as the test set does and returns, for one test image, the centre line of each of its strokes on the
28×28 grid (x to the right, y down), before the blur and the noise. The browser tests and the screenshot
script move the mouse along them on the drawing pad.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from neuro.data.synthetic import Writers, to_pixels, variant_of
from neuro.data.templates import STROKES, jitter_strokes, sample_stroke


@lru_cache(maxsize=1)
def synthetic_test_writers(n_test: int = 10000, seed: int = 0) -> Writers:
    """The writers of the synthetic test set of `load_synthetic(n_test=n_test, seed=seed)`."""
    _, test_sequence = np.random.SeedSequence(seed).spawn(2)
    test_seed = int(test_sequence.generate_state(1, np.uint64)[0])
    return Writers.draw(np.random.default_rng(test_seed), n_test)


def synthetic_test_strokes(index: int) -> tuple[int, list[np.ndarray]]:
    """The label of synthetic test image `index` and its strokes, each an array (k, 2) of (x, y) in pixels."""
    writer = synthetic_test_writers()[index : index + 1]
    digit = int(writer.labels[0])
    variants = STROKES[digit]
    _, strokes = variants[int(variant_of(variants, writer.variant_u)[0])]
    lines = []
    for stroke, param in zip(strokes, jitter_strokes(strokes, writer.eps), strict=True):
        lines.append(to_pixels(sample_stroke(stroke, param), writer.matrix, writer.offset)[0])
    return digit, lines


def pad_strokes(lines: list[np.ndarray], left: float, top: float, width: float, step: int = 4) -> list[np.ndarray]:
    """The strokes in page coordinates on a pad at (left, top), `width` wide (for 28 pixels): every `step`th point
    of each stroke and its last, for the mouse to move through."""
    scale = width / 28
    moves = []
    for line in lines:
        points = np.concatenate([line[::step], line[-1:]])
        moves.append(np.column_stack([left + (points[:, 0] + 0.5) * scale, top + (points[:, 1] + 0.5) * scale]))
    return moves
