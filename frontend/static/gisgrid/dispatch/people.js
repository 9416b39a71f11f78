/* Inspectors and grid members live: the last position of each (GET /api/v1/patrols/live), moved
 * by `position` events; the age of the last fix (updated every few seconds); the trail of the
 * last 30 minutes (GET /api/v1/patrols/track for those who moved lately, then extended by events
 * and trimmed to the window).
 */
import { api } from "../core/api.js";
import { escapeHtml, formatAge, formatTime } from "../core/format.js";

const AGE_REFRESH_MS = 10000;
const ROLE_CLASS = { inspector: "inspector", grid_member: "grid-member", grid_chief: "grid-chief" };

export function createPeopleLayer(map, { config, T, onSelect }) {
  const L = window.L;
  const markers = L.layerGroup();
  const trails = L.layerGroup();
  const people = new Map(); // username (or "id:N") -> {key, id, name, role, lon, lat, at (ms), marker, trail: [[lon, lat, ms]]}
  const usernameById = config.people || {};
  const windowMs = (config.trailMinutes || 30) * 60000;

  function tooltip(p) {
    return escapeHtml(p.name) + " · " + escapeHtml(formatAge((Date.now() - p.at) / 1000));
  }

  /** Move `p` to a fix unless it already shows a newer one: a phone's buffered batch, or a
   * second phone of the same person, can send older fixes after newer ones. */
  function moveTo(p, lon, lat, at, speed) {
    if (Number.isFinite(p.at) && Number.isFinite(at) && at < p.at) return false;
    Object.assign(p, { lon, lat, at, speed });
    return true;
  }

  /** The trail stays in time order whatever order the fixes arrive in; a fix seen twice once. */
  function addToTrail(p, v) {
    let i = p.trail.length;
    while (i > 0 && p.trail[i - 1][2] > v[2]) i -= 1;
    const same = p.trail[i - 1];
    if (same && same[2] === v[2] && same[0] === v[0] && same[1] === v[1]) return;
    p.trail.splice(i, 0, v);
  }

  function trim(p) {
    const from = Date.now() - windowMs;
    p.trail = p.trail.filter((v) => v[2] >= from);
  }

  function draw(p) {
    const ll = map.toMap(p.lon, p.lat);
    if (!p.marker) {
      p.marker = L.circleMarker(ll, { radius: 7, weight: 2, color: "#fff", fillOpacity: 1,
                                       className: "person person-" + (ROLE_CLASS[p.role] || "other") });
      p.marker.bindTooltip(tooltip(p), { direction: "top", offset: [0, -6] });
      p.marker.on("click", () => onSelect(p));
      markers.addLayer(p.marker);
    } else {
      p.marker.setLatLng(ll);
      p.marker.setTooltipContent(tooltip(p));
    }
    p.marker.getElement && p.marker.getElement() && (p.marker.getElement().dataset.person = p.key);
    trim(p);
    const lls = p.trail.map((v) => map.toMap(v[0], v[1]));
    if (!p.line) {
      p.line = L.polyline(lls, { weight: 3, opacity: 0.7, className: "trail" });
      trails.addLayer(p.line);
    } else {
      p.line.setLatLngs(lls);
    }
  }

  function loadTrail(p) {
    if (p.id === null) return Promise.resolve();
    const end = new Date();
    const start = new Date(end.getTime() - windowMs);
    return api(config.api.track, { params: { person: p.id, start: start.toISOString(), end: end.toISOString() } })
      .then((fc) => {
        const pts = [];
        (fc.features || []).forEach((f) => {
          const times = (f.properties && f.properties.times) || [];
          const coords = f.geometry && f.geometry.type === "LineString" ? f.geometry.coordinates
            : f.geometry && f.geometry.type === "Point" ? [f.geometry.coordinates] : [];
          coords.forEach((c, i) => pts.push([c[0], c[1], times[i] || 0]));
        });
        pts.sort((a, b) => a[2] - b[2]);
        // Keep fixes pushed meanwhile that the track answer did not have yet.
        const last = pts.length ? pts[pts.length - 1][2] : 0;
        p.trail = pts.concat(p.trail.filter((v) => v[2] > last));
        draw(p);
      }).catch(() => null);
  }

  function load() {
    return api(config.api.live).then((answer) => {
      const recent = [];
      (answer.people || []).forEach((row) => {
        const id = row.person.id;
        const key = usernameById[String(id)] || "id:" + id;
        let p = people.get(key);
        if (!p) {
          p = { key, id, trail: [] };
          people.set(key, p);
        }
        Object.assign(p, { id, name: row.person.name, role: row.person.role, grids: row.grids });
        // A snapshot asked for before a pushed fix can be answered after it: the newer point wins.
        moveTo(p, row.lon, row.lat, Date.parse(row.time), row.speed_mps);
        draw(p);
        if (Date.now() - p.at < windowMs) recent.push(p);
      });
      document.documentElement.dataset.peopleLoaded = String(people.size);
      return Promise.all(recent.map(loadTrail));
    });
  }

  /** A `position` event: {person (username), name, role, lon, lat, at, accuracy_m, speed_mps}. */
  function position(d) {
    let p = people.get(d.person);
    if (!p) {
      const id = Object.keys(usernameById).find((k) => usernameById[k] === d.person);
      p = { key: d.person, id: id === undefined ? null : Number(id), trail: [] };
      people.set(d.person, p);
    }
    const at = Date.parse(d.at);
    Object.assign(p, { name: d.name, role: d.role });
    moveTo(p, d.lon, d.lat, at, d.speed_mps);
    addToTrail(p, [d.lon, d.lat, at]);
    draw(p);
    const el = p.marker.getElement && p.marker.getElement();
    if (el) el.dataset.moved = String(at);
    document.documentElement.dataset.lastPosition = d.person + "@" + d.lon + "," + d.lat;
  }

  window.setInterval(() => {
    people.forEach((p) => { trim(p); draw(p); });
  }, AGE_REFRESH_MS);

  return {
    markers, trails, people, load, position,
    describe(p) {
      return { name: p.name, age: formatAge((Date.now() - p.at) / 1000), at: formatTime(p.at, { seconds: true }) };
    },
  };
}
