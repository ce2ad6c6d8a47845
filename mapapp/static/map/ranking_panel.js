/* The ranking panel beside the map (/ranking.json): clicking a row focuses the commune. */
import { setFocus } from "./focus.js";
import { app, geographyYear, versionOf, viewQuery } from "./state.js";

const PANEL_ROWS = 200;
let rankingSeq = 0;

export function updateRanking() {
  const seq = ++rankingSeq;
  // A long ranking (a province, a country) shows its first rows; the ranking page has them all.
  const version = versionOf(geographyYear());
  const limit = version && version.unit_count > PANEL_ROWS ? "&limit=" + PANEL_ROWS : "";
  return fetch(app.config.rankingBase + ".json?" + viewQuery() + limit).then(function (r) {
    return r.json().then(function (body) {
      if (!r.ok) throw new Error(body.error || ("ranking " + r.status));
      return body;
    });
  }).then(function (table) {
    if (seq === rankingSeq) renderRanking(table);
  });
}

function rowOf(row, hasChange) {
  const t = app.t, tr = document.createElement("tr");
  tr.setAttribute("data-code", row.code);
  tr.tabIndex = 0;
  if (row.value === null) tr.className = "no-data";
  if (row.code === app.state.focus) tr.classList.add("focused");
  [row.rank === null ? "–" : String(row.rank), row.name, row.value_text, hasChange ? row.change_text : ""]
    .forEach(function (text, i) {
      const td = document.createElement("td");
      td.textContent = text;
      if (i !== 1) td.className = "num";
      if (i === 3) td.classList.add("change-col");
      if (i === 1 && row.no_data_reason) td.title = row.no_data_reason;
      if (i === 1 && row.members_text) td.title = t.built_from + ": " + row.members_text;
      if (i === 1 && row.parent) td.title = row.parent;
      tr.appendChild(td);
    });
  tr.addEventListener("click", function () { setFocus(row.code, true); });
  tr.addEventListener("keydown", function (e) { if (e.key === "Enter") setFocus(row.code, true); });
  return tr;
}

function renderRanking(table) {
  const t = app.t, panel = document.getElementById("ranking-panel-table");
  if (!panel) return;
  const body = panel.tBodies[0], hasChange = table.compare !== null;
  panel.classList.toggle("with-change", hasChange);
  document.getElementById("ranking-value-head").textContent = table.indicator.unit + " " + table.year;
  body.textContent = "";
  table.rows.forEach(function (row) { body.appendChild(rowOf(row, hasChange)); });
  let summary = table.version.label + " · " + table.rank_note;
  if (table.next_offset !== null && table.next_offset !== undefined) {
    summary = t.ranking_top.replace("{n}", table.rows.length).replace("{total}", table.shown) + " · " + summary;
  }
  if (table.threshold.active) {
    summary = table.indicator.name + " " + table.threshold.text + ": " +
      t.matching.replace("{n}", table.matching).replace("{total}", table.total) + " · " + summary;
  }
  document.getElementById("ranking-summary").textContent = summary;
  document.body.setAttribute("data-ranked", table.indicator.id + ":" + table.year + ":" + table.rows.length);
}
