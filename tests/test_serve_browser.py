"""The page of `neuro serve` in a real browser: headless Chromium, driven by Playwright, drawn on with the mouse.

The browser is the system's (`apt-get install -y chromium`, at /usr/bin/chromium or $NEURO_CHROMIUM); Playwright's
own browser download is not needed. Under CI=true these tests must run, so a missing browser fails them;
elsewhere they are skipped with the command that installs it. Screenshots go to $NEURO_TEST_SCREENSHOTS (default
a temporary folder); the recognition test prints how many mouse-drawn test digits the page recognised.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
from serve_under_test import page_server, served_network, start_neuro_serve
from tiny_mnist import write_random_mnist

from neuro.data import load_dataset
from neuro.network import Network
from neuro.serve.live import LiveTraining
from neuro.serve.quick import quick_model
from neuro.serve.strokes import pad_strokes, synthetic_test_strokes
from neuro.show.raster import signed_rgb
from neuro.training import TrainingSettings

CHROMIUM = os.environ.get("NEURO_CHROMIUM", "/usr/bin/chromium")
INSTALL = "apt-get install -y chromium && .venv/bin/pip install -e '.[browser]'"
DRAWN_DIGITS = 30
"""How many test digits the recognition test draws with the mouse, stroke by stroke."""


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"Playwright is not installed ({INSTALL})"
    if not (os.path.isfile(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} ({INSTALL})"
    return None


@pytest.fixture(scope="module")
def browser():
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser tests must run in CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("NEURO_TEST_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def digits():
    return load_dataset("synthetic")


@pytest.fixture(scope="module")
def server(digits):
    saved, _ = quick_model(digits, "synthetic")  # the model `neuro serve` shows without MODEL
    with page_server(served_network(saved.weights, saved.biases, digits.test_images, digits.test_labels,
                                    name="synthetic")) as running:
        yield running


class Watched:
    """A page of the browser with every JavaScript error and every request it made recorded."""

    def __init__(self, browser, url: str) -> None:
        self.url = url
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1360, "height": 900})
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error"
                     else None)
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.csp = self.page.goto(url).header_value("content-security-policy") or ""
        self.page.wait_for_selector('#network .neuron[data-layer="1"]')

    def off_server(self) -> list[str]:
        return [u for u in self.requests if not (u.startswith(self.url) or u.startswith("data:"))]

    def idle(self) -> None:
        self.page.wait_for_function("() => document.body.dataset.busy === '0'")

    def draw_test_digit(self, index: int) -> int:
        """Draw synthetic test digit `index` stroke by stroke with the mouse; returns its label."""
        label, lines = synthetic_test_strokes(index)
        box = self.page.locator("#pad").bounding_box()
        for stroke in pad_strokes(lines, box["x"], box["y"], box["width"]):
            self.page.mouse.move(*stroke[0])
            self.page.mouse.down()
            for x, y in stroke[1:]:
                self.page.mouse.move(x, y)
            self.page.mouse.up()
        self.idle()
        return label

    def activations(self, layer: int) -> np.ndarray:
        return np.array(self.page.eval_on_selector_all(
            f'.neuron[data-layer="{layer}"]', "els => els.map(e => Number(e.dataset.activation))"))


@pytest.fixture(scope="module")
def page(browser, server):
    watched = Watched(browser, server.url)
    yield watched
    watched.page.close()


@pytest.fixture(autouse=True)
def no_errors_and_nothing_off_the_server(request):
    yield
    if "page" in request.fixturenames:
        watched = request.getfixturevalue("page")
        assert watched.errors == []
        assert watched.off_server() == []


def test_drawing_lights_up_the_neurons_and_shows_the_answer(page, screenshots):
    p = page.page
    assert p.text_content("#answer") == "" and "Draw a digit" in p.text_content("#verdict")
    label = page.draw_test_digit(3)
    answer = p.text_content("#answer")
    assert answer.isdigit() and len(answer) == 1
    assert page.activations(0).max() > 0.9 and page.activations(0).min() == 0  # the centred input, ink on black
    for layer in (1, 2):
        lit = page.activations(layer)
        assert len(lit) == 16 and lit.max() > 0
    outputs = page.activations(3)
    assert int(np.argmax(outputs)) == int(answer)
    assert p.get_attribute(".output.best .neuron", "data-neuron") == answer
    assert p.text_content("#backend") == "numpy" and "%" in p.text_content("#confidence")
    p.screenshot(path=str(screenshots / f"serve-drawn-{label}.png"), full_page=True)


def test_a_first_layer_neuron_shows_its_weights_in_green_and_red(page, server):
    p = page.page
    p.click('#network .neuron[data-layer="1"][data-neuron="5"]')
    p.wait_for_selector('#weights[data-layer="1"][data-neuron="5"] canvas')
    rgb = np.array(p.eval_on_selector("#weights canvas", """c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const out = []; for (let i = 0; i < d.length; i += 4) out.push([d[i], d[i + 1], d[i + 2]]); return out; }"""))
    weights = server.api.served.snapshot.weights[0]
    want = signed_rgb(weights[5], np.abs(weights).max())  # the colours of `neuro show weights`
    assert np.abs(rgb - want.reshape(-1, 3).astype(int)).max() <= 1
    assert "bias" in p.text_content("#weights")


def test_a_later_neuron_shows_its_weights_as_bars(page):
    p = page.page
    p.click('#network .neuron[data-layer="3"][data-neuron="7"]')
    p.wait_for_selector('#weights[data-layer="3"][data-neuron="7"] .weight-bar')
    assert p.locator("#weights .weight-bar").count() == 16
    assert "Output neuron 7" in p.text_content("#weights")


def test_clearing_the_pad_asks_for_a_digit(page):
    p = page.page
    p.click("#clear")
    assert p.text_content("#answer") == "" and "Draw a digit" in p.text_content("#verdict")
    assert page.activations(3).max() == 0


def test_the_test_browser_steps_through_the_mistakes_first(page, server, screenshots):
    p = page.page
    p.click("#test-next")
    page.idle()
    first = server.api.served.browse(0)
    assert f"#{first['index']}" in p.text_content("#test-info") and "mistake 1 of" in p.text_content("#test-info")
    assert p.text_content("#answer") == str(first["answer"]) != str(first["label"])
    assert "Wrong" in p.text_content("#verdict")
    p.screenshot(path=str(screenshots / "serve-test-browser.png"), full_page=True)
    p.click("#test-next")
    page.idle()
    assert f"#{server.api.served.browse(1)['index']}" in p.text_content("#test-info")
    p.click("#test-prev")
    page.idle()
    assert f"#{first['index']}" in p.text_content("#test-info")


def test_most_test_digits_drawn_with_the_mouse_are_recognised(page, digits):
    p = page.page
    right = 0
    for index in range(DRAWN_DIGITS):
        p.click("#clear")
        label = page.draw_test_digit(index)
        assert label == digits.test_labels[index]
        right += p.text_content("#answer") == str(label)
    print(f"\nmouse-drawn test digits recognised: {right} of {DRAWN_DIGITS}")
    assert right > DRAWN_DIGITS * 0.7


def test_a_wide_network_still_reads(browser, digits, screenshots):
    network = Network([784, 128, 64, 10], backend="numpy", seed=0)
    with page_server(served_network(*network.parameters(), digits.test_images[:50], digits.test_labels[:50])) as s:
        watched = Watched(browser, s.url)
        watched.draw_test_digit(0)
        p = watched.page
        assert p.locator('.neuron[data-layer="1"]').count() == 128
        assert p.locator('.neuron[data-layer="2"]').count() == 64
        assert p.evaluate("document.documentElement.scrollWidth") <= 1360  # no sideways scrolling
        box = p.locator("#network").bounding_box()
        assert p.locator('.neuron[data-layer="1"]').last.bounding_box()["y"] < box["y"] + box["height"]
        p.screenshot(path=str(screenshots / "serve-wide.png"), full_page=True)
        assert watched.errors == [] and watched.off_server() == []
        watched.page.close()


def test_watching_it_learn_shows_the_curve_and_the_weights(browser, digits, screenshots):
    data = digits.limited(3000)
    network = Network([784, 16, 16, 10], backend="numpy", seed=0)
    served = served_network(*network.parameters(), data.test_images, data.test_labels)
    training = LiveTraining(network, data, TrainingSettings(epochs=3), served)
    with page_server(served, training) as s:
        watched = Watched(browser, s.url)
        p = watched.page
        p.wait_for_selector("#training-card", state="visible")  # (shown once the page has read /api/progress)
        training.start()
        p.wait_for_function("() => document.querySelectorAll('#curve circle').length === 4", timeout=30_000)
        p.wait_for_function("() => document.querySelectorAll('#gallery canvas').length === 16")
        assert "Done: 3 epochs" in p.text_content("#training-info")
        watched.draw_test_digit(1)
        p.screenshot(path=str(screenshots / "serve-training.png"), full_page=True)
        assert watched.errors == [] and watched.off_server() == []
        watched.page.close()


def test_a_finger_draws_on_the_pad_too(browser, server, screenshots):
    context = browser.new_context(viewport={"width": 420, "height": 900}, has_touch=True, is_mobile=True)
    p = context.new_page()
    errors = []
    p.on("pageerror", lambda error: errors.append(str(error)))
    p.goto(server.url)
    p.wait_for_selector('#network .neuron[data-layer="1"]')
    box = p.locator("#pad").bounding_box()
    _, lines = synthetic_test_strokes(2)
    touch = context.new_cdp_session(p)  # Playwright's touchscreen only taps: a swipe goes through CDP
    for stroke in pad_strokes(lines, box["x"], box["y"], box["width"]):
        kinds = ["touchStart"] + ["touchMove"] * (len(stroke) - 1)
        for kind, (x, y) in zip(kinds, stroke):
            touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
        touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    p.wait_for_function("() => document.body.dataset.busy === '0'")
    assert p.text_content("#answer").isdigit()
    p.screenshot(path=str(screenshots / "serve-phone.png"), full_page=True)
    assert p.evaluate("document.documentElement.scrollWidth") <= 420  # the cards stack on a narrow screen
    assert errors == []
    context.close()


HOSTILE_NAME = '<img src=x onerror="document.body.dataset.pwned=1">'


def test_the_page_runs_under_its_content_security_policy(page):
    p = page.page
    assert "default-src 'self'" in page.csp and "unsafe-inline" not in page.csp
    assert not [e for e in page.errors if "Content Security Policy" in e]  # (the autouse check: no error at all)
    p.click("#test-next")  # the weights' bars and the test browser build their elements under the policy too
    page.idle()
    p.click('.neuron[data-layer="2"][data-neuron="0"]')
    p.wait_for_selector("#weights .weight-bar")
    assert p.eval_on_selector("#weights .weight-bar .pos div, #weights .weight-bar .neg div",
                              "e => e.style.width") != ""


def test_a_hostile_data_set_name_is_shown_as_text_never_run(browser, digits):
    saved_weights = Network([784, 16, 10], backend="numpy", seed=1).parameters()
    served = served_network(*saved_weights, digits.test_images[:20], digits.test_labels[:20], name=HOSTILE_NAME)
    with page_server(served) as hostile:
        watched = Watched(browser, hostile.url)
        p = watched.page
        p.click("#test-next")
        watched.idle()
        assert HOSTILE_NAME in p.text_content("#test-info") and HOSTILE_NAME in p.text_content("#model")
        assert p.evaluate("document.querySelectorAll('img').length") == 0
        assert p.evaluate("document.body.dataset.pwned") is None
        watched.page.close()
    assert watched.errors == []


def test_a_race_draws_every_lane_and_the_chart_and_runs_a_drawing_on_every_rung(browser, tmp_path, screenshots):
    data = write_random_mnist(tmp_path / "digits", 300, 20)
    process, port = start_neuro_serve("--race", "python,numpy", "--layers", "784,16,10", "--limit", "300",
                                      "--race-seconds", "3", "--data", str(data), data_dir=tmp_path)
    try:
        watched = Watched(browser, f"http://127.0.0.1:{port}/")
        p = watched.page
        p.wait_for_function("() => document.body.dataset.race === 'finished'", timeout=60_000)
        assert p.locator("#lanes .lane").count() == 2 and p.locator("#race-chart polyline").count() == 2
        samples = {lane.get_attribute("data-rung"): int(lane.get_attribute("data-samples"))
                   for lane in p.locator("#lanes .lane").all()}
        assert samples["numpy"] > samples["python"] > 0
        assert p.locator("#race-table tbody tr").count() == 2 and "× python" in p.text_content("#race-table")
        watched.draw_test_digit(0)
        p.click("#race-ask")
        p.wait_for_selector("#race-answers[data-answered='2']")
        answers = p.locator("#race-answers .race-answer").all_text_contents()
        assert len(answers) == 2 and answers[0] == answers[1] == p.text_content("#answer")
        p.screenshot(path=str(screenshots / "serve-race.png"), full_page=True)
        assert watched.errors == [] and watched.off_server() == []
        watched.page.close()
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    assert process.returncode == 0
