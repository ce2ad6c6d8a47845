/* Loading the live map's assets (Leaflet, its stylesheet, folium's start-up script) after the first frame.
 *
 * The page config names them (liveAssets, mapapp/web/views.py). A script or stylesheet in the markup, or
 * only a preload of one, would hold the server-drawn first frame back: until it had arrived and run, or
 * while its request and response take the machine's cores. Here they are requested once that frame is on
 * screen, and run in their order (Leaflet before the start-up script that builds the map with it).
 * Leaflet.markercluster is added the same way, later (projects.js).
 */

/** A stylesheet added to the head; resolves when it has loaded (or failed: the map still works). */
export function addStylesheet(href) {
  return new Promise(function (resolve) {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    link.onload = link.onerror = resolve;
    document.head.appendChild(link);
  });
}

/** A classic script added to the head, run in the order added; resolves when it has run, rejects if it failed. */
export function addScript(src) {
  return new Promise(function (resolve, reject) {
    const script = document.createElement("script");
    script.src = src;
    script.async = false;  // scripts added one after another run in that order
    script.onload = resolve;
    script.onerror = function () { reject(new Error(src)); };
    document.head.appendChild(script);
  });
}

/** Resolves after the next frame has been rendered (style, layout and paint done). */
export function afterNextFrame() {
  return new Promise(function (resolve) {
    requestAnimationFrame(function () { setTimeout(resolve, 0); });
  });
}

/** The Leaflet map folium's start-up script builds, once ``assets`` ({css: [...], js: [...]}) have loaded and run. */
export function loadLiveMap(assets) {
  const built = new Promise(function (resolve) {
    if (window.mapappLeafletMap) resolve(window.mapappLeafletMap);
    else document.addEventListener("mapapp:map", function () { resolve(window.mapappLeafletMap); }, { once: true });
  });
  return afterNextFrame().then(function () {
    return Promise.all(assets.css.map(addStylesheet).concat(assets.js.map(addScript)));
  }).then(function () { return built; });
}
