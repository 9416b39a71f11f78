/* A case's clock as the pages show it: the colour badge and a deadline with the time left or
 * overdue. Times are county time (core/format.js), spans as on the dispatcher's workbench. */
import { el, formatDuration, formatTime } from "../core/format.js";
import { fmt } from "../core/i18n.js";
import { config } from "./page.js";
import { T, label } from "./strings.js";

export function clockBadge(colour) {
  const s = el("span", "clock-badge clock-" + (colour || "none"), label(config.clocks, colour));
  s.dataset.clock = colour || "none";
  return s;
}

/** "2026-12-01 14:05（剩余 2 小时 5 分钟）" or "...（已超时 3 天 2 小时）"; "" without a deadline. */
export function dueText(iso) {
  if (!iso) return "";
  const left = Date.parse(iso) - Date.now();
  return formatTime(iso) + "（" + fmt(left >= 0 ? T.minutesLeft : T.overdueBy, { t: formatDuration(left / 1000) }) + "）";
}
