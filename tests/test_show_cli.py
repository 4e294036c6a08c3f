"""`neuro show`, `neuro predict` and the --plot options, through click's test runner."""

import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from extras import needs_matplotlib

from neuro import Network, save_model
from neuro.cli.main import main
from neuro.data.idx import write_idx

ESCAPE = "\x1b["


def run(*args, ok=True, env=None):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def last_json(result):
    return json.loads(result.stdout.strip().splitlines()[-1])


def assert_one_line_error(result, fragment):
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("Error: ") and fragment in lines[-1], result.output
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def mnist_folder(tmp_path_factory):
    """A tiny MNIST-format folder: 20 training and 5 test images; test image 1 is a white square on black."""
    folder = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 20), ("t10k", 5)):
        images = rng.integers(0, 40, (n, 28, 28), dtype=np.uint8)
        images[1, 10:18, 10:18] = 255
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", np.arange(n, dtype=np.uint8) % 10)
    return folder


def _network(weights, biases):
    return Network.from_parameters([np.asarray(w, dtype=float) for w in weights],
                                   [np.asarray(b, dtype=float) for b in biases])


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """784-4-10 with known weights: neuron 0 of layer 1 has +1 at the top-left pixel and -1 at the top-right.

    Every output neuron ignores its inputs; output 7 has the largest bias, so the network always says 7.
    """
    w1 = np.zeros((4, 784))
    w1[0, 0], w1[0, 27] = 1.0, -1.0
    b2 = np.full(10, -3.0)
    b2[7], b2[2] = 2.0, 0.0
    path = tmp_path_factory.mktemp("model") / "model.npz"
    save_model(_network([w1, np.zeros((10, 4))], [np.zeros(4), b2]), path)
    return path


# ----------------------------------------------------------------------------------------------- show digit


def test_show_digit_draws_the_image_with_its_label(mnist_folder):
    output = run("show", "digit", "--data", mnist_folder, "--index", 1).stdout
    lines = output.splitlines()
    assert lines[0] == f"Test image 1 of {mnist_folder}: label 1"
    assert len(lines) == 1 + 28 + 2  # the label, 28 rows of pixels in a frame
    assert lines[12][21:37] == "@" * 16 and lines[12][:21].strip(" .") == "|"  # row 10: the white square
    assert ESCAPE not in output  # not a terminal: plain characters


def test_show_digit_in_colour_uses_half_blocks_in_grey(mnist_folder):
    output = run("show", "digit", "--data", mnist_folder, "--index", 1, "--train", "--color", "always").stdout
    lines = output.splitlines()
    assert lines[0].startswith("Training image 1")
    assert len(lines) == 1 + 14 and "▀" in lines[1]
    assert "\x1b[38;2;255;255;255m\x1b[48;2;255;255;255m▀" in lines[6]  # rows 10–11, inside the square


def test_show_digit_index_out_of_range(mnist_folder):
    assert_one_line_error(run("show", "digit", "--data", mnist_folder, "--index", 5, ok=False),
                          "--index 5 is out of range: the test set")


# ----------------------------------------------------------------------------------------------- show weights


def test_show_weights_plain_marks_signs(model):
    output = run("show", "weights", model, "--neuron", 0).stdout
    lines = output.splitlines()
    assert "layer 1, neuron 0; 784 incoming weights per neuron on a 28×28 grid" in lines[0]
    assert lines[2] == "#0 b=+0.00"
    assert lines[3] == "+" + "." * 26 + "-"
    assert len(lines) == 3 + 28


def test_show_weights_mosaic_shows_every_neuron(model):
    output = run("show", "weights", model, "--layer", 2, env={"COLUMNS": "200"}).stdout
    for k in range(10):
        assert f"#{k} b=" in output
    assert "#7 b=+2.00" in output and "2×2 grid" in output


def test_show_weights_in_colour(model):
    output = run("show", "weights", model, "--neuron", 0, "--color", "always").stdout
    assert "\x1b[38;2;0;255;0m" in output and "\x1b[38;2;255;0;0m" in output


def test_show_weights_out_writes_green_and_red_pixels(model, tmp_path):
    from PIL import Image

    path = tmp_path / "w.png"
    assert "Wrote" in run("show", "weights", model, "--neuron", 0, "--out", path).stdout
    picture = np.asarray(Image.open(path).convert("RGB"))
    assert picture.shape == (112, 112 + 4 + 4, 3)  # 4 pixels per weight, then the gap and the bias bar
    assert tuple(picture[0, 0]) == (0, 255, 0) and tuple(picture[3, 108]) == (255, 0, 0)
    assert tuple(picture[50, 50]) == (0, 0, 0)
    assert [p.name for p in tmp_path.iterdir()] == ["w.png"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--layer", "0"], "--layer 0 does not exist"),
        (["--layer", "3"], "--layer 3 does not exist"),
        (["--neuron", "4"], "--neuron 4 does not exist: layer 1 has 4 neurons"),
    ],
)
def test_show_weights_bad_layer_or_neuron(model, args, fragment):
    assert_one_line_error(run("show", "weights", model, *args, ok=False), fragment)


def test_show_weights_of_a_missing_model():
    assert_one_line_error(run("show", "weights", "/no/such/model.npz", ok=False), "does not exist")


# ----------------------------------------------------------------------------------------------- predict


def test_predict_picks_the_largest_output_and_reports_json(model, mnist_folder):
    payload = last_json(run("predict", model, "--index", 3, "--data", mnist_folder, "--json"))
    assert set(payload) >= {"prediction", "confidence", "outputs", "label"}
    outputs = np.array(payload["outputs"])
    assert len(outputs) == 10 and payload["prediction"] == int(np.argmax(outputs)) == 7
    assert payload["confidence"] == pytest.approx(outputs.max() / outputs.sum())
    assert payload["label"] == 3
    assert len(payload["activations"]) == 1 and len(payload["activations"][0]) == 4


def test_predict_shows_input_layers_and_the_choice(model, mnist_folder):
    output = run("predict", model, "--index", 1, "--data", mnist_folder).stdout
    assert "Input: test image 1" in output and "label 1" in output
    assert "Layer 1 (4 neurons):" in output and "Output layer (10 neurons)" in output
    chosen = [line for line in output.splitlines() if "the network's choice" in line]
    assert len(chosen) == 1 and chosen[0].lstrip().startswith("7 |")
    assert "The network says 7 with confidence" in output and "wrong" in output


def test_predict_an_image_file(model, tmp_path):
    from PIL import Image

    page = np.full((60, 40), 255, dtype=np.uint8)
    page[10:50, 18:24] = 0  # a dark '1' on white paper
    Image.fromarray(page).save(tmp_path / "one.png")
    payload = last_json(run("predict", model, tmp_path / "one.png", "--json"))
    assert payload["prediction"] == 7 and payload["label"] is None


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ([], "give an IMAGE file or --index I"),
        (["x.png", "--index", "0"], "not both"),
        (["--index", "99"], "--index 99 is out of range"),
        (["/no/such/digit.png"], "does not exist"),
    ],
)
def test_predict_bad_input(model, mnist_folder, args, fragment):
    assert_one_line_error(run("predict", model, "--data", mnist_folder, *args, ok=False), fragment)


def test_predict_an_unreadable_image(model, tmp_path):
    path = tmp_path / "digit.png"
    path.write_text("not a picture")
    assert_one_line_error(run("predict", model, path, ok=False), "cannot read")


def test_predict_refuses_a_model_without_784_inputs(tmp_path, mnist_folder):
    path = tmp_path / "small.npz"
    save_model(Network([100, 10]), path)
    assert_one_line_error(run("predict", path, "--index", 0, "--data", mnist_folder, ok=False),
                          "input layer has 100 neurons but a 28×28 digit has 784 pixels")


# ----------------------------------------------------------------------------------------------- pictures


@needs_matplotlib
def test_train_plot_writes_a_png(mnist_folder, tmp_path):
    output = run("train", "--data", mnist_folder, "--epochs", 2, "--layers", "784,5,10",
                 "--plot", tmp_path / "curve.png").output
    assert "Saved the plot" in output
    assert (tmp_path / "curve.png").read_bytes().startswith(b"\x89PNG")


@needs_matplotlib
def test_bench_plot_writes_a_png(tmp_path):
    run("bench", "--backends", "python,numpy", "--layers", "20,5,3", "--seconds", "0.02",
        "--plot", tmp_path / "ladder.png")
    assert (tmp_path / "ladder.png").read_bytes().startswith(b"\x89PNG")


def _without(monkeypatch, module):
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--layers", "784,5,10", "--epochs", "1", "--plot", "{tmp}/curve.png"],
        ["bench", "--backends", "numpy", "--layers", "20,5,3", "--seconds", "0.02", "--plot", "{tmp}/ladder.png"],
    ],
    ids=["train", "bench"],
)
def test_plot_without_matplotlib_says_how_to_install_before_any_work(monkeypatch, tmp_path, mnist_folder, args):
    _without(monkeypatch, "matplotlib")
    args = [a.format(tmp=tmp_path) for a in args]
    if args[0] == "train":
        args += ["--data", str(mnist_folder)]
    result = run(*args, ok=False)
    assert_one_line_error(result, "install the plot extra: pip install 'neuro[plot]'")
    assert "Epoch" not in result.output and "backend" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_show_weights_out_without_pillow_says_how_to_install(monkeypatch, model, tmp_path):
    _without(monkeypatch, "PIL")
    assert_one_line_error(run("show", "weights", model, "--out", tmp_path / "w.png", ok=False),
                          "pip install 'neuro[plot]'")


@needs_matplotlib
def test_plot_into_a_missing_folder(mnist_folder, tmp_path):
    assert_one_line_error(run("train", "--data", mnist_folder, "--plot", tmp_path / "no" / "c.png", ok=False),
                          "does not exist")
