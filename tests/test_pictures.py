"""Pictures of the network: colours of known weights, grid and picture sizes, the terminal renderer, reading
a digit from an image file, and picture files (with and without the plot extra)."""

import io
import sys

import numpy as np
import pytest
from extras import needs_matplotlib
from hypothesis import given
from hypothesis import strategies as st

from neuro import NeuroError
from neuro.data.drawn import centre_of_mass, centred_digit, read_digit
from neuro.measure.bench import BenchResult
from neuro.show.charts import plot_bench, plot_training, save_png
from neuro.show.raster import CAPTION_INK, PAD, bias_bar, caption, grid_shape, layer_picture, signed_rgb
from neuro.show.terminal import half_block_lines, ramp_lines, sign_lines, tiled, use_color, visible_width
from neuro.training import EpochReport

GREEN, RED, BLACK = (0, 255, 0), (255, 0, 0), (0, 0, 0)

# ----------------------------------------------------------------------------------------------- colours


def test_a_positive_weight_is_green_a_negative_red_and_zero_black():
    rgb = signed_rgb(np.array([[2.0, -2.0, 0.0, 1.0, -0.5]]), scale=2.0)
    assert rgb.shape == (1, 5, 3) and rgb.dtype == np.uint8
    assert [tuple(p) for p in rgb[0]] == [GREEN, RED, BLACK, (0, 128, 0), (64, 0, 0)]


def test_weights_beyond_the_scale_are_clipped_and_padding_is_grey():
    rgb = signed_rgb(np.array([[10.0, -10.0, np.nan]]), scale=1.0)
    assert [tuple(p) for p in rgb[0]] == [GREEN, RED, PAD]


def test_all_zero_weights_are_black_not_nan():
    assert not signed_rgb(np.zeros((2, 2)), scale=0.0).any()


# ----------------------------------------------------------------------------------------------- grids


@pytest.mark.parametrize(("n", "shape"), [(784, (28, 28)), (16, (4, 4)), (30, (5, 6)), (10, (3, 4)), (1, (1, 1))])
def test_grid_shapes(n, shape):
    assert grid_shape(n) == shape


@given(st.integers(1, 5000))
def test_every_grid_is_near_square_and_has_at_most_one_partial_row(n):
    rows, cols = grid_shape(n)
    assert rows * cols >= n and rows * cols - n < cols
    assert rows <= cols <= 2 * rows


def test_a_first_layer_picture_has_one_28x28_tile_per_neuron_with_the_known_colours():
    weights = np.zeros((3, 784))
    weights[0, 0] = 1.0  # neuron 0, top-left pixel: positive
    weights[0, 27] = -1.0  # top-right pixel: negative
    weights[1, 28 * 27] = 0.5  # neuron 1, bottom-left pixel: half as bright
    biases = np.array([2.0, -1.0, 0.0])
    picture = layer_picture(weights, biases, pixel=4)
    # a tile: 28×4 pixels of grid, a 4-pixel gap, a 4-pixel bias bar, under a caption 7 glyph pixels of 2 high;
    # 2×2 tiles with 4-pixel gutters
    tile_w, tile_h, caption_h, gutter = 112 + 4 + 4, 112, 14, 4
    assert picture.shape == (2 * (caption_h + tile_h) + 3 * gutter, 2 * tile_w + 3 * gutter, 3)
    assert (picture[gutter : gutter + caption_h, gutter : gutter + tile_w] == caption(0, tile_w, 2)).all()
    below = gutter + caption_h + tile_h + gutter
    assert (picture[below : below + caption_h, gutter : gutter + tile_w] == caption(2, tile_w, 2)).all()
    top, left = gutter + caption_h, gutter
    assert tuple(picture[top, left]) == GREEN and tuple(picture[top + 3, left + 3]) == GREEN
    assert tuple(picture[top, left + 27 * 4]) == RED
    assert tuple(picture[top + 4, left]) == BLACK  # a zero weight
    left_1 = gutter + tile_w + gutter
    assert tuple(picture[top + 27 * 4, left_1]) == (0, 128, 0)  # per-layer scale: 0.5 of the largest |w|
    bar_0 = left + 112 + 4
    assert tuple(picture[top + tile_h - 1, bar_0]) == GREEN and tuple(picture[top, bar_0]) == GREEN  # full bar
    bar_1 = left_1 + 112 + 4
    assert tuple(picture[top + tile_h - 1, bar_1]) == RED and tuple(picture[top, bar_1]) == PAD  # half a bar


def test_captions_write_each_number_in_its_own_glyphs():
    def ink(number: int) -> np.ndarray:
        return (caption(number, 40, 1) == CAPTION_INK).all(axis=-1)

    assert ink(8).sum() == 13 and ink(1).sum() == 8  # the glyphs' '#' cells, at one pixel each
    assert ink(10).sum() == ink(1).sum() + ink(0).sum()
    assert not (ink(6) == ink(9)).all()
    assert caption(7, 40, 3).shape == (21, 40, 3)  # 5 rows of glyph and a row above and below, 3 pixels each


def test_per_neuron_scaling_makes_each_neurons_strongest_weight_full_bright():
    weights = np.array([[4.0, -1.0, 0.0, 0.0], [0.5, -0.25, 0.0, 0.0]])
    by_layer = layer_picture(weights, np.zeros(2), neurons=[1], per="layer", pixel=1)
    by_neuron = layer_picture(weights, np.zeros(2), neurons=[1], per="neuron", pixel=1)
    assert tuple(by_layer[0, 0]) == (0, 32, 0)
    assert tuple(by_neuron[0, 0]) == GREEN and tuple(by_neuron[0, 1]) == (128, 0, 0)


def test_one_neuron_is_one_tile_and_padding_cells_are_grey():
    weights = np.arange(1, 11, dtype=float)[np.newaxis, :]  # 10 inputs: a 3×4 grid with 2 padding cells
    tile = layer_picture(weights, np.array([0.0]), pixel=2)
    assert tile.shape[:2] == (6, 8 + 1 + 2)
    assert tuple(tile[5, 7]) == PAD and tuple(tile[5, 3]) == GREEN


def test_a_zero_bias_draws_an_empty_bar():
    assert (bias_bar(0.0, 1.0, 5, 2) == PAD).all()


# ----------------------------------------------------------------------------------------------- terminal


class _Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def test_colour_only_on_a_terminal_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert use_color(_Stream(tty=True))
    assert not use_color(_Stream(tty=False))
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(_Stream(tty=True))
    assert use_color(_Stream(tty=False), "always") and not use_color(_Stream(tty=True), "never")


def test_a_dumb_terminal_gets_no_colour(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "dumb")
    assert not use_color(_Stream(tty=True))


def test_half_blocks_put_the_top_pixel_in_front_and_the_bottom_behind():
    rgb = np.array([[RED, GREEN], [GREEN, BLACK], [RED, RED]], dtype=np.uint8)
    lines = half_block_lines(rgb)
    assert len(lines) == 2  # three rows of pixels: two lines, the last half empty
    assert lines[0].startswith("\x1b[38;2;255;0;0m\x1b[48;2;0;255;0m▀")
    assert lines[1].endswith("\x1b[38;2;255;0;0m\x1b[49m▀\x1b[0m")
    assert visible_width(lines[0]) == 2


def test_the_plain_fallback_uses_signs_and_a_ramp():
    assert sign_lines(np.array([[1.0, -1.0, 0.1, -0.2, np.nan]]), scale=1.0) == ["+-.. "]
    assert ramp_lines(np.array([[0.0, 1.0]]), width=2) == ["  @@"]


def test_tiles_wrap_to_the_terminal_width():
    blocks = [["#0", "ab"], ["#1", "cd"], ["#2", "ef"]]
    assert tiled(blocks, width=2, columns=6, gap=2) == ["#0  #1", "ab  cd", "", "#2", "ef"]


# ----------------------------------------------------------------------------------------------- images


def _ink_on_paper(height=90, width=160, dark_ink=True):
    """An off-centre bar and crossbar (a '7'-ish shape) on a big page."""
    page = np.full((height, width), 0.9 if dark_ink else 0.05)
    ink = 0.1 if dark_ink else 0.95
    page[10:15, 100:140] = ink
    page[10:70, 130:136] = ink
    return page


def _assert_mnist_like(digit):
    image = digit.reshape(28, 28)
    assert image.dtype == np.float32 and 0 <= image.min() and image.max() <= 1
    rows = np.flatnonzero(image.max(axis=1) > 0.1)
    cols = np.flatnonzero(image.max(axis=0) > 0.1)
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in (20, 21)  # fitted into the 20×20 box
    row, col = centre_of_mass(image)
    assert abs(row - 13.5) <= 0.6 and abs(col - 13.5) <= 0.6  # centre of mass at the field's centre
    assert image[0].max() == 0 and image[:, 0].max() == 0  # a black border


def test_dark_ink_on_light_paper_is_inverted_fitted_and_centred():
    digit = centred_digit(_ink_on_paper(dark_ink=True))
    _assert_mnist_like(digit)
    assert digit.max() == pytest.approx(1.0, abs=0.05)


def test_light_ink_on_dark_is_kept():
    np.testing.assert_allclose(centred_digit(_ink_on_paper(dark_ink=False)), centred_digit(_ink_on_paper()),
                               atol=1e-5)


def test_a_png_and_a_pgm_file_give_the_same_digit(tmp_path):
    from PIL import Image

    page = np.rint(_ink_on_paper() * 255).astype(np.uint8)
    Image.fromarray(page).save(tmp_path / "seven.png")
    header = f"P5\n{page.shape[1]} {page.shape[0]}\n255\n".encode()
    (tmp_path / "seven.pgm").write_bytes(header + page.tobytes())
    from_png, from_pgm = read_digit(tmp_path / "seven.png"), read_digit(tmp_path / "seven.pgm")
    _assert_mnist_like(from_png)
    np.testing.assert_array_equal(from_png, from_pgm)


def test_a_transparent_background_counts_as_white_paper(tmp_path):
    from PIL import Image

    rgba = np.zeros((90, 160, 4), dtype=np.uint8)  # fully transparent...
    ink = _ink_on_paper() < 0.5
    rgba[ink] = (0, 0, 0, 255)  # ...with opaque black ink
    Image.fromarray(rgba).save(tmp_path / "seven.png")
    _assert_mnist_like(read_digit(tmp_path / "seven.png"))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(None, "does not exist"), (b"not an image", "cannot read"), ("blank", "blank")],
)
def test_unreadable_images_give_a_clear_error(tmp_path, content, fragment):
    from PIL import Image

    path = tmp_path / "digit.png"
    if content == "blank":
        Image.new("L", (30, 30), 255).save(path)
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(NeuroError, match=fragment):
        read_digit(path)


# ----------------------------------------------------------------------------------------------- files


def test_save_png_writes_the_pixels_and_leaves_nothing_else(tmp_path):
    from PIL import Image

    rgb = signed_rgb(np.array([[1.0, -1.0], [0.0, 0.5]]), 1.0)
    save_png(rgb, tmp_path / "w.png")
    assert [p.name for p in tmp_path.iterdir()] == ["w.png"]
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "w.png").convert("RGB")), rgb)


@needs_matplotlib
def test_the_training_curve_and_the_ladder_are_png_files(tmp_path):
    reports = [EpochReport(1, 0.5, 0.3, 1.0), EpochReport(2, 0.7, 0.2, 1.0)]
    plot_training(reports, tmp_path / "curve.png")
    results = [BenchResult(name, "float64", [784, 16, 16, 10], 10, True, rate, rate, 60_000 / rate, False, 0.0,
                           rate / 100) for name, rate in (("python", 100.0), ("numpy", 50_000.0))]
    plot_bench(results, tmp_path / "ladder.png")
    for name in ("curve.png", "ladder.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curve.png", "ladder.png"]


@pytest.mark.parametrize("module", ["PIL", "matplotlib"])
def test_without_the_plot_extra_the_error_says_how_to_install_it(tmp_path, monkeypatch, module):
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(NeuroError, match=r"pip install 'neuro\[plot\]'"):
        if module == "PIL":
            save_png(np.zeros((2, 2, 3), dtype=np.uint8), tmp_path / "w.png")
        else:
            plot_training([EpochReport(1, 0.5, 0.3, 1.0)], tmp_path / "curve.png")
    assert list(tmp_path.iterdir()) == []


def test_a_picture_in_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(NeuroError, match="does not exist"):
        save_png(np.zeros((2, 2, 3), dtype=np.uint8), tmp_path / "no" / "w.png")
