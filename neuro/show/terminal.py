"""Pictures in the terminal: Unicode half blocks in 24-bit colour, or plain characters.

A text cell is about twice as tall as it is wide, so one cell can show two pixels, one above the other: the
upper half block '▀' drawn in the top pixel's colour (foreground) on the bottom pixel's colour (background).
A 28×28 digit therefore takes 28 columns and 14 lines.

Colour is used only when it can be seen: when the output is a terminal, `NO_COLOR` is not set
(https://no-color.org) and `TERM` is not "dumb", unless the user asks for it explicitly. Otherwise the same
pictures are drawn with plain characters: a ramp from ' ' to '@' for grey levels, and '+', '-', '.' for the
sign and size of weights.
"""

from __future__ import annotations

import os
import re
import shutil
from typing import TextIO

import numpy as np

from neuro.show.raster import gray_rgb, signed_rgb, upscale

COLOR_CHOICES = ("auto", "always", "never")
RAMP = " .:-=+*#%@"
"""Plain grey levels, from black (0) to white (1)."""
RESET = "\x1b[0m"
UPPER_HALF = "▀"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def use_color(stream: TextIO, choice: str = "auto") -> bool:
    """Whether to draw in colour on `stream`: 'always', 'never', or 'auto' (a terminal, and no NO_COLOR)."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def terminal_width(default: int = 80) -> int:
    """The terminal's width in columns ($COLUMNS, else the terminal's size, else `default`)."""
    return shutil.get_terminal_size((default, 24)).columns


def visible_width(line: str) -> int:
    """The number of columns a line takes, not counting colour codes."""
    return len(_ANSI.sub("", line))


def half_block_lines(rgb: np.ndarray) -> list[str]:
    """An (h, w, 3) uint8 picture as ceil(h/2) lines of w half blocks in 24-bit colour.

    An odd last row is drawn on the terminal's own background.
    """
    rgb = np.asarray(rgb, dtype=np.uint8)
    lines = []
    for top in range(0, rgb.shape[0], 2):
        cells = []
        for x in range(rgb.shape[1]):
            r, g, b = rgb[top, x]
            cell = f"\x1b[38;2;{r};{g};{b}m"
            if top + 1 < rgb.shape[0]:
                r, g, b = rgb[top + 1, x]
                cell += f"\x1b[48;2;{r};{g};{b}m"
            else:
                cell += "\x1b[49m"
            cells.append(cell + UPPER_HALF)
        lines.append("".join(cells) + RESET)
    return lines


def ramp_lines(gray: np.ndarray, width: int = 2) -> list[str]:
    """Grey levels in [0, 1] (h, w) as h lines of plain characters, each pixel `width` characters wide."""
    gray = np.clip(np.nan_to_num(np.asarray(gray, dtype=np.float64)), 0.0, 1.0)
    index = np.minimum((gray * len(RAMP)).astype(int), len(RAMP) - 1)
    return ["".join(RAMP[i] * width for i in row) for row in index]


def sign_lines(values: np.ndarray, scale: float, weak: float = 0.25) -> list[str]:
    """Signed values (h, w) as plain characters: '+' positive, '-' negative, '.' for |value| < weak × scale.

    NaN (a padding cell that stands for no value) is a space.
    """
    values = np.asarray(values, dtype=np.float64)
    small = np.abs(np.nan_to_num(values)) < weak * scale if scale > 0 else np.ones(values.shape, dtype=bool)
    chars = np.where(values > 0, "+", "-")
    chars = np.where(small, ".", chars)
    chars = np.where(np.isnan(values), " ", chars)
    return ["".join(row) for row in chars]


def side_by_side(blocks: list[list[str]], widths: list[int], gap: int = 2) -> list[str]:
    """Blocks of lines printed next to each other, each padded to its width (colour codes take no room)."""
    height = max(len(block) for block in blocks)
    lines = []
    for i in range(height):
        parts = []
        for block, width in zip(blocks, widths):
            line = block[i] if i < len(block) else ""
            parts.append(line + " " * max(0, width - visible_width(line)))
        lines.append((" " * gap).join(parts).rstrip())
    return lines


def tiled(blocks: list[list[str]], width: int, columns: int, gap: int = 2) -> list[str]:
    """Blocks of equal width laid out `columns` to a row (or as many as fit `columns` of the terminal).

    `columns` is the terminal's width in characters; a blank line separates the rows of blocks.
    """
    per_row = max(1, (columns + gap) // (width + gap))
    lines: list[str] = []
    for start in range(0, len(blocks), per_row):
        if lines:
            lines.append("")
        row = blocks[start : start + per_row]
        lines.extend(side_by_side(row, [width] * len(row), gap))
    return lines


def gray_picture(image: np.ndarray, color: bool, frame: bool = False) -> list[str]:
    """Grey levels in [0, 1] (h, w): half blocks in colour (w columns, h/2 lines), else a character ramp
    two characters per pixel (2w columns, h lines), so that the picture keeps its proportions either way.

    `frame` draws a plain picture inside a border of '+', '-' and '|', so that its black edges are seen."""
    if color:
        return half_block_lines(gray_rgb(image))
    lines = ramp_lines(image, width=2)
    if not frame:
        return lines
    edge = "+" + "-" * (2 * np.shape(image)[1]) + "+"
    return [edge] + [f"|{line}|" for line in lines] + [edge]


def signed_picture(values: np.ndarray, scale: float, color: bool, cell: int = 1) -> list[str]:
    """Signed values (h, w) in green and red half blocks, `cell` × `cell` pixels each; else '+', '-', '.'
    (one character per value, NaN padding as a space)."""
    if color:
        return half_block_lines(upscale(signed_rgb(values, scale), cell))
    return sign_lines(values, scale)
