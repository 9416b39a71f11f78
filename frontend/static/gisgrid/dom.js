/* Small DOM helpers every gisgrid page script shares. Data goes into pages as text only:
 * `el` sets textContent, `escapeHtml` is for the few places Leaflet wants an HTML string. */
(function () {
  "use strict";
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function byId(id) { return document.getElementById(id); }
  window.gisgridDom = { el: el, escapeHtml: escapeHtml, byId: byId };
})();
