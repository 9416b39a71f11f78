/* Formatting for every gisgrid page (ES module): numbers with units, times, HTML escaping.
 *
 * All follow the page language (<html lang>: "en" -> English, anything else -> Chinese), so a
 * page needs no strings of its own for units. Times are always county time (Asia/Shanghai),
 * whatever zone the browser is set to: a dispatcher's laptop set to UTC must show the same
 * clock as the wall of the command centre.
 */

export const TIME_ZONE = "Asia/Shanghai";

/** "en" or "zh": the page's language. */
export function pageLang() {
  return String(document.documentElement.lang || "").toLowerCase().startsWith("en") ? "en" : "zh";
}
function locale(lang) { return (lang || pageLang()) === "en" ? "en-US" : "zh-CN"; }

const UNITS = {
  zh: { ha: "公顷", s: "秒", min: "分钟", h: "小时", d: "天", ago: "{t}前", justNow: "刚刚", sep: "" },
  en: { ha: "ha", s: "s", min: "min", h: "h", d: "d", ago: "{t} ago", justNow: "just now", sep: " " },
};

function num(v, digits, lang) {
  return Number(v).toLocaleString(locale(lang), { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/**
 * An area in m², in the unit people use for its size:
 *   below 1 ha (10,000 m²)   m²               ("850 m²", "7.5 m²" below 10 m²)
 *   1 ha to 1 km²            公顷 / ha          ("23.46 公顷") - China's land registers, planning
 *                            documents and grid rosters state community and urban grid areas in
 *                            公顷; 23.46 ha reads better than 234,567 m² or 0.23 km²
 *   1 km² and more           km²              ("1.5 km²") - towns and the county
 * The unit is chosen by the magnitude, so a negative change (planner diffs) reads alike.
 */
export function formatArea(m2, lang) {
  const v = Number(m2);
  if (m2 === null || m2 === undefined || m2 === "" || !isFinite(v)) return "";
  const a = Math.abs(v);
  if (a >= 1e6) return num(v / 1e6, 2, lang) + " km²";
  if (a >= 1e4) return num(v / 1e4, 2, lang) + " " + UNITS[lang || pageLang()].ha;
  return num(v, a < 10 ? 1 : 0, lang) + " m²";
}

/** A distance in metres: "12.5 m" below 10 m, "850 m", "1.25 km". */
export function formatDistance(m, lang) {
  const v = Number(m);
  if (m === null || m === undefined || m === "" || !isFinite(v)) return "";
  const a = Math.abs(v);
  if (a >= 1000) return num(v / 1000, 2, lang) + " km";
  return num(v, a < 10 ? 1 : 0, lang) + " m";
}

/** A duration in seconds: "45 秒", "12 分钟", "2 小时 5 分钟" / "45 s", "12 min", "2 h 5 min". */
export function formatDuration(seconds, lang) {
  const u = UNITS[lang || pageLang()];
  const s = Math.round(Math.abs(Number(seconds) || 0));
  if (s >= 86400 * 2) return Math.floor(s / 86400) + " " + u.d + " " + Math.floor((s % 86400) / 3600) + " " + u.h;
  if (s >= 3600) return Math.floor(s / 3600) + " " + u.h + " " + Math.floor((s % 3600) / 60) + " " + u.min;
  if (s >= 60) return Math.floor(s / 60) + " " + u.min;
  return s + " " + u.s;
}

/** How long ago, from an age in seconds: "刚刚", "40 秒前", "3 分钟前", "5 小时前", "2 天前" (en: "3 min ago"). */
export function formatAge(seconds, lang) {
  const u = UNITS[lang || pageLang()];
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  let t;
  if (s < 5) return u.justNow;
  if (s < 60) t = s + " " + u.s;
  else if (s < 3600) t = Math.floor(s / 60) + " " + u.min;
  else if (s < 86400 * 2) t = Math.floor(s / 3600) + " " + u.h;
  else t = Math.floor(s / 86400) + " " + u.d;
  return u.ago.replace("{t}", t);
}

const PARTS_FORMAT = new Intl.DateTimeFormat("en-CA", {
  timeZone: TIME_ZONE, year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});

/** {year, month, day, hour, minute, second} (strings, zero-padded) of an instant, county time. */
export function countyParts(value) {
  const ms = typeof value === "number" ? value : value instanceof Date ? value.getTime() : Date.parse(value);
  if (!isFinite(ms)) return null;
  const out = {};
  PARTS_FORMAT.formatToParts(new Date(ms)).forEach((p) => { if (p.type !== "literal") out[p.type] = p.value; });
  return out;
}

/**
 * An instant (epoch ms, Date or ISO string) as county wall-clock time, the same in both
 * languages (ISO order is what Chinese offices write and is unambiguous in English):
 *   default "2026-12-01 14:05"; {seconds: true} "... 14:05:09"; {year: false} "12-01 14:05";
 *   {date: false} "14:05"; {time: false} "2026-12-01".
 */
export function formatTime(value, { seconds = false, year = true, date = true, time = true } = {}) {
  if (value === null || value === undefined || value === "") return "";
  const p = countyParts(value);
  if (!p) return String(value);
  const d = (year ? p.year + "-" : "") + p.month + "-" + p.day;
  const t = p.hour + ":" + p.minute + (seconds ? ":" + p.second : "");
  return [date ? d : "", time ? t : ""].filter(Boolean).join(" ");
}

/** A share 0..1 as a percentage: "85%", "0.4%" (one decimal below 1 %), "" for no number. */
export function formatPercent(share, lang) {
  const v = Number(share);
  if (share === null || share === undefined || share === "" || !isFinite(v)) return "";
  const p = v * 100;
  return num(p, p !== 0 && Math.abs(p) < 1 ? 1 : 0, lang) + "%";
}

/** Text made safe for the few places (Leaflet layer control, attribution) that want HTML. */
export function escapeHtml(s) {
  return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

/** A DOM element with a class and text (always textContent: data never becomes HTML). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function byId(id) { return document.getElementById(id); }
