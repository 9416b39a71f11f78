/* /assessment/: a period's rankings for the centre and leaders (charts, people and units, a row
 * opened down to its entries, the bulletins, a recompute), or a grid member's or inspector's own
 * score, entries and this week's quota.
 */
import { api } from "../core/api.js";
import { byId, el, formatTime } from "../core/format.js";
import { fmt } from "../core/i18n.js";
import { showMessage } from "../core/messages.js";
import { scoreCharts } from "./charts.js";
import { fillList, peopleTable, points, showEntries, unitsTable } from "./tables.js";

// The period form's inputs by the field name the API gives a refusal (ApiError.field).
const FIELD_INPUTS = { kind: "p-kind", start: "p-start", end: "p-start" };

export function startRankings({ config, T, busy, status, fail }) {
  const form = byId("period");
  const kind = byId("p-kind");
  const start = byId("p-start");
  start.value = config.defaultStart;
  let shown = null; // the period of the rankings on screen: a drill-down opens its entries
  let loading = null;
  let drilling = null;

  // A newer request makes the one under way moot: it is aborted, and its "aborted" ignored.
  function renew(controller) {
    if (controller) controller.abort();
    return new AbortController();
  }

  function markInvalid(err) {
    Object.values(FIELD_INPUTS).forEach((id) => byId(id).removeAttribute("aria-invalid"));
    if (err && err.code === "invalid" && FIELD_INPUTS[err.field]) {
      const input = byId(FIELD_INPUTS[err.field]);
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  }

  function refused(err) {
    markInvalid(err);
    fail(err);
  }

  function drill(kindOfRow, id, name) {
    drilling = renew(drilling);
    const params = Object.assign({}, shown, { [kindOfRow]: id });
    return busy.track(api(config.api.entries, { params, signal: drilling.signal }))
      .then((body) => showEntries(name, body.entries, T, config.casePage))
      .catch(fail);
  }

  async function mine(body, signal) {
    const me = body.people[0];
    byId("my-score").textContent = me ? points(me.score) : "100";
    const entries = await busy.track(api(config.api.entries, {
      params: Object.assign({}, shown, { person: config.person.id }), signal }));
    showEntries(config.person.name, entries.entries, T, config.casePage);
    const quota = await busy.track(api(config.api.quota, { params: { week: formatTime(Date.now(), { time: false }) },
                                                            signal }));
    const week = quota.weeks[0];
    byId("my-quota").textContent = week ? fmt(T.found, { found: week.found, required: week.required }) : T.none;
  }

  /** Load the form's period; resolves with its label, or null when it failed or was superseded. */
  async function load() {
    loading = renew(loading);
    const signal = loading.signal;
    markInvalid(null);
    showMessage(status, T.loading);
    try {
      const body = await busy.track(api(config.api.scores, { params: { kind: kind.value, start: start.value }, signal }));
      shown = { kind: body.period.kind, start: body.period.start };
      if (config.leader) {
        // Only people the period touched: a ranking of 100s tells a leader nothing.
        const people = body.people.filter((p) => p.entries || p.no_excellent);
        peopleTable(byId("people").tBodies[0], people, T, drill);
        unitsTable(byId("units").tBodies[0], body.units, drill);
        scoreCharts(people, body.units);
      } else if (config.person) {
        await mine(body, signal);
      } else {
        byId("my-score").textContent = T.noPerson;
      }
      showMessage(status, body.period.label);
      // The period on screen, for people's scripts and the browser tests that wait for it.
      document.documentElement.dataset.period = shown.kind + ":" + shown.start;
      return body.period.label;
    } catch (err) {
      refused(err);
      return null;
    }
  }

  function bulletins() {
    return busy.track(api(config.api.bulletins)).then((list) => {
      fillList(byId("bulletins"), list, (b) => {
        const li = el("li");
        const a = el("a", null, b.title);
        a.href = config.bulletinPage.replace("ID", encodeURIComponent(b.id));
        li.append(a, " ", el("span", "muted", formatTime(b.issued_at)));
        return li;
      }, T);
    }).catch(fail);
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    load();
  });
  const recompute = byId("recompute");
  if (recompute) {
    recompute.addEventListener("click", () => {
      markInvalid(null);
      showMessage(status, T.loading);
      busy.track(api(config.api.recompute, { method: "POST", body: { kind: kind.value, start: start.value } }), recompute)
        .then(() => load().then((label) => {
          if (label) showMessage(status, T.recomputed + " · " + label, "ok");
        }), refused);
    });
  }

  load();
  if (config.leader) bulletins();
  return load;
}
