/* Showing a failed request in a page's message area (ES module).
 * Changes since first written: showError no longer adds class "error" nor unhides the area (the
 * div.api-error it writes carries the style); showMessage removes the previous kind's class;
 * clearError added.
 *
 * An ApiError carries the server's code and the fields at fault (docs/errors.md); the lines
 * shown are the server's own words (already in the page's language): each field's reasons as
 * "field: reason", else `detail`; a network failure or a bare status gets the core strings
 * (web/_core_strings.html). The area gets data-error-code, so a page or test can see the code.
 */
import { coreStrings } from "./i18n.js";
import { el } from "./format.js";

function fallback(key) {
  const T = coreStrings();
  const en = String(document.documentElement.lang || "").startsWith("en");
  const builtIn = {
    requestFailed: en ? "Request failed" : "请求失败",
    network: en ? "Network error: the server did not answer" : "网络错误：服务器没有响应",
  };
  return T[key] || builtIn[key];
}

/** The lines to show for an error (ApiError or any Error). */
export function errorLines(err) {
  const body = (err && err.body) || {};
  const lines = [];
  function collect(prefix, v) {
    if (v === null || v === undefined) return;
    if (Array.isArray(v)) { v.forEach((x) => collect(prefix, x)); return; }
    if (typeof v === "object") { Object.keys(v).forEach((k) => collect(prefix ? prefix + "." + k : k, v[k])); return; }
    lines.push((prefix ? prefix + ": " : "") + String(v));
  }
  if (body.fields) collect("", body.fields);
  if (!lines.length && body.detail) lines.push(typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail));
  if (!lines.length && err && err.code === "network") lines.push(fallback("network"));
  if (!lines.length) lines.push(fallback("requestFailed") + (err && err.status ? " (" + err.status + ")" : ""));
  return lines;
}

/** One line for a status bar: the lines joined. */
export function errorText(err) { return errorLines(err).join("；"); }

/** Show `err` in `area` (replacing what was there): a div.api-error, one <p> per line. */
export function showError(area, err) {
  if (!area) return;
  area.textContent = "";
  const box = el("div", "api-error");
  errorLines(err).forEach((line) => box.appendChild(el("p", null, line)));
  area.appendChild(box);
  area.dataset.errorCode = (err && err.code) || "";
  if (err && err.field) area.dataset.errorField = err.field;
  else delete area.dataset.errorField;
}

/** Forget the error shown in `area` (its content is the caller's to replace). */
export function clearError(area) {
  if (!area) return;
  delete area.dataset.errorCode;
  delete area.dataset.errorField;
}

/** A plain message (kind: "", "error", "ok", ...) in a one-line status area. */
export function showMessage(area, text, kind) {
  if (!area) return;
  area.textContent = text || "";
  // The previous message's kind goes with it ("ok" must not stay on a later plain message).
  String(area.dataset.messageKind || "").split(" ").filter(Boolean).forEach((k) => area.classList.remove(k));
  area.classList.remove("error");
  String(kind || "").split(" ").filter(Boolean).forEach((k) => area.classList.add(k));
  area.dataset.messageKind = kind || "";
  if (kind !== "error") clearError(area);
}

export function clearMessage(area) { showMessage(area, "", ""); }
