// A neuron's weights: a first-layer neuron's as a 28×28 grid in green and red, a later one's as bars.

import { $, api, barHalf, bold, span } from "./dom.js";
import { state } from "./state.js";

// Green for a positive weight, red for a negative one, brightness |w| / scale: the colours of `neuro show weights`.
export function signedColour(w, scale) {
  const level = scale > 0 ? Math.round(Math.min(1, Math.abs(w) / scale) * 255) : 0;
  return w > 0 ? [0, level, 0] : w < 0 ? [level, 0, 0] : [0, 0, 0];
}

export function weightCanvas(weights, shape, scale, cssSize) {
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

export async function selectNeuron(layer, neuron) {
  state.selected = { layer, neuron };
  document.querySelectorAll(".neuron.selected").forEach((e) => e.classList.remove("selected"));
  state.neurons[layer][neuron].classList.add("selected");
  await showWeights();
}

export async function showWeights() {
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
