"""The JSON API of the page: each request checked, each answer built; the HTTP is in `server.py`.

  GET  /api/model              what is served: layer sizes, backend, dtype, data set, where the model came from
  POST /api/activations        {"pixels": [784 numbers in 0..1]} (the raw drawing, 28×28 row by row) ->
                               {"answer", "activations" (every layer's; the first is the centred input),
                                "backend", "seconds" (the forward pass), "confidence", "version"}
  GET  /api/weights?layer=L&neuron=J   neuron J of layer L's incoming weights and bias (L = 1: first hidden);
                               without neuron, the whole layer's
  GET  /api/test/P             test image P of the browser's list (mistakes first): its label, the answer and
                               every layer's activations
  GET  /api/progress           training progress under --train (test accuracy per epoch, ...)
  GET  /api/race               under --race: every lane's progress (samples, samples/s, epoch, accuracy, ...)
  POST /api/race/activations   {"pixels": [...]} under --race -> {"answers": [{"rung", "answer", "seconds", ...}]}

A request the API cannot answer raises `ApiError` with a 4xx status and a message for `{"error": ...}`.
"""

from __future__ import annotations

import json
import math
from urllib.parse import parse_qs

import numpy as np

from neuro.data import N_PIXELS
from neuro.support.errors import NeuroError

from .live import LiveTraining
from .race_answers import RacedNetworks
from .served import ServedNetwork

MAX_BODY = 1_000_000
"""The largest request body accepted, in bytes: a drawing's JSON is about 10 kB."""


class ApiError(Exception):
    """A request the API refuses: an HTTP status (4xx) and a message saying what is wrong."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Api:
    """Answers the API's requests for one served network (and its training, under --train)."""

    def __init__(self, served: ServedNetwork, description: dict, training: LiveTraining | None = None,
                 race: RacedNetworks | None = None) -> None:
        self.served = served
        self.description = description
        self.training = training
        self.race = race

    def get(self, path: str, query: str) -> dict:
        """The answer to GET `path` (below /api/) with the query string `query`."""
        if path == "model":
            return self.model()
        if path == "weights":
            return self.weights(parse_qs(query, keep_blank_values=True))
        if path == "progress":
            return self.training.state() if self.training is not None else {"training": False}
        if path == "race":
            return self.race.state() if self.race is not None else {"race": False}
        if path.startswith("test/"):
            return self.test_image(path.removeprefix("test/"))
        if path in ("activations", "race/activations"):
            raise ApiError(405, f"POST a drawing to /api/{path}: {{\"pixels\": [784 numbers in 0..1]}}")
        raise ApiError(404, f"there is no /api/{path}")

    def post(self, path: str, body: bytes) -> dict:
        """The answer to POST `path` (below /api/) with the request body `body`."""
        if path == "race/activations" and self.race is None:
            raise ApiError(404, "there is no race: start the server with --race to POST to /api/race/activations")
        if path not in ("activations", "race/activations"):
            raise ApiError(404 if path not in ("model", "weights", "progress", "race") else 405,
                           f"cannot POST to /api/{path}")
        pixels = drawing_pixels(body)
        try:
            if path == "race/activations":
                return self.race.answers(pixels)
            return self.served.answer_drawing(pixels)
        except NeuroError as error:  # the drawing is blank: nothing to centre
            raise ApiError(422, f"{error}: draw a digit") from None

    def model(self) -> dict:
        served = self.served
        return self.description | {
            "sizes": served.sizes,
            "backend": served.backend.name,
            "dtype": served.dtype,
            "data": served.test.name,
            "test_images": len(served.test.labels),
            "training": self.training is not None,
            "race": self.race is not None,
        }

    def weights(self, query: dict[str, list[str]]) -> dict:
        n_layers = len(self.served.sizes) - 1
        layer = whole_number(query, "layer", 1, n_layers, required=True)
        neuron = whole_number(query, "neuron", 0, self.served.sizes[layer] - 1, required=False)
        return self.served.weights_of(layer, neuron)

    def test_image(self, position: str) -> dict:
        count = len(self.served.test.labels)
        if not is_whole(position) or int(position) >= count:
            raise ApiError(404, f"test image {position!r} does not exist: the browser holds {count}, numbered "
                                f"0 to {count - 1}")
        return self.served.browse(int(position))


def is_whole(text: str) -> bool:
    """Whether `text` is a whole number written in at most 9 of the digits 0-9 ("²".isdigit() is true, but int("²")
    fails; and no index of ours needs more digits, while int() refuses over 4,300 of them)."""
    return text.isascii() and text.isdigit() and len(text) <= 9


def whole_number(query: dict[str, list[str]], name: str, lowest: int, highest: int, required: bool) -> int | None:
    """The query parameter `name` as an int in lowest..highest, None when absent and not required."""
    values = query.get(name)
    if not values:
        if required:
            raise ApiError(400, f"give ?{name}=N, a whole number from {lowest} to {highest}")
        return None
    text = values[0]
    if not is_whole(text) or not lowest <= int(text) <= highest:
        raise ApiError(400 if not is_whole(text) else 404,
                       f"{name} must be a whole number from {lowest} to {highest}, got {text!r}")
    return int(text)


def drawing_pixels(body: bytes) -> np.ndarray:
    """The 784 pixels of a request body {"pixels": [...]}, checked: numbers, finite, in 0..1."""
    try:
        request = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiError(400, f"the body is not valid JSON: {error}") from None
    except (RecursionError, ValueError):  # arrays nested thousands deep; an integer of over 4,300 digits
        raise ApiError(400, "the body is JSON that no drawing looks like (nested too deep, or a number too long)") \
            from None
    if not isinstance(request, dict) or "pixels" not in request:
        raise ApiError(400, 'the body must be a JSON object {"pixels": [784 numbers in 0..1]}')
    pixels = request["pixels"]
    if not isinstance(pixels, list) or len(pixels) != N_PIXELS:
        json_kinds = {dict: "an object", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
        got = f"{len(pixels)} values" if isinstance(pixels, list) else json_kinds.get(type(pixels), "null")
        raise ApiError(400, f"pixels must be a list of {N_PIXELS} numbers (28×28, row by row), got {got}")
    for value in pixels:
        # bool is an int in Python, but true is no brightness; NaN and infinity arrive as bare JSON words
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ApiError(400, f"pixels must be numbers, got {json.dumps(value)[:40]}")
        if isinstance(value, int) and abs(value) > 1:  # (also an integer too large for a float)
            raise ApiError(400, f"pixels must lie in 0..1 (0 paper, 1 ink), got {str(value)[:40]}")
        if not math.isfinite(value):
            raise ApiError(400, f"pixels must be finite numbers, got {value}")
        if not 0.0 <= value <= 1.0:
            raise ApiError(400, f"pixels must lie in 0..1 (0 paper, 1 ink), got {value}")
    return np.array(pixels, dtype=np.float64)
