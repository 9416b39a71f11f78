/* The case pages' translated strings: the data-* attributes of #cases-strings
 * (cases/_strings.html), rendered by Django in the page's language. */
import { strings } from "../core/i18n.js";

export const T = strings("cases-strings");

// ("act", "send_back") -> "actSendBack", the dataset name of data-act-send-back.
function key(prefix, name) {
  return prefix + String(name).replace(/(^|[_-])([a-z0-9])/g, (m, sep, c) => c.toUpperCase());
}

/** The string for `name` in a family ("act", "ev", "err"); `fallback` (else the name itself)
 * when the template has none, so a new action or event still shows something readable. */
export function str(prefix, name, fallback) {
  const v = T[key(prefix, name)];
  if (v !== undefined) return v;
  return fallback !== undefined ? fallback : name;
}

/** A value's label from one of the config's choice maps (states, clocks, ...), else the value. */
export function label(map, value) { return (map && map[value]) || value || ""; }
