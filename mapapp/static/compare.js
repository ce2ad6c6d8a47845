/* Side-by-side page: two Leaflet maps of two years of one indicator, synchronised.
 *
 * /compare.json classifies both years together (one legend), in columns; geometry comes
 * from the geometry packs once per boundary version (packs.js), drawn on a canvas for
 * thousands of units (canvas_units.js). Both maps show the surroundings (context_layer.js,
 * after the first paint), the commune names (name_placement.js, as on the map page) and,
 * for counts, proportional circles on one scale for both years (circle_symbols.js).
 * Moving or zooming one map moves the other.
 * All state is in the query string (history.replaceState); every data text is escaped.
 * An ES module, loaded by templates/compare.html after Leaflet's classic script.
 */
import * as packs from "./packs.js";
import { create as createCanvasUnits } from "./canvas_units.js";
import { drawContext } from "./context_layer.js";
import { parseBreaks } from "./breaks.js";
import { escapeHtml } from "./html.js";
import { circleLegendHtml, drawCircles } from "./circle_symbols.js";
import { obstacleBoxes, createNames, loadPoints } from "./name_placement.js";

var config, t, state, year2;
var maps = {}, layers = {}, circleLayers = {}, circleCanvas = {}, geometryByVersion = {}, tips = {};
var names = {}, unitGeometry = {}, shownVersion = {}, pointRequests = {};
var syncing = false, requestSeq = 0, fitted = false;

function queryString() {
  var params = new URLSearchParams();
  params.set("indicator", state.indicator);
  params.set("year", state.year);
  params.set("year2", year2);
  if (state.units_year) params.set("units_year", state.units_year);
  if (state.method !== "quantiles") params.set("method", state.method);
  if (Number(state.k) !== 5) params.set("k", state.k);
  if (state.classes && state.classes !== "auto") params.set("classes", state.classes);
  if (state.breaks && state.breaks.length) params.set("breaks", state.breaks.join(","));
  if (state.circles === true || state.circles === false) params.set("circles", state.circles ? "1" : "0");
  if (state.labels === false) params.set("labels", "0");
  if (state.lang !== "vi") params.set("lang", state.lang);
  return params.toString();
}

function versionById(id) {
  return Object.keys(config.versions).map(function (y) { return config.versions[y]; })
    .filter(function (v) { return v.id === id; })[0];
}

function geometry(versionId) {
  return packs.load(geometryByVersion, config.api, versionById(versionId), 0);
}

function countCircles(view) { return !!(view.circles && view.circles.mode === "count"); }

function styleOf(view, record) {
  var noData = !record || record["class"] === null;
  // Counts drawn as circles: the units are neutral, the circles carry the values.
  var fill = record ? (!noData && countCircles(view) ? view.circles.count_fill : record.color) : "#d9d9d9";
  return { className: "mapapp-unit", color: noData ? "#7a7a7a" : "#ffffff", weight: 1.1,
           dashArray: noData ? "3 3" : null, fillColor: fill, fillOpacity: noData ? 0.55 : 0.85 };
}

function tooltipHtml(view, record) {
  var html = "<strong>" + escapeHtml(record.name) + "</strong><br>";
  html += record.value === null ? escapeHtml(record.no_data_reason || t.no_data)
    : escapeHtml(view.indicator.name) + ": <b>" + escapeHtml(record.value_text) + "</b> " + escapeHtml(view.indicator.unit);
  html += "<br>" + escapeHtml(t.year) + ": " + escapeHtml(view.year);
  if (record.members_text) html += "<br><small>" + escapeHtml(t.built_from) + ": " + escapeHtml(record.members_text) + "</small>";
  if (record.source) html += "<br><small>" + escapeHtml(t.source) + ": " + escapeHtml(record.source) + "</small>";
  if (record.illustrative) html += '<br><span class="tag-illustrative">' + escapeHtml(t.illustrative_tag) + "</span>";
  return html;
}

function popupHtml(view, record) {
  var href = config.profileBase + encodeURIComponent(record.code) + "?valid_from=" +
    encodeURIComponent(record.valid_from) + (state.lang === "en" ? "&lang=en" : "");
  return tooltipHtml(view, record) + '<br><a class="profile-link" href="' + escapeHtml(href) + '">' +
    escapeHtml(t.profile_link) + "</a>";
}

function paintSide(side, view, pack) {
  var map = maps[side];
  if (layers[side]) map.removeLayer(layers[side]);
  var byKey = {};
  view.records.forEach(function (r) { byKey[r.code + "@" + r.valid_from] = r; });
  var units = pack.units;
  var recordOf = function (i) {  // names come with the geometry when the values leave them out
    var record = byKey[units.code[i] + "@" + units.valid_from[i]];
    return record && Object.assign({ name: units.name[i] }, record);
  };
  if (packs.drawsOnCanvas(versionById(view.version.id), config)) {
    paintCanvasSide(side, view, pack, recordOf);
  } else {
    paintSvgSide(side, view, packs.decode(pack, units), byKey, recordOf);
  }
  paintCircles(side, view, units);
  shownVersion[side] = versionById(view.version.id);
  document.getElementById("caption-" + side).textContent = view.title;
}

function paintCanvasSide(side, view, pack, recordOf) {
  var map = maps[side];
  tips[side] = tips[side] || L.tooltip({ className: "mapapp-tooltip", direction: "right", offset: [14, 0] });
  layers[side] = createCanvasUnits(map, pack, {
    hover: function (i, latlng) {
      var record = i >= 0 && recordOf(i);
      if (!record) { if (map.hasLayer(tips[side])) map.removeLayer(tips[side]); return; }
      tips[side].setContent(tooltipHtml(view, record)).setLatLng(latlng);
      if (!map.hasLayer(tips[side])) tips[side].openOn(map);
    },
    click: function (i, latlng) {
      var record = recordOf(i);
      if (record) L.popup({ maxWidth: 320 }).setLatLng(latlng).setContent(popupHtml(view, record)).openOn(map);
    }
  });
  layers[side].setStyles(function (i) { return styleOf(view, recordOf(i)); });
  var layer = layers[side], indexOf = {};
  pack.units.code.forEach(function (code, i) { indexOf[code] = i; });
  unitGeometry[side] = {
    bounds: function (code) { return code in indexOf ? layer.boundsOf(indexOf[code]) : null; },
    contains: function (code, point) { return layer.indexAt(point) === indexOf[code]; },
    countInView: function (limit) { return layer.countInView(limit); }
  };
}

function paintCircles(side, view, units) {  // one scale on both maps (/compare.json shares it)
  var map = maps[side];
  if (circleLayers[side]) { map.removeLayer(circleLayers[side]); circleLayers[side] = null; }
  document.body.setAttribute("data-circles-" + side, view.circles ? view.circles.mode : "none");
  if (!view.circles) return;
  var nameOf = {};
  units.code.forEach(function (code, i) { nameOf[code + "@" + units.valid_from[i]] = units.name[i]; });
  var many = view.records.length >= config.canvasMinUnits;
  if (many && !circleCanvas[side]) circleCanvas[side] = L.canvas({ pane: "mapapp-circles" });
  circleLayers[side] = drawCircles(map, view.records, view.circles, {
    renderer: many ? circleCanvas[side] : undefined, weight: many ? 0.5 : 1,
    tooltip: function (record) {
      return tooltipHtml(view, Object.assign({ name: nameOf[record.code + "@" + record.valid_from] }, record));
    }
  });
}

function paintSvgSide(side, view, collection, byKey, recordOf) {
  var index = {};
  collection.units.code.forEach(function (code, i) { index[code + "@" + collection.units.valid_from[i]] = i; });
  layers[side] = L.geoJSON(collection, {
    style: function (feature) { return styleOf(view, byKey[feature.properties.code + "@" + feature.properties.valid_from]); },
    onEachFeature: function (feature, layer) {
      var record = recordOf(index[feature.properties.code + "@" + feature.properties.valid_from]);
      if (!record) return;
      layer.bindTooltip(tooltipHtml(view, record), { sticky: true });
      layer.bindPopup(popupHtml(view, record), { maxWidth: 320 });
      layer.on("add", function () {
        var el = layer.getElement && layer.getElement();
        if (el) { el.setAttribute("data-code", record.code); el.setAttribute("data-color", record.color); }
      });
    }
  }).addTo(maps[side]);
  var byCode = {};
  layers[side].eachLayer(function (layer) { byCode[layer.feature.properties.code] = layer; });
  unitGeometry[side] = {
    bounds: function (code) { return byCode[code] ? byCode[code].getBounds() : null; },
    contains: function (code, point) { return Boolean(byCode[code] && byCode[code]._containsPoint(point)); },
    countInView: function (limit) {
      var view = maps[side].getBounds(), count = 0;
      Object.keys(byCode).some(function (code) { if (view.intersects(byCode[code].getBounds())) count += 1; return count >= limit; });
      return count;
    }
  };
}

function drawNames(side) {  // the commune names of the side's units, placed as on the map page
  var version = shownVersion[side];
  if (!version || !unitGeometry[side]) return;
  var most = config.labelsMaxInView;
  if (state.labels === false || unitGeometry[side].countInView(most + 1) > most) {  // none could be read
    names[side].clear();
    shownNames(side, 0);
    return;
  }
  loadPoints(config.api, version, pointRequests).then(function (points) {
    if (shownVersion[side] !== version) return;
    var entries = points.code.map(function (code, i) {
      return { key: i, code: code, text: points["short"][i], lat: points.lat[i], lon: points.lon[i] };
    });
    shownNames(side, names[side].draw(entries, obstacleBoxes(maps[side])));
  }).catch(showError);
}

function shownNames(side, count) {  // the towns' own names give way to the communes' (map.css)
  maps[side].getContainer().classList.toggle("names-on", count > 0);
  document.body.setAttribute("data-labels-" + side, String(count));
}

function renderLegend(pair) {
  var cls = pair.classification, circles = pair.left.circles || pair.right.circles;
  var html = "<h2>" + escapeHtml(pair.indicator.name) + "</h2><p class=\"legend-unit\">" +
    escapeHtml(pair.indicator.unit) + " · " + escapeHtml(t.shared_legend) + "</p>";
  if (circles && circles.mode === "count") {
    html += circleLegendHtml(circles);  // the colours are neutral: no classes
  } else {
    html += "<ul>";
    pair.legend.labels.forEach(function (label, i) {
      html += '<li><span class="swatch" style="background:' + escapeHtml(cls.colors[i]) + '"></span>' +
        escapeHtml(label) + "</li>";
    });
    html += '<li class="no-data"><span class="swatch swatch-no-data"></span>' + escapeHtml(pair.legend.no_data) + "</li></ul>";
    if (pair.legend.note) html += '<p class="legend-note">' + escapeHtml(pair.legend.note) + "</p>";
    if (circles) html += circleLegendHtml(circles);
  }
  document.getElementById("compare-legend").innerHTML = html;
}

function update() {
  var seq = ++requestSeq;
  history.replaceState(null, "", "?" + queryString());
  var status = document.getElementById("status");
  status.textContent = t.loading;
  fetch(config.compareJson + "?" + queryString() + "&format=columns").then(function (r) {
    return r.json().then(function (body) { if (!r.ok) throw new Error(body.error || r.status); return body; });
  }).then(function (pair) {
    packs.recordsFromColumns(pair.left);
    packs.recordsFromColumns(pair.right);
    return Promise.all([geometry(pair.left.version.id), geometry(pair.right.version.id)]).then(function (geo) {
      if (seq !== requestSeq) return;
      paintSide("left", pair.left, geo[0]);
      paintSide("right", pair.right, geo[1]);
      renderLegend(pair);
      document.getElementById("illustrative-banner").hidden = !pair.illustrative;
      document.getElementById("sources").textContent = pair.sources.length
        ? t.source + ": " + pair.sources.map(function (s) { return s.title; }).join("; ") : "";
      status.textContent = "";
      if (!fitted) {
        fitted = true;
        maps.left.invalidateSize(); maps.right.invalidateSize();
        var b = geo[0].bbox;  // [west, south, east, north]
        maps.left.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [8, 8] });
        loadContext(L.latLngBounds([[b[1], b[0]], [b[3], b[2]]]));
      }
      drawNames("left");
      drawNames("right");
      document.body.setAttribute("data-painted", state.indicator + ":" + state.year + ":" + year2);
    });
  }).catch(showError);
}

function showError(err) {
  document.getElementById("status").textContent = t.error + ": " + err.message;
}

function loadContext(area) {  // once, after the first paint: the same surroundings on both maps
  fetch(config.api + "/context").then(function (r) { return r.json(); }).then(function (ctx) {
    var drawn = null;
    ["left", "right"].forEach(function (side) {
      drawn = drawContext(maps[side], ctx, { laosLabel: t.laos_label, lang: state.lang });
    });
    // A map of the national territory shows the archipelagos: the first view takes them in.
    if (drawn.islands) maps.left.fitBounds(area.extend(drawn.islands), { padding: [8, 8], animate: false });
    drawNames("left");  // the names now keep clear of the towns' dots
    drawNames("right");
    document.body.setAttribute("data-context", String(drawn.layers));
  }).catch(showError);
}

function sync(from, to) {
  maps[from].on("move moveend zoomend", function () {
    if (syncing) return;
    syncing = true;
    maps[to].setView(maps[from].getCenter(), maps[from].getZoom(), { animate: false });
    syncing = false;
  });
}

function bindControls() {
  var form = document.getElementById("compare-controls");
  form.addEventListener("submit", function (e) { e.preventDefault(); update(); });
  form.addEventListener("change", function (e) {
    var name = e.target.name, value = e.target.value;
    if (name === "year2") year2 = Number(value);
    else if (name === "year" || name === "k") state[name] = Number(value);
    else if (name === "units_year") state.units_year = value ? Number(value) : null;
    else if (name === "classes") state.classes = value || "auto";
    else if (name === "breaks") {
      var bounds = parseBreaks(value);
      e.target.classList.toggle("invalid", bounds === null);
      if (bounds === null) { document.getElementById("status").textContent = t.manual_breaks_help; return; }
      state.breaks = bounds;
    }
    else state[name] = value;
    update();
  });
}

function start() {
  config = JSON.parse(document.getElementById("compare-config").textContent);
  t = config.strings;
  state = Object.assign({}, config.state);
  year2 = config.year2;
  ["left", "right"].forEach(function (side) {
    maps[side] = L.map("map-" + side, { zoomSnap: 0.25, minZoom: config.minZoom, maxZoom: 16, attributionControl: false });
  });
  var first = config.versions[String(state.year)];
  maps.left.setView([16.65, 106.6], 10);
  maps.right.setView([16.65, 106.6], 10);
  ["left", "right"].forEach(function (side) {
    names[side] = createNames(maps[side], "mapapp-labels", {
      bounds: function (code) { return unitGeometry[side] ? unitGeometry[side].bounds(code) : null; },
      contains: function (code, point) { return Boolean(unitGeometry[side]) && unitGeometry[side].contains(code, point); }
    });
    maps[side].on("moveend resize", function () { drawNames(side); });
  });
  sync("left", "right");
  sync("right", "left");
  bindControls();
  window.compareApp = { maps: maps, state: state, version: first };
  update();
}

start();  // a module runs once the document is parsed: the maps' elements exist
