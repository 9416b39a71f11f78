/* County time for the patrols page's periods: Monday 00:00 in Heyang starts the week, whatever
 * the browser's zone. The offset comes from the server (cfg.utcOffsetMin, +08:00); display goes
 * through core/format.js's formatTime (Asia/Shanghai). */
import { formatTime } from "../core/format.js";

export const DAY_MS = 86400000;

function pad(n) { return (n < 10 ? "0" : "") + n; }

export function countyClock(offsetMin) {
  const OFFSET_MS = (offsetMin || 0) * 60000;
  /** A Date whose UTC fields read as the county's wall clock. */
  const wall = (ms) => new Date(ms + OFFSET_MS);
  const fromWall = (y, mo, d, h, mi, s) => Date.UTC(y, mo, d, h || 0, mi || 0, s || 0) - OFFSET_MS;
  function offsetText() {
    const m = Math.abs(offsetMin || 0);
    return ((offsetMin || 0) < 0 ? "-" : "+") + pad(Math.floor(m / 60)) + ":" + pad(m % 60);
  }
  /** An instant as the API's period parameter: county wall time with its offset. */
  function isoParam(ms) {
    const w = wall(ms);
    return w.getUTCFullYear() + "-" + pad(w.getUTCMonth() + 1) + "-" + pad(w.getUTCDate()) + "T" +
      pad(w.getUTCHours()) + ":" + pad(w.getUTCMinutes()) + ":" + pad(w.getUTCSeconds()) + offsetText();
  }
  const toInput = (ms) => isoParam(ms).slice(0, 16);
  function fromInput(text) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(String(text || ""));
    return m ? fromWall(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0)) : NaN;
  }
  /** [start, end] of a quick period: "today", "week" (this week so far), "last-week". */
  function presetPeriod(name) {
    let now = Date.now();
    now -= now % 1000;
    const w = wall(now);
    const y = w.getUTCFullYear(), mo = w.getUTCMonth(), d = w.getUTCDate();
    const weekday = (w.getUTCDay() + 6) % 7; // Monday 0
    const monday = fromWall(y, mo, d - weekday);
    if (name === "today") return [fromWall(y, mo, d), now];
    if (name === "last-week") return [monday - 7 * DAY_MS, monday];
    return [monday, now];
  }
  return { wall, fromWall, isoParam, toInput, fromInput, presetPeriod };
}

/** "11-25 15:05" (with seconds for the replay clock); input: epoch ms or an ISO string. */
export function fmtTime(value, seconds) { return formatTime(value, { year: false, seconds: !!seconds }); }
/** "15:05": the clock alone. */
export function fmtClock(value) { return formatTime(value, { date: false }); }
export function fmtKm(m) { return ((Number(m) || 0) / 1000).toFixed(2); }
