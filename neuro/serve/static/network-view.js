// The network's picture: a circle per neuron, as bright as its activation, and the wires between the layers.

import { $, api } from "./dom.js";
import { state } from "./state.js";
import { selectNeuron } from "./weights.js";

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

export function buildNetwork(sizes) {
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
export function light(layers) {
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
export function drawWires() {
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

export async function loadWires() {
  const sizes = state.model.sizes;
  for (let l = 2; l < sizes.length; l++) {
    const { ok, payload } = await api(`weights?layer=${l}`);
    if (ok) state.layerWeights[l] = payload.weights;
  }
  drawWires();
}
window.addEventListener("resize", drawWires);
