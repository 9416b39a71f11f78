/* The patrols page's coverage panel: the counts, the unvisited grids, and the people table
 * (each row opens that person's replay). */
import { byId as $, el, formatDuration } from "../core/format.js";
import { fmtKm } from "./time.js";

export function createCoveragePanel(ctx, grids, onPerson) {
  const { T, map, state, roleName } = ctx;

  function clearCoverage() {
    if (state.layer) map.removeLayer(state.layer);
    state.layer = null;
    state.byCode = {};
    state.rows = {};
    state.coverage = null;
    ["count-visited", "count-unvisited", "count-total"].forEach((id) => {
      $(id).textContent = "—";
      $(id).dataset.count = "";
    });
    $("unvisited-list").textContent = "";
    $("unvisited-count").textContent = "";
    $("people-body").textContent = "";
  }

  function showCoverage(cov, fc, fit) {
    state.coverage = cov;
    const rows = {};
    (cov.grids || []).forEach((r) => { rows[r.code] = r; });
    state.rows = rows;
    grids.drawGrids(fc, rows, fit);

    const sum = cov.summary || {};
    [["count-visited", sum.visited], ["count-unvisited", sum.unvisited], ["count-total", sum.grids]].forEach(([id, n]) => {
      $(id).textContent = String(n === undefined ? "—" : n);
      $(id).dataset.count = String(n === undefined ? "" : n);
    });

    const list = $("unvisited-list");
    list.textContent = "";
    const unvisited = (cov.unvisited || []).slice().sort();
    unvisited.forEach((code) => list.appendChild(grids.gridButton(code, rows[code] ? rows[code].name : code)));
    if (!unvisited.length) list.appendChild(el("li", "empty", T.allVisited));
    $("unvisited-count").textContent = "(" + unvisited.length + ")";

    showPeople(cov.people || []);
  }

  function showPeople(people) {
    const body = $("people-body");
    body.textContent = "";
    const selected = ctx.selectedPerson();
    people.slice().sort((a, b) => (b.grids_visited - a.grids_visited) ||
      String(a.name).localeCompare(String(b.name), "zh")).forEach((p) => {
      const tr = el("tr");
      tr.dataset.personId = String(p.person_id);
      const nameCell = el("td", "person-name");
      const btn = el("button", "person-link", p.name);
      btn.type = "button";
      btn.dataset.personId = String(p.person_id);
      btn.setAttribute("aria-pressed", selected && selected.id === p.person_id ? "true" : "false");
      btn.addEventListener("click", () => onPerson(personOf(p)));
      nameCell.appendChild(btn);
      tr.appendChild(nameCell);
      const roleCell = el("td", "person-role", roleName(p.role));
      const own = p.own_grids || [];
      if (own.length) {
        // A grid member's duty is their own grid: walked n of the grids they serve.
        const walked = own.filter((g) => g.visited).length;
        const badge = el("span", "own-grids " + (walked === own.length ? "own-ok" : "own-miss"),
          T.ownGrids + " " + walked + "/" + own.length);
        badge.title = own.map((g) => (g.visited ? "✓ " : "✗ ") + g.name).join("\n");
        roleCell.appendChild(badge);
      }
      tr.appendChild(roleCell);
      tr.appendChild(el("td", "num person-grids", p.grids_visited));
      tr.appendChild(el("td", "num person-km", fmtKm(p.distance_m)));
      tr.appendChild(el("td", "num person-time", formatDuration(p.patrol_s)));
      tr.appendChild(el("td", "num person-idle", (p.idle || []).length));
      body.appendChild(tr);
    });
    if (!people.length) {
      const tr = el("tr", "empty");
      const td = el("td", null, T.noPeople);
      td.colSpan = 6;
      tr.appendChild(td);
      body.appendChild(tr);
    }
  }

  return { clearCoverage, showCoverage };
}

/** The replay's view of a person from a coverage row. */
export function personOf(p) { return { id: p.person_id, name: p.name, role: p.role, idle: p.idle || [] }; }
