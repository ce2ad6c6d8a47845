/* The controls above the map and the threshold filter: each change updates app.state and redraws. */
import { refreshLabels } from "./labels.js";
import { updateLinks } from "./links.js";
import { showProjects } from "./projects.js";
import { parseBreaks } from "../breaks.js";
import { app } from "./state.js";
import { update } from "./update.js";

let playTimer = null;

function parseNumber(text) {  // "", a number (a decimal comma allowed), or NaN
  const clean = String(text || "").trim().replace(",", ".");
  if (!clean) return null;
  const number = Number(clean);
  return isFinite(number) ? number : NaN;
}

function readThreshold() {
  const low = parseNumber(document.getElementById("threshold-min").value);
  const high = parseNumber(document.getElementById("threshold-max").value);
  const bad = isNaN(low) || isNaN(high) || (low !== null && high !== null && low > high);
  document.getElementById("threshold-form").classList.toggle("invalid", bad);
  if (bad) return;
  app.state.min = low; app.state.max = high;
  update();
}

function readBreaks() {
  const input = document.getElementById("breaks"), bounds = parseBreaks(input.value);
  input.classList.toggle("invalid", bounds === null);
  input.setAttribute("aria-invalid", bounds === null ? "true" : "false");
  if (bounds === null) {
    document.getElementById("status").textContent = app.t.manual_breaks_help;
    return;
  }
  app.state.breaks = bounds;
  update();
}

function yearsOf(indicator) {
  const info = app.config.indicators[indicator];
  return info && info.years ? info.years : [];
}

function onIndicator(el) {  // a year without data for the new indicator moves to its latest year with data
  const state = app.state, years = yearsOf(el.value);
  state.indicator = el.value;
  if (years.length && years.indexOf(Number(state.year)) < 0) {
    state.year = years[years.length - 1];
    document.getElementById("year").value = state.year;
  }
}

function togglePlay() {  // step through the years, one every 1.2 s, from the first after the last
  const t = app.t, state = app.state, years = app.config.years;
  const button = document.getElementById("play");
  if (playTimer) {
    clearInterval(playTimer); playTimer = null;
    button.textContent = "▶"; button.title = t.play;
    return;
  }
  button.textContent = "❚❚"; button.title = t.pause;
  const slider = document.getElementById("year");
  if (state.year >= years[years.length - 1]) { state.year = years[0] - 1; }
  playTimer = setInterval(function () {
    if (state.year >= years[years.length - 1]) { togglePlay(); return; }
    state.year += 1; slider.value = state.year; update();
  }, 1200);
}

function onChange(id, event, apply) {
  document.getElementById(id).addEventListener(event, function (e) { apply(e.target); update(); });
}

export function bindControls() {
  const state = app.state;
  document.getElementById("controls").addEventListener("submit", function (e) { e.preventDefault(); });
  onChange("indicator", "change", function (el) { onIndicator(el); app.state.circles = null; });
  onChange("circles", "change", function (el) {  // counts: circles by default; rates: circles on request
    const count = app.config.indicators[state.indicator].kind === "count";
    state.circles = count ? (el.checked ? null : false) : (el.checked ? true : null);
  });
  onChange("year", "input", function (el) { state.year = Number(el.value); });
  onChange("method", "change", function (el) { state.method = el.value; });
  onChange("k", "change", function (el) { state.k = Number(el.value); });
  onChange("classes", "change", function (el) { state.classes = el.value || "auto"; });
  document.getElementById("breaks").addEventListener("change", readBreaks);
  onChange("projects", "change", function (el) { state.projects = el.checked; showProjects(state.projects); });
  document.getElementById("play").addEventListener("click", togglePlay);
  onChange("units-year", "change", function (el) { state.units_year = el.value ? Number(el.value) : null; });
  onChange("compare", "change", function (el) { state.compare = el.value ? Number(el.value) : null; });
  ["labels", "label-values"].forEach(function (id) {  // page-only: no data to fetch, the names are redrawn
    document.getElementById(id).addEventListener("change", function () {
      state.labels = document.getElementById("labels").checked;
      state.label_values = document.getElementById("label-values").checked;
      updateLinks();
      refreshLabels();
    });
  });
  const threshold = document.getElementById("threshold-form");
  threshold.addEventListener("submit", function (e) { e.preventDefault(); readThreshold(); });
  ["threshold-min", "threshold-max"].forEach(function (id) {
    document.getElementById(id).addEventListener("change", readThreshold);
  });
}
