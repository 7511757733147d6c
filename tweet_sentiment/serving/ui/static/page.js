// The try-it page: POST /predict, POST /explain and POST /feedback of this service, nothing else.
"use strict";

const $ = (selector) => document.querySelector(selector);
const LABELS = ["negative", "neutral", "positive"];
let answer = null; // the last /predict answer for the tweet box: its request_id goes with feedback

async function call(path, body) {
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(data.error || `${path} answered HTTP ${response.status}`);
  }
  return data;
}

function show(element, text) {
  element.textContent = text;
  element.hidden = !text;
}

function scoreBars(scores, predicted) {
  const rows = LABELS.map((label) => {
    const row = document.createElement("div");
    row.className = label === predicted ? "row predicted" : "row";
    row.dataset.label = label;
    const name = document.createElement("span");
    name.textContent = label;
    const track = document.createElement("div");
    track.className = "track";
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.style.width = `${(100 * scores[label]).toFixed(1)}%`;
    track.append(bar);
    const value = document.createElement("span");
    value.className = "number";
    value.textContent = scores[label].toFixed(3);
    row.append(name, track, value);
    return row;
  });
  $("#scores").replaceChildren(...rows);
}

function explanationWords(words) {
  const strongest = Math.max(1e-6, ...words.map((w) => Math.abs(w.weight)));
  const spans = words.map((w) => {
    const span = document.createElement("span");
    const strength = Math.abs(w.weight) / strongest;
    const colour = w.weight >= 0 ? "33, 102, 172" : "230, 97, 1";
    span.className = "word";
    span.textContent = w.word;
    span.dataset.weight = w.weight;
    span.style.background = `rgba(${colour}, ${(0.08 + 0.92 * strength).toFixed(2)})`;
    span.style.color = strength > 0.5 ? "#fff" : "inherit";
    const reads = w.reads_as !== w.word ? ` (read as “${w.reads_as}”)` : "";
    span.title = `${w.weight >= 0 ? "+" : ""}${w.weight.toFixed(3)}${reads}`;
    return span;
  });
  $("#explanation").replaceChildren(...spans);
}

function showExplanation(explained, label) {
  if (explained.status === "rejected") {
    $("#explanation").textContent = `No explanation: ${explained.reason.message}`;
  } else if (explained.value.pred_label !== label) {
    // scored in another batch, a near tie can tip the other way: weights for another label would mislead
    $("#explanation").textContent =
      `No explanation: scored again, the tweet came out ${explained.value.pred_label}, a near tie.`;
  } else {
    explanationWords(explained.value.words);
  }
}

async function classify(event) {
  event.preventDefault();
  const tweet = $("#tweet").value;
  show($("#error"), "");
  show($("#receipt"), "");
  // Both at once; an explanation refused (over its word cap) leaves the prediction and its feedback buttons.
  const [predicted, explained] = await Promise.allSettled([
    call("/predict", { tweets: [tweet] }),
    call("/explain", { tweet }),
  ]);
  try {
    if (predicted.status === "rejected") throw predicted.reason;
    const [prediction] = predicted.value;
    answer = prediction;
    $("#label").textContent = prediction.pred_label;
    const foreign = prediction.lang && !["en", "und"].includes(prediction.lang);
    $("#lang").textContent = foreign
      ? `language: ${prediction.lang}; the model reads English, so this label may be wrong`
      : `language: ${prediction.lang}`;
    $("#confirm-label").textContent = prediction.pred_label;
    scoreBars(prediction.scores, prediction.pred_label);
    showExplanation(explained, prediction.pred_label);
    $("#result").hidden = false;
  } catch (error) {
    show($("#error"), error.message);
  }
}

async function sendFeedback(label) {
  try {
    const receipt = await call("/feedback", { request_id: answer.request_id, label });
    const verdict = receipt.correct ? "the model was right" : `the model said ${receipt.predicted}`;
    const repeat = receipt.duplicate ? " (already received: counted once)" : "";
    show($("#receipt"), `Thank you: recorded “${receipt.label}”, ${verdict}${repeat}.`);
  } catch (error) {
    show($("#receipt"), `Not recorded: ${error.message}`);
  }
}

function csvField(value) {
  let text = String(value ?? "");
  // A cell a spreadsheet would run as a formula (tweets often start with @ or -) is kept as text.
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

// Lines the service would refuse as blank: whitespace, zero-width and other invisible characters only.
const blank = (line) => !line.replace(/[\s\u00ad\u200b-\u200f\u2060-\u2064\ufeff]/g, "");

async function scoreMany(event) {
  event.preventDefault();
  const cap = Number($("#batch-cap").textContent);
  const tweets = $("#batch").value.split(/\r?\n/).filter((line) => !blank(line));
  show($("#batch-error"), "");
  if (tweets.length === 0) {
    show($("#batch-error"), "Paste at least one tweet, one per line.");
    return;
  }
  if (tweets.length > cap) {
    show($("#batch-error"), `${tweets.length} lines: at most ${cap} at once. Score the rest next.`);
    return;
  }
  try {
    const predictions = await call("/predict", { tweets });
    const header = ["tweet", "label", ...LABELS, "lang", "request_id"];
    const rows = predictions.map((p, i) => [
      tweets[i], p.pred_label, ...LABELS.map((l) => p.scores[l].toFixed(4)), p.lang ?? "", p.request_id,
    ]);
    const body = rows.map((row) => {
      const tr = document.createElement("tr");
      row.slice(0, 6).forEach((value, column) => {
        const td = document.createElement("td");
        td.textContent = value;
        if (column >= 2 && column <= 4) td.className = "number";
        tr.append(td);
      });
      return tr;
    });
    $("#batch-table tbody").replaceChildren(...body);
    const csv = [header, ...rows].map((row) => row.map(csvField).join(",")).join("\r\n") + "\r\n";
    if ($("#csv").href.startsWith("blob:")) URL.revokeObjectURL($("#csv").href);
    // The byte order mark tells spreadsheet programs the file is UTF-8 (emoji, accents).
    $("#csv").href = URL.createObjectURL(new Blob(["\ufeff", csv], { type: "text/csv;charset=utf-8" }));
    $("#batch-result").hidden = false;
  } catch (error) {
    show($("#batch-error"), error.message);
  }
}

async function describeServed() {
  try {
    const served = await call("/version");
    $("#served").textContent =
      `Serving registry version ${served.registry_version}, runtime ${served.runtime}, ` +
      `weights ${served.model_version}, Bento ${served.bento_version}.`;
  } catch (error) {
    $("#served").textContent = `Could not ask what is served: ${error.message}`;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("#one").addEventListener("submit", classify);
  $("#many").addEventListener("submit", scoreMany);
  $("#confirm").addEventListener("click", () => sendFeedback(answer.pred_label));
  document.querySelectorAll("button.correct").forEach((button) =>
    button.addEventListener("click", () => sendFeedback(button.dataset.label)),
  );
  describeServed();
});
