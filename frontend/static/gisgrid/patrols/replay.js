/* The patrols page's replay: one person's tracks in the period on the map, a slider and a play
 * button moving a marker along them, and their idle stretches.
 *
 * The track is kept as flat arrays over all its runs: t (ms), lat, lng (WGS-84), run index (a
 * new run starts after a pause longer than the session gap; the marker waits where the last
 * run ended). Drawing shifts them onto the basemap (map.toMap). */
import { api } from "../core/api.js";
import { byId as $, el, formatDuration } from "../core/format.js";
import { fmt } from "../core/i18n.js";
import { errorText } from "../core/messages.js";
import { geoJsonLayer } from "../core/mapbase.js";
import { fmtClock, fmtKm, fmtTime } from "./time.js";

const STYLES = {
  track: { color: "#6a1b9a", weight: 3, opacity: 0.45 },
  progress: { color: "#6a1b9a", weight: 5, opacity: 0.95 },
};
const TICK = 100;

export function createReplay(ctx) {
  const { cfg, T, map, busy, roleName } = ctx;
  const L = window.L;
  const root = document.documentElement;
  const replay = {
    person: null, seq: 0, t: [], lat: [], lng: [], run: [], runStarts: [],
    layer: null, progress: null, marker: null, idle: null, timer: null,
  };

  function stopPlay() {
    if (replay.timer) clearInterval(replay.timer);
    replay.timer = null;
    const b = $("replay-play");
    b.textContent = T.play;
    b.setAttribute("aria-pressed", "false");
  }
  function clearLayers() {
    stopPlay();
    ["layer", "progress", "marker", "idle"].forEach((k) => {
      if (replay[k]) map.removeLayer(replay[k]);
      replay[k] = null;
    });
    replay.t = []; replay.lat = []; replay.lng = []; replay.run = []; replay.runStarts = [];
  }
  function markPerson() {
    document.querySelectorAll("#people-body button.person-link").forEach((b) => {
      const on = !!replay.person && b.dataset.personId === String(replay.person.id);
      b.setAttribute("aria-pressed", on ? "true" : "false");
      b.closest("tr").classList.toggle("selected", on);
    });
  }
  function close() {
    replay.seq++;
    clearLayers();
    replay.person = null;
    $("replay").hidden = true;
    document.body.classList.remove("replaying");
    root.dataset.track = "";
    markPerson();
  }
  $("replay-close").addEventListener("click", close);

  /** Show `person`'s tracks in `period` ({start, end} as API parameters). */
  function start(person, period) {
    const seq = ++replay.seq;
    clearLayers();
    replay.person = person;
    markPerson();
    $("replay").hidden = false;
    document.body.classList.add("replaying");
    $("replay-name").textContent = person.name + (person.role ? "（" + roleName(person.role) + "）" : "");
    $("replay-error").hidden = true;
    $("replay-error").textContent = "";
    $("replay-info").textContent = T.loading;
    $("replay-time").textContent = "";
    $("replay-slider").disabled = true;
    $("replay-play").disabled = true;
    root.dataset.track = "";
    return busy.track(api(cfg.api.track, { params: Object.assign({ person: person.id }, period) })).then((fc) => {
      if (seq !== replay.seq) return;
      showTrack(fc, person);
      root.dataset.track = person.id + ":" + replay.t.length;
    }).catch((err) => {
      if (seq !== replay.seq) return;
      $("replay-info").textContent = "";
      const box = $("replay-error");
      // The API's own words (e.g. "时段不能超过 7 天"), with the page's hint in front: told by the
      // status and the field at fault, never by the text.
      box.textContent = (err.status === 400 && err.fields && err.fields.end
        ? fmt(T.trackTooLong, { n: cfg.trackMaxDays }) + "：" : "") + errorText(err);
      box.hidden = false;
      root.dataset.track = "error";
    });
  }

  function showTrack(fc, person) {
    const features = ((fc && fc.features) || []).slice().sort((a, b) =>
      (a.properties.times[0] || 0) - (b.properties.times[0] || 0));
    let fixes = 0, metres = 0;
    features.forEach((f, k) => {
      const g = f.geometry || {};
      const coords = g.type === "Point" ? [g.coordinates] : (g.coordinates || []);
      const times = f.properties.times || [];
      replay.runStarts.push(replay.t.length);
      for (let i = 0; i < coords.length && i < times.length; i++) {
        replay.t.push(times[i]);
        replay.lng.push(coords[i][0]);
        replay.lat.push(coords[i][1]);
        replay.run.push(k);
      }
      fixes += f.properties.fixes || coords.length;
      metres += f.properties.distance_m || 0;
    });
    replay.layer = geoJsonLayer(map, { type: "FeatureCollection", features }, {
      pane: "track", style: () => STYLES.track, interactive: false,
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { pane: "track", radius: 4, color: STYLES.track.color,
                                                             weight: 2, fillOpacity: 0.6 }),
    }).addTo(map);
    replay.progress = L.polyline([], Object.assign({ pane: "track", interactive: false }, STYLES.progress)).addTo(map);
    // Idle stretches of this person in the period (from the coverage answer).
    replay.idle = L.layerGroup((person.idle || []).map((s) => {
      const m = L.circleMarker(map.toMap(s.lon, s.lat), {
        pane: "idle", radius: 8, color: "#37474f", weight: 2, dashArray: "3 2", fillColor: "#b0bec5", fillOpacity: 0.7,
      });
      m.bindTooltip(el("span", null, T.idle + " " + formatDuration(s.duration_s) + " · " + fmtTime(s.start) + "–" +
        fmtClock(s.end)));
      return m;
    })).addTo(map);

    const n = replay.t.length;
    const slider = $("replay-slider");
    if (!n) {
      $("replay-info").textContent = T.noTrack;
      slider.min = "0"; slider.max = "0"; slider.value = "0";
      return;
    }
    $("replay-info").textContent = fmt(T.trackInfo, { n: features.length, fixes, km: fmtKm(metres) }) +
      " · " + fmtTime(replay.t[0]) + " – " + fmtTime(replay.t[n - 1]);
    replay.marker = L.marker(map.toMap(replay.lng[0], replay.lat[0]), {
      pane: "replay", interactive: false, keyboard: false,
      icon: L.divIcon({ className: "replay-pin", iconSize: [18, 18], iconAnchor: [9, 9] }),
    }).addTo(map);
    slider.min = String(replay.t[0]);
    slider.max = String(replay.t[n - 1]);
    slider.value = String(replay.t[0]);
    slider.disabled = n < 2;
    $("replay-play").disabled = n < 2;
    seek(replay.t[0]);
    const b = replay.layer.getBounds();
    if (b.isValid()) map.fitBounds(b, { padding: [60, 60], maxZoom: 17, animate: false });
  }

  // Position at time t (ms): interpolated between the fixes around it within one run; in a
  // pause between runs the marker waits where the earlier run ended.
  function positionAt(t) {
    const times = replay.t, n = times.length;
    if (!n) return null;
    if (t <= times[0]) return { i: 0, lat: replay.lat[0], lng: replay.lng[0], f: 0 };
    if (t >= times[n - 1]) return { i: n - 1, lat: replay.lat[n - 1], lng: replay.lng[n - 1], f: 0 };
    let lo = 0, hi = n - 1; // times[lo] <= t < times[hi]
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (times[mid] <= t) lo = mid; else hi = mid;
    }
    if (replay.run[hi] !== replay.run[lo] || times[hi] === times[lo]) {
      return { i: lo, lat: replay.lat[lo], lng: replay.lng[lo], f: 0 };
    }
    const f = (t - times[lo]) / (times[hi] - times[lo]);
    return { i: lo, f, lat: replay.lat[lo] + f * (replay.lat[hi] - replay.lat[lo]),
             lng: replay.lng[lo] + f * (replay.lng[hi] - replay.lng[lo]) };
  }

  function seek(t) {
    const p = positionAt(t);
    if (!p || !replay.marker) return;
    replay.marker.setLatLng(map.toMap(p.lng, p.lat));
    // The walked part: every run up to the current one, the current one up to the marker.
    const parts = [];
    let current = [];
    let run = -1;
    for (let k = 0; k <= p.i; k++) {
      if (replay.run[k] !== run) {
        current = [];
        parts.push(current);
        run = replay.run[k];
      }
      current.push(map.toMap(replay.lng[k], replay.lat[k]));
    }
    if (p.f > 0) current.push(map.toMap(p.lng, p.lat));
    replay.progress.setLatLngs(parts);
    $("replay-time").textContent = fmtTime(t, true);
    $("replay-time").dataset.t = String(t);
    root.dataset.replayT = String(t);
  }
  $("replay-slider").addEventListener("input", (ev) => seek(Number(ev.target.value)));

  function nextRunStart(t) {
    for (let k = 0; k < replay.runStarts.length; k++) {
      const s = replay.t[replay.runStarts[k]];
      if (s > t) return s;
    }
    return null;
  }
  $("replay-play").addEventListener("click", () => {
    if (replay.timer) { stopPlay(); return; }
    const slider = $("replay-slider");
    const max = Number(slider.max);
    if (Number(slider.value) >= max) slider.value = slider.min;
    const b = $("replay-play");
    b.textContent = T.pause;
    b.setAttribute("aria-pressed", "true");
    replay.timer = setInterval(() => {
      let t = Number(slider.value) + TICK * Number($("replay-speed").value);
      const p = positionAt(t);
      // Skip pauses between runs: jump to the start of the next run.
      if (p && p.i < replay.t.length - 1 && replay.run[p.i] !== replay.run[p.i + 1] && t > replay.t[p.i]) {
        const next = nextRunStart(replay.t[p.i]);
        if (next !== null) t = next;
      }
      if (t >= max) { t = max; stopPlay(); }
      slider.value = String(t);
      seek(t);
    }, TICK);
  });

  return { replay, start, close, seek };
}
