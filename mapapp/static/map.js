/* mapapp page script: paints the choropleth on the folium/Leaflet map.
 *
 * Geometry is fetched once per boundary version and kept; a year or indicator
 * change fetches only the small values payload and restyles the polygons.
 * All view state lives in the query string (history.replaceState), so every
 * view is a shareable link. Every text from data is escaped before use in HTML.
 *
 * Planner tools: boundaries of a later year (units_year), a change view since a
 * base year (compare), a threshold filter (min/max) outlining the matching
 * communes, and the ranking panel beside the map (/ranking.json): clicking a row
 * focuses the commune on the map, clicking a commune selects its row.
 */
(function () {
  "use strict";

  var config = null, t = null, state = null;  // read at start(): this script loads in <head>
  var packs = window.MapAppPacks;
  var map = null;
  var geometryByVersion = {};   // "version/level" -> Promise<geometry pack>
  var unitLayer = null, unitLayerVersion = null, outlineLayer = null;
  var unitLayers = [], unitLevel = 0;  // layers in pack order; the level of detail drawn
  var canvasUnits = null, unitProps = [], hoverTip = null, hoverIndex = -1, popupIndex = -1;
  var projectLayer = null, legendControl = null;
  var current = null;           // last values payload painted
  var requestSeq = 0, playTimer = null;
  var rankingSeq = 0, layerByCode = {};
  var PANEL_ROWS = 200;

  function escapeHtml(value) {
    return String(value === null || value === undefined ? "" : value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function safeUrl(url) {
    return /^https?:\/\//i.test(url || "") ? url : "";
  }

  function queryString() {
    var params = new URLSearchParams();
    params.set("indicator", state.indicator);
    params.set("year", state.year);
    if (state.method !== "quantiles") params.set("method", state.method);
    if (Number(state.k) !== 5) params.set("k", state.k);
    if (state.palette) params.set("palette", state.palette);
    if (state.lang !== "vi") params.set("lang", state.lang);
    if (!state.projects) params.set("projects", "0");
    if (state.units_year) params.set("units_year", state.units_year);
    if (state.compare) params.set("compare", state.compare);
    if (state.min !== null && state.min !== undefined) params.set("min", state.min);
    if (state.max !== null && state.max !== undefined) params.set("max", state.max);
    if (state.focus) params.set("focus", state.focus);
    return params.toString();
  }

  function viewQuery() {  // the view without page-only state (projects layer, focused commune)
    var params = new URLSearchParams(queryString());
    params.delete("projects");
    params.delete("focus");
    return params.toString();
  }

  function versionOf(year) {
    return config.versions[String(year)];
  }

  function geographyYear() {  // the year whose units the view is drawn on
    if (state.units_year) return Number(state.units_year);
    return state.compare ? Math.max(Number(state.year), Number(state.compare)) : Number(state.year);
  }

  function geometry(version, level) {  // the raw pack of a level, fetched once
    return packs.load(geometryByVersion, config.api, version, level || 0);
  }

  function fetchValues() {
    return fetch(config.api + "/values?" + viewQuery() + "&format=columns").then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || ("values " + r.status));
        return packs.recordsFromColumns(body);
      });
    });
  }

  function fetchProjects() {
    if (!state.projects) return Promise.resolve(null);
    return fetch(config.api + "/projects?year=" + state.year).then(function (r) { return r.json(); });
  }

  function unitKey(props) { return props.code + "@" + props.valid_from; }

  function styleFor(record) {
    var noData = !record || record["class"] === null;
    var filtering = current && current.threshold && current.threshold.active;
    var style = {
      className: "mapapp-unit",
      color: noData ? "#7a7a7a" : "#ffffff",
      weight: noData ? 1 : 1.2,
      dashArray: noData ? "3 3" : null,
      fillColor: record ? record.color : "#d9d9d9",
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
    return config.profileBase + encodeURIComponent(record.code) + "?valid_from=" +
      encodeURIComponent(record.valid_from) + (state.lang === "en" ? "&lang=en" : "");
  }

  function valueLine(record) {
    var ind = current.indicator;
    if (record.value === null) return escapeHtml(record.no_data_reason || t.no_data);
    if (current.change) {
      var levelUnit = (config.indicators[ind.id] || {}).unit || "";
      return escapeHtml(t.change) + " " + escapeHtml(current.compare) + " → " + escapeHtml(current.year) + ": <b>" +
        escapeHtml(record.value_text) + "</b> " + escapeHtml(ind.unit) + "<br>" +
        escapeHtml(current.compare) + ": " + escapeHtml(record.value_base_text) + " · " +
        escapeHtml(current.year) + ": " + escapeHtml(record.value_year_text) + " " + escapeHtml(levelUnit);
    }
    var html = escapeHtml(ind.name) + ": <b>" + escapeHtml(record.value_text) + "</b> " + escapeHtml(ind.unit);
    if (record.numerator !== null && record.denominator !== null) {
      html += " (" + escapeHtml(fmt(record.numerator)) + " " + escapeHtml(t.of) + " " + escapeHtml(fmt(record.denominator)) + ")";
    }
    return html;
  }

  function tooltipHtml(record) {
    var html = "<strong>" + escapeHtml(record.name) + "</strong>" +
      (record.parent ? '<br><small class="unit-parent">' + escapeHtml(record.parent) + "</small>" : "") +
      "<br>" + valueLine(record);
    html += "<br>" + escapeHtml(t.year) + ": " + escapeHtml(current.year);
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

  function popupHtml(record) {
    var html = tooltipHtml(record);
    var url = safeUrl(record.source_url);
    if (url) {
      html += '<br><a href="' + escapeHtml(url) + '" target="_blank" rel="noopener noreferrer">' + escapeHtml(url) + "</a>";
    }
    return html;
  }

  function fmt(number) {
    return new Intl.NumberFormat(state.lang === "en" ? "en-US" : "vi-VN", { maximumFractionDigits: 0 }).format(number);
  }

  function recordFor(props) {  // the painted record of a unit, with its parents from the geometry
    var record = current && current.byKey[unitKey(props)];
    return Object.assign({ code: props.code, valid_from: props.valid_from, name: props.name, value: null },
      record || {}, { parent: props.parent });
  }

  function removeUnitLayers() {
    if (unitLayer) { map.removeLayer(unitLayer); unitLayer = null; }
    if (canvasUnits) { map.removeLayer(canvasUnits); canvasUnits = null; }
    if (outlineLayer) { map.removeLayer(outlineLayer); outlineLayer = null; }
    showHover(-1, null);
  }

  function buildUnitLayer(version, pack) {
    removeUnitLayers();
    if (packs.drawsOnCanvas(version, config)) {
      buildCanvasUnits(pack);  // draws its outline too
    } else {
      buildSvgUnits(packs.decode(pack, pack.units));
      outlineLayer = L.geoJSON(packs.decodePolygons(pack.outline, pack), {
        interactive: false,
        style: { color: "#333333", weight: 2.5, fill: false, className: "mapapp-outline" }
      }).addTo(map);
    }
    unitLayerVersion = version.id;
    unitLevel = pack.level || 0;
    document.body.setAttribute("data-level", String(unitLevel));
  }

  // --- thousands of units: one canvas (canvas_units.js), hover and click by hit test ----
  function buildCanvasUnits(pack) {
    var cols = pack.units;
    unitProps = cols.code.map(function (code, i) {
      return { code: code, valid_from: cols.valid_from[i], name: cols.name[i], parent: cols.parent[i] };
    });
    layerByCode = {};
    unitProps.forEach(function (props, i) { layerByCode[props.code] = i; });
    canvasUnits = window.MapAppCanvasUnits.create(map, pack, { hover: showHover, click: clickUnit });
  }

  function showHover(i, latlng) {
    if (i < 0 || !current) {
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
    if (!current) return;
    popupIndex = i;
    L.popup({ maxWidth: 320 }).setLatLng(latlng).setContent(popupHtml(recordFor(unitProps[i]))).openOn(map);
    setFocus(unitProps[i].code, false);
  }

  function styleCanvas() {
    canvasUnits.setStyles(function (i) {
      var record = current.byKey[unitKey(unitProps[i])], style = styleFor(record);
      style.front = style.color !== "#ffffff" && style.color !== "#7a7a7a";  // outlined: drawn on top
      return style;
    });
    if (hoverIndex >= 0 && hoverTip) hoverTip.setContent(tooltipHtml(recordFor(unitProps[hoverIndex])));
    var popup = map._popup;
    if (popupIndex >= 0 && popup && map.hasLayer(popup)) popup.setContent(popupHtml(recordFor(unitProps[popupIndex])));
  }

  // --- a few hundred units: one SVG path each (testable, accessible elements) ------------
  function buildSvgUnits(collection) {
    unitLayer = L.geoJSON(collection, {
      style: function () { return styleFor(null); },
      onEachFeature: function (feature, layer) {
        // Contents are built when opened: thousands of units are repainted without building them.
        layer.bindTooltip(function () { return current ? tooltipHtml(recordFor(layer.feature.properties)) : ""; },
          { sticky: true, className: "mapapp-tooltip" });
        layer.bindPopup(function () { return current ? popupHtml(recordFor(layer.feature.properties)) : ""; }, { maxWidth: 320 });
        layer.on("add", function () {
          var el = layer.getElement && layer.getElement();
          if (el) { el.setAttribute("data-code", feature.properties.code); }
        });
        layer.on("click", function () { setFocus(feature.properties.code, false); });
      }
    }).addTo(map);
    layerByCode = {};
    unitLayers = unitLayer.getLayers();
    unitLayer.eachLayer(function (layer) { layerByCode[layer.feature.properties.code] = layer; });
    unitLayer.eachLayer(function (layer) {
      var el = layer.getElement && layer.getElement();
      if (el) { el.setAttribute("data-code", layer.feature.properties.code); }
    });
  }

  function showLevelForZoom() {  // finer geometry when zoomed in, fetched once per level
    var version = versionOf(geographyYear());
    if (!version || unitLayerVersion !== version.id) return;
    var level = packs.levelForZoom(version, map.getZoom());
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
    }).catch(function (err) {
      document.getElementById("status").textContent = t.error + ": " + err.message;
    });
  }

  function paint(values) {
    current = values;
    var byKey = {};
    values.records.forEach(function (r) { byKey[r.code + "@" + r.valid_from] = r; });
    values.byKey = byKey;
    if (canvasUnits) styleCanvas();
    if (unitLayer) unitLayer.eachLayer(function (layer) {
      var record = byKey[unitKey(layer.feature.properties)];
      layer.setStyle(styleFor(record));
      if (layer.isTooltipOpen()) layer.getTooltip().update();
      if (layer.isPopupOpen()) layer.getPopup().update();
      var el = layer.getElement && layer.getElement();
      if (el) {
        el.setAttribute("data-class", record && record["class"] !== null ? record["class"] : "none");
        el.setAttribute("data-color", record ? record.color : "");
        el.setAttribute("data-highlight", record && record.highlight ? "1" : "0");
      }
    });
    if (unitLayer && state.focus && layerByCode[state.focus]) layerByCode[state.focus].bringToFront();
    renderLegend(values);
    document.getElementById("map-title").textContent = values.title;
    document.title = values.title + " — " + t.app_title;
    var banner = document.getElementById("illustrative-banner");
    if (banner.hidden === values.illustrative) {
      banner.hidden = !values.illustrative;
      map.invalidateSize();
    }
    document.getElementById("sources").textContent = values.sources.length
      ? t.source + ": " + values.sources.map(function (s) { return s.title; }).join("; ") : "";
    document.getElementById("status").textContent =
      t.units_count.replace("{n}", values.version.unit_count) + " · " + values.version.label;
    var painted = values.indicator.id + ":" + values.year;
    if (canvasUnits) {  // the canvas draws on the next frame: say "painted" once it has
      canvasUnits.whenDrawn(function () { if (current === values) document.body.setAttribute("data-painted", painted); });
    } else {
      document.body.setAttribute("data-painted", painted);
    }
  }

  function renderLegend(values) {
    var div = legendControl.getContainer();
    var cls = values.classification;
    var period = values.change ? values.compare + " → " + values.year : values.year;
    var html = "<h3>" + escapeHtml(values.change ? t.change + ": " + values.indicator.name : values.indicator.name) +
      "</h3><p class=\"legend-unit\">" + escapeHtml(values.indicator.unit) + " · " + escapeHtml(period) + "</p><ul>";
    values.legend.labels.forEach(function (label, i) {
      html += '<li><span class="swatch" style="background:' + escapeHtml(cls.colors[i]) + '"></span>' +
        escapeHtml(label) + ' <span class="count">(' + cls.counts[i] + ")</span></li>";
    });
    html += '<li class="no-data"><span class="swatch swatch-no-data"></span>' + escapeHtml(values.legend.no_data) +
      ' <span class="count">(' + cls.no_data_count + ")</span></li></ul>";
    if (values.threshold && values.threshold.active) {
      html += '<p class="legend-threshold"><span class="swatch swatch-highlight"></span>' +
        escapeHtml(values.indicator.name) + " " + escapeHtml(values.year) + " " + escapeHtml(values.threshold.text) + "</p>";
    }
    if (values.illustrative) {
      html += '<p class="tag-illustrative">' + escapeHtml(t.illustrative_tag) + "</p>";
    }
    div.innerHTML = html;
  }

  function paintProjects(payload) {
    projectLayer.clearLayers();
    if (!payload) return;
    payload.projects.forEach(function (p) {
      p.sites.forEach(function (site) {
        var html = "<strong>" + escapeHtml(p.name) + "</strong><br>" +
          escapeHtml(t.donor) + ": " + escapeHtml(p.donor) + "<br>" +
          escapeHtml(t.sector) + ": " + escapeHtml(p.sector) + "<br>" +
          escapeHtml(t.years) + ": " + escapeHtml(p.years_text) + "<br>" +
          escapeHtml(t.budget) + ": " + escapeHtml(p.budget) + "<br>" +
          escapeHtml(t.communes) + ": " + escapeHtml(site.name) +
          (site.villages ? " (" + escapeHtml(site.villages) + ")" : "") + "<br><small>" +
          escapeHtml(t.source) + ": " + escapeHtml(p.source) + "</small>";
        var url = safeUrl(p.source_url.split(" ; ")[0]);
        if (url) html += '<br><a href="' + escapeHtml(url) + '" target="_blank" rel="noopener noreferrer">' + escapeHtml(url) + "</a>";
        var marker = L.marker([site.lat, site.lon], { title: p.name });
        marker.bindPopup(html, { maxWidth: 320 });
        projectLayer.addLayer(marker);
      });
    });
  }

  function updateLinks() {
    history.replaceState(null, "", "?" + queryString());
    document.getElementById("lang-switch").setAttribute("href", "?" + langQuery());
    ["png", "pdf", "svg"].forEach(function (format) {
      var link = document.getElementById("export-" + format);
      if (link) link.setAttribute("href", config.exportBase + "." + format + "?" + queryString());
    });
    var view = viewQuery();
    setHref("ranking-full", config.rankingBase + "?" + view);
    setHref("link-ranking", config.rankingBase + "?" + view);
    setHref("download-csv", config.rankingBase + ".csv?" + view);
    setHref("download-xlsx", config.rankingBase + ".xlsx?" + view);
    setHref("download-json", config.rankingBase + ".json?" + view);
    var side = new URLSearchParams(view);
    var other = state.compare ? Number(state.compare) : (Number(state.year) === config.years[0] ? config.years[config.years.length - 2] : config.years[0]);
    side.delete("compare"); side.delete("min"); side.delete("max");
    side.set("year", Math.min(Number(state.year), other));
    side.set("year2", Math.max(Number(state.year), other));
    setHref("link-compare", config.compareBase + "?" + side.toString());
  }

  function setHref(id, href) {
    var link = document.getElementById(id);
    if (link) link.setAttribute("href", href);
  }

  function mark(name) {
    if (window.performance && performance.mark) performance.mark("mapapp:" + name);
  }

  function update() {
    mark("update");
    var seq = ++requestSeq;
    var version = versionOf(geographyYear());
    updateLinks();
    document.getElementById("year-label").textContent = state.year;
    var showError = function (err) {
      document.getElementById("status").textContent = t.error + ": " + err.message;
    };
    var drawn = Promise.all([geometry(version), fetchValues()]).then(function (res) {
      if (seq !== requestSeq) return;  // a newer change superseded this one
      mark("data");  // performance marks, read by bench/bench_scale.py
      var firstPaint = unitLayerVersion === null;
      if (unitLayerVersion !== version.id) buildUnitLayer(version, res[0]);
      mark("layer");
      paint(res[1]);
      if (firstPaint) {
        fitArea();
        if (state.focus) focusOnMap(state.focus);
      }
      showLevelForZoom();
    }).catch(showError);
    // The map first: the projects and the ranking panel, which compete with it for the
    // server (a country's ranking takes it most of a second) and the page, follow it.
    drawn.then(function () {
      if (seq !== requestSeq) return;
      fetchProjects().then(function (payload) {
        if (seq === requestSeq) paintProjects(payload);
      }).catch(showError);
      updateRanking().catch(showError);
    });
    return drawn;
  }

  // --- ranking panel ------------------------------------------------------------------
  function updateRanking() {
    var seq = ++rankingSeq;
    // A long ranking (a province, a country) shows its first rows; the ranking page has them all.
    var version = versionOf(geographyYear());
    var limit = version && version.unit_count > PANEL_ROWS ? "&limit=" + PANEL_ROWS : "";
    return fetch(config.rankingBase + ".json?" + viewQuery() + limit).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || ("ranking " + r.status));
        return body;
      });
    }).then(function (table) {
      if (seq === rankingSeq) renderRanking(table);
    });
  }

  function renderRanking(table) {
    var panel = document.getElementById("ranking-panel-table");
    if (!panel) return;
    var body = panel.tBodies[0];
    var hasChange = table.compare !== null;
    panel.classList.toggle("with-change", hasChange);
    document.getElementById("ranking-value-head").textContent = table.indicator.unit + " " + table.year;
    body.textContent = "";
    table.rows.forEach(function (row) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-code", row.code);
      tr.tabIndex = 0;
      if (row.value === null) tr.className = "no-data";
      if (row.code === state.focus) tr.classList.add("focused");
      [row.rank === null ? "–" : String(row.rank), row.name, row.value_text, hasChange ? row.change_text : ""]
        .forEach(function (text, i) {
          var td = document.createElement("td");
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
      body.appendChild(tr);
    });
    var summary = table.version.label + " · " + table.rank_note;
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

  function setFocus(code, fromPanel) {
    state.focus = code;
    updateLinks();
    var rows = document.querySelectorAll("#ranking-panel-table tbody tr");
    Array.prototype.forEach.call(rows, function (tr) {
      var on = tr.getAttribute("data-code") === code;
      tr.classList.toggle("focused", on);
      if (on && !fromPanel && tr.scrollIntoView) tr.scrollIntoView({ block: "nearest" });
    });
    if (current) restyle();
    if (fromPanel) focusOnMap(code);
  }

  function restyle() {
    var byKey = {};
    current.records.forEach(function (r) { byKey[r.code + "@" + r.valid_from] = r; });
    if (canvasUnits) { styleCanvas(); return; }
    unitLayer.eachLayer(function (layer) { layer.setStyle(styleFor(byKey[unitKey(layer.feature.properties)])); });
    if (state.focus && layerByCode[state.focus]) layerByCode[state.focus].bringToFront();
  }

  function focusOnMap(code) {
    var layer = layerByCode[code];
    if (layer === undefined) return;
    settleZoom();
    if (canvasUnits) {
      var bounds = canvasUnits.boundsOf(layer);
      map.fitBounds(bounds, { padding: [40, 40], maxZoom: 12, animate: false });
      popupIndex = layer;
      L.popup({ maxWidth: 320 }).setLatLng(bounds.getCenter()).setContent(popupHtml(recordFor(unitProps[layer]))).openOn(map);
      document.body.setAttribute("data-focused", code);
      return;
    }
    map.fitBounds(layer.getBounds(), { padding: [40, 40], maxZoom: 12, animate: false });
    layer.bringToFront();
    layer.openPopup(layer.getBounds().getCenter());
    document.body.setAttribute("data-focused", code);
  }

  // For tests and scripts: the unit under a point of the map, and a unit's box (container pixels).
  function codeAt(x, y) {
    var point = map.containerPointToLayerPoint([x, y]);
    if (canvasUnits) {
      var i = canvasUnits.indexAt(point);
      return i >= 0 ? unitProps[i].code : null;
    }
    var found = null;
    unitLayer.eachLayer(function (layer) { if (layer._containsPoint && layer._containsPoint(point)) found = layer.feature.properties.code; });
    return found;
  }

  function unitBox(code) {
    var layer = layerByCode[code];
    if (layer === undefined) return null;
    var bounds = canvasUnits ? canvasUnits.boundsOf(layer) : layer.getBounds();
    var nw = map.latLngToContainerPoint(bounds.getNorthWest()), se = map.latLngToContainerPoint(bounds.getSouthEast());
    return { left: nw.x, top: nw.y, right: se.x, bottom: se.y };
  }

  function fitArea() {
    settleZoom();
    map.invalidateSize();  // the banner may have changed the map's height
    map.fitBounds(canvasUnits ? canvasUnits.bounds() : outlineLayer.getBounds(), { padding: [10, 10], animate: false });  // settled when data-painted is seen
  }

  // The folium start-up script fits the map with an animated zoom; when that animation
  // ends after our first paint, Leaflet (1.9) resets the view to its target, undoing our
  // fit or focus and moving markers and popups under the user's pointer. Finish it now.
  function settleZoom() {
    if (map._animatingZoom && map._onZoomTransitionEnd) map._onZoomTransitionEnd();
  }

  function langQuery() {
    var params = new URLSearchParams(queryString());
    if (state.lang === "vi") params.set("lang", "en"); else params.delete("lang");
    return params.toString();
  }

  function bindControls() {
    var form = document.getElementById("controls");
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    document.getElementById("indicator").addEventListener("change", function (e) { state.indicator = e.target.value; update(); });
    document.getElementById("year").addEventListener("input", function (e) { state.year = Number(e.target.value); update(); });
    document.getElementById("method").addEventListener("change", function (e) { state.method = e.target.value; update(); });
    document.getElementById("k").addEventListener("change", function (e) { state.k = Number(e.target.value); update(); });
    document.getElementById("projects").addEventListener("change", function (e) {
      state.projects = e.target.checked;
      if (state.projects) map.addLayer(projectLayer); else map.removeLayer(projectLayer);
      update();
    });
    document.getElementById("play").addEventListener("click", togglePlay);
    document.getElementById("units-year").addEventListener("change", function (e) {
      state.units_year = e.target.value ? Number(e.target.value) : null; update();
    });
    document.getElementById("compare").addEventListener("change", function (e) {
      state.compare = e.target.value ? Number(e.target.value) : null; update();
    });
    var threshold = document.getElementById("threshold-form");
    threshold.addEventListener("submit", function (e) { e.preventDefault(); readThreshold(); });
    ["threshold-min", "threshold-max"].forEach(function (id) {
      document.getElementById(id).addEventListener("change", readThreshold);
    });
  }

  function parseNumber(text) {
    var clean = String(text || "").trim().replace(",", ".");
    if (!clean) return null;
    var number = Number(clean);
    return isFinite(number) ? number : NaN;
  }

  function readThreshold() {
    var low = parseNumber(document.getElementById("threshold-min").value);
    var high = parseNumber(document.getElementById("threshold-max").value);
    var bad = isNaN(low) || isNaN(high) || (low !== null && high !== null && low > high);
    document.getElementById("threshold-form").classList.toggle("invalid", bad);
    if (bad) return;
    state.min = low; state.max = high;
    update();
  }

  function togglePlay() {
    var button = document.getElementById("play");
    if (playTimer) {
      clearInterval(playTimer); playTimer = null;
      button.textContent = "▶"; button.title = t.play;
      return;
    }
    button.textContent = "❚❚"; button.title = t.pause;
    var slider = document.getElementById("year");
    if (state.year >= config.years[config.years.length - 1]) { state.year = config.years[0] - 1; }
    playTimer = setInterval(function () {
      if (state.year >= config.years[config.years.length - 1]) { togglePlay(); return; }
      state.year += 1; slider.value = state.year; update();
    }, 1200);
  }

  function start(leafletMap) {
    config = JSON.parse(document.getElementById("mapapp-config").textContent);
    t = config.strings;
    state = Object.assign({}, config.state);
    map = leafletMap;
    map.setMinZoom(config.minZoom);
    map.setMaxZoom(16);  // no tile layer to set it, and marker clustering needs it
    legendControl = L.control({ position: "bottomright" });
    legendControl.onAdd = function () {
      var div = L.DomUtil.create("div", "mapapp-legend");
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    legendControl.addTo(map);
    projectLayer = L.markerClusterGroup ? L.markerClusterGroup({ showCoverageOnHover: false }) : L.layerGroup();
    if (state.projects) map.addLayer(projectLayer);
    bindControls();
    map.on("zoomend", showLevelForZoom);
    window.mapapp = { state: state, update: update, map: map, geometryRequests: geometryByVersion,
                      codeAt: codeAt, unitBox: unitBox };
    update();
  }

  window.MapApp = { start: start, escapeHtml: escapeHtml };
})();
