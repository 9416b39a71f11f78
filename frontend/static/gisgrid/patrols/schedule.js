/* The patrols page's schedule block: the inspectors' duty (every n days, m visits) and the
 * grids that missed it. A grid member, who sees only their own tracks, gets no schedule block
 * rather than a misleading "nothing met". */
import { api, apiUrl } from "../core/api.js";
import { byId as $ } from "../core/format.js";
import { fmt } from "../core/i18n.js";
import { errorText } from "../core/messages.js";

export function createSchedule(ctx, grids) {
  const { cfg, T, busy, roleName } = ctx;
  const root = document.documentElement;
  const SHOW = cfg.scope !== "self";
  if (!SHOW) {
    $("schedule-block").hidden = true;
    $("csv-schedule").hidden = true;
  }

  function scheduleUrl(period, format) { return apiUrl(cfg.api.schedule, Object.assign({}, period, { format })); }

  /** Load the schedule for `period` ({start, end}); `isCurrent()` says whether it still matters. */
  function load(period, isCurrent, seq) {
    $("csv-schedule").href = scheduleUrl(period, "csv");
    if (!SHOW) {
      root.dataset.schedule = "skipped";
      return Promise.resolve();
    }
    const summary = $("schedule-summary");
    summary.textContent = T.loading;
    summary.className = "schedule-summary";
    $("schedule-rule").textContent = "";
    $("schedule-unmet-box").hidden = true;
    root.dataset.schedule = "";
    return busy.track(api(cfg.api.schedule, { params: period })).then((s) => {
      if (!isCurrent()) return;
      const sum = s.summary || {};
      summary.textContent = fmt(T.scheduleSummary, { met: sum.met, unmet: sum.unmet, total: sum.grids });
      summary.dataset.met = String(sum.met);
      summary.dataset.unmet = String(sum.unmet);
      summary.classList.toggle("has-unmet", sum.unmet > 0);
      const rule = s.rule || {};
      const scope = rule.level === 3 && rule.urban_only ? T.urbanLevel3 : (T["levelName" + rule.level] || "");
      $("schedule-rule").textContent = [fmt(T.scheduleRule, { days: rule.every_days, n: rule.min_visits }),
        scope, rule.role ? roleName(rule.role) : ""].filter(Boolean).join(" · ");
      const unmet = (s.grids || []).filter((g) => !g.met);
      const list = $("schedule-unmet");
      list.textContent = "";
      unmet.forEach((g) => list.appendChild(grids.gridButton(g.code, g.name)));
      $("schedule-unmet-box").hidden = !unmet.length;
      root.dataset.schedule = String(seq);
    }).catch((err) => {
      if (!isCurrent()) return;
      summary.textContent = T.loadFailed + "：" + errorText(err);
      summary.className = "schedule-summary api-error";
      root.dataset.schedule = "error";
    });
  }

  return { load };
}
