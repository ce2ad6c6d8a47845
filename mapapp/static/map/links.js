/* The page's links follow the view: the address bar, language switch, exports, planner pages. */
import { app, langQuery, queryString, viewQuery } from "./state.js";

function setHref(id, href) {
  const link = document.getElementById(id);
  if (link) link.setAttribute("href", href);
}

export function updateLinks() {
  const config = app.config, state = app.state;
  history.replaceState(null, "", "?" + queryString());
  document.getElementById("lang-switch").setAttribute("href", "?" + langQuery());
  ["png", "pdf", "svg"].forEach(function (format) {
    setHref("export-" + format, config.exportBase + "." + format + "?" + queryString());
  });
  setHref("export-docx", config.reportBase + "?" + queryString());
  const sheets = new URLSearchParams({ year: state.year });
  if (state.lang === "en") sheets.set("lang", "en");
  setHref("link-sheets", config.sheetsBase + "?" + sheets.toString());
  const view = viewQuery();
  setHref("ranking-full", config.rankingBase + "?" + view);
  setHref("link-ranking", config.rankingBase + "?" + view);
  setHref("download-csv", config.rankingBase + ".csv?" + view);
  setHref("download-xlsx", config.rankingBase + ".xlsx?" + view);
  setHref("download-json", config.rankingBase + ".json?" + view);
  // The side-by-side page: the compared year, or the first (or last but one) year, beside this one.
  const side = new URLSearchParams(view), years = config.years;
  const other = state.compare ? Number(state.compare) : (Number(state.year) === years[0] ? years[years.length - 2] : years[0]);
  side.delete("compare"); side.delete("min"); side.delete("max");
  side.set("year", Math.min(Number(state.year), other));
  side.set("year2", Math.max(Number(state.year), other));
  setHref("link-compare", config.compareBase + "?" + side.toString());
}
