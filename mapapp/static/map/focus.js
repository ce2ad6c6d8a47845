/* The focused commune: chosen on the map or in the ranking panel, kept in the query string. */
import { updateLinks } from "./links.js";
import { app } from "./state.js";
import { focusOnMap } from "./unit_focus.js";
import { restyle } from "./units_layer.js";

export function setFocus(code, fromPanel) {  // fromPanel: also move the map to the unit
  app.state.focus = code;
  updateLinks();
  const rows = document.querySelectorAll("#ranking-panel-table tbody tr");
  Array.prototype.forEach.call(rows, function (tr) {
    const on = tr.getAttribute("data-code") === code;
    tr.classList.toggle("focused", on);
    if (on && !fromPanel && tr.scrollIntoView) tr.scrollIntoView({ block: "nearest" });
  });
  if (app.current) restyle();
  if (fromPanel) focusOnMap(code);
}
