"""Synthetic handwritten-style digits, drawn from strokes: the data set that needs no download.

The classic explanation of the digit network imagines a digit built from parts: a 9 is a loop up top and
a line on the right, an 8 is two loops, a 4 is three lines, a 0 one big loop. This module takes that
picture literally. Each class is a short list of strokes (polylines and elliptical arcs, a loop being an
arc all the way round) in a unit box, with a few variants (a 7 with or without a crossbar, a 4 open or
closed, a 1 with or without a serif): the templates of neuro.data.templates.

Every image is one writer's attempt at its digit:
  1. each stroke parameter wobbles a little (end points, centres, radii, where an arc starts and stops),
  2. points are sampled densely along the wobbled strokes,
  3. a random affine map slants, scales, rotates and shifts them onto the 28×28 grid (the digit fills
     about the central 20×20 box, as in MNIST),
  4. the ink is splatted onto the grid and blurred by a Gaussian as wide as the writer's pen, saturates
     at 1, and gets a little pixel noise.

Everything is vectorised over images; the only Python loops run over chunks of images, over the
(digit, variant) templates and over the pen's few pixels of reach. All random numbers come from one
`np.random.default_rng(seed)` in a fixed order, so the images depend on the seed alone, not on the chunk size.

**The same bytes on every machine.** A matrix product through BLAS sums in an order (and with fused
multiply-adds) that depends on the processor and the OpenBLAS kernel, and NumPy's SIMD `exp`, `sin` and `cos`
differ in their last bit between instruction sets and NumPy versions. So the drawing uses no matrix product
(the affine map and the blur are written out as elementwise sums, each rounded as IEEE 754 says on every
machine), and the values that come out of a transcendental function are snapped to a coarse grid (`snap`)
before anything else uses them: the stroke points to 1/4096 of a pixel, the pen's profile to 2⁻²⁴. A last-bit
difference then changes a snapped value only if it falls within a few units in the last place of the grid's
midpoint, about once in 10¹¹ values. tests/test_synthetic.py pins the bytes by a hash and regenerates them
with NumPy's SIMD switched off and with other OpenBLAS kernels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from neuro.data.paths import cache_dir
from neuro.data.progress import Progress
from neuro.data.templates import MAX_PARAMS, STROKES, Variants, jitter_strokes, sample_stroke
from neuro.support.files import atomic_path

# Bump whenever the drawing changes, so that a cache of the old digits is not taken for the new ones
# (tests/test_synthetic.py pins a hash of the digits per version). Version 2: the same bytes on every machine.
GENERATOR_VERSION = 2

SIDE = 28
N_PIXELS = SIDE * SIDE
N_CLASSES = 10
CHUNK_SIZE = 4096  # images rendered at once: bounds the memory, does not change the images

NOISE = 0.04  # standard deviation of the pixel noise
POINT_GRID = 2.0**-12  # stroke points are snapped to this fraction of a pixel (invisible, and machine-proof)
PEN_GRID = 2.0**-24  # the pen's profile is snapped to multiples of this
PEN_CUTOFF = 1e-6  # profile values below this are dropped: invisible, and subnormal floats would crawl

Arrays4 = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def random_affine(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-image maps from the unit box to pixel coordinates (x, y): matrices (n, 2, 2), offsets (n, 2).

    The map scales the unit height to about 20 pixels, slants (shears x by y), rotates, flips y so that
    up in the box is up in the image, and puts the box's centre near the grid's centre.
    """
    height = 20.0 * rng.uniform(0.72, 0.95, n)  # of the strokes' centre lines; the ink is a little taller
    width = height * rng.uniform(0.75, 1.2, n)
    slant = np.clip(rng.normal(0.15, 0.18, n), -0.3, 0.6)  # most writers lean a little to the right
    theta = np.deg2rad(rng.normal(0.0, 7.0, n))
    shift = rng.normal(0.0, 0.8, (n, 2))

    # matrix = flip_y @ rotate(theta) @ [[width, slant * height], [0, height]], written out entry by entry
    # (a stacked matrix product would go through BLAS, whose rounding differs between machines).
    cos, sin = np.cos(theta), np.sin(theta)
    matrix = np.empty((n, 2, 2))
    matrix[:, 0, 0] = cos * width
    matrix[:, 0, 1] = cos * (slant * height) - sin * height
    matrix[:, 1, 0] = -(sin * width)
    matrix[:, 1, 1] = -(sin * (slant * height) + cos * height)
    # The box's centre (0.5, 0.5) goes to the grid's centre, plus the shift.
    offset = (SIDE - 1) / 2 + shift - (matrix[:, :, 0] * 0.5 + matrix[:, :, 1] * 0.5)
    return matrix, offset


def snap(values: np.ndarray, grid: float) -> np.ndarray:
    """`values` rounded to the nearest multiple of `grid` (a power of two, so the result is exact)."""
    return np.round(values / grid) * grid


def to_pixels(points: np.ndarray, matrix: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Points (m, k, 2) in the unit box mapped to pixels by each writer's affine map, snapped to POINT_GRID.

    p = matrix @ (x, y) + offset, written out as products and sums of whole arrays: each is rounded the same
    on every machine, where a matrix product's order of summation is not.
    """
    x, y = points[..., 0], points[..., 1]
    a, b = matrix[:, None, 0, 0], matrix[:, None, 0, 1]
    c, d = matrix[:, None, 1, 0], matrix[:, None, 1, 1]
    pixels = np.stack([a * x + b * y + offset[:, None, 0], c * x + d * y + offset[:, None, 1]], axis=-1)
    return snap(pixels, POINT_GRID)


def splat(points: np.ndarray, image_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat pixel indices and weights that lay stroke points (m, k, 2), in pixels, onto the grids.

    Each step between consecutive points puts its length on its midpoint, shared bilinearly among the
    four nearest pixels, so that the grid holds the length of ink per pixel; ink off the grid is dropped.
    """
    mid = (points[:, 1:] + points[:, :-1]) / 2
    step = points[:, 1:] - points[:, :-1]
    length = np.sqrt(step[..., 0] * step[..., 0] + step[..., 1] * step[..., 1])
    corner = np.floor(mid).astype(np.int64)
    frac = mid - corner
    indices, weights = [], []
    for dx in (0, 1):
        for dy in (0, 1):
            x, y = corner[..., 0] + dx, corner[..., 1] + dy
            share = (frac[..., 0] if dx else 1 - frac[..., 0]) * (frac[..., 1] if dy else 1 - frac[..., 1])
            inside = (x >= 0) & (x < SIDE) & (y >= 0) & (y < SIDE)
            flat = image_index[:, None] * N_PIXELS + y * SIDE + x
            indices.append(flat[inside])
            weights.append((length * share)[inside])
    return np.concatenate(indices), np.concatenate(weights)


def pen_profile(pen: np.ndarray) -> np.ndarray:
    """The pen's Gaussian g(d) for distances d = 0..27 pixels, per writer: (m, 28) float32, snapped to PEN_GRID.

    g(d) = exp(-d² / 2σ²) / sqrt(sqrt(2π) σ), scaled so that a long straight stroke blurred along both axes
    peaks at 1; values below PEN_CUTOFF are dropped.
    """
    sigma = pen[:, None]
    distance = np.arange(SIDE, dtype=np.float64)
    g = snap(np.exp(-(distance**2) / (2 * sigma**2)) / np.sqrt(math.sqrt(2 * math.pi) * sigma), PEN_GRID)
    g[g < PEN_CUTOFF] = 0.0
    return g.astype(np.float32)


def blur_rows(image: np.ndarray, g: np.ndarray) -> np.ndarray:
    """out[:, i, j] = sum over d of g[:, |d|] * image[:, i, j + d]: each row convolved with its writer's pen.

    The sum runs over the pen's reach in a fixed order, one elementwise product and sum at a time, so it
    gives the same bits on every machine.
    """
    out = g[:, 0, None, None] * image
    for d in range(1, SIDE):
        weight = g[:, d, None, None]
        if not weight.any():
            break
        out[:, :, d:] += weight * image[:, :, :-d]  # ink d pixels to the left
        out[:, :, :-d] += weight * image[:, :, d:]  # and d pixels to the right
    return out


def render(ink_length: np.ndarray, pen: np.ndarray, pressure: np.ndarray) -> np.ndarray:
    """Images (m, 28, 28) from ink length per pixel, blurred by a Gaussian pen of width `pen` (m,) pixels.

    The blur is separable: along the rows, then (transposed) along the columns. The ink then saturates: a
    `pressure` above 1 widens the fully black core of the stroke.
    """
    g = pen_profile(pen)
    blurred = blur_rows(ink_length.astype(np.float32), g)
    image = blur_rows(blurred.transpose(0, 2, 1), g).transpose(0, 2, 1)
    image *= pressure[:, None, None].astype(np.float32)
    return np.minimum(image, 1.0, out=image)


@dataclass(frozen=True)
class Writers:
    """Everything random about n images but their pixel noise, drawn up front so that chunks are slices."""

    labels: np.ndarray  # (n,) uint8, the digit each writer draws
    variant_u: np.ndarray  # (n,) uniform in [0, 1), picks the digit's variant
    eps: np.ndarray  # (n, MAX_PARAMS) the wobble of the stroke parameters, in units of the jitters
    matrix: np.ndarray  # (n, 2, 2) and
    offset: np.ndarray  # (n, 2): the affine map from the unit box to pixels
    pen: np.ndarray  # (n,) the pen's Gaussian width in pixels
    pressure: np.ndarray  # (n,) how far the ink saturates

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int) -> Writers:
        """n random writers, with balanced-on-average classes."""
        labels = rng.integers(0, N_CLASSES, n).astype(np.uint8)
        variant_u = rng.random(n)
        tidiness = rng.uniform(0.5, 1.5, (n, 1))  # some writers are neater than others
        eps = tidiness * rng.standard_normal((n, MAX_PARAMS))
        matrix, offset = random_affine(rng, n)
        pen = rng.uniform(0.7, 1.3, n)
        pressure = rng.uniform(1.3, 2.4, n)
        return cls(labels, variant_u, eps, matrix, offset, pen, pressure)

    def __getitem__(self, rows: slice) -> Writers:
        return Writers(*(getattr(self, f.name)[rows] for f in fields(self)))

    def __len__(self) -> int:
        return len(self.labels)


def variant_of(variants: Variants, u: np.ndarray) -> np.ndarray:
    """The index of the variant that each uniform draw `u` picks, by the variants' probabilities."""
    cumulative = np.cumsum([p for p, _ in variants])
    return np.minimum(np.searchsorted(cumulative / cumulative[-1], u, side="right"), len(variants) - 1)


def draw_chunk(writers: Writers) -> np.ndarray:
    """Noise-free images (m, 28, 28) for a chunk of writers: strokes template by template, one render."""
    indices, weights = [], []
    for digit, variants in STROKES.items():
        variant = variant_of(variants, writers.variant_u)
        for v, (_, strokes) in enumerate(variants):
            who = np.flatnonzero((writers.labels == digit) & (variant == v))
            if len(who) == 0:
                continue
            params = jitter_strokes(strokes, writers.eps[who])
            for stroke, param in zip(strokes, params, strict=True):
                pixels = to_pixels(sample_stroke(stroke, param), writers.matrix[who], writers.offset[who])
                index, weight = splat(pixels, who)
                indices.append(index)
                weights.append(weight)
    m = len(writers)
    ink = np.bincount(np.concatenate(indices), np.concatenate(weights), minlength=m * N_PIXELS)
    return render(ink.reshape(m, SIDE, SIDE), writers.pen, writers.pressure)


def generate_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n synthetic digits: images (n, 784) float32 in [0, 1] (1 = ink) and labels (n,) uint8 in 0..9."""
    if n < 0:
        raise ValueError(f"the number of digits must be at least 0, got {n}")
    rng = np.random.default_rng(seed)
    writers = Writers.draw(rng, n)
    images = np.empty((n, N_PIXELS), dtype=np.float32)
    amplitude = np.float32(NOISE * math.sqrt(12))  # uniform noise of standard deviation NOISE
    for lo in range(0, n, CHUNK_SIZE):
        hi = min(n, lo + CHUNK_SIZE)
        clean = draw_chunk(writers[lo:hi]).reshape(hi - lo, N_PIXELS)
        # Drawn chunk after chunk from the same stream, so the same numbers whatever CHUNK_SIZE is.
        # Uniform rather than Gaussian noise: it looks the same and costs much less to draw.
        noise = rng.random((hi - lo, N_PIXELS), dtype=np.float32) - np.float32(0.5)
        images[lo:hi] = np.clip(clean + amplitude * noise, 0.0, 1.0)
    return images, writers.labels


def cache_path(n_train: int, n_test: int, seed: int) -> Path:
    """Where `load_synthetic` keeps its digits; the name records everything they depend on."""
    return cache_dir() / f"synthetic-v{GENERATOR_VERSION}-train{n_train}-test{n_test}-seed{seed}.npz"


def read_cache(path: Path, n_train: int, n_test: int) -> Arrays4 | None:
    """The four arrays of a cache file, or None if it is missing, unreadable or not what was asked for."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            train_x, train_y, test_x, test_y = (npz[k] for k in ("train_x", "train_y", "test_x", "test_y"))
    except Exception:  # a damaged file fails in many ways (zip, header, pickle guard): regenerate
        return None
    arrays = (train_x, train_y, test_x, test_y)
    shapes = ((n_train, N_PIXELS), (n_train,), (n_test, N_PIXELS), (n_test,))
    dtypes = (np.float32, np.uint8, np.float32, np.uint8)
    if any(a.shape != s or a.dtype != d for a, s, d in zip(arrays, shapes, dtypes, strict=True)):
        return None
    return arrays


def load_synthetic(n_train: int = 60000, n_test: int = 10000, seed: int = 0,
                   on_progress: Progress | None = None) -> Arrays4:
    """Training and test digits (train_x, train_y, test_x, test_y), generated once and cached as .npz.

    The two sets come from independent streams spawned from `seed`, so the test digits are new writers.
    A missing or corrupt cache file is (re)generated and written atomically, announced to `on_progress`
    (see neuro.data.progress).
    """
    path = cache_path(n_train, n_test, seed)
    cached = read_cache(path, n_train, n_test)
    if cached is not None:
        return cached
    megabytes = (n_train + n_test) * (N_PIXELS * 4 + 1) / 1e6
    if on_progress is not None:
        on_progress(f"Drawing {n_train + n_test:,} synthetic digits, once: they are kept in {path} "
                    f"({megabytes:,.0f} MB; NEURO_DATA_DIR chooses the folder).", 0, None)
    train_seq, test_seq = np.random.SeedSequence(seed).spawn(2)
    train_seed, test_seed = (int(s.generate_state(1, np.uint64)[0]) for s in (train_seq, test_seq))
    train_x, train_y = generate_digits(n_train, train_seed)
    test_x, test_y = generate_digits(n_test, test_seed)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y)
    return train_x, train_y, test_x, test_y
