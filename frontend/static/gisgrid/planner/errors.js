/* How the planner reacts to a failed request: by the error's code (docs/errors.md), never by
 * its message, which is in the page's language and only ever shown. */
import { ApiError } from "../core/api.js";
import { errorText } from "../core/messages.js";

// Codes after which the page's copy of the edition is out of date: reload it.
export const RELOAD_CODES = {
  stale_version: true, // someone else changed the draft since it was loaded
  not_draft: true, // the edition was published or retired meanwhile
};

/** The line for the status bar: the page's own words for a stale draft, else the server's
 * detail followed by each field's reasons that say more than the detail. */
export function errorMessage(err, T) {
  if (!(err instanceof ApiError)) return err && err.message ? err.message : String(err);
  if (err.code === "stale_version") return T.stale;
  const body = err.body || {};
  const parts = [];
  const detail = body.detail;
  if (detail) parts.push(typeof detail === "string" ? detail : JSON.stringify(detail));
  if (body.fields) {
    Object.keys(body.fields).forEach((k) => {
      const v = body.fields[k];
      const reasons = (Array.isArray(v) ? v : [v]).map((r) => (typeof r === "string" ? r : JSON.stringify(r)))
        .filter((r) => r !== detail);
      if (reasons.length) parts.push(k + ": " + reasons.join(" "));
    });
  }
  return parts.length ? parts.join("；") : errorText(err);
}
