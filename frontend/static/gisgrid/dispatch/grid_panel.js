/* A grid's panel: its chain, unit and staff (GET /api/v1/grids/<code>: phones only for roles
 * that may see them), its open cases (from the page's own case store, so it matches the map),
 * and this week's patrol coverage (GET /api/v1/patrols/coverage for the grid's level, kept for
 * five minutes per level: one answer covers every grid of the level).
 */
import { api } from "../core/api.js";
import { el, formatPercent } from "../core/format.js";
import { fmt } from "../core/i18n.js";
import { showError } from "../core/messages.js";

const COVERAGE_TTL_MS = 5 * 60000;

function weekStart() {
  // Monday 00:00 county time (UTC+8, no daylight saving), as an ISO instant.
  const now = new Date(Date.now() + 8 * 3600000);
  const day = (now.getUTCDay() + 6) % 7;
  const monday = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - day) - 8 * 3600000;
  return new Date(monday).toISOString();
}

export function createGridPanel({ root, config, T, busy, store }) {
  const coverage = {};
  let seq = 0;

  function coverageFor(level) {
    const c = coverage[level];
    if (c && Date.now() - c.at < COVERAGE_TTL_MS) return c.promise;
    const promise = api(config.api.coverage, { params: { start: weekStart(), end: new Date().toISOString(), level } })
      .then((answer) => {
        const by = {};
        (answer.grids || []).forEach((g) => { by[g.code] = g; });
        return by;
      });
    coverage[level] = { at: Date.now(), promise };
    promise.catch(() => { delete coverage[level]; });
    return promise;
  }

  function openCases(code) {
    let n = 0;
    store.cases.forEach((rec) => { if (rec.grids.indexOf(code) >= 0) n += 1; });
    return n;
  }

  function load(code) {
    const mine = ++seq;
    root.textContent = "";
    root.hidden = false;
    root.dataset.code = code;
    return busy.track(api(config.api.grid.replace("CODE", encodeURIComponent(code)))).then((g) => {
      if (mine !== seq) return null;
      root.appendChild(el("h2", null, g.name + " " + g.code));
      root.appendChild(el("p", "chain", (g.chain || []).map((x) => x.name).join(" › ")));
      const dl = el("dl", "case-fields");
      const add = (label, value) => { dl.appendChild(el("dt", null, label)); dl.appendChild(el("dd", null, value)); };
      add(T.gridUnit, g.unit ? g.unit.name : "");
      add(T.gridOpen, String(openCases(g.code)));
      const staff = el("dd");
      (g.staff || []).forEach((s) => {
        staff.appendChild(el("div", "staff", s.role_label + " " + s.name + (s.phone ? " " + s.phone : "")));
      });
      dl.appendChild(el("dt", null, T.gridStaff));
      dl.appendChild(staff);
      dl.appendChild(el("dt", null, T.gridCoverage));
      const cov = el("dd", "coverage", "…");
      dl.appendChild(cov);
      root.appendChild(dl);
      if (!config.supervisor) { cov.textContent = ""; return g; }
      coverageFor(g.level).then((by) => {
        if (mine !== seq) return;
        const row = by[g.code];
        cov.textContent = row && row.visited
          ? fmt(T.gridVisited, { share: formatPercent(row.share), people: (row.visitors || []).length })
          : T.gridUnvisited;
      }).catch((err) => { cov.textContent = ""; showError(cov, err); });
      return g;
    }).catch((err) => {
      if (mine === seq) showError(root, err);
      return null;
    });
  }

  return { load, clear() { seq++; root.hidden = true; root.textContent = ""; } };
}
