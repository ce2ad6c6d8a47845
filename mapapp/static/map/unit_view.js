/* How one unit shows: its record in the painted values, its style, tooltip and popup.
 * Every text from data is escaped before use in HTML.
 */
import { escapeHtml, safeUrl } from "../html.js";
import { app } from "./state.js";

export function unitKey(props) { return props.code + "@" + props.valid_from; }

export function recordFor(props) {  // the painted record of a unit, with its parents from the geometry
  const record = app.current && app.current.byKey[unitKey(props)];
  return Object.assign({ code: props.code, valid_from: props.valid_from, name: props.name, value: null },
    record || {}, { parent: props.parent });
}

function countCircles(current) { return !!(current && current.circles && current.circles.mode === "count"); }

export function styleFor(record) {
  const current = app.current, state = app.state;
  const noData = !record || record["class"] === null;
  const filtering = current && current.threshold && current.threshold.active;
  const style = {
    className: "mapapp-unit",
    color: noData ? "#7a7a7a" : "#ffffff",
    weight: noData ? 1 : 1.2,
    dashArray: noData ? "3 3" : null,
    // Counts drawn as circles: the units are neutral, the circles carry the values.
    fillColor: record ? (!noData && countCircles(current) ? current.circles.count_fill : record.color) : "#d9d9d9",
    fillOpacity: noData ? 0.55 : 0.85
  };
  if (filtering && record && record.highlight) {
    style.color = "#111111"; style.weight = 3; style.dashArray = null;
  } else if (filtering) {
    style.fillOpacity = 0.3;
  }
  if (record && state.focus && record.code === state.focus) {
    style.color = "#00b4d8"; style.weight = 4; style.dashArray = null;
  }
  return style;
}

function profileUrl(record) {
  return app.config.profileBase + encodeURIComponent(record.code) + "?valid_from=" +
    encodeURIComponent(record.valid_from) + (app.state.lang === "en" ? "&lang=en" : "");
}

function fmt(number) {
  return new Intl.NumberFormat(app.state.lang === "en" ? "en-US" : "vi-VN", { maximumFractionDigits: 0 }).format(number);
}

function valueLine(record) {
  const current = app.current, t = app.t, ind = current.indicator;
  if (record.value === null) return escapeHtml(record.no_data_reason || t.no_data);
  if (current.change) {
    const levelUnit = (app.config.indicators[ind.id] || {}).unit || "";
    return escapeHtml(t.change) + " " + escapeHtml(current.compare) + " → " + escapeHtml(current.year) + ": <b>" +
      escapeHtml(record.value_text) + "</b> " + escapeHtml(ind.unit) + "<br>" +
      escapeHtml(current.compare) + ": " + escapeHtml(record.value_base_text) + " · " +
      escapeHtml(current.year) + ": " + escapeHtml(record.value_year_text) + " " + escapeHtml(levelUnit);
  }
  let html = escapeHtml(ind.name) + ": <b>" + escapeHtml(record.value_text) + "</b> " + escapeHtml(ind.unit);
  if (record.numerator !== null && record.denominator !== null) {
    html += " (" + escapeHtml(fmt(record.numerator)) + " " + escapeHtml(t.of) + " " + escapeHtml(fmt(record.denominator)) + ")";
  }
  return html;
}

export function tooltipHtml(record) {
  const t = app.t;
  let html = "<strong>" + escapeHtml(record.name) + "</strong>" +
    (record.parent ? '<br><small class="unit-parent">' + escapeHtml(record.parent) + "</small>" : "") +
    "<br>" + valueLine(record);
  html += "<br>" + escapeHtml(t.year) + ": " + escapeHtml(app.current.year);
  if (record.members_text) {
    html += '<br><small class="built-from">' + escapeHtml(t.built_from) + ": " + escapeHtml(record.members_text) + "</small>";
  }
  if (record.source) {
    html += "<br><small>" + escapeHtml(t.source) + ": " + escapeHtml(record.source) + "</small>";
  }
  if (record.illustrative) {
    html += '<br><span class="tag-illustrative">' + escapeHtml(t.illustrative_tag) + "</span>";
  }
  html += '<br><a class="profile-link" href="' + escapeHtml(profileUrl(record)) + '">' + escapeHtml(t.profile_link) + " →</a>";
  return html;
}

export function popupHtml(record) {
  let html = tooltipHtml(record);
  const url = safeUrl(record.source_url);
  if (url) {
    html += '<br><a href="' + escapeHtml(url) + '" target="_blank" rel="noopener noreferrer">' + escapeHtml(url) + "</a>";
  }
  return html;
}
