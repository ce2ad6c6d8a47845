/* Finding a commune by typing its name: with or without diacritics or a prefix
 * ("huong lap", "Hướng Lập", "xa huong lap", "TT Khe Sanh").
 *
 * The server sends a search key per unit with the label points (/api/points: the name
 * without its prefix and diacritics, mapapp/core/names.py search_key); foldName() folds
 * what is typed the same way and suggestions are the units whose key starts with it (or
 * one of whose words does). Enter or a click on a suggestion zooms to the commune and
 * highlights it, as a click on its ranking row does.
 */
import { setFocus } from "./focus.js";
import { geometry } from "./data.js";
import { loadPoints } from "./labels.js";
import { app, geographyYear, versionOf } from "./state.js";

const MAX_SUGGESTIONS = 8;
const PREFIX = /^(?:(?:xa|thi tran|tt|phuong)\s+|(?:tt|p)\.\s*)/;
let choices = [], active = -1, searchSeq = 0;

export function foldName(text, keepPrefix) {  // NFD, no combining marks, đ → d, lower case, no prefix
  const folded = String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "")
    .replace(/[đĐ]/g, "d").toLowerCase().replace(/\s+/g, " ").trim();
  return keepPrefix ? folded : folded.replace(PREFIX, "");
}

function score(key, typed) {  // 0 the whole name, 1 its start, 2 the start of a word; -1 no match
  if (!typed) return -1;
  if (key === typed) return 0;
  if (key.indexOf(typed) === 0) return 1;
  return key.indexOf(" " + typed) >= 0 ? 2 : -1;
}

function matches(points, parents, text) {
  const stripped = foldName(text, false), whole = foldName(text, true), found = [];
  for (let i = 0; i < points.code.length; i++) {
    const key = points.search[i];
    const best = [score(key, stripped), score(key, whole)].filter(function (s) { return s >= 0; });
    if (best.length) found.push({ i: i, score: Math.min.apply(null, best), key: key });
  }
  found.sort(function (a, b) { return a.score - b.score || a.key.localeCompare(b.key, "vi"); });
  return found.slice(0, MAX_SUGGESTIONS).map(function (m) {
    const code = points.code[m.i];
    return { code: code, name: points["short"][m.i], parent: parents[code] || "" };
  });
}

function parentsOf(pack) {  // code -> parent area name (atlases: names repeat across a country)
  const out = {}, cols = pack.units;
  if (cols && cols.parent) cols.code.forEach(function (code, i) { out[code] = cols.parent[i] || ""; });
  return out;
}

function render(list, text) {
  const t = app.t, box = document.getElementById("search-results"), input = document.getElementById("search");
  box.textContent = "";
  choices = list;
  active = list.length ? 0 : -1;
  list.forEach(function (choice, n) {
    const li = document.createElement("li");
    li.id = "search-option-" + n;
    li.setAttribute("role", "option");
    li.setAttribute("data-code", choice.code);
    li.textContent = choice.name;
    if (choice.parent) {
      const small = document.createElement("span");
      small.className = "search-parent";
      small.textContent = " · " + choice.parent;
      li.appendChild(small);
    }
    li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(n); });  // before the input's blur
    box.appendChild(li);
  });
  markActive();
  box.hidden = !list.length;
  input.setAttribute("aria-expanded", list.length ? "true" : "false");
  document.getElementById("search-status").textContent = !text ? "" : list.length
    ? t.search_found.replace("{n}", list.length) : t.search_none.replace("{q}", text);
}

function markActive() {
  const input = document.getElementById("search");
  document.querySelectorAll("#search-results li").forEach(function (li, n) {
    li.setAttribute("aria-selected", n === active ? "true" : "false");
  });
  if (active >= 0) input.setAttribute("aria-activedescendant", "search-option-" + active);
  else input.removeAttribute("aria-activedescendant");
}

function choose(n) {
  const choice = choices[n];
  if (!choice) return;
  const input = document.getElementById("search");
  input.value = choice.name;
  render([], "");
  setFocus(choice.code, true);
}

function suggest() {
  const seq = ++searchSeq, text = document.getElementById("search").value;
  if (!foldName(text, true)) { render([], ""); return; }
  const version = versionOf(geographyYear());
  Promise.all([loadPoints(version), geometry(version)]).then(function (res) {
    if (seq === searchSeq) render(matches(res[0], parentsOf(res[1]), text), text.trim());
  });
}

export function bindSearch() {
  const form = document.getElementById("search-form"), input = document.getElementById("search");
  if (!form) return;
  input.addEventListener("input", suggest);
  input.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!choices.length) return;
      e.preventDefault();
      active = (active + (e.key === "ArrowDown" ? 1 : choices.length - 1)) % choices.length;
      markActive();
    } else if (e.key === "Escape") {
      render([], "");
    }
  });
  input.addEventListener("blur", function () { document.getElementById("search-results").hidden = true; });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (choices.length) { choose(Math.max(active, 0)); return; }
    // Enter before the suggestions arrived: wait for them, then take the first.
    const text = input.value, version = versionOf(geographyYear());
    Promise.all([loadPoints(version), geometry(version)]).then(function (res) {
      const list = matches(res[0], parentsOf(res[1]), text);
      render(list, text.trim());
      if (list.length) choose(0);
    });
  });
}
