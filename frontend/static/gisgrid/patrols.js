/* gisgrid patrol coverage (巡查覆盖): who patrolled which grid in a period, which grids nobody
 * visited, where everyone is now, and the replay of one person's track.
 *
 * Plain ES2017, no build step, no CDN. Configuration from json_script "patrols-config", UI
 * strings from data attributes on #patrols-strings (translated by Django). Data (names, codes,
 * messages) only ever enters the page through textContent / DOM nodes, never as HTML; Leaflet
 * tooltips and popups get DOM elements.
 *
 * Times: periods are county time (cfg.utcOffsetMin, +08:00) whatever the browser's zone; they
 * are sent to the API with the offset written out. The APIs answer in county time too.
 */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("patrols-config").textContent);
  var T = document.getElementById("patrols-strings").dataset;
  var root = document.documentElement;
  var OFFSET_MS = (cfg.utcOffsetMin || 0) * 60000;
  var DAY_MS = 86400000;
  var SHARE_GOOD = cfg.shareGood || 0.8;
  // Coverage classes, worst to best: nobody came (red), then an amber scale, then green.
  var COLORS = {
    none: { fill: "#d32f2f", line: "#8e1b1b" },
    low: { fill: "#ef6c00", line: "#a84300" },
    mid: { fill: "#ffa000", line: "#a86a00" },
    high: { fill: "#ffd54f", line: "#a68a1f" },
    good: { fill: "#43a047", line: "#1b5e20" },
  };
  var STYLES = {
    county: { color: "#7a1f1f", weight: 3, dashArray: "8 4", fill: false, interactive: false },
    track: { color: "#6a1b9a", weight: 3, opacity: 0.45 },
    progress: { color: "#6a1b9a", weight: 5, opacity: 0.95 },
  };
  var HIGHLIGHT = { color: "#e6007e", weight: 4, opacity: 1 };

  // ---- small helpers ---------------------------------------------------------------------
  var $ = gisgridDom.byId;
  var el = gisgridDom.el;
  var escapeHtml = gisgridDom.escapeHtml;
  // "{n} 人" with n filled in; the template is a translated string, values are plain text.
  function fmt(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (m, k) {
      return values[k] === undefined ? m : String(values[k]);
    });
  }
  function setStatus(text, kind) {
    var s = $("status");
    s.textContent = text || "";
    s.className = "status" + (kind ? " " + kind : "");
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // ---- county time -------------------------------------------------------------------------
  // A Date whose UTC fields read as the county's wall clock.
  function wall(ms) { return new Date(ms + OFFSET_MS); }
  function fromWall(y, mo, d, h, mi, s) { return Date.UTC(y, mo, d, h || 0, mi || 0, s || 0) - OFFSET_MS; }
  function offsetText() {
    var m = Math.abs(cfg.utcOffsetMin || 0);
    return ((cfg.utcOffsetMin || 0) < 0 ? "-" : "+") + pad(Math.floor(m / 60)) + ":" + pad(m % 60);
  }
  function isoParam(ms) {
    var w = wall(ms);
    return w.getUTCFullYear() + "-" + pad(w.getUTCMonth() + 1) + "-" + pad(w.getUTCDate()) + "T" +
      pad(w.getUTCHours()) + ":" + pad(w.getUTCMinutes()) + ":" + pad(w.getUTCSeconds()) + offsetText();
  }
  function toInput(ms) { return isoParam(ms).slice(0, 16); }
  function fromInput(text) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(String(text || ""));
    return m ? fromWall(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0)) : NaN;
  }
  // "11-25 15:05" (with seconds for the replay clock); input: epoch ms or an ISO string.
  function fmtTime(value, seconds) {
    if (value === null || value === undefined || value === "") return "";
    var ms = typeof value === "number" ? value : Date.parse(value);
    if (!isFinite(ms)) return String(value);
    var w = wall(ms);
    return pad(w.getUTCMonth() + 1) + "-" + pad(w.getUTCDate()) + " " + pad(w.getUTCHours()) + ":" +
      pad(w.getUTCMinutes()) + (seconds ? ":" + pad(w.getUTCSeconds()) : "");
  }
  function fmtDuration(sec) {
    var s = Math.round(Number(sec) || 0);
    if (s >= 3600) return Math.floor(s / 3600) + " " + T.unitH + " " + Math.floor((s % 3600) / 60) + " " + T.unitMin;
    if (s >= 60) return Math.floor(s / 60) + " " + T.unitMin;
    return s + " " + T.unitS;
  }
  function fmtDistance(m) {
    var v = Number(m) || 0;
    return v >= 1000 ? (v / 1000).toFixed(2) + " km" : Math.round(v) + " m";
  }
  function fmtKm(m) { return ((Number(m) || 0) / 1000).toFixed(2); }
  function fmtShare(share) {
    var p = (Number(share) || 0) * 100;
    return (p > 0 && p < 1 ? p.toFixed(1) : Math.round(p)) + "%";
  }
  function roleName(role) {
    var key = "role" + String(role || "").split("_").map(function (p) {
      return p.charAt(0).toUpperCase() + p.slice(1);
    }).join("");
    return T[key] || role || "";
  }

  // ---- API -----------------------------------------------------------------------------------
  var busy = 0;
  function setBusy(delta) {
    busy += delta;
    root.dataset.busy = String(busy);
    document.body.classList.toggle("busy", busy > 0);
  }
  function ApiError(status, body) {
    this.status = status;
    this.body = body || {};
    this.message = describeError(status, this.body);
  }
  // {error, detail, fields} as one readable line: the detail, then each field's reasons.
  function describeError(status, body) {
    var parts = [];
    if (body.detail) parts.push(typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail));
    if (body.fields) {
      Object.keys(body.fields).forEach(function (k) {
        var v = body.fields[k];
        parts.push(k + ": " + (Array.isArray(v) ? v.join(" ") : typeof v === "string" ? v : JSON.stringify(v)));
      });
    }
    return parts.length ? parts.join("；") : "HTTP " + status;
  }
  function getJSON(url) {
    setBusy(1);
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text.slice(0, 200) }; }
        if (!r.ok) throw new ApiError(r.status, data);
        return data;
      });
    }).then(function (data) { setBusy(-1); return data; }, function (err) {
      setBusy(-1);
      if (!(err instanceof ApiError)) err = new ApiError(0, { detail: String((err && err.message) || err) });
      throw err;
    });
  }

  // ---- map -------------------------------------------------------------------------------
  var map = L.map("map", { center: cfg.center, zoom: cfg.zoom, zoomControl: false, minZoom: 6, maxZoom: 19 });
  L.control.zoom({ position: "bottomright" }).addTo(map);
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  if (cfg.basemap && cfg.basemap.url) {
    L.tileLayer(cfg.basemap.url, { attribution: escapeHtml(cfg.basemap.attribution || ""), maxZoom: 19 }).addTo(map);
  } else {
    map.getContainer().classList.add("no-basemap");
  }
  [["county", 402], ["grids", 420], ["track", 450], ["idle", 455], ["live", 620], ["replay", 640]].forEach(function (p) {
    map.createPane(p[0]).style.zIndex = String(p[1]);
  });
  var countyLayer = L.geoJSON(null, { pane: "county", style: STYLES.county, interactive: false }).addTo(map);

  // ---- state -----------------------------------------------------------------------------
  var state = {
    start: 0, end: 0, preset: "week", scope: "3u",
    coverage: null, rows: {}, byCode: {}, layer: null, fittedScope: null, highlighted: null,
  };
  var geometry = {}; // level -> Promise of the level's FeatureCollection (fetched once)
  var loadSeq = 0;

  function scopeParams(scope) {
    if (scope === "2") return { level: 2, urban: false };
    return { level: 3, urban: scope === "3u" };
  }

  // ---- period ----------------------------------------------------------------------------
  function presetPeriod(name) {
    var now = Date.now();
    now -= now % 1000;
    var w = wall(now);
    var y = w.getUTCFullYear(), mo = w.getUTCMonth(), d = w.getUTCDate();
    var weekday = (w.getUTCDay() + 6) % 7; // Monday 0
    var monday = fromWall(y, mo, d - weekday);
    if (name === "today") return [fromWall(y, mo, d), now];
    if (name === "last-week") return [monday - 7 * DAY_MS, monday];
    return [monday, now];
  }
  function showPeriod() {
    $("period-start").value = toInput(state.start);
    $("period-end").value = toInput(state.end);
    document.querySelectorAll(".quick-periods button").forEach(function (b) {
      b.setAttribute("aria-pressed", b.dataset.period === state.preset ? "true" : "false");
      b.classList.toggle("active", b.dataset.period === state.preset);
    });
  }
  function usePreset(name) {
    var p = presetPeriod(name);
    state.preset = name;
    state.start = p[0];
    state.end = p[1];
    showPeriod();
    return loadCoverage();
  }
  document.querySelectorAll(".quick-periods button").forEach(function (b) {
    b.addEventListener("click", function () { usePreset(b.dataset.period); });
  });
  $("period-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var startText = $("period-start").value, endText = $("period-end").value;
    if (!startText || !endText) { setStatus(T.badPeriod, "error"); return; }
    // An input left as shown keeps the exact moment it stands for (the "now" of 本周 has seconds).
    var start = startText === toInput(state.start) ? state.start : fromInput(startText);
    var end = endText === toInput(state.end) ? state.end : fromInput(endText);
    if (!isFinite(start) || !isFinite(end)) { setStatus(T.badPeriod, "error"); return; }
    state.start = start;
    state.end = end;
    state.preset = null;
    showPeriod();
    loadCoverage();
  });
  document.querySelectorAll("#grid-scope input").forEach(function (input) {
    input.addEventListener("change", function () {
      if (!input.checked) return;
      state.scope = input.value;
      loadCoverage();
    });
  });
  function periodQuery() {
    return "start=" + encodeURIComponent(isoParam(state.start)) + "&end=" + encodeURIComponent(isoParam(state.end));
  }
  function coverageUrl(format) {
    var s = scopeParams(state.scope);
    return cfg.api.coverage + "?" + periodQuery() + "&level=" + s.level + (s.urban ? "&urban=1" : "") +
      (format ? "&format=" + format : "");
  }
  function scheduleUrl(format) {
    return cfg.api.schedule + "?" + periodQuery() + (format ? "&format=" + format : "");
  }

  // ---- grids -------------------------------------------------------------------------------
  function loadGeometry(level) {
    if (!geometry[level]) {
      var simplify = (cfg.simplify && cfg.simplify[level]) || 0;
      geometry[level] = getJSON(cfg.api.grids + "?level=" + level + "&simplify=" + encodeURIComponent(simplify));
      geometry[level].catch(function () { delete geometry[level]; });
    }
    return geometry[level];
  }
  function coverageClass(row) {
    if (!row || !row.visited) return "none";
    var s = Number(row.share) || 0;
    if (s >= SHARE_GOOD) return "good";
    if (s >= 0.5) return "high";
    if (s >= 0.2) return "mid";
    return "low";
  }
  function colorFor(row) { return COLORS[coverageClass(row)].fill; }
  function gridStyle(row) {
    var c = COLORS[coverageClass(row)];
    return { color: c.line, weight: 1, opacity: 0.9, fillColor: c.fill, fillOpacity: 0.55 };
  }

  function buildGridTooltip(row) {
    var box = el("span", "grid-tip");
    box.appendChild(el("strong", null, row.name));
    box.appendChild(document.createTextNode(" · " + (row.visited ? fmtShare(row.share) : T.unvisited)));
    return box;
  }
  function buildGridPopup(row) {
    var box = el("div", "grid-popup");
    box.appendChild(el("h3", "grid-popup-name", row.name));
    var dl = el("dl");
    function line(label, value) {
      dl.appendChild(el("dt", null, label));
      dl.appendChild(el("dd", null, value === null || value === undefined || value === "" ? T.none : value));
    }
    line(T.code, row.code);
    line(T.status, row.visited ? T.visited : T.unvisited);
    line(T.share, fmtShare(row.share));
    line(T.time, fmtDuration(row.time_s));
    line(T.distance, fmtDistance(row.distance_m));
    line(T.visitors, (row.visitors || []).map(function (v) { return v.name; }).join("、"));
    line(T.firstSeen, fmtTime(row.first_seen));
    line(T.lastSeen, fmtTime(row.last_seen));
    box.appendChild(dl);
    return box;
  }

  function drawGrids(fc, rows, fit) {
    if (state.layer) map.removeLayer(state.layer);
    state.byCode = {};
    state.highlighted = null;
    state.layer = L.geoJSON(null, {
      pane: "grids",
      filter: function (f) { return !!rows[f.properties.code]; },
      style: function (f) { return gridStyle(rows[f.properties.code]); },
      onEachFeature: function (feature, layer) {
        var row = rows[feature.properties.code];
        state.byCode[row.code] = layer;
        layer.bindTooltip(function () { return buildGridTooltip(row); }, { sticky: true, className: "grid-tip-box" });
        layer.bindPopup(function () { return buildGridPopup(row); }, { maxWidth: 340 });
        layer.on("mouseover", function () { layer.setStyle({ weight: 2.5 }); });
        layer.on("mouseout", function () { if (state.highlighted !== layer) layer.setStyle(gridStyle(row)); });
      },
    });
    state.layer.addData(fc);
    state.layer.addTo(map);
    // For tests and the stylesheet: each path says which grid it is and how it is covered.
    Object.keys(state.byCode).forEach(function (code) {
      var path = state.byCode[code].getElement && state.byCode[code].getElement();
      if (path) {
        path.setAttribute("data-code", code);
        path.setAttribute("data-coverage", coverageClass(rows[code]));
      }
    });
    if (fit) {
      var b = state.layer.getBounds();
      if (b.isValid()) map.fitBounds(b, { padding: [20, 20], animate: false });
    }
  }

  function zoomToGrid(code) {
    var layer = state.byCode[code];
    if (!layer) return;
    if (state.highlighted && state.highlighted !== layer) {
      state.highlighted.setStyle(gridStyle(state.rows[state.highlighted.feature.properties.code]));
    }
    layer.setStyle(HIGHLIGHT);
    layer.bringToFront();
    state.highlighted = layer;
    map.fitBounds(layer.getBounds(), { padding: [40, 40], maxZoom: 17, animate: false });
    layer.openPopup(layer.getBounds().getCenter());
  }

  function gridButton(code, name) {
    var li = el("li");
    var btn = el("button", "grid-link");
    btn.type = "button";
    btn.dataset.code = code;
    btn.appendChild(el("span", "grid-name", name));
    btn.appendChild(el("span", "grid-code", code));
    btn.disabled = !state.byCode[code];
    btn.addEventListener("click", function () { zoomToGrid(code); });
    li.appendChild(btn);
    return li;
  }

  // ---- coverage ------------------------------------------------------------------------------
  function clearCoverage() {
    if (state.layer) map.removeLayer(state.layer);
    state.layer = null;
    state.byCode = {};
    state.rows = {};
    state.coverage = null;
    ["count-visited", "count-unvisited", "count-total"].forEach(function (id) {
      $(id).textContent = "—";
      $(id).dataset.count = "";
    });
    $("unvisited-list").textContent = "";
    $("unvisited-count").textContent = "";
    $("people-body").textContent = "";
  }

  function loadCoverage() {
    var seq = ++loadSeq;
    var scope = state.scope;
    var level = scopeParams(scope).level;
    $("csv-coverage").href = coverageUrl("csv");
    $("csv-schedule").href = scheduleUrl("csv");
    root.dataset.coverage = "";
    setStatus(T.loading);
    loadSchedule(seq);
    return Promise.all([getJSON(coverageUrl()), loadGeometry(level)]).then(function (res) {
      if (seq !== loadSeq) return;
      showCoverage(res[0], res[1], state.fittedScope !== scope);
      state.fittedScope = scope;
      setStatus("");
      root.dataset.coverage = String(seq);
      if (replay.person) { // the same person, the new period
        var id = replay.person.id;
        var again = (res[0].people || []).filter(function (p) { return p.person_id === id; })[0];
        startReplay(again ? personOf(again) : Object.assign({}, replay.person, { idle: [] }));
      }
    }).catch(function (err) {
      if (seq !== loadSeq) return;
      clearCoverage();
      setStatus(T.loadFailed + "：" + err.message, "error");
      root.dataset.coverage = "error";
    });
  }

  function showCoverage(cov, fc, fit) {
    state.coverage = cov;
    var rows = {};
    (cov.grids || []).forEach(function (r) { rows[r.code] = r; });
    state.rows = rows;
    drawGrids(fc, rows, fit);

    var sum = cov.summary || {};
    [["count-visited", sum.visited], ["count-unvisited", sum.unvisited], ["count-total", sum.grids]].forEach(function (c) {
      $(c[0]).textContent = String(c[1] === undefined ? "—" : c[1]);
      $(c[0]).dataset.count = String(c[1] === undefined ? "" : c[1]);
    });

    var list = $("unvisited-list");
    list.textContent = "";
    var unvisited = (cov.unvisited || []).slice().sort();
    unvisited.forEach(function (code) {
      list.appendChild(gridButton(code, rows[code] ? rows[code].name : code));
    });
    if (!unvisited.length) list.appendChild(el("li", "empty", T.allVisited));
    $("unvisited-count").textContent = "(" + unvisited.length + ")";

    showPeople(cov.people || []);
  }

  function personOf(p) { return { id: p.person_id, name: p.name, role: p.role, idle: p.idle || [] }; }

  function showPeople(people) {
    var body = $("people-body");
    body.textContent = "";
    people.slice().sort(function (a, b) {
      return (b.grids_visited - a.grids_visited) || String(a.name).localeCompare(String(b.name), "zh");
    }).forEach(function (p) {
      var tr = el("tr");
      tr.dataset.personId = String(p.person_id);
      var nameCell = el("td", "person-name");
      var btn = el("button", "person-link", p.name);
      btn.type = "button";
      btn.dataset.personId = String(p.person_id);
      btn.setAttribute("aria-pressed", replay.person && replay.person.id === p.person_id ? "true" : "false");
      btn.addEventListener("click", function () { startReplay(personOf(p)); });
      nameCell.appendChild(btn);
      tr.appendChild(nameCell);
      var roleCell = el("td", "person-role", roleName(p.role));
      var own = p.own_grids || [];
      if (own.length) {
        // A grid member's duty is their own grid: walked n of the grids they serve.
        var walked = own.filter(function (g) { return g.visited; }).length;
        var badge = el("span", "own-grids " + (walked === own.length ? "own-ok" : "own-miss"),
                       T.ownGrids + " " + walked + "/" + own.length);
        badge.title = own.map(function (g) { return (g.visited ? "✓ " : "✗ ") + g.name; }).join("\n");
        roleCell.appendChild(badge);
      }
      tr.appendChild(roleCell);
      tr.appendChild(el("td", "num person-grids", p.grids_visited));
      tr.appendChild(el("td", "num person-km", fmtKm(p.distance_m)));
      tr.appendChild(el("td", "num person-time", fmtDuration(p.patrol_s)));
      tr.appendChild(el("td", "num person-idle", (p.idle || []).length));
      body.appendChild(tr);
    });
    if (!people.length) {
      var tr = el("tr", "empty");
      var td = el("td", null, T.noPeople);
      td.colSpan = 6;
      tr.appendChild(td);
      body.appendChild(tr);
    }
  }

  // ---- schedule ------------------------------------------------------------------------------
  // The duty is the inspectors' (and counts everyone's tracks): a grid member, who sees only
  // their own, gets no schedule block rather than a misleading "nothing met".
  var SHOW_SCHEDULE = cfg.scope !== "self";
  if (!SHOW_SCHEDULE) {
    $("schedule-block").hidden = true;
    $("csv-schedule").hidden = true;
  }
  function loadSchedule(seq) {
    if (!SHOW_SCHEDULE) {
      root.dataset.schedule = "skipped";
      return Promise.resolve();
    }
    var summary = $("schedule-summary");
    summary.textContent = T.loading;
    summary.className = "schedule-summary";
    $("schedule-rule").textContent = "";
    $("schedule-unmet-box").hidden = true;
    root.dataset.schedule = "";
    return getJSON(scheduleUrl()).then(function (s) {
      if (seq !== loadSeq) return;
      var sum = s.summary || {};
      summary.textContent = fmt(T.scheduleSummary, { met: sum.met, unmet: sum.unmet, total: sum.grids });
      summary.dataset.met = String(sum.met);
      summary.dataset.unmet = String(sum.unmet);
      summary.classList.toggle("has-unmet", sum.unmet > 0);
      var rule = s.rule || {};
      var scope = rule.level === 3 && rule.urban_only ? T.urbanLevel3 : (T["levelName" + rule.level] || "");
      $("schedule-rule").textContent = [fmt(T.scheduleRule, { days: rule.every_days, n: rule.min_visits }),
        scope, rule.role ? roleName(rule.role) : ""].filter(Boolean).join(" · ");
      var unmet = (s.grids || []).filter(function (g) { return !g.met; });
      var list = $("schedule-unmet");
      list.textContent = "";
      unmet.forEach(function (g) { list.appendChild(gridButton(g.code, g.name)); });
      $("schedule-unmet-box").hidden = !unmet.length;
      root.dataset.schedule = String(seq);
    }).catch(function (err) {
      if (seq !== loadSeq) return;
      summary.textContent = T.loadFailed + "：" + err.message;
      summary.className = "schedule-summary api-error";
      root.dataset.schedule = "error";
    });
  }

  // ---- live positions ----------------------------------------------------------------------
  var live = { layer: L.layerGroup().addTo(map), timer: null, inFlight: false, seq: 0 };
  function ageText(seconds) {
    var s = Math.max(0, Math.round(Number(seconds) || 0));
    var t = s >= 3600 ? Math.floor(s / 3600) + " " + T.unitH : s >= 60 ? Math.floor(s / 60) + " " + T.unitMin : s + " " + T.unitS;
    return fmt(T.age, { t: t });
  }
  function buildLivePopup(p) {
    var box = el("div", "grid-popup");
    box.appendChild(el("h3", "grid-popup-name", p.person.name));
    var dl = el("dl");
    function line(label, value) {
      dl.appendChild(el("dt", null, label));
      dl.appendChild(el("dd", null, value === null || value === undefined || value === "" ? T.none : value));
    }
    line(T.role, roleName(p.person.role));
    line(T.positionTime, fmtTime(p.time, true) + "（" + ageText(p.age_s) + "）");
    line(T.inGrid, (p.grids || []).map(function (g) { return g.name || g.code; }).join(" › "));
    if (p.battery !== null && p.battery !== undefined) line(T.battery, Math.round(p.battery) + "%");
    box.appendChild(dl);
    return box;
  }
  function loadLive() {
    if (!$("live-toggle").checked || live.inFlight) return Promise.resolve();
    live.inFlight = true;
    return getJSON(cfg.api.live).then(function (data) {
      live.layer.clearLayers();
      (data.people || []).forEach(function (p) {
        var marker = L.circleMarker([p.lat, p.lon], {
          pane: "live", radius: 7, color: "#fff", weight: 2, fillColor: "#1565c0", fillOpacity: 1,
        });
        var label = el("span", "live-text");
        label.appendChild(el("span", "live-name", p.person.name));
        label.appendChild(el("span", "live-age", " · " + ageText(p.age_s)));
        marker.bindTooltip(label, { permanent: true, direction: "right", offset: [8, 0], className: "live-label" });
        marker.bindPopup(function () { return buildLivePopup(p); }, { maxWidth: 300 });
        marker.personId = p.person.id;
        live.layer.addLayer(marker);
      });
      var info = $("live-info");
      info.className = "hint";
      info.textContent = fmt(T.liveCount, { n: data.count || 0 }) + T.liveSince + " · " +
        fmt(T.liveUpdated, { t: fmtTime(Date.now(), true) });
      root.dataset.live = String(++live.seq);
    }).catch(function (err) {
      var info = $("live-info");
      info.className = "hint api-error";
      info.textContent = T.loadFailed + "：" + err.message;
      root.dataset.live = "error";
    }).then(function () { live.inFlight = false; });
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
  $("live-toggle").addEventListener("change", function (ev) { setLive(ev.target.checked); });

  // ---- replay ------------------------------------------------------------------------------
  // The track as flat arrays over all its runs: t (ms), lat, lng, run index (a new run starts
  // after a pause longer than the session gap; the marker waits where the last run ended).
  var replay = {
    person: null, seq: 0, t: [], lat: [], lng: [], run: [], runStarts: [],
    layer: null, progress: null, marker: null, idle: null, timer: null,
  };
  function stopPlay() {
    if (replay.timer) clearInterval(replay.timer);
    replay.timer = null;
    var b = $("replay-play");
    b.textContent = T.play;
    b.setAttribute("aria-pressed", "false");
  }
  function clearReplayLayers() {
    stopPlay();
    ["layer", "progress", "marker", "idle"].forEach(function (k) {
      if (replay[k]) map.removeLayer(replay[k]);
      replay[k] = null;
    });
    replay.t = []; replay.lat = []; replay.lng = []; replay.run = []; replay.runStarts = [];
  }
  function markPerson() {
    document.querySelectorAll("#people-body button.person-link").forEach(function (b) {
      var on = !!replay.person && b.dataset.personId === String(replay.person.id);
      b.setAttribute("aria-pressed", on ? "true" : "false");
      b.closest("tr").classList.toggle("selected", on);
    });
  }
  function closeReplay() {
    replay.seq++;
    clearReplayLayers();
    replay.person = null;
    $("replay").hidden = true;
    document.body.classList.remove("replaying");
    root.dataset.track = "";
    markPerson();
  }
  $("replay-close").addEventListener("click", closeReplay);

  function startReplay(person) {
    var seq = ++replay.seq;
    clearReplayLayers();
    replay.person = person;
    markPerson();
    $("replay").hidden = false;
    document.body.classList.add("replaying");
    $("replay-name").textContent = person.name + (person.role ? "（" + roleName(person.role) + "）" : "");
    $("replay-error").hidden = true;
    $("replay-error").textContent = "";
    $("replay-info").textContent = T.loading;
    $("replay-time").textContent = "";
    var slider = $("replay-slider");
    slider.disabled = true;
    $("replay-play").disabled = true;
    root.dataset.track = "";
    var url = cfg.api.track + "?person=" + encodeURIComponent(person.id) + "&" + periodQuery();
    return getJSON(url).then(function (fc) {
      if (seq !== replay.seq) return;
      showTrack(fc, person);
      root.dataset.track = person.id + ":" + replay.t.length;
    }).catch(function (err) {
      if (seq !== replay.seq) return;
      $("replay-info").textContent = "";
      var box = $("replay-error");
      // The API's own words (e.g. "时段不能超过 7 天"), with the page's hint in front.
      box.textContent = (err.status === 400 && err.body && err.body.fields && err.body.fields.end
        ? fmt(T.trackTooLong, { n: cfg.trackMaxDays }) + "：" : "") + err.message;
      box.hidden = false;
      root.dataset.track = "error";
    });
  }

  function showTrack(fc, person) {
    var features = ((fc && fc.features) || []).slice().sort(function (a, b) {
      return (a.properties.times[0] || 0) - (b.properties.times[0] || 0);
    });
    var fixes = 0, metres = 0;
    features.forEach(function (f, k) {
      var g = f.geometry || {};
      var coords = g.type === "Point" ? [g.coordinates] : (g.coordinates || []);
      var times = f.properties.times || [];
      replay.runStarts.push(replay.t.length);
      for (var i = 0; i < coords.length && i < times.length; i++) {
        replay.t.push(times[i]);
        replay.lng.push(coords[i][0]);
        replay.lat.push(coords[i][1]);
        replay.run.push(k);
      }
      fixes += f.properties.fixes || coords.length;
      metres += f.properties.distance_m || 0;
    });
    replay.layer = L.geoJSON({ type: "FeatureCollection", features: features }, {
      pane: "track", style: function () { return STYLES.track; }, interactive: false,
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, { pane: "track", radius: 4, color: STYLES.track.color, weight: 2, fillOpacity: 0.6 });
      },
    }).addTo(map);
    replay.progress = L.polyline([], Object.assign({ pane: "track", interactive: false }, STYLES.progress)).addTo(map);
    // Idle stretches of this person in the period (from the coverage answer).
    replay.idle = L.layerGroup((person.idle || []).map(function (s) {
      var m = L.circleMarker([s.lat, s.lon], {
        pane: "idle", radius: 8, color: "#37474f", weight: 2, dashArray: "3 2", fillColor: "#b0bec5", fillOpacity: 0.7,
      });
      m.bindTooltip(el("span", null, T.idle + " " + fmtDuration(s.duration_s) + " · " + fmtTime(s.start) + "–" +
        fmtTime(s.end).slice(6)));
      return m;
    })).addTo(map);

    var n = replay.t.length;
    var slider = $("replay-slider");
    if (!n) {
      $("replay-info").textContent = T.noTrack;
      slider.min = "0"; slider.max = "0"; slider.value = "0";
      return;
    }
    $("replay-info").textContent = fmt(T.trackInfo, { n: features.length, fixes: fixes, km: fmtKm(metres) }) +
      " · " + fmtTime(replay.t[0]) + " – " + fmtTime(replay.t[n - 1]);
    replay.marker = L.marker([replay.lat[0], replay.lng[0]], {
      pane: "replay", interactive: false, keyboard: false,
      icon: L.divIcon({ className: "replay-pin", iconSize: [18, 18], iconAnchor: [9, 9] }),
    }).addTo(map);
    slider.min = String(replay.t[0]);
    slider.max = String(replay.t[n - 1]);
    slider.value = String(replay.t[0]);
    slider.disabled = n < 2;
    $("replay-play").disabled = n < 2;
    seek(replay.t[0]);
    var b = replay.layer.getBounds();
    if (b.isValid()) map.fitBounds(b, { padding: [60, 60], maxZoom: 17, animate: false });
  }

  // Position at time t (ms): interpolated between the fixes around it within one run; in a
  // pause between runs the marker waits where the earlier run ended.
  function positionAt(t) {
    var times = replay.t, n = times.length;
    if (!n) return null;
    if (t <= times[0]) return { i: 0, lat: replay.lat[0], lng: replay.lng[0], f: 0 };
    if (t >= times[n - 1]) return { i: n - 1, lat: replay.lat[n - 1], lng: replay.lng[n - 1], f: 0 };
    var lo = 0, hi = n - 1; // times[lo] <= t < times[hi]
    while (hi - lo > 1) {
      var mid = (lo + hi) >> 1;
      if (times[mid] <= t) lo = mid; else hi = mid;
    }
    if (replay.run[hi] !== replay.run[lo] || times[hi] === times[lo]) {
      return { i: lo, lat: replay.lat[lo], lng: replay.lng[lo], f: 0 };
    }
    var f = (t - times[lo]) / (times[hi] - times[lo]);
    return { i: lo, f: f, lat: replay.lat[lo] + f * (replay.lat[hi] - replay.lat[lo]),
             lng: replay.lng[lo] + f * (replay.lng[hi] - replay.lng[lo]) };
  }
  function seek(t) {
    var p = positionAt(t);
    if (!p || !replay.marker) return;
    replay.marker.setLatLng([p.lat, p.lng]);
    // The walked part: every run up to the current one, the current one up to the marker.
    var parts = [], current = [];
    var run = -1;
    for (var k = 0; k <= p.i; k++) {
      if (replay.run[k] !== run) {
        current = [];
        parts.push(current);
        run = replay.run[k];
      }
      current.push([replay.lat[k], replay.lng[k]]);
    }
    if (p.f > 0) current.push([p.lat, p.lng]);
    replay.progress.setLatLngs(parts);
    $("replay-time").textContent = fmtTime(t, true);
    $("replay-time").dataset.t = String(t);
    root.dataset.replayT = String(t);
  }
  $("replay-slider").addEventListener("input", function (ev) { seek(Number(ev.target.value)); });

  function nextRunStart(t) {
    for (var k = 0; k < replay.runStarts.length; k++) {
      var s = replay.t[replay.runStarts[k]];
      if (s > t) return s;
    }
    return null;
  }
  $("replay-play").addEventListener("click", function () {
    if (replay.timer) { stopPlay(); return; }
    var slider = $("replay-slider");
    var max = Number(slider.max);
    if (Number(slider.value) >= max) slider.value = slider.min;
    var b = $("replay-play");
    b.textContent = T.pause;
    b.setAttribute("aria-pressed", "true");
    var TICK = 100;
    replay.timer = setInterval(function () {
      var t = Number(slider.value) + TICK * Number($("replay-speed").value);
      var p = positionAt(t);
      // Skip pauses between runs: jump to the start of the next run.
      if (p && p.i < replay.t.length - 1 && replay.run[p.i] !== replay.run[p.i + 1] && t > replay.t[p.i]) {
        var next = nextRunStart(replay.t[p.i]);
        if (next !== null) t = next;
      }
      if (t >= max) { t = max; stopPlay(); }
      slider.value = String(t);
      seek(t);
    }, TICK);
  });

  // ---- start -------------------------------------------------------------------------------
  function loadCounty() {
    return getJSON(cfg.api.county).then(function (fc) {
      countyLayer.addData(fc);
    }).catch(function (err) { setStatus(T.loadFailed + "：" + err.message, "error"); });
  }

  var ready = Promise.all([loadCounty(), usePreset("week")]).then(function () {
    root.dataset.patrolsReady = "1";
  });
  setLive(true);

  // For tests and the browser console.
  window.gisgridPatrols = {
    map: map, state: state, replay: replay, live: live, ready: ready,
    colorFor: colorFor, coverageClass: coverageClass, colors: COLORS,
    usePreset: usePreset, reload: loadCoverage, loadLive: loadLive, seek: seek,
    isoParam: isoParam, fmtDuration: fmtDuration,
  };
})();
