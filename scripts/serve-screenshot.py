"""Write the tutorial's `serve-screenshot` block: `neuro serve` as a learner first sees it, and its page.

    python scripts/serve-screenshot.py [--index 3] [--neuron 5] [--chromium /usr/bin/chromium] [--no-docs]

Starts the real command (`neuro serve --port 0`) with an empty data cache, as after a fresh install (so it
makes the built-in digits and trains its quick model first), drives the page in headless Chromium with
Playwright (the browser extra, `pip install -e '.[browser]'`; the browser is the system's,
`apt-get install -y chromium`), draws the strokes of a built-in test digit with the mouse, clicks a first-layer
neuron to show its weights, saves the page as docs/images/serve.png, and stops the server with Ctrl-C (SIGINT)
as a learner would. Then it rewrites the block between `<!-- generated: serve-screenshot -->` and
`<!-- end: serve-screenshot -->` in docs/tutorial.md: the command with what it printed, what was drawn and what
the page answered, read from the page, and the picture.
With --no-docs it only saves the picture (to --out).

    python scripts/serve-screenshot.py --race python,numpy,numba-loops,numba [--limit 2000] [--seconds 20]

makes docs/images/race.png instead (and leaves the tutorial alone): `neuro serve --race` on the built-in
digits, the page watched until the race is over, a test digit drawn and run through every raced rung; then it
rewrites README.md's `race-screenshot` block, the picture's caption: the command, the machine, the date and the
race's table as the page showed it.
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from docs_blocks import blocks, fill_blocks, this_machine

from neuro.serve.strokes import pad_strokes, synthetic_test_strokes

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
IMAGE = ROOT / "docs" / "images" / "serve.png"
RACE_IMAGE = ROOT / "docs" / "images" / "race.png"
README = ROOT / "README.md"
RACE_NAME = "race-screenshot"
NAME = "serve-screenshot"


def start_server(data_dir: str, *options: str) -> tuple[subprocess.Popen, str, list[str]]:
    """`neuro serve --port 0 OPTIONS` running with the data cache `data_dir`, its URL, and the lines it printed so
    far."""
    neuro = Path(sys.executable).parent / "neuro"
    server = subprocess.Popen([str(neuro), "serve", "--port", "0", *options], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              text=True, env=dict(os.environ, NEURO_DATA_DIR=data_dir, NO_COLOR="1"))
    printed = []
    for line in server.stdout:
        printed.append(line.rstrip("\n"))
        if line.startswith("Serving on "):
            printed.append(server.stdout.readline().rstrip("\n"))  # the line that says what is served
            return server, line.removeprefix("Serving on ").strip(), printed
    raise SystemExit(f"neuro serve stopped (status {server.wait()}) without printing its URL:\n" + "\n".join(printed))


def draw_strokes(page, index: int) -> int:
    """Draw the strokes of built-in test digit `index` on the page's pad with the mouse; returns its label."""
    box = page.locator("#pad").bounding_box()
    label, lines = synthetic_test_strokes(index)
    for stroke in pad_strokes(lines, box["x"], box["y"], box["width"]):
        page.mouse.move(*stroke[0])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(x, y)
        page.mouse.up()
    page.wait_for_function("() => document.body.dataset.busy === '0'")
    return label


def race_picture(url: str, index: int, chromium: str, out: Path, seconds: float) -> str:
    """Watch the race at `url` until it is over, draw test digit `index`, ask every raced rung, save the page to
    `out`; returns the race's summary as the page shows it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.goto(url)
        page.wait_for_selector("#race-card:not([hidden]) .lane")
        page.wait_for_function("() => document.body.dataset.race === 'finished'", timeout=(seconds + 300) * 1000)
        draw_strokes(page, index)
        page.click("#race-ask")
        page.wait_for_selector("#race-answers[data-answered]")
        page.mouse.move(0, 0)
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=True)
        cells = page.eval_on_selector_all("#race-table tr",
                                          "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))")
        summary = "\n".join("| " + " | ".join(row) + " |" + ("\n|---|---:|---|" if i == 0 else "")
                             for i, row in enumerate(cells))
        browser.close()
    return summary


def draw_and_show(url: str, index: int, neuron: int, chromium: str, out: Path) -> dict:
    """Draw test digit `index` on the page at `url`, click first-layer `neuron`, save the page to `out`;
    returns what the page showed."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.goto(url)
        page.wait_for_selector('#network .neuron[data-layer="1"]')
        label, lines = synthetic_test_strokes(index)
        draw_strokes(page, index)
        page.click(f'#network .neuron[data-layer="1"][data-neuron="{neuron}"]')
        page.wait_for_selector(f'#weights[data-neuron="{neuron}"] canvas')
        page.mouse.move(0, 0)  # no hover highlight in the picture
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=True)
        shown = {"label": label, "strokes": len(lines), "answer": page.text_content("#answer"),
                 "confidence": page.text_content("#confidence"), "backend": page.text_content("#backend")}
        browser.close()
    return shown


def block_text(command_output: list[str], shown: dict, index: int, neuron: int, data_dir: str) -> str:
    """The tutorial's block: the command, what the page showed, the picture, and how to read it."""
    printed = "\n".join(line.replace(data_dir, "~/.cache/neuro") for line in command_output)
    verdict = "right" if shown["answer"] == str(shown["label"]) else "wrong"
    return f"""`neuro serve` starts a page on your own machine where you draw a digit and watch the network answer as
you draw. The first time, it makes the built-in digits and trains a quick model on them (with a progress bar in
a terminal), and caches it:

```console
$ neuro serve --port 0
{printed}
```

Open the URL it prints (or give `--open`; `--port 0` picks a free port, and without it the page is on port 8000).
Below, test image {index} of the built-in digits, a {shown["label"]}, was drawn on the pad with the mouse, following
its {shown["strokes"]} pen strokes, and the network answered {shown["answer"]} ({verdict}) with confidence
{shown["confidence"]}, on the {shown["backend"]} backend; then neuron {neuron} of the first layer was clicked:

![neuro serve: a {shown["label"]} drawn on the pad, the centred 28×28 input, the layers lit up, the answer, and the \
weights of first-layer neuron {neuron}](images/serve.png)

On the left, the pad and, below it, what the network sees: the drawing fitted into 20×20 and centred by its
centre of mass, by the same function as `neuro predict` uses for an image file. In the middle, every hidden and
output neuron as bright as its activation; the lines between the layers are green for a positive weight and red
for a negative one, as opaque as what they carry, activation × weight, so the brightest lines show what passes on
towards the answer. On the right, the answer, its confidence, the backend and how long the forward pass took,
and the clicked neuron's 784 weights in the colours of `neuro show weights`. *The test images, mistakes first*
steps through the digits the network gets wrong, each with its label and every layer's activations.

Serve your own model with `neuro serve model.npz`, on the backend of your choice with `--backend`.
`neuro serve --train` trains a new network in the background instead (with `neuro train`'s options, `--save`
included), and the page draws its test accuracy after every epoch and its first-layer weights as they change.
(This block and the picture are written by `scripts/serve-screenshot.py`.)"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=int, default=3, help="The built-in test digit to draw.")
    parser.add_argument("--neuron", type=int, default=5, help="The first-layer neuron whose weights are shown.")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=IMAGE, help="Where the picture goes.")
    parser.add_argument("--no-docs", action="store_true",
                        help="Save the picture only; leave the tutorial (with --race, the README) alone.")
    parser.add_argument("--race", metavar="RUNGS", help="Make docs/images/race.png of `neuro serve --race RUNGS`.")
    parser.add_argument("--limit", type=int, default=2000, help="--race: the training images of the race.")
    parser.add_argument("--seconds", type=float, default=20, help="--race: the race's budget in seconds.")
    args = parser.parse_args()
    if args.race:
        race_main(args)
        return

    with tempfile.TemporaryDirectory(prefix="neuro-serve-docs-") as data_dir:
        server, url, printed = start_server(data_dir)
        try:
            shown = draw_and_show(url, args.index, args.neuron, args.chromium, args.out)
        finally:
            server.send_signal(signal.SIGINT)
            rest, _ = server.communicate(timeout=30)
        printed += ["^C", *rest.rstrip("\n").split("\n")]  # "Stopped.", after the Ctrl-C
        if server.returncode != 0:
            raise SystemExit(f"neuro serve ended with status {server.returncode}:\n" + "\n".join(printed))
        print(f"Saved {args.out}: test digit {args.index} (a {shown['label']}), answered {shown['answer']}")
        if args.no_docs:
            return
        write_block(TUTORIAL, NAME, block_text(printed, shown, args.index, args.neuron, data_dir))


def write_block(path: Path, name: str, body: str) -> None:
    """Rewrite the block `name` of the file at `path` with `body` (an error if the file has no such block)."""
    text = path.read_text()
    if name not in blocks(text):
        raise SystemExit(f"{path} has no {name} block to write")
    path.write_text(fill_blocks(text, lambda found: body if found == name else None))
    print(f"Wrote the {name} block of {path}")


def race_main(args) -> None:
    """`neuro serve --race` run, watched to its end, pictured in docs/images/race.png (or --out), stopped."""
    out = args.out if args.out != IMAGE else RACE_IMAGE
    options = ["--race", args.race, "--limit", str(args.limit), "--race-seconds", f"{args.seconds:g}"]
    with tempfile.TemporaryDirectory(prefix="neuro-race-docs-") as data_dir:
        server, url, printed = start_server(data_dir, *options)
        try:
            summary = race_picture(url, args.index, args.chromium, out, args.seconds)
        finally:
            server.send_signal(signal.SIGINT)
            rest, _ = server.communicate(timeout=60)
        if server.returncode != 0:
            raise SystemExit(f"neuro serve --race ended with status {server.returncode}:\n" + "\n".join(printed)
                             + rest)
    print(f"Saved {out}: `neuro serve {' '.join(options)}`\n{summary}")
    if args.no_docs:
        return
    caption = (f"The picture: `neuro serve {' '.join(options)}`, watched to its end and pictured by "
               f"`scripts/serve-screenshot.py --race {args.race}` on {datetime.date.today().isoformat()}, on "
               f"{this_machine()}, load average {os.getloadavg()[0]:.2f} after the race. Its table, as the page "
               f"showed it:\n\n{summary.strip()}")
    write_block(README, RACE_NAME, caption)


if __name__ == "__main__":
    main()
