/* The map page's locate panel: which grid a point is in and who is responsible, by a click on
 * the map (locate mode) or typed coordinates in any of the four datums; the routing box under
 * it. The pin goes where the API says the point lies (WGS-84), shifted onto the basemap. */
import { api } from "../core/api.js";
import { el, formatDistance } from "../core/format.js";
import { clearError, showError } from "../core/messages.js";
import { createRoute } from "./route.js";

const CRS_LABELS = { wgs84: "WGS-84", cgcs2000: "CGCS2000", gcj02: "GCJ-02", bd09: "BD-09" };

function fmtCoord(v) { return Number(v).toFixed(6); }

export function createLocator(ctx, grids) {
  const { T, API, map, popups } = ctx;
  const locatePanel = document.getElementById("locate-panel");
  const locateBody = document.getElementById("locate-body");
  const locateToggle = document.getElementById("locate-toggle");
  let locateSeq = 0;
  let current = null; // the last located answer
  let marker = null;
  let locateMode = false;

  function section(title) {
    const box = el("div", "locate-section");
    if (title) box.appendChild(el("h3", null, title));
    return box;
  }
  function phoneLink(phone) {
    const a = el("a", "phone", phone);
    a.href = "tel:" + String(phone).replace(/[^0-9+]/g, "");
    return a;
  }
  function staffList(staff) {
    const ul = el("ul", "staff-list");
    (staff || []).forEach((s) => {
      const li = el("li", "staff");
      li.appendChild(el("span", "staff-role", s.role_label || s.role));
      li.appendChild(el("span", "staff-name", s.name));
      if (s.unit) li.appendChild(el("span", "staff-unit", s.unit));
      if (s.phone) li.appendChild(phoneLink(s.phone));
      ul.appendChild(li);
    });
    if (!ul.children.length) ul.appendChild(el("li", "none", T.none));
    return ul;
  }
  const route = createRoute(ctx, () => current, { section, staffList });

  function setMarker(lon, lat) {
    const ll = map.toMap(lon, lat);
    if (!marker) {
      marker = window.L.marker(ll, {
        icon: window.L.divIcon({ className: "locate-pin", html: "", iconSize: [18, 18], iconAnchor: [9, 9] }),
        keyboard: false, interactive: false,
      }).addTo(map);
    } else {
      marker.setLatLng(ll);
    }
  }

  function chainButton(g) {
    const li = el("li", "level-" + g.level);
    const btn = el("button", "chain-link");
    btn.type = "button";
    btn.dataset.code = g.code;
    btn.appendChild(el("span", "chain-level", popups.levelLabel(g.level)));
    btn.appendChild(el("span", "chain-name", g.name));
    btn.appendChild(el("span", "chain-code", g.code));
    btn.addEventListener("click", () => grids.zoomToCode(g.level, g.code));
    li.appendChild(btn);
    return li;
  }

  function renderLocate(a) {
    locateBody.textContent = "";
    clearError(locateBody);
    locatePanel.dataset.status = a.status || "";
    const statusText = { inside: T.statusInside, blind_spot: T.statusBlindSpot, outside: T.statusOutside }[a.status] ||
      a.status;
    const head = el("div", "locate-status");
    head.appendChild(el("span", "badge status-" + String(a.status).replace(/[^a-z_]/g, ""), statusText));
    const w = a.wgs84 || [];
    head.appendChild(el("span", "coords", "WGS-84 " + fmtCoord(w[0]) + ", " + fmtCoord(w[1])));
    locateBody.appendChild(head);
    if (a.input && a.input.crs && a.input.crs !== "wgs84") {
      locateBody.appendChild(el("p", "coords-input", T.inputPoint + " (" + (CRS_LABELS[a.input.crs] || a.input.crs) +
        "): " + fmtCoord(a.input.lon) + ", " + fmtCoord(a.input.lat)));
    }
    if (a.status === "blind_spot" && a.blind_spot_of) {
      locateBody.appendChild(el("p", "note blind-note",
        T.statusBlindSpot + ": " + T.blindSpotNote.replace("{name}", a.blind_spot_of.name)));
    }
    if (a.grids && a.grids.length) {
      const chainBox = section(T.gridChain);
      const ol = el("ol", "grid-chain");
      a.grids.forEach((g) => ol.appendChild(chainButton(g)));
      chainBox.appendChild(ol);
      locateBody.appendChild(chainBox);
    }
    if (a.near_boundary && a.candidates && a.candidates.length) {
      const dmin = Math.min(...a.candidates.map((c) => Number(c.distance_m)));
      const warn = el("div", "warning near-boundary");
      warn.appendChild(el("span", null, T.nearBoundary.replace("{d}", String(Math.round(dmin * 10) / 10)) + ": " +
        T.candidates + " "));
      a.candidates.forEach((c, i) => {
        if (i) warn.appendChild(document.createTextNode("、"));
        const btn = el("button", "link candidate", c.name + " (" + popups.levelLabel(c.level) + ", " +
          formatDistance(c.distance_m) + ")");
        btn.type = "button";
        btn.addEventListener("click", () => grids.zoomToCode(c.level, c.code));
        warn.appendChild(btn);
      });
      locateBody.appendChild(warn);
    }
    if (a.status === "outside") {
      if (a.nearest) {
        const nb = section(T.nearest);
        const btnN = el("button", "link nearest", a.nearest.name + " (" + a.nearest.code + ")");
        btnN.type = "button";
        btnN.addEventListener("click", () => grids.zoomToCode(1, a.nearest.code));
        nb.appendChild(btnN);
        nb.appendChild(el("span", "distance", " · " + T.distance + " " + formatDistance(a.nearest.distance_m)));
        locateBody.appendChild(nb);
      }
      if (a.swapped_inside) locateBody.appendChild(el("p", "warning swapped", T.swapped));
    } else {
      const ub = section(T.responsibleUnit);
      if (a.unit) {
        const u = el("p", "unit");
        u.appendChild(el("span", "unit-name", a.unit.name));
        if (a.unit.phone) u.appendChild(phoneLink(a.unit.phone));
        ub.appendChild(u);
      } else {
        ub.appendChild(el("p", "unit none", T.none));
      }
      locateBody.appendChild(ub);
      const sb = section(T.staff);
      sb.appendChild(staffList(a.staff));
      locateBody.appendChild(sb);
    }
    if (a.edition && a.edition.name) locateBody.appendChild(el("p", "edition", T.edition + ": " + a.edition.name));
  }

  /** Locate a point (lon, lat in `crs`); resolves with the API's answer (null on error). */
  function locate(q) {
    const seq = ++locateSeq;
    route.reset();
    locatePanel.hidden = false;
    locatePanel.dataset.state = "loading";
    locateBody.textContent = "";
    locateBody.appendChild(el("p", "loading", T.lookingUp));
    return api(API.locate, { params: { lon: q.lon, lat: q.lat, crs: q.crs || "wgs84" } }).then((a) => {
      if (seq !== locateSeq) return a;
      current = a;
      renderLocate(a);
      if (a.wgs84 && isFinite(a.wgs84[0]) && isFinite(a.wgs84[1])) setMarker(a.wgs84[0], a.wgs84[1]);
      if (q.zoom && a.wgs84) map.setView(map.toMap(a.wgs84[0], a.wgs84[1]), Math.max(map.getZoom(), 16), { animate: false });
      route.offer();
      locatePanel.dataset.state = "done";
      return a;
    }, (err) => {
      if (seq !== locateSeq) return null;
      current = null;
      locatePanel.dataset.status = "";
      showError(locateBody, err);
      locatePanel.dataset.state = "error";
      return null;
    });
  }

  function setLocateMode(on) {
    locateMode = !!on;
    locateToggle.setAttribute("aria-pressed", locateMode ? "true" : "false");
    locateToggle.classList.toggle("active", locateMode);
    map.getContainer().classList.toggle("locate-mode", locateMode);
    document.getElementById("locate-hint").textContent = locateMode ? T.locateModeOn : locateToggle.title;
    if (locateMode) map.closePopup();
  }
  locateToggle.addEventListener("click", () => setLocateMode(!locateMode));
  map.on("click", (e) => {
    if (!locateMode) return;
    const [lon, lat] = map.fromMap(e.latlng.wrap());
    locate({ lon: Number(lon.toFixed(7)), lat: Number(lat.toFixed(7)), crs: "wgs84" });
  });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && locateMode) setLocateMode(false); });

  document.getElementById("coord-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const lonIn = document.getElementById("coord-lon");
    const latIn = document.getElementById("coord-lat");
    let lon = lonIn.value.trim(), lat = latIn.value.trim();
    // A pasted pair "110.15037,35.23810" in the longitude box fills both.
    const pair = lon.split(/[\s,，]+/).filter(Boolean);
    if (pair.length === 2 && !lat) { [lon, lat] = pair; lonIn.value = lon; latIn.value = lat; }
    locate({ lon, lat, crs: document.getElementById("coord-crs").value, zoom: true });
  });

  document.getElementById("locate-close").addEventListener("click", () => {
    locatePanel.hidden = true;
    locateSeq++;
    route.cancel();
    current = null;
    if (marker) { map.removeLayer(marker); marker = null; }
  });

  return { locate, setLocateMode, routeCurrent: route.routeCurrent, current: () => current, marker: () => marker };
}
