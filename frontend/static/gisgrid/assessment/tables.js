/* The assessment's tables: people and unit rankings, and a score's entries opened down to their
 * evidence (case, work order, event). Built from elements with textContent only. A ranking row's
 * click hands (kind, id, name) back to the page, which knows whether the entries come from the
 * live API or from a bulletin's frozen snapshot.
 */
import { byId, el, formatTime } from "../core/format.js";

/** A score or points figure as booked: at most two decimals, no grouping ("91", "-2", "99.5"). */
export function points(v) {
  return v === null || v === undefined ? "" : String(Math.round(v * 100) / 100);
}

// Rates arrive as percentages with two decimals (93.33). core's formatPercent takes a share and
// rounds to whole percents, which would show a unit at 94.6 % as "95%" right beside a 95 %
// threshold it was docked points for missing; the decimals stay.
function rate(unit, code) {
  const r = (unit.rates || {})[code];
  return r && r.rate !== null && r.rate !== undefined ? points(r.rate) + "%" : "";
}

function words(...parts) {
  return parts.filter((p) => p !== null && p !== undefined && p !== "").join(" ");
}

function signed(v) {
  return el("td", v < 0 ? "neg" : v > 0 ? "pos" : "", points(v));
}

function fill(tbody, rows, build) {
  tbody.textContent = "";
  rows.forEach((row) => tbody.appendChild(build(row)));
}

function opener(tr, onOpen, kind, id, name) {
  tr.className = "clickable";
  tr.addEventListener("click", () => onOpen(kind, id, name));
}

export function peopleTable(tbody, rows, T, onOpen) {
  fill(tbody, rows, (p) => {
    const tr = el("tr");
    tr.dataset.person = String(p.person_id);
    tr.append(el("td", null, p.rank), el("td", null, p.name), el("td", null, p.role_label), el("td", null, p.unit),
              el("td", null, points(p.score)), signed(p.plus), signed(p.minus),
              el("td", null, p.no_excellent ? T.yes : ""));
    opener(tr, onOpen, "person", p.person_id, p.name);
    return tr;
  });
}

export function unitsTable(tbody, rows, onOpen) {
  fill(tbody, rows, (u) => {
    const tr = el("tr");
    tr.dataset.unit = String(u.unit_id);
    tr.append(el("td", null, u.rank), el("td", null, u.name), el("td", null, points(u.score)),
              signed(u.entry_points), signed(u.indicator_points),
              ...["closure_rate", "on_time_rate", "satisfaction_rate", "rework_rate"].map((c) => el("td", null, rate(u, c))));
    opener(tr, onOpen, "unit", u.unit_id, u.name);
    return tr;
  });
}

/** An entry's evidence into `td`, one line per source: the case (a link to its page), the work
 * order with its deadline and completion, the case event, the figures a rate was computed from. */
function evidence(td, e, T, casePage) {
  const lines = [];
  if (e.case) {
    const a = el("a", "ev-case", e.case);
    a.href = casePage.replace("NUMBER", encodeURIComponent(e.case));
    lines.push([T.case + " ", a, e.case_category ? " " + e.case_category : ""]);
  }
  if (e.work_order) {
    const w = e.work_order;
    lines.push([el("span", "ev-wo", words(T.workOrder, "#" + w.id, w.unit, T.due, formatTime(w.due),
                                         T.completed, w.completed_at ? formatTime(w.completed_at) : T.open))]);
  }
  if (e.event) {
    lines.push([el("span", "ev-event", words(T.event, e.event.action, formatTime(e.event.at), e.event.reason))]);
  }
  if (e.figure && Object.keys(e.figure).length) {
    lines.push([el("span", "ev-figure", words(T.figure, JSON.stringify(e.figure)))]);
  }
  lines.forEach((nodes, i) => {
    if (i) td.appendChild(el("br"));
    td.append(...nodes);
  });
}

/** The drill-down section (#drill): `title`'s entries, scrolled into view. */
export function showEntries(title, entries, T, casePage) {
  const drill = byId("drill");
  drill.hidden = false;
  byId("drill-title").textContent = T.entriesOf + title;
  fill(drill.querySelector("#entries tbody"), entries, (e) => {
    const tr = el("tr");
    tr.dataset.rule = e.rule;
    const td = el("td", "evidence");
    evidence(td, e, T, casePage);
    tr.append(el("td", null, e.day), el("td", null, e.rule_name + (e.correction ? " (" + T.correction + ")" : "")),
              signed(e.points), el("td", null, e.grid_code), td);
    return tr;
  });
  drill.scrollIntoView({ block: "start" });
}

/** A list (<ul>) of items, or one "none" item when there are none. */
export function fillList(ul, items, build, T) {
  ul.textContent = "";
  if (!items.length) ul.appendChild(el("li", null, T.none));
  items.forEach((item) => ul.appendChild(build(item)));
}
