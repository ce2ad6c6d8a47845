/* Manual class breaks as typed ("10,20,30,40"): checked in the page with the server's rules
 * (mapapp/present/viewstate.py parse_breaks), so a bad entry is marked before any request. */

export const MAX_BREAKS = 6;  // at most 7 classes
export const MAX_BREAK = 1e12;

export function parseBreaks(text) {  // [] (none), the increasing numbers, or null when invalid
  const parts = String(text || "").split(/[,; ]+/).filter(function (p) { return p.trim(); });
  const bounds = parts.map(Number);
  const ok = bounds.length <= MAX_BREAKS && bounds.every(function (b, i) {
    return isFinite(b) && Math.abs(b) <= MAX_BREAK && (i === 0 || b > bounds[i - 1]);
  });
  return ok ? bounds : null;
}
