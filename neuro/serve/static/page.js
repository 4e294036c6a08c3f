// neuro serve: the page. Draw on #pad; the server centres the drawing, runs it through the network and answers
// with every layer's activations, which light up the neurons. Plain JavaScript modules, no libraries, nothing
// fetched from anywhere but this server. The API is described in the README (and in neuro/serve/api.py).

import { $, api } from "./dom.js";
import { buildNetwork, light, loadWires } from "./network-view.js";
import { clearPad } from "./pad.js";
import { state } from "./state.js";
import "./test-browser.js";
import { startRace } from "./race.js";
import { pollTraining } from "./training.js";

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
  if (model.race) startRace();
}

start();
