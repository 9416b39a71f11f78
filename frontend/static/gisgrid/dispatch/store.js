/* The dispatcher's cases in the browser: one record per case, the snapshot from
 * /api/v1/cases/points and every `case` event on top, filtered as the page's filter form says.
 *
 * A record: {number, lon, lat, clock, state, category, severity, paused, supervised,
 * grids: [l1, l2, l3], lead_unit, units, stage_due (epoch s), reported_at (epoch s), version}.
 * Listeners get (number, record or null) for each change, and ("*") after a whole reload.
 */

const CLOSED = { archived: true, voided: true };
export const CLOCK_RANK = { red: 0, yellow: 1, green: 2, paused: 3, none: 4 };

/** The colour a case is drawn in: a paused case is "paused" whatever its clock. */
export function shownClock(rec) {
  return rec.paused ? "paused" : rec.clock || "none";
}

/** Records from the points endpoint's compact rows (columns named by `fields`). */
export function fromPoints(answer) {
  const idx = {};
  answer.fields.forEach((f, i) => { idx[f] = i; });
  return answer.rows.map((r) => ({
    number: r[idx.number], lon: r[idx.lon], lat: r[idx.lat], clock: r[idx.clock], state: r[idx.state],
    category: r[idx.category], severity: r[idx.severity], paused: r[idx.paused], supervised: r[idx.supervised],
    grids: [r[idx.level1] || null, r[idx.level2] || null, r[idx.level3] || null], lead_unit: r[idx.lead_unit],
    units: null, stage_due: r[idx.stage_due], reported_at: r[idx.reported_at], version: r[idx.version],
  }));
}

function epoch(iso) {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return isFinite(ms) ? Math.round(ms / 1000) : null;
}

/** A record from a `case` event's data (docs/push-contract). */
export function fromEvent(d) {
  return {
    number: d.number, lon: d.lon, lat: d.lat, clock: d.clock, state: d.state, category: d.category,
    severity: d.severity, paused: !!d.paused, supervised: !!d.supervised,
    grids: (d.grid_codes || [null, null, null]).map((c) => c || null), lead_unit: d.lead_unit,
    units: d.units || [], stage_due: epoch(d.stage_due), reported_at: epoch(d.reported_at), version: d.version,
  };
}

/** A record from the case API's detail answer (after an action on the page). */
export function fromDetail(c, unitIdByCode) {
  const g = (c.routing && c.routing.grids) || {};
  const lead = c.lead_unit && unitIdByCode ? unitIdByCode[c.lead_unit.code] : null;
  return {
    number: c.number, lon: c.wgs84[0], lat: c.wgs84[1], clock: c.clock, state: c.state, category: c.category.code,
    severity: c.severity, paused: !!c.paused, supervised: !!c.supervised,
    grids: [g.level1 || null, g.level2 || null, g.level3 || null], lead_unit: lead === undefined ? null : lead,
    units: null, stage_due: epoch(c.stage_due), reported_at: epoch(c.reported_at), version: c.version,
  };
}

/**
 * Does `rec` pass `filter` ({state, clock, category, unit (id), grid})? The same meaning as the
 * case list's filters on the server (gisgrid/cases/filters.py), for events arriving after the
 * snapshot: the snapshot itself is filtered by the server.
 */
export function matches(rec, filter) {
  if (CLOSED[rec.state]) return false;
  if (filter.state && rec.state !== filter.state) return false;
  if (filter.clock && shownClock(rec) !== filter.clock) return false;
  if (filter.category && String(rec.category || "").indexOf(filter.category) !== 0) return false;
  if (filter.grid && rec.grids.indexOf(filter.grid) < 0) return false;
  if (filter.unit) {
    const id = Number(filter.unit);
    if (rec.lead_unit !== id && !(rec.units && rec.units.indexOf(id) >= 0)) return false;
  }
  return true;
}

/** The centre's queue order: red, yellow, green, paused; then by the stage's deadline, then age. */
export function queueOrder(a, b) {
  const ra = CLOCK_RANK[shownClock(a)], rb = CLOCK_RANK[shownClock(b)];
  if (ra !== rb) return ra - rb;
  const da = a.stage_due === null ? Infinity : a.stage_due, db = b.stage_due === null ? Infinity : b.stage_due;
  if (da !== db) return da - db;
  if (a.reported_at !== b.reported_at) return a.reported_at - b.reported_at;
  return a.number < b.number ? -1 : a.number > b.number ? 1 : 0;
}

export function createStore() {
  const cases = new Map();
  const listeners = [];
  let filter = {};

  function emit(number, rec) {
    listeners.forEach((fn) => fn(number, rec));
  }

  return {
    cases,
    get filter() { return filter; },
    onChange(fn) { listeners.push(fn); },
    /** Replace everything with a snapshot (already filtered by the server with `f`). */
    load(records, f) {
      filter = f || {};
      cases.clear();
      records.forEach((r) => cases.set(r.number, r));
      emit("*", null);
    },
    /** Apply one change; an older version than the one held is ignored (a replay). */
    apply(rec) {
      const old = cases.get(rec.number);
      if (old && rec.version !== null && old.version !== null && rec.version < old.version) return false;
      if (old && rec.units === null) rec.units = old.units;
      if (!matches(rec, filter)) {
        if (!old) return false;
        cases.delete(rec.number);
        emit(rec.number, null);
        return true;
      }
      cases.set(rec.number, rec);
      emit(rec.number, rec);
      return true;
    },
    get(number) { return cases.get(number) || null; },
    /** Records sorted as the centre's queue (queueOrder). */
    sorted() {
      return Array.from(cases.values()).sort(queueOrder);
    },
  };
}
