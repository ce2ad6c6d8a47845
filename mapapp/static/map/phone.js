/* Phones: the controls fold into a panel opened by a button (#panel-toggle), so the map
 * fills most of the screen; on wide screens the panel is laid out inline and the button is
 * hidden (map.css). The panel closes with its own button, with Escape, or when the map is
 * touched, and the map is told its size may have changed.
 */
import { app } from "./state.js";

function setOpen(open) {
  const panel = document.getElementById("topbar-panel"), toggle = document.getElementById("panel-toggle");
  panel.classList.toggle("open", open);
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
  if (!open && panel.contains(document.activeElement)) toggle.focus();
}

export function bindPhonePanel() {
  const toggle = document.getElementById("panel-toggle"), panel = document.getElementById("topbar-panel");
  if (!toggle || !panel) return;
  toggle.addEventListener("click", function () { setOpen(!panel.classList.contains("open")); });
  document.getElementById("panel-close").addEventListener("click", function () { setOpen(false); });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && panel.classList.contains("open")) setOpen(false);
  });
  app.map.on("click", function () { if (panel.classList.contains("open")) setOpen(false); });
  window.addEventListener("resize", function () { app.map.invalidateSize(); });
}

export function isNarrow() {  // the phone layout of map.css is in force
  return window.matchMedia && window.matchMedia("(max-width: 640px)").matches;
}
