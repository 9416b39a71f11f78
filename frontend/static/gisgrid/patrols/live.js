/* The patrols page's live positions: everyone's last fix (within 24 h), refreshed every
 * cfg.liveRefreshS seconds while the box is ticked. */
import { api } from "../core/api.js";
import { byId as $, el, formatAge } from "../core/format.js";
import { fmt } from "../core/i18n.js";
import { errorText } from "../core/messages.js";
import { fmtTime } from "./time.js";

export function createLive(ctx) {
  const { cfg, T, map, busy, roleName } = ctx;
  const root = document.documentElement;
  const live = { layer: window.L.layerGroup().addTo(map), timer: null, inFlight: false, seq: 0 };

  function buildLivePopup(p) {
    const box = el("div", "grid-popup");
    box.appendChild(el("h3", "grid-popup-name", p.person.name));
    const dl = el("dl");
    function line(label, value) {
      dl.appendChild(el("dt", null, label));
      dl.appendChild(el("dd", null, value === null || value === undefined || value === "" ? T.none : value));
    }
    line(T.role, roleName(p.person.role));
    line(T.positionTime, fmtTime(p.time, true) + "（" + formatAge(p.age_s) + "）");
    line(T.inGrid, (p.grids || []).map((g) => g.name || g.code).join(" › "));
    if (p.battery !== null && p.battery !== undefined) line(T.battery, Math.round(p.battery) + "%");
    box.appendChild(dl);
    return box;
  }

  function loadLive() {
    if (!$("live-toggle").checked || live.inFlight) return Promise.resolve();
    live.inFlight = true;
    return busy.track(api(cfg.api.live)).then((data) => {
      live.layer.clearLayers();
      (data.people || []).forEach((p) => {
        const marker = window.L.circleMarker(map.toMap(p.lon, p.lat), {
          pane: "live", radius: 7, color: "#fff", weight: 2, fillColor: "#1565c0", fillOpacity: 1,
        });
        const label = el("span", "live-text");
        label.appendChild(el("span", "live-name", p.person.name));
        label.appendChild(el("span", "live-age", " · " + formatAge(p.age_s)));
        marker.bindTooltip(label, { permanent: true, direction: "right", offset: [8, 0], className: "live-label" });
        marker.bindPopup(() => buildLivePopup(p), { maxWidth: 300 });
        marker.personId = p.person.id;
        live.layer.addLayer(marker);
      });
      const info = $("live-info");
      info.className = "hint";
      info.textContent = fmt(T.liveCount, { n: data.count || 0 }) + T.liveSince + " · " +
        fmt(T.liveUpdated, { t: fmtTime(Date.now(), true) });
      root.dataset.live = String(++live.seq);
    }).catch((err) => {
      const info = $("live-info");
      info.className = "hint api-error";
      info.textContent = T.loadFailed + "：" + errorText(err);
      root.dataset.live = "error";
    }).then(() => { live.inFlight = false; });
  }

  function setLive(on) {
    if (live.timer) clearInterval(live.timer);
    live.timer = null;
    if (on) {
      map.addLayer(live.layer);
      loadLive();
      live.timer = setInterval(loadLive, (cfg.liveRefreshS || 30) * 1000);
    } else {
      map.removeLayer(live.layer);
      $("live-info").textContent = "";
    }
  }
  $("live-toggle").addEventListener("change", (ev) => setLive(ev.target.checked));

  return { live, loadLive, setLive };
}
