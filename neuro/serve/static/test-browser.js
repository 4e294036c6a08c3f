// The test-set browser: the test images the network never trained on, its mistakes first, shown on the pad.

import { $, api, bold, setBusy, unreachable } from "./dom.js";
import { showAnswer } from "./answer.js";
import { drawOnPad } from "./pad.js";
import { state } from "./state.js";

export async function showTest(position) {
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
    $("test-info").textContent = unreachable;
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
