// Watching it learn (--train): /api/progress polled, the test accuracy per epoch drawn, the first-layer weights
// redrawn as they change, and the drawing or test image on the pad answered again by the newer network.

import { $, api, setBusy, svgElement } from "./dom.js";
import { loadWires } from "./network-view.js";
import { sendDrawing } from "./pad.js";
import { state } from "./state.js";
import { showTest } from "./test-browser.js";
import { selectNeuron, showWeights, weightCanvas } from "./weights.js";

const POLL_MS = 800;       // how often the training's progress is asked for

function drawCurve(accuracy, epochs) {
  const svg = $("curve");
  const [w, h, left, bottom, top, right] = [400, 180, 36, 24, 10, 12];
  const x = (e) => left + (w - left - right) * e / Math.max(1, epochs);
  const y = (a) => top + (h - top - bottom) * (1 - a);
  const parts = [svgElement("line", { class: "axis", x1: left, y1: y(0), x2: w - right, y2: y(0) }),
    svgElement("line", { class: "axis", x1: left, y1: y(0), x2: left, y2: y(1) })];
  for (const a of [0, 0.5, 1]) parts.push(svgElement("text", { x: 4, y: y(a) + 4 }, `${100 * a}%`));
  parts.push(svgElement("text", { x: w - right - 90, y: h - 6 }, `epoch (of ${epochs})`));
  const points = accuracy.map((a, e) => `${x(e).toFixed(1)},${y(a).toFixed(1)}`);
  if (points.length > 1) parts.push(svgElement("polyline", { class: "line", points: points.join(" ") }));
  accuracy.forEach((a, e) => {
    const dot = svgElement("circle", { class: "dot", cx: x(e), cy: y(a), r: 3 });
    dot.appendChild(svgElement("title", {}, `epoch ${e}: ${(100 * a).toFixed(2)}%`));
    parts.push(dot);
  });
  svg.replaceChildren(...parts);
}

async function drawGallery() {
  const { ok, payload } = await api("weights?layer=1");
  if (!ok) return;
  const gallery = $("gallery");
  gallery.textContent = "";
  const shown = Math.min(64, payload.weights.length);
  $("gallery-note").textContent = shown < payload.weights.length ? `(the first ${shown} of ${payload.weights.length})` : "";
  payload.weights.slice(0, shown).forEach((weights, j) => {
    const canvas = weightCanvas(weights, payload.shape, payload.scale, 56);
    canvas.title = `layer 1, neuron ${j}: click for its weights`;
    canvas.addEventListener("click", () => selectNeuron(1, j));
    gallery.appendChild(canvas);
  });
}

export async function pollTraining() {
  let reply;
  try { reply = await api("progress"); } catch (_) { setTimeout(pollTraining, 4 * POLL_MS); return; }
  const p = reply.payload;
  if (!reply.ok || !Array.isArray(p.accuracy)) { setTimeout(pollTraining, 4 * POLL_MS); return; }
  const accuracy = p.accuracy.length ? `test accuracy ${(100 * p.accuracy[p.accuracy.length - 1]).toFixed(2)}%` +
    (p.epoch === 0 ? " before training" : ` after epoch ${p.epoch}`) : "measuring the untrained network";
  const stage = p.error ? `Training failed: ${p.error}` : p.finished ? `Done: ${p.epoch} epoch${p.epoch === 1 ? "" : "s"}` :
    `Epoch ${p.epoch + 1} of ${p.epochs}`;
  $("training-info").textContent = `${stage} · ${accuracy}`;
  $("epoch-progress").style.width = p.finished ? "100%" : (100 * p.samples / p.samples_per_epoch).toFixed(1) + "%";
  drawCurve(p.accuracy, p.epochs);
  if (p.version !== state.trainingVersion) {
    state.trainingVersion = p.version;
    await drawGallery();
    await loadWires();
    await showWeights();
    if (state.showing === "drawing" && !state.inFlight) { setBusy(true); sendDrawing(); }
    else if (state.showing === "test") await showTest(state.testPosition);
  }
  if (!p.finished) setTimeout(pollTraining, POLL_MS);
}
