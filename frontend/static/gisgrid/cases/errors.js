/* How the case pages show a refused request. The page's own words for the error's code
 * (data-err-* in cases/_strings.html: a stale case says it was reloaded, ...), else the
 * server's detail, followed by the reasons it gave per field. The area keeps the code in
 * data-code. What a page *does* about a refusal is decided by err.code, never by this text. */
import { ApiError } from "../core/api.js";
import { errorLines } from "../core/messages.js";
import { T, str } from "./strings.js";

/** The text for a failed request (an ApiError, or any Error a page hit on the way). */
export function errorMessage(err) {
  if (!(err instanceof ApiError)) return (err && err.message) || T.errOther;
  const head = str("err", err.code, "") || err.detail || T.errOther;
  const reasons = err.fields && Object.keys(err.fields).length ? errorLines(err) : [];
  return reasons.length ? head + " — " + reasons.join(" / ") : head;
}

/** `err` in the error line `area` (a hidden p.api-error until then); null hides it again. */
export function showError(area, err) {
  if (!area) return;
  if (!err) {
    area.hidden = true;
    area.textContent = "";
    delete area.dataset.code;
    return;
  }
  area.textContent = errorMessage(err);
  area.dataset.code = (err instanceof ApiError && err.code) || "other";
  area.hidden = false;
}
