/* mapapp page script: paints the choropleth on the folium/Leaflet map.
 *
 * Geometry is fetched once per boundary version and kept; a year or indicator
 * change fetches only the small values payload and restyles the polygons.
 * All view state lives in the query string (history.replaceState), so every
 * view is a shareable link. Every text from data is escaped before use in HTML.
 */
(function () {
  "use strict";

  var config = null, t = null, state = null;  // read at start(): this script loads in <head>
  var map = null;
  var geometryByVersion = {};   // version id -> Promise<GeoJSON>
  var unitLayer = null, unitLayerVersion = null, outlineLayer = null;
  var projectLayer = null, legendControl = null;
  var current = null;           // last values payload painted
  var requestSeq = 0, playTimer = null;

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
    return params.toString();
  }

  function versionOf(year) {
    return config.versions[String(year)];
  }

  function geometry(version) {
    if (!geometryByVersion[version.id]) {
      var url = config.api + "/units?version=" + encodeURIComponent(version.id) + "&v=" + version.checksum;
      geometryByVersion[version.id] = fetch(url).then(function (r) {
        if (!r.ok) throw new Error("units " + r.status);
        return r.json();
      });
    }
    return geometryByVersion[version.id];
  }

  function fetchValues() {
    var params = new URLSearchParams(queryString());
    params.delete("projects");
    return fetch(config.api + "/values?" + params.toString()).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || ("values " + r.status));
        return body;
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
    return {
      className: "mapapp-unit",
      color: noData ? "#7a7a7a" : "#ffffff",
      weight: noData ? 1 : 1.2,
      dashArray: noData ? "3 3" : null,
      fillColor: record ? record.color : "#d9d9d9",
      fillOpacity: noData ? 0.55 : 0.85
    };
  }

  function tooltipHtml(record) {
    var ind = current.indicator;
    var html = "<strong>" + escapeHtml(record.name) + "</strong><br>";
    if (record.value === null) {
      html += escapeHtml(t.no_data);
    } else {
      html += escapeHtml(ind.name) + ": <b>" + escapeHtml(record.value_text) + "</b> " + escapeHtml(ind.unit);
      if (record.numerator !== null && record.denominator !== null) {
        html += " (" + escapeHtml(fmt(record.numerator)) + " " + escapeHtml(t.of) + " " + escapeHtml(fmt(record.denominator)) + ")";
      }
    }
    html += "<br>" + escapeHtml(t.year) + ": " + escapeHtml(current.year);
    if (record.source) {
      html += "<br><small>" + escapeHtml(t.source) + ": " + escapeHtml(record.source) + "</small>";
    }
    if (record.illustrative) {
      html += '<br><span class="tag-illustrative">' + escapeHtml(t.illustrative_tag) + "</span>";
    }
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

  function buildUnitLayer(version, collection) {
    if (unitLayer) { map.removeLayer(unitLayer); }
    if (outlineLayer) { map.removeLayer(outlineLayer); }
    unitLayer = L.geoJSON(collection, {
      style: function () { return styleFor(null); },
      onEachFeature: function (feature, layer) {
        layer.bindTooltip("", { sticky: true, className: "mapapp-tooltip" });
        layer.bindPopup("", { maxWidth: 320 });
        layer.on("add", function () {
          var el = layer.getElement && layer.getElement();
          if (el) { el.setAttribute("data-code", feature.properties.code); }
        });
      }
    }).addTo(map);
    unitLayer.eachLayer(function (layer) {
      var el = layer.getElement && layer.getElement();
      if (el) { el.setAttribute("data-code", layer.feature.properties.code); }
    });
    outlineLayer = L.geoJSON(collection.outline, {
      interactive: false,
      style: { color: "#333333", weight: 2.5, fill: false, className: "mapapp-outline" }
    }).addTo(map);
    unitLayerVersion = version.id;
  }

  function paint(values) {
    current = values;
    var byKey = {};
    values.records.forEach(function (r) { byKey[r.code + "@" + r.valid_from] = r; });
    unitLayer.eachLayer(function (layer) {
      var record = byKey[unitKey(layer.feature.properties)];
      layer.setStyle(styleFor(record));
      if (record) {
        layer.setTooltipContent(tooltipHtml(record));
        layer.setPopupContent(popupHtml(record));
      }
      var el = layer.getElement && layer.getElement();
      if (el) {
        el.setAttribute("data-class", record && record["class"] !== null ? record["class"] : "none");
        el.setAttribute("data-color", record ? record.color : "");
      }
    });
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
    document.body.setAttribute("data-painted", values.indicator.id + ":" + values.year);
  }

  function renderLegend(values) {
    var div = legendControl.getContainer();
    var cls = values.classification;
    var html = "<h3>" + escapeHtml(values.indicator.name) + "</h3><p class=\"legend-unit\">" +
      escapeHtml(values.indicator.unit) + " · " + escapeHtml(values.year) + "</p><ul>";
    values.legend.labels.forEach(function (label, i) {
      html += '<li><span class="swatch" style="background:' + escapeHtml(cls.colors[i]) + '"></span>' +
        escapeHtml(label) + ' <span class="count">(' + cls.counts[i] + ")</span></li>";
    });
    html += '<li class="no-data"><span class="swatch swatch-no-data"></span>' + escapeHtml(values.legend.no_data) +
      ' <span class="count">(' + cls.no_data_count + ")</span></li></ul>";
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

  function update() {
    var seq = ++requestSeq;
    var version = versionOf(state.year);
    history.replaceState(null, "", "?" + queryString());
    document.getElementById("lang-switch").setAttribute("href", "?" + langQuery());
    ["png", "pdf", "svg"].forEach(function (format) {
      var link = document.getElementById("export-" + format);
      if (link) link.setAttribute("href", config.exportBase + "." + format + "?" + queryString());
    });
    document.getElementById("year-label").textContent = state.year;
    var showError = function (err) {
      document.getElementById("status").textContent = t.error + ": " + err.message;
    };
    // Projects load on their own: the choropleth does not wait for them.
    fetchProjects().then(function (payload) {
      if (seq === requestSeq) paintProjects(payload);
    }).catch(showError);
    return Promise.all([geometry(version), fetchValues()]).then(function (res) {
      if (seq !== requestSeq) return;  // a newer change superseded this one
      var firstPaint = unitLayerVersion === null;
      if (unitLayerVersion !== version.id) buildUnitLayer(version, res[0]);
      paint(res[1]);
      if (firstPaint) fitArea();
    }).catch(showError);
  }

  function fitArea() {
    map.invalidateSize();  // the banner may have changed the map's height
    map.fitBounds(outlineLayer.getBounds(), { padding: [10, 10] });
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
    map.setMinZoom(7);
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
    window.mapapp = { state: state, update: update, map: map, geometryRequests: geometryByVersion };
    update();
  }

  window.MapApp = { start: start, escapeHtml: escapeHtml };
})();
