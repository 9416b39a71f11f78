/* The one API client of gisgrid's pages (ES module).
 *
 *   import { api, apiUrl, ApiError } from "../core/api.js";
 *   const grids = await api("/api/grids", { params: { level: 2 } });
 *   await api(url, { method: "POST", body: { name } });        // JSON body, CSRF header
 *   await api(url, { method: "POST", form: formData });        // multipart
 *   const blob = await api(url, { as: "blob" });                // or as: "text"
 *
 * Every failure is an ApiError: the server's JSON error (docs/errors.md: `error`, `detail`,
 * `fields`, extra keys) with `code` = `error`, `field` = the first field at fault; a network
 * failure has code "network" and status 0; an aborted request code "aborted". Pages decide by
 * `code` (and `status`), never by the message, which is in the page's language and only shown.
 */

export class ApiError extends Error {
  constructor(status, body, message) {
    const b = body && typeof body === "object" ? body : {};
    const code = typeof b.error === "string" ? b.error : status ? "http_" + status : "network";
    const fields = b.fields && typeof b.fields === "object" ? b.fields : null;
    const field = fields ? Object.keys(fields)[0] || null : null;
    const detail = typeof b.detail === "string" ? b.detail : b.detail ? JSON.stringify(b.detail) : "";
    super(message || detail || code);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.field = field;
    this.fields = fields;
    this.detail = detail;
    this.body = b;
  }
}

/** The CSRF token Django set (cookie `csrftoken`), or a form's hidden input as a fallback. */
export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (m) return decodeURIComponent(m[1]);
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

/** `path` with `params` as its query string (undefined/null/"" values left out; arrays repeat). */
export function apiUrl(path, params) {
  const parts = [];
  Object.keys(params || {}).forEach((k) => {
    const v = params[k];
    (Array.isArray(v) ? v : [v]).forEach((x) => {
      if (x === undefined || x === null || x === "") return;
      parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(x));
    });
  });
  if (!parts.length) return String(path);
  return String(path) + (String(path).indexOf("?") >= 0 ? "&" : "?") + parts.join("&");
}

const SAFE = { GET: true, HEAD: true, OPTIONS: true };

/**
 * fetch with the session cookie, CSRF on unsafe methods and one error type.
 * Options: method, params, body (JSON), form (FormData), signal, headers, as ("json" | "blob" | "text").
 * Resolves with the parsed JSON (null for an empty answer), or a Blob / string when asked.
 */
export async function api(path, { method = "GET", params, body, form, signal, headers, as = "json" } = {}) {
  method = String(method).toUpperCase();
  const opts = { method, credentials: "same-origin", signal, headers: { Accept: "application/json" } };
  if (!SAFE[method]) opts.headers["X-CSRFToken"] = csrfToken();
  if (form !== undefined) {
    opts.body = form; // the browser sets the multipart boundary
  } else if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  Object.assign(opts.headers, headers || {});
  let r;
  try {
    r = await fetch(apiUrl(path, params), opts);
  } catch (e) {
    if (e && e.name === "AbortError") throw new ApiError(0, { error: "aborted" }, "aborted");
    throw new ApiError(0, { error: "network" }, String((e && e.message) || e));
  }
  if (r.ok && as === "blob") return r.blob();
  const text = await r.text();
  if (r.ok && as === "text") return text;
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      // A proxy's HTML error page, or a non-JSON answer: keep its start as the detail.
      if (r.ok) throw new ApiError(r.status, { error: "bad_answer", detail: text.slice(0, 200) });
      data = { detail: text.slice(0, 200) };
    }
  }
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}
