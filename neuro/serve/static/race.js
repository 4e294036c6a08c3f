// The race (--race): /api/race polled, a lane per rung with its own counters, the test accuracy of every rung
// against the seconds since the start line on one chart, and at the end each rung's samples/s and its ratio to
// the rung it builds on. The answer panel's button runs the drawing through every raced rung.

import { $, api, element, formatSeconds, svgElement, unreachable } from "./dom.js";
import { loadWires } from "./network-view.js";
import { drawingPixels } from "./pad.js";

const POLL_MS = 800;
const COLOURS = ["#d9480f", "#1971c2", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599", "#5c940d", "#c2255c"];

const whole = (n) => Math.round(n).toLocaleString("en-US");
const rate = (lane) => lane.samples_per_second === null ? "–" : `${whole(lane.samples_per_second)} samples/s`;
const percent = (a) => `${(100 * a).toFixed(1)}%`;
let pageVersion = 0;       // the page's network's parameters drawn in its wires

function statusText(lane) {
  if (lane.status === "failed") return `Error: ${lane.error}`;
  if (lane.status === "starting") return "compiling and measuring the untrained network…";
  if (lane.status === "ready") return "at the start line";
  if (lane.status === "finished") {
    return { epochs: "done", time: "time is up", stopped: "stopped" }[lane.why] || "done";
  }
  return "racing";
}

function drawLanes(lanes) {
  const most = Math.max(1, ...lanes.map((lane) => lane.samples));
  const rows = lanes.map((lane, i) => {
    const row = element("div", `lane ${lane.status}`);
    row.dataset.rung = lane.rung;
    row.dataset.samples = String(lane.samples);
    row.dataset.status = lane.status;
    const name = element("span", "lane-name", lane.rung);
    name.style.borderColor = COLOURS[i % COLOURS.length];
    const bar = element("div", "lane-bar");
    const fill = element("div");
    fill.style.width = (100 * lane.samples / most).toFixed(2) + "%";
    fill.style.background = COLOURS[i % COLOURS.length];
    bar.appendChild(fill);
    const last = lane.accuracy.length ? lane.accuracy[lane.accuracy.length - 1][1] : null;
    const facts = element("span", "lane-facts", lane.status === "failed" ? statusText(lane) :
      `${rate(lane)} · ${whole(lane.samples)} samples · epoch ${lane.epoch}` +
      (last === null ? "" : ` · test accuracy ${percent(last)}`) + ` · ${statusText(lane)}`);
    row.append(name, bar, facts);
    return row;
  });
  $("lanes").replaceChildren(...rows);
}

function drawChart(race) {
  const [w, h, left, bottom, top, right] = [560, 230, 40, 34, 10, 14];
  const seconds = Math.max(1, race.budget_seconds || 0, race.elapsed,
    ...race.lanes.flatMap((lane) => lane.accuracy.map((p) => p[0])));
  const x = (s) => left + (w - left - right) * s / seconds;
  const y = (a) => top + (h - top - bottom) * (1 - a);
  const parts = [svgElement("line", { class: "axis", x1: left, y1: y(0), x2: w - right, y2: y(0) }),
    svgElement("line", { class: "axis", x1: left, y1: y(0), x2: left, y2: y(1) })];
  for (const a of [0, 0.5, 1]) parts.push(svgElement("text", { x: 4, y: y(a) + 4 }, `${100 * a}%`));
  for (const s of [0, seconds / 2, seconds]) {
    parts.push(svgElement("text", { x: x(s) - 8, y: y(0) + 13 }, s.toFixed(s < 10 ? 1 : 0)));
  }
  parts.push(svgElement("text", { x: w / 2 - 70, y: h - 1 }, "seconds since the start"));
  race.lanes.forEach((lane, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const points = lane.accuracy.map(([s, a]) => `${x(s).toFixed(1)},${y(a).toFixed(1)}`);
    if (points.length > 1) {
      parts.push(svgElement("polyline", { class: "race-line", points: points.join(" "), stroke: colour,
        "data-rung": lane.rung }));
    }
    lane.accuracy.forEach(([s, a], e) => {
      const dot = svgElement("circle", { cx: x(s), cy: y(a), r: 2.5, fill: colour });
      dot.appendChild(svgElement("title", {}, `${lane.rung}, epoch ${e}: ${percent(a)} at ${s.toFixed(1)} s`));
      parts.push(dot);
    });
  });
  $("race-chart").replaceChildren(...parts);
}

function drawTable(table) {
  const rows = table.map((row) => {
    const tr = element("tr");
    tr.dataset.rung = row.rung;
    const ratio = row.ratio === null ? "–" : `${row.ratio.toLocaleString("en-US", { maximumFractionDigits: 1 })}× ` +
      `${row.builds_on}`;
    tr.append(element("td", "", row.rung), element("td", "number", whole(row.samples_per_second)),
      element("td", "", ratio));
    return tr;
  });
  $("race-table-body").replaceChildren(...rows);
  $("race-end").hidden = false;
}

async function pollRace() {
  let reply;
  try { reply = await api("race"); } catch (_) {
    $("race-info").textContent = unreachable;
    setTimeout(pollRace, 4 * POLL_MS);
    return;
  }
  const race = reply.payload;
  if (!reply.ok || !Array.isArray(race.lanes)) { setTimeout(pollRace, 4 * POLL_MS); return; }
  const until = [race.epochs ? `${race.epochs} epochs` : "", race.budget_seconds ? `${race.budget_seconds} s` : ""]
    .filter(Boolean).join(" or ");
  $("race-info").textContent = race.finished ? `The race is over (${race.elapsed.toFixed(1)} s).` :
    race.started ? `Racing for ${until}: ${race.elapsed.toFixed(1)} s so far.` :
      "Every rung compiles and measures the untrained network; then all start at once.";
  drawLanes(race.lanes);
  drawChart(race);
  if (race.finished && race.table) drawTable(race.table);
  if (race.page_version !== pageVersion) { pageVersion = race.page_version; await loadWires(); }
  document.body.dataset.race = race.finished ? "finished" : "running";
  if (!race.finished) setTimeout(pollRace, POLL_MS);
}

async function askEveryRung() {
  const pixels = drawingPixels();
  const box = $("race-answers");
  if (!pixels.some((p) => p > 0)) { box.replaceChildren(element("p", "muted small", "Draw a digit first.")); return; }
  let reply;
  try { reply = await api("race/activations", { pixels }); } catch (_) {
    box.replaceChildren(element("p", "wrong", unreachable));
    return;
  }
  if (!reply.ok) { box.replaceChildren(element("p", "wrong", reply.payload.error)); return; }
  const rows = reply.payload.answers.map((a) => {
    const tr = element("tr");
    tr.dataset.rung = a.rung;
    if (a.error) { tr.append(element("td", "", a.rung), element("td", "", a.error)); return tr; }
    tr.append(element("td", "", a.rung), element("td", "race-answer", String(a.answer)),
      element("td", "number", formatSeconds(a.seconds)));
    return tr;
  });
  const table = element("table", "race-answers");
  table.appendChild(element("tbody")).replaceChildren(...rows);
  const { parameters_of: whose, epoch } = reply.payload;
  box.replaceChildren(element("p", "muted small", `The page's network (${whose}'s parameters after epoch ${epoch}) ` +
    "on every raced rung: the answer and the forward pass's time."), table);
  box.dataset.answered = String(rows.length);
}

export function startRace() {
  $("race-card").hidden = false;
  $("race-ask").hidden = false;
  $("race-ask").addEventListener("click", askEveryRung);
  pollRace();
}
