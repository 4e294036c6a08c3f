// neuro serve: the page. Draw on #pad; the server centres the drawing, runs it through the network and answers
// with every layer's activations, which light up the neurons. Plain JavaScript, no libraries, nothing fetched
// from anywhere but this server. The API is described in the README (and in neuro/serve/api.py).
"use strict";

const SIDE = 28;           // the input is 28×28 pixels
const PEN = 20;            // the pen's width on the 280-pixel pad: about two input pixels, as MNIST's strokes
const POLL_MS = 800;       // how often the training's progress is asked for under --train

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ink = pad.getContext("2d", { willReadFrequently: true });

const state = {
  model: null,
  drawingVersion: 0,       // bumped on every change of the pad
  inFlight: false,
  showing: "nothing",      // "drawing", "test" (a test image is on the pad) or "nothing"
  testPosition: -1,
  selected: null,          // {layer, neuron} whose weights are shown
  trainingVersion: -1,
  neurons: [],             // neurons[l][j]: the element of neuron j of layer l (0 = input)
  outputs: [],             // the output rows
  layerWeights: [],        // layerWeights[l]: the weight matrix into layer l (for the wires), l >= 2
  lastLayers: null,        // the activations shown, for redrawing the wires
};

// ---- talking to the server ---------------------------------------------------------------------------------

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch("/api/" + path, options);
  let payload = null;
  try { payload = await response.json(); } catch (_) { payload = { error: "the server's answer was not JSON" }; }
  return { ok: response.ok, status: response.status, payload };
}

// ---- building elements: every string from the server reaches the page as text, never as HTML ---------------

function bold(text, className) {
  const element = document.createElement("b");
  if (className) element.className = className;
  element.textContent = text;
  return element;
}

function span(className, text) {
  const element = document.createElement("span");
  element.className = className;
  element.textContent = text;
  return element;
}

function barHalf(className, width) {  // one side of a weight's bar: its length set through the CSSOM
  const half = span(className, "");
  const fill = document.createElement("div");
  fill.style.width = width;
  half.appendChild(fill);
  return half;
}

function svgElement(tag, attributes, text) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

function setBusy(busy) { document.body.dataset.busy = busy ? "1" : "0"; }

// ---- the network's picture ---------------------------------------------------------------------------------

function neuronElement(layer, index) {
  const element = document.createElement("div");
  element.className = "neuron";
  element.dataset.layer = String(layer);
  element.dataset.neuron = String(index);
  if (layer > 0) {
    element.title = `layer ${layer}, neuron ${index}: click for its weights`;
    element.addEventListener("click", () => selectNeuron(layer, index));
  }
  return element;
}

// Neurons shrink, and a layer takes more columns, as layers grow (784-128-64-10 still fits).
function layout(n) {
  const columns = Math.ceil(n / 16);
  const size = columns === 1 ? 22 : columns === 2 ? 16 : columns <= 4 ? 12 : columns <= 8 ? 9 : 7;
  return { columns, size, gap: columns <= 2 ? 5 : 3 };
}

function buildNetwork(sizes) {
  const inputs = $("input-layer");
  inputs.textContent = "";
  state.neurons = [[]];
  for (let i = 0; i < sizes[0]; i++) {
    const element = neuronElement(0, i);
    inputs.appendChild(element);
    state.neurons[0].push(element);
  }
  const network = $("network");
  network.textContent = "";
  const wires = document.createElement("canvas");
  wires.id = "wires";
  network.appendChild(wires);
  const last = sizes.length - 1;
  for (let l = 1; l <= last; l++) {
    const column = document.createElement("div");
    column.className = "layer";
    const title = document.createElement("div");
    title.className = "layer-title";
    title.textContent = l === last ? `Output · ${sizes[l]}` : `Layer ${l} · ${sizes[l]}`;
    column.appendChild(title);
    const elements = [];
    if (l === last) {
      const rows = document.createElement("div");
      rows.className = "outputs";
      state.outputs = [];
      for (let j = 0; j < sizes[l]; j++) {
        const row = document.createElement("div");
        row.className = "output";
        const digit = document.createElement("span");
        digit.className = "digit";
        digit.textContent = String(j);
        const element = neuronElement(l, j);
        const bar = document.createElement("div");
        bar.className = "bar";
        bar.appendChild(document.createElement("div"));
        const value = document.createElement("span");
        value.className = "value";
        value.textContent = "–";
        row.append(digit, element, bar, value);
        rows.appendChild(row);
        elements.push(element);
        state.outputs.push({ row, bar: bar.firstChild, value });
      }
      column.appendChild(rows);
    } else {
      const grid = document.createElement("div");
      grid.className = "layer-neurons";
      const { columns, size, gap } = layout(sizes[l]);
      grid.style.gridTemplateColumns = `repeat(${columns}, ${size}px)`;
      grid.style.setProperty("--size", size + "px");
      grid.style.setProperty("--gap", gap + "px");
      for (let j = 0; j < sizes[l]; j++) {
        const element = neuronElement(l, j);
        grid.appendChild(element);
        elements.push(element);
      }
      column.appendChild(grid);
    }
    state.neurons.push(elements);
    network.appendChild(column);
  }
}

function grey(a) {
  const level = Math.round(Math.min(1, Math.max(0, a)) * 255);
  return `rgb(${level},${level},${level})`;
}

// Light every neuron with its activation; `layers` is [input, hidden..., output], or null to turn all off.
function light(layers) {
  state.neurons.forEach((elements, l) => {
    elements.forEach((element, j) => {
      const a = layers ? layers[l][j] : 0;
      element.style.backgroundColor = grey(a);
      element.dataset.activation = layers ? a.toFixed(4) : "0";
    });
  });
  state.lastLayers = layers;
  drawWires();
  const outputs = layers ? layers[layers.length - 1] : null;
  const best = outputs ? outputs.indexOf(Math.max(...outputs)) : -1;
  state.outputs.forEach(({ row, bar, value }, j) => {
    row.classList.toggle("best", j === best);
    bar.style.width = outputs ? (100 * Math.min(1, outputs[j])).toFixed(1) + "%" : "0";
    value.textContent = outputs ? outputs[j].toFixed(3) : "–";
  });
}

// The connections between the hidden layers and to the outputs, as in the classic picture: each line is green
// for a positive weight and red for a negative one, and as opaque as what it carries, activation × weight,
// over the largest of its layer (with no drawing, as opaque as the weight alone).
function drawWires() {
  const canvas = $("wires");
  const network = $("network");
  if (!canvas || state.layerWeights.length === 0) return;
  const width = network.scrollWidth, height = network.scrollHeight;
  if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, width, height);
  const origin = network.getBoundingClientRect();
  const centre = (element, side) => {
    const box = element.getBoundingClientRect();
    return [box.left - origin.left + network.scrollLeft + (side > 0 ? box.width : 0),
      box.top - origin.top + network.scrollTop + box.height / 2];
  };
  for (let l = 2; l < state.neurons.length; l++) {
    const weights = state.layerWeights[l];
    if (!weights) continue;
    const before = state.lastLayers ? state.lastLayers[l - 1] : null;
    const carried = weights.map((row) => row.map((w, k) => w * (before ? before[k] : 1)));
    const scale = Math.max(1e-12, ...carried.map((row) => Math.max(...row.map(Math.abs))));
    // Lines leave a layer at its right edge and reach the next at its left (a wide layer has several columns);
    // the output rows' digits stand left of their neurons.
    const last = l === state.neurons.length - 1;
    const from = state.neurons[l - 1].map((e) => centre(e, 1));
    const to = state.neurons[l].map((e, j) => centre(last ? state.outputs[j].row : e, -1));
    const right = Math.max(...from.map((p) => p[0])), left = Math.min(...to.map((p) => p[0]));
    const density = Math.min(1, 32 / from.length);  // many lines: each one fainter
    context.lineWidth = 1;
    carried.forEach((row, j) => row.forEach((value, k) => {
      const alpha = density * (before ? 0.9 : 0.35) * Math.abs(value) / scale;
      if (alpha < 0.02) return;
      context.strokeStyle = value > 0 ? `rgba(64,192,87,${alpha})` : `rgba(240,62,62,${alpha})`;
      context.beginPath();
      context.moveTo(right, from[k][1]);
      context.lineTo(left, to[j][1]);
      context.stroke();
    }));
  }
}

async function loadWires() {
  const sizes = state.model.sizes;
  for (let l = 2; l < sizes.length; l++) {
    const { ok, payload } = await api(`weights?layer=${l}`);
    if (ok) state.layerWeights[l] = payload.weights;
  }
  drawWires();
}
window.addEventListener("resize", drawWires);

function showAnswer(result, verdictText, verdictClass) {
  light(result.activations);
  const answer = $("answer");
  answer.textContent = String(result.answer);
  answer.classList.remove("empty");
  const verdict = $("verdict");
  verdict.textContent = verdictText || `The network says ${result.answer}.`;
  verdict.className = verdictClass || "";
  $("confidence").textContent = (100 * result.confidence).toFixed(1) + "%";
  $("backend").textContent = result.backend;
  $("seconds").textContent = formatSeconds(result.seconds);
}

function showNothing(message, isError) {
  light(null);
  const answer = $("answer");
  answer.textContent = "";
  answer.classList.add("empty");
  const verdict = $("verdict");
  verdict.textContent = message;
  verdict.className = isError ? "wrong" : "";
  $("confidence").textContent = "–";
  $("seconds").textContent = "–";
}

function formatSeconds(seconds) {
  if (seconds < 1e-3) return (seconds * 1e6).toFixed(0) + " µs";
  if (seconds < 1) return (seconds * 1e3).toFixed(2) + " ms";
  return seconds.toFixed(2) + " s";
}

// ---- the drawing pad ---------------------------------------------------------------------------------------

function clearPad() {
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
function drawingPixels() {
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
async function sendDrawing() {
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
    showNothing("The server cannot be reached: is neuro serve still running?", true);
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

// ---- a neuron's weights ------------------------------------------------------------------------------------

// Green for a positive weight, red for a negative one, brightness |w| / scale: the colours of `neuro show weights`.
function signedColour(w, scale) {
  const level = scale > 0 ? Math.round(Math.min(1, Math.abs(w) / scale) * 255) : 0;
  return w > 0 ? [0, level, 0] : w < 0 ? [level, 0, 0] : [0, 0, 0];
}

function weightCanvas(weights, shape, scale, cssSize) {
  const [rows, cols] = shape;
  const canvas = document.createElement("canvas");
  canvas.width = cols;
  canvas.height = rows;
  const context = canvas.getContext("2d");
  const image = context.createImageData(cols, rows);
  for (let i = 0; i < rows * cols; i++) {
    const [r, g, b] = i < weights.length ? signedColour(weights[i], scale) : [64, 64, 64];
    image.data.set([r, g, b, 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
  canvas.style.width = cssSize + "px";
  canvas.style.height = Math.round(cssSize * rows / cols) + "px";
  return canvas;
}

async function selectNeuron(layer, neuron) {
  state.selected = { layer, neuron };
  document.querySelectorAll(".neuron.selected").forEach((e) => e.classList.remove("selected"));
  state.neurons[layer][neuron].classList.add("selected");
  await showWeights();
}

async function showWeights() {
  if (!state.selected) return;
  const { layer, neuron } = state.selected;
  let reply;
  try { reply = await api(`weights?layer=${layer}&neuron=${neuron}`); } catch (_) { return; }
  const box = $("weights");
  box.textContent = "";
  if (!reply.ok) { box.textContent = reply.payload.error; return; }
  const w = reply.payload;
  box.dataset.layer = String(layer);
  box.dataset.neuron = String(neuron);
  const last = state.model.sizes.length - 1;
  const title = document.createElement("p");
  const name = layer === last ? `Output neuron ${neuron} (the digit ${neuron})` : `Layer ${layer}, neuron ${neuron}`;
  title.append(bold(name), `: ${w.inputs} incoming weights, bias `, bold(w.bias.toFixed(3)));
  box.appendChild(title);
  if (layer === 1) {
    const figure = document.createElement("div");
    figure.className = "weights-figure";
    figure.appendChild(weightCanvas(w.weights, w.shape, w.scale, 224));
    const bias = document.createElement("div");
    bias.className = "bias-bar";
    bias.title = `bias ${w.bias.toFixed(3)}`;
    const fill = document.createElement("div");
    const [r, g, b] = signedColour(w.bias, Math.abs(w.bias));  // full green or red, by the bias's sign
    fill.style.background = `rgb(${r},${g},${b})`;
    fill.style.height = (100 * Math.min(1, Math.abs(w.bias) / (w.bias_scale || 1))).toFixed(1) + "%";
    bias.appendChild(fill);
    figure.appendChild(bias);
    box.appendChild(figure);
    legend(box, `each square one input pixel's weight; brightness |w| over the layer's largest, ${w.scale.toFixed(2)}. ` +
      "The bar: the bias over the layer's largest bias.");
  } else {
    const bars = document.createElement("div");
    bars.className = "weight-bars";
    w.weights.forEach((value, i) => {
      const row = document.createElement("div");
      row.className = "weight-bar";
      const share = (100 * Math.min(1, Math.abs(value) / (w.scale || 1))).toFixed(1) + "%";
      row.append(span("index", String(i)), barHalf("neg", value < 0 ? share : "0"),
        barHalf("pos", value > 0 ? share : "0"), span("number", value.toFixed(2)));
      bars.appendChild(row);
    });
    box.appendChild(bars);
    legend(box, `one bar per neuron of layer ${layer - 1}; length |w| over the layer's largest, ${w.scale.toFixed(2)}.`);
  }
}

function legend(box, text) {
  const p = document.createElement("p");
  p.className = "legend";
  p.append(bold("green", "g"), " positive, ", bold("red", "r"), ` negative; ${text}`);
  box.appendChild(p);
}

// ---- the test-set browser ----------------------------------------------------------------------------------

function drawOnPad(pixels) {
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

async function showTest(position) {
  setBusy(true);
  state.showing = "test";
  state.drawingVersion += 1;
  state.testPosition = position;
  try {
    const { ok, payload } = await api(`test/${position}`);
    if (!ok) { $("test-info").textContent = payload.error; return; }
    if (state.showing !== "test" || state.testPosition !== position) return;
    drawOnPad(payload.activations[0]);
    const t = payload;
    // Under --train the list is made once per epoch; the answer shown is the network's of this moment.
    const when = state.model.training ? ` after epoch ${t.listed_after_epoch}` : "";
    const where = t.position < t.mistakes ? `mistake ${t.position + 1} of ${t.mistakes}${when}` :
      `${t.position + 1 - t.mistakes} of the ${t.count - t.mistakes} it got right${when}`;
    $("test-info").replaceChildren("Test image ", bold(`#${t.index}`), ` of ${t.data} (${where}): label `,
      bold(String(t.label)), ", the network says ", bold(String(t.answer)), ".");
    showAnswer(t, t.right ? `Right: the label is ${t.label}.` : `Wrong: the label is ${t.label}.`,
      t.right ? "right" : "wrong");
  } catch (_) {
    $("test-info").textContent = "The server cannot be reached: is neuro serve still running?";
  } finally {
    setBusy(false);
  }
}

function stepTest(by) {
  const count = state.model.test_images;
  showTest(((state.testPosition + by) % count + count) % count);
}
$("test-next").addEventListener("click", () => stepTest(1));
$("test-prev").addEventListener("click", () => stepTest(state.testPosition < 0 ? 0 : -1));

// ---- watching it learn (--train) ---------------------------------------------------------------------------

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

async function pollTraining() {
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

// ---- start -------------------------------------------------------------------------------------------------

async function start() {
  clearPad();
  let reply;
  try { reply = await api("model"); } catch (_) {
    $("model").textContent = "The server cannot be reached: is neuro serve running?";
    return;
  }
  const model = reply.payload;
  state.model = model;
  $("model").textContent = `${model.sizes.join("-")} network · ${model.backend} backend · ${model.dtype} · ` +
    `test images from ${model.data} · ${model.source}`;
  $("backend").textContent = model.backend;
  buildNetwork(model.sizes);
  light(null);
  await loadWires();
  if (model.training) { $("training-card").hidden = false; pollTraining(); }
}

start();
