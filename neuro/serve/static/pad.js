// The drawing pad: mouse, pen or finger strokes on a 280×280 canvas, sent to the server as 28×28 pixels, one
// request at a time; and test images drawn onto it.

import { $, api, setBusy, unreachable } from "./dom.js";
import { showAnswer, showNothing } from "./answer.js";
import { state } from "./state.js";

export const SIDE = 28;    // the input is 28×28 pixels
const PEN = 20;            // the pen's width on the 280-pixel pad: about two input pixels, as MNIST's strokes

const pad = $("pad");
const ink = pad.getContext("2d", { willReadFrequently: true });

export function clearPad() {
  ink.fillStyle = "#000";
  ink.fillRect(0, 0, pad.width, pad.height);
}

function padPoint(event) {
  const box = pad.getBoundingClientRect();
  return { x: (event.clientX - box.left) * pad.width / box.width, y: (event.clientY - box.top) * pad.height / box.height };
}

let last = null;
pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  if (state.showing !== "drawing") { clearPad(); state.showing = "drawing"; }
  last = padPoint(event);
  stroke(last, last);
});
pad.addEventListener("pointermove", (event) => {
  if (last === null) return;
  const point = padPoint(event);
  stroke(last, point);
  last = point;
});
const lift = () => { last = null; };
pad.addEventListener("pointerup", lift);
pad.addEventListener("pointercancel", lift);

function stroke(from, to) {
  ink.strokeStyle = "#fff";
  ink.lineWidth = PEN;
  ink.lineCap = "round";
  ink.lineJoin = "round";
  ink.beginPath();
  ink.moveTo(from.x, from.y);
  ink.lineTo(to.x, to.y);
  ink.stroke();
  drawingChanged();
}

function drawingChanged() {
  state.drawingVersion += 1;
  setBusy(true);
  sendDrawing();
}

// The pad (280×280) as 28×28 pixels in 0..1: each the mean brightness of a 10×10 square.
export function drawingPixels() {
  const { data } = ink.getImageData(0, 0, pad.width, pad.height);
  const cell = pad.width / SIDE;
  const pixels = new Array(SIDE * SIDE).fill(0);
  for (let y = 0; y < pad.height; y++) {
    const row = Math.floor(y / cell) * SIDE;
    for (let x = 0; x < pad.width; x++) {
      pixels[row + Math.floor(x / cell)] += data[4 * (y * pad.width + x)];
    }
  }
  const scale = 255 * cell * cell;
  return pixels.map((sum) => Math.min(1, sum / scale));
}

// One request at a time; when it comes back and the drawing has changed since, the newest drawing is sent.
export async function sendDrawing() {
  if (state.inFlight) return;
  state.inFlight = true;
  const version = state.drawingVersion;
  try {
    const pixels = drawingPixels();
    if (!pixels.some((p) => p > 0)) {
      showNothing("Draw a digit on the pad.");
    } else {
      const { ok, status, payload } = await api("activations", { pixels });
      if (state.showing !== "drawing") { /* a test image replaced the drawing meanwhile */ }
      else if (ok) showAnswer(payload);
      else if (status === 422) showNothing("Draw a digit on the pad.");
      else showNothing(payload.error || `the server answered ${status}`, true);
    }
  } catch (error) {
    showNothing(unreachable, true);
  } finally {
    state.inFlight = false;
  }
  if (state.drawingVersion !== version && state.showing === "drawing") sendDrawing();
  else setBusy(false);
}

$("clear").addEventListener("click", () => {
  clearPad();
  state.showing = "drawing";
  state.drawingVersion += 1;
  showNothing("Draw a digit on the pad.");
  setBusy(false);
});

export function drawOnPad(pixels) {
  const small = document.createElement("canvas");
  small.width = small.height = SIDE;
  const context = small.getContext("2d");
  const image = context.createImageData(SIDE, SIDE);
  pixels.forEach((p, i) => { const v = Math.round(p * 255); image.data.set([v, v, v, 255], 4 * i); });
  context.putImageData(image, 0, 0);
  clearPad();
  ink.imageSmoothingEnabled = false;
  ink.drawImage(small, 0, 0, pad.width, pad.height);
  ink.imageSmoothingEnabled = true;
}
