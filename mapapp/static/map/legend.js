/* The legend: a Leaflet control at the bottom right, rewritten for each values payload.
 * It can be collapsed to its title (a button); on phones it starts collapsed, so that it
 * does not cover the map.
 */
import { escapeHtml } from "../html.js";
import { circleLegendHtml } from "../circle_symbols.js";
import { redrawLabels } from "./labels.js";
import { isNarrow } from "./phone.js";
import { app } from "./state.js";

let legendControl = null, collapsed = false;

function setCollapsed(on) {
  collapsed = on;
  const div = legendControl.getContainer(), button = div.querySelector(".legend-toggle");
  div.classList.toggle("collapsed", on);
  if (button) {
    button.setAttribute("aria-expanded", on ? "false" : "true");
    button.title = on ? app.t.legend_expand : app.t.legend_collapse;
    button.setAttribute("aria-label", button.title);
    button.textContent = on ? "▸" : "▾";
  }
}

export function addLegend(map) {
  legendControl = L.control({ position: "bottomright" });
  legendControl.onAdd = function () {
    const div = L.DomUtil.create("div", "mapapp-legend");
    div.id = "legend";
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    div.addEventListener("click", function (e) {
      if (e.target.closest(".legend-toggle")) { setCollapsed(!collapsed); redrawLabels(); }
    });
    return div;
  };
  legendControl.addTo(map);
  collapsed = isNarrow();
}

export function renderLegend(values) {
  const t = app.t, cls = values.classification;
  const period = values.change ? values.compare + " → " + values.year : values.year;
  let html = '<div class="legend-head"><h2>' +
    escapeHtml(values.change ? t.change + ": " + values.indicator.name : values.indicator.name) +
    '</h2><button type="button" class="legend-toggle" aria-controls="legend-body"></button></div>' +
    '<div id="legend-body" class="legend-body"><p class="legend-unit">' + escapeHtml(values.indicator.unit) + " · " + escapeHtml(period) + "</p>";
  const countCircles = values.circles && values.circles.mode === "count";
  if (countCircles) html += circleLegendHtml(values.circles);  // the colours are neutral: no classes
  html += "<ul>";
  if (!countCircles) values.legend.labels.forEach(function (label, i) {
    html += '<li><span class="swatch" style="background:' + escapeHtml(cls.colors[i]) + '"></span>' +
      escapeHtml(label) + ' <span class="count">(' + cls.counts[i] + ")</span></li>";
  });
  html += '<li class="no-data"><span class="swatch swatch-no-data"></span>' + escapeHtml(values.legend.no_data) +
    ' <span class="count">(' + cls.no_data_count + ")</span></li></ul>";
  if (values.legend.note) {
    html += '<p class="legend-note">' + escapeHtml(values.legend.note) + "</p>";
  }
  if (values.circles && !countCircles) html += circleLegendHtml(values.circles);
  if (values.threshold && values.threshold.active) {
    html += '<p class="legend-threshold"><span class="swatch swatch-highlight"></span>' +
      escapeHtml(values.indicator.name) + " " + escapeHtml(values.year) + " " + escapeHtml(values.threshold.text) + "</p>";
  }
  if (values.illustrative) {
    html += '<p class="tag-illustrative">' + escapeHtml(t.illustrative_tag) + "</p>";
  }
  legendControl.getContainer().innerHTML = html + "</div>";
  setCollapsed(collapsed);
}
