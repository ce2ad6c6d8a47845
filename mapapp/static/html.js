/* Text from data made safe for HTML, shared by the map page and the side-by-side page. */

export function escapeHtml(value) {
  return String(value === null || value === undefined ? "" : value).replace(/[&<>"']/g, function (c) {
    return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
  });
}

export function safeUrl(url) {  // only web links: no javascript: or data: URLs from data
  return /^https?:\/\//i.test(url || "") ? url : "";
}
