/* The page's translated strings (ES module).
 *
 * Pages get their UI strings from Django's {% translate %} in the template, as data attributes
 * of a hidden element (<div id="gisgrid-strings" hidden data-load-failed="...">), and their
 * configuration as json_script. This module reads both; nothing is translated in JS itself.
 */

/** The dataset (camelCased data-* attributes) of the strings element `id`; {} when absent. */
export function strings(id = "gisgrid-strings") {
  const node = document.getElementById(id);
  return node ? Object.assign({}, node.dataset) : {};
}

/** The strings the core modules themselves show (web/_core_strings.html, included by base.html). */
export function coreStrings() { return strings("gisgrid-core-strings"); }

/** The page's json_script configuration `id`. */
export function pageConfig(id = "gisgrid-config") {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}

/** "{n} 个工作日" with n filled in; values are plain text, unknown names stay as they are. */
export function fmt(template, values = {}) {
  return String(template || "").replace(/\{(\w+)\}/g, (m, k) => (values[k] === undefined ? m : String(values[k])));
}

/** "en" or "zh-hans": the language the page was rendered in. */
export function language() { return document.documentElement.lang || "zh-hans"; }
