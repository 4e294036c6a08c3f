"""The strokes of each digit, in a unit box, and how a writer's hand wobbles them: the templates that
neuro.data.synthetic draws its digits from (and the page draws a test digit with, stroke by stroke).

A digit is a short list of strokes: polylines (`Line`) and elliptical arcs (`Arc`, a loop being an arc all the
way round), with a few variants per digit (`stroke_table`). `jitter_strokes` wobbles every stroke parameter for
many writers at once; `sample_stroke` samples points densely along the wobbled strokes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# How much writers vary, in the unit box (the digit's height is 1, about 20 pixels).
POINT_JITTER = 0.05  # standard deviation of end points and arc centres
RADIUS_JITTER = 0.10  # of the logarithm of an arc's radii
ANGLE_JITTER = 15.0  # degrees, of where an arc starts and ends
POINTS_PER_UNIT = 32  # samples per unit of stroke length: about 0.6 pixel apart


@dataclass(frozen=True)
class Line:
    """A polyline through `points` (x, y) in the unit box, x to the right and y up."""

    points: tuple[tuple[float, float], ...]

    @property
    def n_params(self) -> int:
        return 2 * len(self.points)


@dataclass(frozen=True)
class Arc:
    """An elliptical arc: centre (cx, cy), radii (rx, ry), from angle `start` to `end` in degrees.

    Angles run counter-clockwise from the x axis; `end < start` draws clockwise; 360° apart is a loop.
    """

    cx: float
    cy: float
    rx: float
    ry: float
    start: float
    end: float

    @property
    def n_params(self) -> int:
        return 6

    @property
    def length(self) -> float:
        """Approximate length, from the ellipse's root-mean-square radius."""
        return math.radians(abs(self.end - self.start)) * math.sqrt((self.rx**2 + self.ry**2) / 2)


Stroke = Line | Arc
Variants = list[tuple[float, tuple[Stroke, ...]]]


def stroke_table() -> dict[int, Variants]:
    """For each digit, its variants as (probability, strokes) in the unit box, y up."""
    serif_one = Line(((0.32, 0.78), (0.52, 1.0), (0.52, 0.0)))
    two_hook = Arc(0.5, 0.72, 0.28, 0.27, 160, -30)
    # A small loop where the diagonal of a 2 meets its base.
    two_loop_base = (Arc(0.3, 0.1, 0.1, 0.09, 200, -90), Line(((0.3, 0.01), (0.82, 0.0))))
    seven = Line(((0.2, 1.0), (0.8, 1.0), (0.42, 0.0)))
    nine_loop = Arc(0.5, 0.7, 0.26, 0.29, 0, 360)
    return {
        0: [
            (0.7, (Arc(0.5, 0.5, 0.27, 0.46, 90, 450),)),
            (0.3, (Arc(0.5, 0.5, 0.24, 0.46, 100, 480),)),  # the pen overshoots where it began
        ],
        1: [
            (0.55, (Line(((0.5, 1.0), (0.5, 0.0))),)),
            (0.3, (serif_one,)),
            (0.15, (serif_one, Line(((0.32, 0.0), (0.72, 0.0))))),  # serif and base
        ],
        2: [
            (0.7, (two_hook, Line(((0.74, 0.585), (0.2, 0.0), (0.82, 0.0))))),
            (0.3, (two_hook, Line(((0.74, 0.585), (0.22, 0.02))), *two_loop_base)),
        ],
        3: [
            (0.7, (Arc(0.48, 0.75, 0.26, 0.24, 150, -90), Arc(0.48, 0.27, 0.3, 0.27, 90, -150))),
            (0.3, (Line(((0.22, 1.0), (0.75, 1.0), (0.45, 0.55))), Arc(0.48, 0.27, 0.3, 0.29, 80, -150))),
        ],
        4: [
            (0.5, (Line(((0.62, 1.0), (0.16, 0.34), (0.84, 0.34))), Line(((0.62, 1.0), (0.62, 0.0))))),
            (0.5, (Line(((0.3, 1.0), (0.2, 0.4), (0.84, 0.4))), Line(((0.66, 0.78), (0.66, 0.0))))),  # open
        ],
        5: [
            (1.0, (Line(((0.78, 1.0), (0.3, 1.0), (0.27, 0.57))), Arc(0.48, 0.33, 0.3, 0.3, 135, -140))),
        ],
        6: [
            (1.0, (Arc(0.5, 0.29, 0.27, 0.29, 0, 360), Arc(0.76, 0.34, 0.53, 0.66, 75, 185))),
        ],
        7: [
            (0.7, (seven,)),
            (0.3, (seven, Line(((0.42, 0.5), (0.78, 0.5))))),  # crossbar
        ],
        8: [
            (1.0, (Arc(0.5, 0.75, 0.22, 0.24, 0, 360), Arc(0.5, 0.27, 0.27, 0.27, 0, 360))),
        ],
        9: [
            (0.6, (nine_loop, Line(((0.76, 0.72), (0.72, 0.0))))),
            (0.4, (nine_loop, Arc(0.36, 0.7, 0.4, 0.7, 0, -90))),  # curved tail
        ],
    }


STROKES = stroke_table()
MAX_PARAMS = max(sum(s.n_params for s in strokes) for variants in STROKES.values() for _, strokes in variants)


def jitter_strokes(strokes: tuple[Stroke, ...], eps: np.ndarray) -> list[np.ndarray]:
    """Each stroke's parameters for m writers, wobbled by `eps` (m, MAX_PARAMS) scaled standard normals.

    A line becomes its vertices (m, V, 2); an arc its rows (cx, cy, rx, ry, start, end), shape (m, 6).
    """
    params, column = [], 0
    for stroke in strokes:
        e = eps[:, column : column + stroke.n_params]
        column += stroke.n_params
        if isinstance(stroke, Line):
            params.append(np.array(stroke.points) + POINT_JITTER * e.reshape(len(e), -1, 2))
        else:
            centre = np.array([stroke.cx, stroke.cy]) + POINT_JITTER * e[:, 0:2]
            radii = np.array([stroke.rx, stroke.ry]) * np.exp(RADIUS_JITTER * e[:, 2:4])
            angles = np.array([stroke.start, stroke.end]) + ANGLE_JITTER * e[:, 4:6]
            params.append(np.concatenate([centre, radii, angles], axis=1))
    return params


def sample_stroke(stroke: Stroke, param: np.ndarray) -> np.ndarray:
    """Points (m, k, 2) along one stroke for m writers; k grows with the stroke's length in the template."""
    if isinstance(stroke, Line):
        pieces = []
        for i, (a, b) in enumerate(zip(stroke.points[:-1], stroke.points[1:], strict=True)):
            k = max(2, math.ceil(POINTS_PER_UNIT * math.dist(a, b)))
            t = np.linspace(0.0, 1.0, k)[None, :, None]
            pieces.append(param[:, i : i + 1] * (1 - t) + param[:, i + 1 : i + 2] * t)
        return np.concatenate(pieces, axis=1)
    k = max(2, math.ceil(POINTS_PER_UNIT * stroke.length))
    t = np.linspace(0.0, 1.0, k)[None, :]
    cx, cy, rx, ry, start, end = (param[:, j : j + 1] for j in range(6))
    angle = np.deg2rad(start + (end - start) * t)
    return np.stack([cx + rx * np.cos(angle), cy + ry * np.sin(angle)], axis=-1)
