// Talking to the server and building elements: every string from the server reaches the page as text, never
// as HTML. Plain JavaScript, no libraries, nothing fetched from anywhere but this server.

export const $ = (id) => document.getElementById(id);

// One API call: GET `path` (below /api/), or POST `body` as JSON. {ok, status, payload}.
export async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch("/api/" + path, options);
  let payload = null;
  try { payload = await response.json(); } catch (_) { payload = { error: "the server's answer was not JSON" }; }
  return { ok: response.ok, status: response.status, payload };
}

export function bold(text, className) {
  const element = document.createElement("b");
  if (className) element.className = className;
  element.textContent = text;
  return element;
}

export function span(className, text) {
  const element = document.createElement("span");
  element.className = className;
  element.textContent = text;
  return element;
}

export function element(tag, className, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

export function barHalf(className, width) {  // one side of a weight's bar: its length set through the CSSOM
  const half = span(className, "");
  const fill = document.createElement("div");
  fill.style.width = width;
  half.appendChild(fill);
  return half;
}

export function svgElement(tag, attributes, text) {
  const made = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, String(value));
  if (text !== undefined) made.textContent = text;
  return made;
}

export function setBusy(busy) { document.body.dataset.busy = busy ? "1" : "0"; }

export function formatSeconds(seconds) {
  if (seconds < 1e-3) return (seconds * 1e6).toFixed(0) + " µs";
  if (seconds < 1) return (seconds * 1e3).toFixed(2) + " ms";
  return seconds.toFixed(2) + " s";
}

export const unreachable = "The server cannot be reached: is neuro serve still running?";
