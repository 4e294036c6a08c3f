"""Make docs/images/serve.png: `neuro serve` with a test digit drawn on the pad by the mouse, stroke by stroke.

Starts the real command (`neuro serve --port 0`, the quick model), drives the page in headless Chromium with
Playwright (`pip install playwright`; the browser is the system's: `apt-get install -y chromium`), draws the
strokes of a built-in test digit with the mouse, clicks a first-layer neuron to show its weights, saves a
screenshot, and stops the server with Ctrl-C (SIGINT) as a user would.

    python scripts/serve-screenshot.py [--out docs/images/serve.png] [--index 3] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path

from neuro.serve.strokes import pad_strokes, synthetic_test_strokes

ROOT = Path(__file__).resolve().parent.parent


def start_server() -> tuple[subprocess.Popen, str]:
    """`neuro serve --port 0` running, and the URL from its first line."""
    neuro = Path(sys.executable).parent / "neuro"
    server = subprocess.Popen([str(neuro), "serve", "--port", "0"], stdout=subprocess.PIPE, text=True)
    for line in server.stdout:
        if line.startswith("Serving on "):
            return server, line.removeprefix("Serving on ").strip()
    raise SystemExit(f"neuro serve stopped (status {server.wait()}) without printing its URL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images" / "serve.png"))
    parser.add_argument("--index", type=int, default=3, help="The synthetic test digit to draw.")
    parser.add_argument("--neuron", type=int, default=5, help="The first-layer neuron whose weights are shown.")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    server, url = start_server()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium)
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.goto(url)
            page.wait_for_selector('#network .neuron[data-layer="1"]')
            box = page.locator("#pad").bounding_box()
            _, lines = synthetic_test_strokes(args.index)
            for stroke in pad_strokes(lines, box["x"], box["y"], box["width"]):
                page.mouse.move(*stroke[0])
                page.mouse.down()
                for x, y in stroke[1:]:
                    page.mouse.move(x, y)
                page.mouse.up()
            page.wait_for_function("document.body.dataset.busy === '0'")
            page.click(f'#network .neuron[data-layer="1"][data-neuron="{args.neuron}"]')
            page.wait_for_selector("#weights canvas")
            page.mouse.move(0, 0)  # no hover highlight in the picture
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.out, full_page=True)
            browser.close()
        print(f"Saved {args.out} (page {url}, test digit {args.index})")
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
