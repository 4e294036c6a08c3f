// The answer panel: the digit the network says, its confidence, the backend and the forward pass's time.

import { $, formatSeconds } from "./dom.js";
import { light } from "./network-view.js";

export function showAnswer(result, verdictText, verdictClass) {
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

export function showNothing(message, isError) {
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
