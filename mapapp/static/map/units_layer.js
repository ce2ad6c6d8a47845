/* The unit layer: the communes (or other units) of the boundary version on the map.
 *
 * A few hundred units are SVG paths, one per unit (testable, accessible elements);
 * thousands are drawn on one canvas (canvas_units.js), with hover and click by hit test.
 * Finer geometry is swapped in when zoomed in. The layer's objects are private to this
 * module; the page paints values with paintUnits() and restyle().
 */
import * as packs from "../packs.js";
import { create as createCanvasUnits } from "../canvas_units.js";
import { geometry } from "./data.js";
import { app, geographyYear, showError, versionOf } from "./state.js";
import { popupHtml, recordFor, styleFor, tooltipHtml, unitKey } from "./unit_view.js";

let unitLayer = null, unitLayerVersion = null, outlineLayer = null;
let unitLayers = [], unitLevel = 0;  // layers in pack order; the level of detail drawn
let canvasUnits = null, unitProps = [], hoverTip = null, hoverIndex = -1, popupIndex = -1;
let layerByCode = {};  // code -> SVG layer, or code -> canvas unit index
let select = function () {};

export function onSelect(handler) { select = handler; }  // handler(code): a unit was clicked

export function builtVersion() { return unitLayerVersion; }  // the version drawn, or null

function removeUnitLayers() {
  const map = app.map;
  if (unitLayer) { map.removeLayer(unitLayer); unitLayer = null; }
  if (canvasUnits) { map.removeLayer(canvasUnits); canvasUnits = null; }
  if (outlineLayer) { map.removeLayer(outlineLayer); outlineLayer = null; }
  showHover(-1, null);
}

export function buildUnitLayer(version, pack) {
  removeUnitLayers();
  if (packs.drawsOnCanvas(version, app.config)) {
    buildCanvasUnits(pack);  // draws its outline too
  } else {
    buildSvgUnits(packs.decode(pack, pack.units));
    outlineLayer = L.geoJSON(packs.decodePolygons(pack.outline, pack), {
      interactive: false,
      style: { color: "#333333", weight: 2.5, fill: false, className: "mapapp-outline" }
    }).addTo(app.map);
  }
  unitLayerVersion = version.id;
  unitLevel = pack.level || 0;
  document.body.setAttribute("data-level", String(unitLevel));
}

// --- thousands of units: one canvas, hover and click by hit test --------------------------
function buildCanvasUnits(pack) {
  const cols = pack.units;
  unitProps = cols.code.map(function (code, i) {
    const props = { code: code, valid_from: cols.valid_from[i], name: cols.name[i], parent: cols.parent[i] };
    props.key = unitKey(props);
    return props;
  });
  layerByCode = {};
  unitProps.forEach(function (props, i) { layerByCode[props.code] = i; });
  canvasUnits = createCanvasUnits(app.map, pack, { hover: showHover, click: clickUnit });
}

function showHover(i, latlng) {
  const map = app.map;
  if (i < 0 || !app.current) {
    if (hoverTip && map.hasLayer(hoverTip)) map.removeLayer(hoverTip);
    hoverIndex = -1;
    return;
  }
  hoverTip = hoverTip || L.tooltip({ className: "mapapp-tooltip", direction: "right", offset: [14, 0] });
  if (i !== hoverIndex) hoverTip.setContent(tooltipHtml(recordFor(unitProps[i])));
  hoverIndex = i;
  hoverTip.setLatLng(latlng);
  if (!map.hasLayer(hoverTip)) hoverTip.openOn(map);
}

function clickUnit(i, latlng) {
  if (!app.current) return;
  popupIndex = i;
  L.popup({ maxWidth: 320 }).setLatLng(latlng).setContent(popupHtml(recordFor(unitProps[i]))).openOn(app.map);
  select(unitProps[i].code);
}

// A style depends only on these parts of a record: thousands of units share a dozen styles,
// each built once per paint (fewer objects for the collector on every year change).
function styleSignature(record, focus) {
  if (!record) return "";
  return record.color + "|" + (record["class"] === null) + "|" + !!record.highlight + "|" + (record.code === focus);
}

function styleCanvas() {
  const byKey = app.current.byKey, focus = app.state.focus, styles = {};
  canvasUnits.setStyles(function (i) {
    const record = byKey[unitProps[i].key], signature = styleSignature(record, focus);
    let style = styles[signature];
    if (!style) {
      style = styles[signature] = styleFor(record);
      style.front = style.color !== "#ffffff" && style.color !== "#7a7a7a";  // outlined: drawn on top
    }
    return style;
  });
  if (hoverIndex >= 0 && hoverTip) hoverTip.setContent(tooltipHtml(recordFor(unitProps[hoverIndex])));
  const popup = app.map._popup;
  if (popupIndex >= 0 && popup && app.map.hasLayer(popup)) popup.setContent(popupHtml(recordFor(unitProps[popupIndex])));
}

// --- a few hundred units: one SVG path each ------------------------------------------------
function tagElement(layer) {
  const el = layer.getElement && layer.getElement();
  if (el) el.setAttribute("data-code", layer.feature.properties.code);
}

function buildSvgUnits(collection) {
  unitLayer = L.geoJSON(collection, {
    style: function () { return styleFor(null); },
    onEachFeature: function (feature, layer) {
      // Contents are built when opened: thousands of units are repainted without building them.
      layer.bindTooltip(function () { return app.current ? tooltipHtml(recordFor(layer.feature.properties)) : ""; },
        { sticky: true, className: "mapapp-tooltip" });
      layer.bindPopup(function () { return app.current ? popupHtml(recordFor(layer.feature.properties)) : ""; }, { maxWidth: 320 });
      layer.on("add", function () { tagElement(layer); });
      layer.on("click", function () { select(feature.properties.code); });
    }
  }).addTo(app.map);
  layerByCode = {};
  unitLayers = unitLayer.getLayers();
  unitLayer.eachLayer(function (layer) { layerByCode[layer.feature.properties.code] = layer; });
  unitLayer.eachLayer(tagElement);
}

export function showLevelForZoom() {  // finer geometry when zoomed in, fetched once per level
  const version = versionOf(geographyYear());
  if (!version || unitLayerVersion !== version.id) return;
  const level = packs.levelForZoom(version, app.map.getZoom());
  if (level === unitLevel) return;
  unitLevel = level;
  geometry(version, level).then(function (pack) {
    if (unitLayerVersion !== version.id || unitLevel !== level) return;
    if (canvasUnits) {
      canvasUnits.setGeometry(pack);
    } else {
      packs.decode(pack, pack.units).features.forEach(function (feature, i) {
        if (unitLayers[i]) unitLayers[i].setLatLngs(L.GeoJSON.coordsToLatLngs(feature.geometry.coordinates, 2));
      });
    }
    document.body.setAttribute("data-level", String(level));
  }).catch(showError);
}

export function paintUnits(values) {  // style every unit by app.current (= values), keep open tips current
  const byKey = values.byKey, focus = app.state.focus;
  if (canvasUnits) styleCanvas();
  if (unitLayer) unitLayer.eachLayer(function (layer) {
    const record = byKey[unitKey(layer.feature.properties)];
    layer.setStyle(styleFor(record));
    if (layer.isTooltipOpen()) layer.getTooltip().update();
    if (layer.isPopupOpen()) layer.getPopup().update();
    const el = layer.getElement && layer.getElement();
    if (el) {
      el.setAttribute("data-class", record && record["class"] !== null ? record["class"] : "none");
      el.setAttribute("data-color", record ? record.color : "");
      el.setAttribute("data-highlight", record && record.highlight ? "1" : "0");
    }
  });
  if (unitLayer && focus && layerByCode[focus]) layerByCode[focus].bringToFront();
}

export function whenDrawn(fn) {  // the canvas draws on the next frame; SVG paths are drawn already
  if (canvasUnits) canvasUnits.whenDrawn(fn); else fn();
}

export function restyle() {  // after a focus change: styles only
  const byKey = app.current.byKey, focus = app.state.focus;
  if (canvasUnits) { styleCanvas(); return; }
  unitLayer.eachLayer(function (layer) { layer.setStyle(styleFor(byKey[unitKey(layer.feature.properties)])); });
  if (focus && layerByCode[focus]) layerByCode[focus].bringToFront();
}

// --- where the units are, for unit_focus.js -----------------------------------------------
export function areaBounds() {  // the whole area drawn
  return canvasUnits ? canvasUnits.bounds() : outlineLayer.getBounds();
}

export function unitBounds(code) {  // a unit's LatLngBounds, or null when not drawn
  const unit = layerByCode[code];
  if (unit === undefined) return null;
  return canvasUnits ? canvasUnits.boundsOf(unit) : unit.getBounds();
}

export function openUnitPopup(code, latlng) {  // a drawn unit's popup, the unit on top
  const unit = layerByCode[code];
  if (canvasUnits) {
    popupIndex = unit;
    L.popup({ maxWidth: 320 }).setLatLng(latlng).setContent(popupHtml(recordFor(unitProps[unit]))).openOn(app.map);
    return;
  }
  unit.bringToFront();
  unit.openPopup(latlng);
}

export function unitsInView(limit) {  // how many drawn units the view shows, counted up to limit
  if (canvasUnits) return canvasUnits.countInView(limit);
  const view = app.map.getBounds(), codes = Object.keys(layerByCode);
  let count = 0;
  for (let k = 0; k < codes.length && count < limit; k++) {
    if (view.intersects(unitBounds(codes[k]))) count += 1;
  }
  return count;
}

export function unitContains(code, point) {  // whether a layer point is inside a drawn unit
  const unit = layerByCode[code];
  if (unit === undefined) return false;
  if (canvasUnits) return canvasUnits.indexAt(point) === unit;
  return Boolean(unit._containsPoint && unit._containsPoint(point));
}

export function codeAtLayerPoint(point) {  // the code of the unit under a layer point, or null
  if (canvasUnits) {
    const i = canvasUnits.indexAt(point);
    return i >= 0 ? unitProps[i].code : null;
  }
  let found = null;
  unitLayer.eachLayer(function (layer) { if (layer._containsPoint && layer._containsPoint(point)) found = layer.feature.properties.code; });
  return found;
}
