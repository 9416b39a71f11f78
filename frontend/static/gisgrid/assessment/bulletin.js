/* /assessment/bulletins/{id}/: a bulletin drawn from its frozen snapshot (charts, rankings, the
 * members suggested for replacement); a row opens its entries from the same snapshot, so the page
 * shows what was issued even after later recomputes.
 */
import { api } from "../core/api.js";
import { byId, el } from "../core/format.js";
import { showMessage } from "../core/messages.js";
import { barChart, scoreCharts } from "./charts.js";
import { fillList, peopleTable, showEntries, unitsTable } from "./tables.js";

export function startBulletin({ config, T, busy, status, fail }) {
  function load() {
    showMessage(status, T.loading);
    return busy.track(api(config.bulletin.api)).then((b) => {
      const snap = b.snapshot;
      const drill = (kind, id, name) => {
        const key = kind === "person" ? "person_id" : "unit_id";
        showEntries(name, snap.entries.filter((e) => String(e[key]) === String(id)), T, config.casePage);
      };
      peopleTable(byId("people").tBodies[0], snap.people, T, drill);
      unitsTable(byId("units").tBodies[0], snap.units, drill);
      scoreCharts(snap.people, snap.units);
      barChart(byId("c-rules"), Object.entries(snap.by_rule || {}), (r) => r[0], (r) => r[1]);
      fillList(byId("replacements"), snap.replacements || [], (r) => (
        el("li", null, [r.name, r.unit, r.week_start, (r.grids || []).join("、")].join(" "))), T);
      showMessage(status, snap.label);
    }).catch(fail);
  }
  load();
  return load;
}
