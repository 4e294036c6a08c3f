"""The readers of files a user hands in stay robust: truncated, bit-flipped, spliced, random and hostile files
either load or raise `NeuroError` (one line for the CLI), never anything else.

Each reader is fed files made from a valid one by hypothesis: cut short, bits flipped, a stretch of another
file spliced in, or bytes at random. The model loader, the IDX reader (plain and gzip) and the image reader.
"""

from __future__ import annotations

import gzip
import io
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuro.data.idx import read_idx
from neuro.model import TrainingRecord, load_model, save_model
from neuro.network import Network
from neuro.support.errors import NeuroError

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory) -> dict[str, bytes]:
    """One valid file of each kind, as bytes."""
    folder = tmp_path_factory.mktemp("valid")
    network = Network([784, 3, 10], seed=0)
    record = TrainingRecord(1, [{"epoch": 1, "test_accuracy": 0.5, "test_cost": 0.1, "seconds": 0.2}],
                            {"eta": 3.0, "batch_size": 10, "cost": "quadratic", "init": "classic", "seed": 0,
                             "data": "synthetic", "limit": None, "layers": [784, 3, 10], "dtype": "float64"},
                            np.random.default_rng(0).bit_generator.state)
    save_model(network, folder / "m.npz", training=record)
    labels = np.arange(40, dtype=np.uint8) % 10
    idx = b"\x00\x00\x08\x01" + struct.pack(">I", len(labels)) + labels.tobytes()
    files = {"model": (folder / "m.npz").read_bytes(), "idx": idx, "idx.gz": gzip.compress(idx, mtime=0)}
    try:
        from PIL import Image
    except ImportError:
        return files
    picture = np.zeros((20, 16), dtype=np.uint8)
    picture[4:16, 7:9] = 255  # a "1"
    png = io.BytesIO()
    Image.fromarray(picture).save(png, format="PNG")
    files["png"] = png.getvalue()
    return files


@st.composite
def damaged(draw, original: bytes) -> bytes:
    """`original` cut short, with bits flipped, with a stretch spliced in, or replaced by random bytes."""
    how = draw(st.sampled_from(["truncate", "flip", "splice", "random"]))
    data = bytearray(original)
    if how == "truncate":
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    if how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(data) - 1))
            data[at] ^= 1 << draw(st.integers(0, 7))
        return bytes(data)
    if how == "splice":
        at = draw(st.integers(0, len(data)))
        cut = draw(st.integers(0, len(data) - at))
        return bytes(data[:at] + draw(st.binary(max_size=64)) + data[at + cut :])
    return draw(st.binary(max_size=512))


def loads_or_refuses(read, path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        read(path)
    except NeuroError as error:
        assert "\n" not in str(error)


@FUZZ
@given(data=st.data())
def test_the_model_loader_loads_or_refuses_a_damaged_file(valid_files, tmp_path, data):
    loads_or_refuses(load_model, tmp_path / "m.npz", data.draw(damaged(valid_files["model"])))


@FUZZ
@given(data=st.data(), kind=st.sampled_from(["idx", "idx.gz"]))
def test_the_idx_reader_loads_or_refuses_a_damaged_file(valid_files, tmp_path, data, kind):
    loads_or_refuses(read_idx, tmp_path / f"f-{kind}", data.draw(damaged(valid_files[kind])))


@FUZZ
@given(data=st.data())
def test_the_image_reader_loads_or_refuses_a_damaged_file(valid_files, tmp_path, data):
    if "png" not in valid_files:
        pytest.skip("Pillow (the plot extra) is not installed")
    from neuro.data.drawn import read_digit

    loads_or_refuses(read_digit, tmp_path / "d.png", data.draw(damaged(valid_files["png"])))


def test_a_png_announcing_a_vast_picture_is_refused_before_decoding(tmp_path):
    pytest.importorskip("PIL")
    import zlib

    from neuro.data.drawn import read_digit

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    # 30000 x 30000 grey pixels (900 megapixels) announced in a file of a few bytes
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    path = tmp_path / "vast.png"
    path.write_bytes(png)
    with pytest.raises(NeuroError):
        read_digit(path)


def test_a_model_whose_arrays_need_pickle_is_refused(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, format=np.array("neuro-model"), format_version=np.array(2), sizes=np.array([1, 1]),
             activation=np.array("sigmoid"), cost=np.array("quadratic"), dtype=np.array("float64"),
             w0=np.array([[object()]], dtype=object), b0=np.zeros(1))
    with pytest.raises(NeuroError):
        load_model(path)


@pytest.mark.parametrize("record", ["not json", "[]", '{"epochs_done": 1}', '{"epochs_done": -1, "history": [], '
                                    '"settings": {}, "shuffle_state": {}}', "[" * 100_000])
def test_a_model_with_a_broken_training_record_is_refused(tmp_path, record):
    network = Network([784, 3, 10], seed=0)
    weights, biases = network.parameters()
    path = tmp_path / "m.npz"
    np.savez(path, format=np.array("neuro-model"), format_version=np.array(2), sizes=np.array([784, 3, 10]),
             activation=np.array("sigmoid"), cost=np.array("quadratic"), dtype=np.array("float64"),
             training=np.array(record), w0=weights[0], b0=biases[0], w1=weights[1], b1=biases[1])
    with pytest.raises(NeuroError, match="training record"):
        load_model(path)
