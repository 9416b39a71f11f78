/* gisgrid planner (网格规划): edit draft editions through the planner API.
 *
 * Plain ES2017, no build step, no CDN. Configuration from json_script "planner-config", UI
 * strings from data attributes on #planner-strings (translated by Django). Data (names, codes,
 * messages) only ever enters the page through textContent / DOM nodes, never as HTML.
 * Drawing and vertex editing use Leaflet-Geoman (free); integrity of shared edges is the
 * server's job (every edit is "pieces of land changing owner"), the page only sends drawings.
 */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("planner-config").textContent);
  var T = document.getElementById("planner-strings").dataset;
  var root = document.documentElement;
  var STYLES = {
    county: { color: "#7a1f1f", weight: 3, dashArray: "8 4", fill: false, interactive: false },
    context: { color: "#1b2a3a", weight: 2.5, opacity: 0.7, fill: false, interactive: false },
    1: { color: "#1b2a3a", weight: 2.5, opacity: 0.95, fillColor: "#3b6ea5", fillOpacity: 0.05 },
    2: { color: "#3b6ea5", weight: 1.4, opacity: 0.95, fillColor: "#3b6ea5", fillOpacity: 0.05 },
    3: { color: "#b35400", weight: 1.2, opacity: 0.95, fillColor: "#f39c34", fillOpacity: 0.2 },
  };
  var SELECTED = { color: "#e6007e", weight: 4, opacity: 1, fillOpacity: 0.15 };
  var MERGE_OTHER = { color: "#6a1b9a", weight: 4, opacity: 1, dashArray: "6 4", fillOpacity: 0.15 };
  var FINDING_STYLES = {
    error: { color: "#d50000", weight: 3, fillColor: "#ff1744", fillOpacity: 0.45 },
    warning: { color: "#ef6c00", weight: 2, fillColor: "#ff9800", fillOpacity: 0.4 },
    info: { color: "#616161", weight: 1, dashArray: "3 3", fillColor: "#9e9e9e", fillOpacity: 0.35 },
    blind: { color: "#616161", weight: 1, dashArray: "3 3", fillColor: "url(#planner-hatch)", fillOpacity: 0.6 },
  };
  var DIFF_STYLES = {
    gained: { color: "#1b5e20", weight: 2, fillColor: "#43a047", fillOpacity: 0.5 },
    lost: { color: "#b71c1c", weight: 2, fillColor: "#e53935", fillOpacity: 0.5 },
  };
  var DRAW_OPTIONS = { snappable: true, snapDistance: 12, allowSelfIntersection: false, finishOn: null };
  var PANES = { layerPane: "drawing", vertexPane: "markerPane", markerPane: "markerPane" };

  // ---- small helpers ---------------------------------------------------------------------
  var el = gisgridDom.el;
  var $ = gisgridDom.byId;
  function setStatus(text, kind) {
    var s = $("status");
    s.textContent = text || "";
    s.className = "status" + (kind ? " " + kind : "");
  }
  function hint(text) { $("tool-hint").textContent = text || ""; }
  function formatArea(m2) {
    var v = Number(m2);
    if (!isFinite(v)) return "";
    if (Math.abs(v) >= 1e6) return (v / 1e6).toLocaleString(undefined, { maximumFractionDigits: 2 }) + " km²";
    return (Math.abs(v) < 10 ? v.toLocaleString(undefined, { maximumFractionDigits: 1 }) : Math.round(v).toLocaleString()) + " m²";
  }
  function levelName(level) { return T["levelName" + level] || String(level); }
  function statusName(status) {
    return T["status" + String(status || "").charAt(0).toUpperCase() + String(status || "").slice(1)] || status;
  }
  function kindName(kind) {
    var key = "kind" + String(kind || "").split("_").map(function (p) {
      return p.charAt(0).toUpperCase() + p.slice(1);
    }).join("");
    return T[key] || kind;
  }
  function gridText(code) {
    var f = grids.byCode[code];
    return f ? f.properties.name + "（" + code + "）" : code;
  }

  // Busy counter: tests (and the cursor) wait on data-busy="0".
  var busy = 0;
  function setBusy(delta) {
    busy += delta;
    root.dataset.busy = String(busy);
    document.body.classList.toggle("busy", busy > 0);
  }

  function csrfToken() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // An API error: the page decides what to do by its code (docs/errors.md), never by the
  // message, which is in the page's language and only ever shown.
  function ApiError(status, body) {
    this.status = status;
    this.body = body || {};
    this.code = typeof this.body.error === "string" ? this.body.error : "";
    this.message = describeError(status, this.body);
  }
  // Codes after which the page's copy of the edition is out of date: reload it.
  var RELOAD_CODES = {
    stale_version: true, // someone else changed the draft since it was loaded
    not_draft: true, // the edition was published or retired meanwhile
  };
  function describeError(status, body) {
    if (body.error === "stale_version") return T.stale;
    var parts = [];
    var detail = body.detail;
    if (detail) parts.push(typeof detail === "string" ? detail : JSON.stringify(detail));
    if (body.fields) {
      Object.keys(body.fields).forEach(function (k) {
        var v = body.fields[k];
        var reasons = (Array.isArray(v) ? v : [v]).map(function (r) {
          return typeof r === "string" ? r : JSON.stringify(r);
        }).filter(function (r) { return r !== detail; });
        if (reasons.length) parts.push(k + ": " + reasons.join(" "));
      });
    }
    return parts.length ? parts.join("；") : String(status);
  }

  // fetch with the session cookie and CSRF header; resolves with the JSON body.
  function api(method, url, body) {
    var opts = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      opts.headers["X-CSRFToken"] = csrfToken();
      if (body instanceof FormData) {
        opts.body = body;
      } else if (body !== undefined) {
        opts.headers["Content-Type"] = "application/json";
        opts.body = JSON.stringify(body);
      }
    }
    setBusy(1);
    return fetch(url, opts).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text.slice(0, 200) }; }
        if (!r.ok) throw new ApiError(r.status, data);
        return data;
      });
    }).then(function (data) { setBusy(-1); return data; }, function (err) { setBusy(-1); throw err; });
  }
  function editionUrl(id, suffix) { return cfg.api.editions + "/" + encodeURIComponent(id) + (suffix ? "/" + suffix : ""); }

  // ---- map -------------------------------------------------------------------------------
  var map = L.map("map", { center: cfg.center, zoom: cfg.zoom, zoomControl: false, minZoom: 6, maxZoom: 20 });
  L.control.zoom({ position: "bottomright" }).addTo(map);
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  if (cfg.basemap && cfg.basemap.url) {
    L.tileLayer(cfg.basemap.url, { attribution: el("span", null, cfg.basemap.attribution || "").innerHTML, maxZoom: 20 })
      .addTo(map);
  } else {
    map.getContainer().classList.add("no-basemap");
  }
  map.pm.setGlobalOptions(Object.assign({ panes: PANES }, DRAW_OPTIONS));
  map.pm.setLang && map.pm.setLang(root.lang === "en" ? "en" : "zh");

  [["county", 402], ["context", 405], ["grids", 420], ["diffs", 440], ["findings", 450], ["drawing", 460]].forEach(function (p) {
    map.createPane(p[0]).style.zIndex = String(p[1]);
  });
  // Hatch pattern for blind spots (SVG renderer of the findings pane).
  var findingsRenderer = L.svg({ pane: "findings" });
  map.addLayer(findingsRenderer);
  (function addHatch() {
    var svg = findingsRenderer._container;
    if (!svg) return;
    var ns = "http://www.w3.org/2000/svg";
    var defs = document.createElementNS(ns, "defs");
    var pat = document.createElementNS(ns, "pattern");
    pat.setAttribute("id", "planner-hatch");
    pat.setAttribute("patternUnits", "userSpaceOnUse");
    pat.setAttribute("width", "8");
    pat.setAttribute("height", "8");
    pat.setAttribute("patternTransform", "rotate(45)");
    var bg = document.createElementNS(ns, "rect");
    bg.setAttribute("width", "8"); bg.setAttribute("height", "8"); bg.setAttribute("fill", "rgba(158,158,158,0.35)");
    var line = document.createElementNS(ns, "line");
    line.setAttribute("x1", "0"); line.setAttribute("y1", "0"); line.setAttribute("x2", "0"); line.setAttribute("y2", "8");
    line.setAttribute("stroke", "#616161"); line.setAttribute("stroke-width", "3");
    pat.appendChild(bg); pat.appendChild(line); defs.appendChild(pat); svg.insertBefore(defs, svg.firstChild);
  })();

  var countyLayer = L.geoJSON(null, { pane: "county", style: STYLES.county, interactive: false, pmIgnore: true, snapIgnore: true })
    .addTo(map);
  var contextLayer = L.geoJSON(null, { pane: "context", style: STYLES.context, interactive: false, pmIgnore: true, snapIgnore: true })
    .addTo(map);
  var findingsLayer = L.geoJSON(null, {
    pane: "findings", renderer: findingsRenderer, pmIgnore: true, snapIgnore: true,
    style: function (f) { return findingStyle(f.properties); },
    pointToLayer: function (feature, latlng) { return findingPoint(feature.properties, latlng); },
    onEachFeature: function (feature, layer) {
      layer.bindTooltip(el("span", null, findingTitle(feature.properties)), { sticky: true });
    },
  }).addTo(map);
  var diffLayer = L.geoJSON(null, {
    pane: "diffs", pmIgnore: true, snapIgnore: true,
    style: function (f) { return DIFF_STYLES[f.properties.diff] || DIFF_STYLES.gained; },
    onEachFeature: function (feature, layer) {
      var p = feature.properties;
      layer.bindTooltip(el("span", null, (p.diff === "gained" ? T.diffGained : T.diffLost) + " · " + p.name + " · " +
        formatArea(p.area_m2)), { sticky: true });
    },
  }).addTo(map);
  var blindLayer = L.geoJSON(null, {
    pane: "findings", renderer: findingsRenderer, pmIgnore: true, snapIgnore: true,
    style: function () { return FINDING_STYLES.blind; },
    onEachFeature: function (feature, layer) {
      var p = feature.properties || {};
      layer.bindPopup(function () {
        var box = el("div", "grid-popup");
        box.appendChild(el("h3", null, T.blindSpot));
        var dl = el("dl");
        [[T.area, formatArea(p.area_m2)], [T.community, (p.community_name || "") + "（" + (p.community_code || "") + "）"],
         [T.items, String((p.items || []).length)]].forEach(function (r) {
          dl.appendChild(el("dt", null, r[0]));
          dl.appendChild(el("dd", null, r[1]));
        });
        box.appendChild(dl);
        return box;
      });
    },
  });

  // ---- state -----------------------------------------------------------------------------
  var state = {
    editions: [], edition: null, level: 2, selected: null, mode: null,
    drawn: null, reshapeLayer: null, mergeOther: null,
  };
  var grids = { layer: null, byCode: {}, features: [] };

  function isDraft() { return !!(state.edition && state.edition.status === "draft"); }

  function refreshToolState() {
    var editable = isDraft() && !busyEditing();
    document.querySelectorAll(".edit-tool").forEach(function (b) { b.disabled = !isDraft() || !!state.mode; });
    $("validate").disabled = !state.edition;
    $("diff").disabled = !state.edition;
    $("import-file").disabled = !isDraft();
    $("import-level").disabled = !isDraft();
    root.dataset.editable = editable ? "1" : "0";
  }
  function busyEditing() { return !!state.mode; }

  // ---- editions ----------------------------------------------------------------------------
  function editionLabel(e) {
    return e.name + " · " + statusName(e.status) + " · v" + e.version;
  }
  function loadEditions(selectId) {
    return api("GET", cfg.api.editions).then(function (list) {
      state.editions = list || [];
      var sel = $("edition-select");
      sel.textContent = "";
      var order = { draft: 0, active: 1, retired: 2 };
      state.editions.slice().sort(function (a, b) {
        return (order[a.status] - order[b.status]) || (b.id - a.id);
      }).forEach(function (e) {
        var opt = el("option", null, editionLabel(e));
        opt.value = String(e.id);
        sel.appendChild(opt);
      });
      var pick = null;
      if (selectId) pick = findEdition(selectId);
      if (!pick && state.edition) pick = findEdition(state.edition.id);
      if (!pick) pick = state.editions.filter(function (e) { return e.status === "draft"; }).sort(function (a, b) {
        return b.id - a.id;
      })[0] || state.editions.filter(function (e) { return e.status === "active"; })[0] || state.editions[0];
      if (pick) sel.value = String(pick.id);
      return pick ? selectEdition(pick) : null;
    });
  }
  function findEdition(id) {
    return state.editions.filter(function (e) { return String(e.id) === String(id); })[0] || null;
  }
  function showEditionInfo() {
    var info = $("edition-info");
    info.textContent = "";
    var e = state.edition;
    if (!e) return;
    var badge = el("span", "badge badge-" + e.status, statusName(e.status));
    info.appendChild(badge);
    info.appendChild(el("span", "version", " " + T.version + " " + e.version + " · "));
    info.appendChild(el("span", "mode", isDraft() ? T.editable : T.viewOnly));
    root.dataset.editionId = String(e.id);
    root.dataset.editionStatus = e.status;
    root.dataset.version = String(e.version);
  }
  function selectEdition(e) {
    cancelMode();
    state.edition = e;
    state.selected = null;
    showEditionInfo();
    clearFindings();
    clearDiff();
    refreshToolState();
    return loadGrids();
  }
  function setVersion(v) {
    if (!state.edition || v === undefined || v === null) return;
    state.edition.version = v;
    var opt = $("edition-select").querySelector("option[value='" + state.edition.id + "']");
    if (opt) opt.textContent = editionLabel(state.edition);
    showEditionInfo();
  }

  $("edition-select").addEventListener("change", function (ev) {
    var e = findEdition(ev.target.value);
    if (e) selectEdition(e);
  });
  $("draft-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var name = $("draft-name").value.trim();
    if (!name) {
      var d = new Date();
      var pad = function (n) { return (n < 10 ? "0" : "") + n; };
      name = T.draftDefault + " " + d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
        pad(d.getHours()) + ":" + pad(d.getMinutes());
    }
    setStatus(T.loading);
    api("POST", cfg.api.editions, { name: name }).then(function (created) {
      $("draft-name").value = "";
      setStatus(T.draftCreated + "：" + created.name, "ok");
      return loadEditions(created.id);
    }).catch(showError);
  });

  // ---- grids -------------------------------------------------------------------------------
  function gridStyle(feature) {
    var code = feature.properties.code;
    if (state.selected === code) return Object.assign({}, STYLES[state.level], SELECTED);
    if (state.mergeOther === code) return Object.assign({}, STYLES[state.level], MERGE_OTHER);
    return STYLES[state.level];
  }
  function loadGrids() {
    var e = state.edition;
    if (!e) return Promise.resolve();
    var level = state.level;
    var q = "?edition=" + encodeURIComponent(e.id) + "&level=" + level +
      "&simplify=" + encodeURIComponent((cfg.simplify && cfg.simplify[level]) || 0);
    root.dataset.gridsLoaded = "";
    var contextReq = level > 1
      ? api("GET", cfg.api.grids + "?edition=" + encodeURIComponent(e.id) + "&level=1&simplify=" +
            encodeURIComponent((cfg.simplify && cfg.simplify[1]) || 0))
      : Promise.resolve({ type: "FeatureCollection", features: [] });
    return Promise.all([api("GET", cfg.api.grids + q), contextReq]).then(function (res) {
      if (state.edition !== e || state.level !== level) return; // a newer choice won
      var fc = res[0];
      contextLayer.clearLayers();
      contextLayer.addData(res[1]);
      if (grids.layer) map.removeLayer(grids.layer);
      grids.byCode = {};
      grids.features = (fc && fc.features) || [];
      grids.layer = L.geoJSON(fc, {
        pane: "grids",
        style: gridStyle,
        onEachFeature: function (feature, layer) {
          var p = feature.properties;
          grids.byCode[p.code] = feature;
          feature.__layer = layer;
          layer.bindTooltip(el("span", "grid-label-text", p.name), {
            permanent: true, direction: "center", interactive: false, className: "grid-label grid-label-" + level,
          });
          layer.on("click", function (ev) { onGridClick(p.code, ev); });
        },
      }).addTo(map);
      fillTargetSelect();
      if (state.selected && !grids.byCode[state.selected]) state.selected = null;
      showSelected();
      root.dataset.gridsLoaded = e.id + ":" + level + ":" + e.version;
    }).catch(function (err) {
      setStatus(T.loadFailed + "：" + err.message, "error");
    });
  }

  function restyle() {
    if (grids.layer) grids.layer.eachLayer(function (l) { l.setStyle(gridStyle(l.feature)); });
  }
  function showSelected() {
    var box = $("selected-grid");
    if (!state.selected || !grids.byCode[state.selected]) {
      box.textContent = T.none;
      box.dataset.code = "";
    } else {
      var p = grids.byCode[state.selected].properties;
      box.textContent = p.name + "（" + p.code + "）· " + formatArea(p.area_m2);
      box.dataset.code = p.code;
      $("assign-target").value = p.code;
    }
    restyle();
  }
  function select(code) {
    state.selected = code;
    showSelected();
  }
  function onGridClick(code, ev) {
    if (state.mode === "merge-pick") {
      if (code === state.selected) return;
      var a = grids.byCode[state.selected].properties, b = grids.byCode[code].properties;
      if (a.parent_code !== b.parent_code) { hint(T.mergeSibling); return; }
      state.mergeOther = code;
      restyle();
      $("merge-text").textContent = gridText(code) + " → " + T.mergeInto + " → " + gridText(state.selected);
      $("merge-box").hidden = false;
      state.mode = "merge-confirm";
      return;
    }
    if (state.mode) return; // drawing or editing: clicks belong to Geoman
    if (ev && ev.originalEvent) L.DomEvent.stopPropagation(ev);
    select(code);
  }
  function fillTargetSelect() {
    var sel = $("assign-target");
    sel.textContent = "";
    grids.features.slice().sort(function (a, b) {
      return String(a.properties.code).localeCompare(String(b.properties.code));
    }).forEach(function (f) {
      var opt = el("option", null, f.properties.name + "（" + f.properties.code + "）");
      opt.value = f.properties.code;
      sel.appendChild(opt);
    });
    if (state.selected) sel.value = state.selected;
  }

  document.querySelectorAll("#level-switch input").forEach(function (input) {
    input.addEventListener("change", function () {
      if (!input.checked) return;
      cancelMode();
      state.level = Number(input.value);
      state.selected = null;
      loadGrids();
    });
  });

  function loadCounty() {
    return api("GET", cfg.api.county).then(function (fc) {
      countyLayer.addData(fc);
      var b = countyLayer.getBounds();
      if (b.isValid()) map.fitBounds(b, { padding: [10, 10], animate: false });
    }).catch(function (err) { setStatus(T.loadFailed + "：" + err.message, "error"); });
  }

  // ---- findings ------------------------------------------------------------------------------
  function findingStyle(f) {
    if (f.kind === "blind_spot") return FINDING_STYLES.blind;
    return FINDING_STYLES[f.severity] || FINDING_STYLES.info;
  }
  // An invalid geometry is found at a point (where GEOS says the ring crosses itself): a ring
  // marker drawn on the findings pane, not a default pin image.
  function findingPoint(f, latlng) {
    return L.circleMarker(latlng, Object.assign({}, findingStyle(f), {
      pane: "findings", renderer: findingsRenderer, radius: 9, fillOpacity: 0.25,
    }));
  }
  function findingLocation(f) {
    var loc = f.details && f.details.location;
    if (!loc || loc.length !== 2) return "";
    return T.location + "：" + Number(loc[0]).toFixed(6) + ", " + Number(loc[1]).toFixed(6);
  }
  function findingTitle(f) {
    var what = f.kind === "invalid" || f.kind === "repaired" ? findingLocation(f) : formatArea(f.area_m2);
    return "[" + (T["sev" + f.severity.charAt(0).toUpperCase() + f.severity.slice(1)] || f.severity) + "] " +
      kindName(f.kind) + (what ? " · " + what : "");
  }
  function clearFindings() {
    findingsLayer.clearLayers();
    $("findings").hidden = true;
    $("findings-list").textContent = "";
  }
  function showFindings(findings, errors) {
    findings = findings || [];
    clearFindings();
    var counts = { error: 0, warning: 0, info: 0 };
    findings.forEach(function (f) { counts[f.severity] = (counts[f.severity] || 0) + 1; });
    if (errors === undefined || errors === null) errors = counts.error;
    var summary = $("findings-summary");
    summary.textContent = T.errors + " " + errors + " · " + T.warnings + " " + counts.warning + " · " + T.infos + " " +
      counts.info;
    summary.dataset.errors = String(errors);
    summary.dataset.warnings = String(counts.warning);
    summary.classList.toggle("has-errors", errors > 0);
    var list = $("findings-list");
    var order = { error: 0, warning: 1, info: 2 };
    findings.slice().sort(function (a, b) {
      return (order[a.severity] - order[b.severity]) || (b.area_m2 - a.area_m2);
    }).forEach(function (f) {
      var li = el("li", "finding finding-" + f.severity + (f.kind === "blind_spot" ? " finding-blind" : ""));
      li.dataset.kind = f.kind;
      var btn = el("button", "finding-btn");
      btn.type = "button";
      btn.appendChild(el("span", "finding-title", findingTitle(f)));
      btn.appendChild(el("span", "finding-codes", (f.codes || []).map(gridText).join("、")));
      if (f.message) btn.appendChild(el("span", "finding-msg", f.message));
      var layer = null;
      if (f.geometry) {
        layer = L.geoJSON({ type: "Feature", geometry: f.geometry, properties: f }, {
          pane: "findings", renderer: findingsRenderer, pmIgnore: true, snapIgnore: true,
          style: function () { return findingStyle(f); },
          pointToLayer: function (feature, latlng) { return findingPoint(f, latlng); },
          onEachFeature: function (feature, l) { l.bindTooltip(el("span", null, findingTitle(f)), { sticky: true }); },
        });
        findingsLayer.addLayer(layer);
      } else {
        btn.disabled = true;
      }
      btn.addEventListener("click", function () {
        if (!layer) return;
        var b = layer.getBounds();
        if (b.isValid()) map.fitBounds(b, { padding: [60, 60], maxZoom: 18, animate: false });
      });
      li.appendChild(btn);
      list.appendChild(li);
    });
    if (!findings.length) list.appendChild(el("li", "finding-none", T.noFindings));
    $("findings").hidden = false;
    root.dataset.findingsErrors = String(errors);
  }

  // ---- edits ---------------------------------------------------------------------------------
  function handleEditResult(res, message) {
    setVersion(res.version);
    showFindings(res.findings, res.errors);
    var changed = res.changed && res.changed.length ? " · " + T.changed + "：" + res.changed.join("、") : "";
    setStatus((message || T.saved) + " · v" + res.version + changed, "ok");
    clearDiff();
    return loadGrids();
  }
  function showError(err) {
    if (err instanceof ApiError) root.dataset.errorCode = err.code;
    if (err instanceof ApiError && RELOAD_CODES[err.code]) {
      setStatus(err.message, "error");
      if (err.code === "stale_version") root.dataset.stale = "1";
      // Reload the edition list and the draft's grids at their current version.
      return loadEditions(state.edition && state.edition.id);
    }
    if (err instanceof ApiError && err.body && err.body.findings) showFindings(err.body.findings);
    setStatus(err && err.message ? err.message : String(err), "error");
    if (window.console) console.error(err);
  }
  function edit(op, body, message) {
    if (!isDraft()) return Promise.resolve();
    body = Object.assign({ version: state.edition.version }, body || {});
    return api("POST", editionUrl(state.edition.id, op), body)
      .then(function (res) { return handleEditResult(res, message); })
      .catch(showError);
  }

  function showBox(id, show) { $(id).hidden = !show; }
  function cancelMode() {
    if (map.pm.globalDrawModeEnabled && map.pm.globalDrawModeEnabled()) map.pm.disableDraw();
    if (state.drawn) { map.removeLayer(state.drawn); state.drawn = null; }
    if (state.reshapeLayer) {
      state.reshapeLayer.pm && state.reshapeLayer.eachLayer(function (l) { l.pm.disable(); });
      map.removeLayer(state.reshapeLayer);
      state.reshapeLayer = null;
      if (grids.layer && !map.hasLayer(grids.layer)) map.addLayer(grids.layer);
    }
    state.mode = null;
    state.mergeOther = null;
    ["draw-box", "assign-box", "reshape-box", "split-box", "merge-box"].forEach(function (id) { showBox(id, false); });
    hint("");
    map.getContainer().classList.remove("drawing");
    restyle();
    refreshToolState();
  }
  function startDraw(shape, mode, hintText) {
    cancelMode();
    state.mode = mode;
    map.pm.enableDraw(shape, DRAW_OPTIONS);
    map.getContainer().classList.add("drawing");
    showBox("draw-box", true);
    hint(hintText);
    refreshToolState();
  }

  map.on("pm:create", function (e) {
    map.getContainer().classList.remove("drawing");
    showBox("draw-box", false);
    if (state.mode === "assign-draw") {
      state.drawn = e.layer;
      e.layer.setStyle && e.layer.setStyle({ color: "#e6007e", weight: 2, fillColor: "#e6007e", fillOpacity: 0.3 });
      state.mode = "assign-target";
      if (state.selected) $("assign-target").value = state.selected;
      showBox("assign-box", true);
      hint(T.hintAssignTarget);
      root.dataset.drawn = "polygon";
    } else if (state.mode === "split-draw") {
      var line = e.layer.toGeoJSON().geometry;
      map.removeLayer(e.layer);
      var code = state.selected;
      var name = $("split-name").value.trim();
      cancelMode();
      $("split-name").value = "";
      edit("split", name ? { code: code, line: line, name: name } : { code: code, line: line });
    } else {
      map.removeLayer(e.layer);
    }
  });

  $("draw-finish").addEventListener("click", function () {
    var shape = map.pm.Draw.getActiveShape && map.pm.Draw.getActiveShape();
    var drawer = shape && map.pm.Draw[shape];
    if (drawer && drawer._finishShape) drawer._finishShape();
  });
  $("draw-cancel").addEventListener("click", cancelMode);

  // 1. 划入
  $("tool-assign").addEventListener("click", function () { startDraw("Polygon", "assign-draw", T.hintAssign); });
  $("assign-cancel").addEventListener("click", cancelMode);
  $("assign-confirm").addEventListener("click", function () {
    if (!state.drawn) return;
    var geometry = state.drawn.toGeoJSON().geometry;
    var code = $("assign-target").value;
    cancelMode();
    edit("assign", { code: code, geometry: geometry });
  });

  // 2. 编辑边界: edit a full-precision copy of the selected grid, then send it as a whole.
  $("tool-reshape").addEventListener("click", function () {
    if (!state.selected) { hint(T.selectFirst); return; }
    var code = state.selected;
    cancelMode();
    state.mode = "reshape";
    refreshToolState();
    api("GET", cfg.api.grids + "/" + encodeURIComponent(code) + "?edition=" + encodeURIComponent(state.edition.id))
      .then(function (g) {
        if (state.mode !== "reshape") return;
        state.reshapeLayer = L.geoJSON({ type: "Feature", geometry: g.geometry, properties: { code: code } }, {
          pane: "drawing",
          style: function () { return { color: "#e6007e", weight: 3, fillOpacity: 0.1 }; },
        }).addTo(map);
        state.reshapeLayer.eachLayer(function (l) {
          l.pm.enable({ allowSelfIntersection: false, snappable: true, snapDistance: 12 });
        });
        state.reshapeCode = code;
        showBox("reshape-box", true);
        hint(T.hintReshape);
      }).catch(function (err) { cancelMode(); showError(err); });
  });
  $("reshape-cancel").addEventListener("click", cancelMode);
  $("reshape-finish").addEventListener("click", function () {
    if (!state.reshapeLayer) return;
    // Full precision (false): Leaflet rounds to 6 decimals by default, which would move every
    // untouched vertex by up to ~5 cm and turn the whole outline into gained/lost slivers.
    var feature = state.reshapeLayer.toGeoJSON(false);
    var geometry = feature.features && feature.features[0] ? feature.features[0].geometry : feature.geometry;
    var code = state.reshapeCode;
    cancelMode();
    edit("reshape", { code: code, geometry: geometry });
  });

  // 3. 拆分
  $("tool-split").addEventListener("click", function () {
    if (!state.selected) { hint(T.selectFirst); return; }
    startDraw("Line", "split-draw", T.hintSplit);
    showBox("split-box", true);
  });

  // 4. 合并
  $("tool-merge").addEventListener("click", function () {
    if (!state.selected) { hint(T.selectFirst); return; }
    cancelMode();
    state.mode = "merge-pick";
    hint(T.hintMerge);
    refreshToolState();
  });
  $("merge-cancel").addEventListener("click", cancelMode);
  $("merge-confirm").addEventListener("click", function () {
    var keep = state.selected, other = state.mergeOther;
    cancelMode();
    if (keep && other) edit("merge", { keep: keep, other: other });
  });

  // 5. 撤销 / 重做
  $("undo").addEventListener("click", function () { edit("undo"); });
  $("redo").addEventListener("click", function () { edit("redo"); });

  // 6. 导入图层
  $("import-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!isDraft()) return;
    var file = $("import-file").files[0];
    if (!file) { setStatus(T.chooseFile, "error"); return; }
    var form = new FormData();
    form.append("file", file);
    if ($("import-level").value) form.append("level", $("import-level").value);
    form.append("version", String(state.edition.version));
    if ($("import-repair").checked) form.append("repair", "1");
    api("POST", editionUrl(state.edition.id, "import"), form).then(function (res) {
      $("import-file").value = "";
      var repairs = (res.repairs || []).length;
      root.dataset.repairs = String(repairs);
      // Every repair is listed with the findings; the status says how many there were.
      return handleEditResult(res, T.imported + (repairs ? " · " + T.repairedCount + " " + repairs : ""));
    }).catch(showError);
  });

  // ---- validation, diff, publish, blind spots ------------------------------------------------
  $("validate").addEventListener("click", function () {
    if (!state.edition) return;
    setStatus(T.loading);
    api("GET", editionUrl(state.edition.id, "validation")).then(function (res) {
      if (res.edition) setVersion(res.edition.version);
      showFindings(res.findings, res.errors);
      setStatus("");
    }).catch(showError);
  });

  function clearDiff() {
    diffLayer.clearLayers();
    $("diff-panel").hidden = true;
    $("diff-body").textContent = "";
  }
  function showDiff(d) {
    var body = $("diff-body");
    body.textContent = "";
    body.appendChild(el("p", "diff-against", T.diffAgainst + "：" + d.old.name + "（" + statusName(d.old.status) + "）"));
    var changes = d.changes || [];
    if (!changes.length) body.appendChild(el("p", "diff-none", T.diffNone));
    var ul = el("ul", "diff-list");
    changes.forEach(function (c) {
      var li = el("li", "diff-" + c.change);
      li.dataset.code = c.code;
      var head = el("div", "diff-head");
      head.appendChild(el("span", "badge badge-chg-" + c.change,
        c.change === "added" ? T.diffAdded : c.change === "retired" ? T.diffRetired : T.diffChanged));
      head.appendChild(el("strong", null, " " + c.name + "（" + c.code + "）" + levelName(c.level)));
      li.appendChild(head);
      var parts = [];
      if (c.area_gained_m2 > 0) parts.push("+" + formatArea(c.area_gained_m2));
      if (c.area_lost_m2 > 0) parts.push("−" + formatArea(c.area_lost_m2));
      if (parts.length) li.appendChild(el("div", "diff-areas", parts.join(" / ")));
      if (c.gained_from && c.gained_from.length) {
        li.appendChild(el("div", "diff-from", T.diffFrom + "：" + c.gained_from.map(function (s) {
          return s.name + "（" + s.code + "）" + formatArea(s.area_m2);
        }).join("、")));
      }
      ul.appendChild(li);
    });
    body.appendChild(ul);
    var staff = d.staff_affected || [];
    var items = d.items_affected || [];
    body.appendChild(el("h3", null, T.diffStaff + "（" + staff.length + "）"));
    if (staff.length) {
      var sl = el("ul", "diff-staff");
      staff.forEach(function (s) { sl.appendChild(el("li", null, s.name + " · " + s.role + " · " + gridText(s.grid_code))); });
      body.appendChild(sl);
    }
    body.appendChild(el("h3", null, T.diffItems + "（" + items.length + "）"));
    if (items.length) {
      var il = el("ul", "diff-items");
      items.forEach(function (it) {
        var text = [it.number || it.id || "", it.title || it.category || "", it.grid_code || ""]
          .filter(function (x) { return x !== ""; }).join(" · ");
        il.appendChild(el("li", null, text || JSON.stringify(it)));
      });
      body.appendChild(il);
    }
    $("diff-panel").hidden = false;
    root.dataset.diffChanges = String(changes.length);
  }
  $("diff").addEventListener("click", function () {
    if (!state.edition) return;
    clearDiff();
    // One request: the diff answer carries its pieces as GeoJSON too (also at diff.geojson).
    api("GET", editionUrl(state.edition.id, "diff")).then(function (d) {
      showDiff(d);
      if (d.geojson) diffLayer.addData(d.geojson);
      var b = diffLayer.getBounds();
      if (b.isValid()) map.fitBounds(b, { padding: [60, 60], maxZoom: 17, animate: false });
    }).catch(showError);
  });

  var dialog = $("publish-dialog");
  $("publish").addEventListener("click", function () {
    if (!isDraft()) return;
    $("publish-text").textContent = editionLabel(state.edition) + "。" + T.publishText;
    if (dialog.showModal) dialog.showModal(); else dialog.setAttribute("open", "");
  });
  dialog.addEventListener("close", function () {
    if (dialog.returnValue !== "ok" || !isDraft()) return;
    var e = state.edition;
    api("POST", editionUrl(e.id, "publish"), { version: e.version, reroute: $("reroute").checked })
      .then(function (published) {
        setStatus(T.published + "：" + published.name, "ok published");
        root.dataset.published = String(published.id);
        state.edition = null;
        return loadEditions(published.id);
      })
      .catch(function (err) {
        if (err instanceof ApiError && err.code === "validation_failed") {
          showFindings(err.body.findings);
          setStatus(T.publishBlocked + "：" + err.message, "error");
          return;
        }
        showError(err);
      });
  });

  $("blind-spots").addEventListener("change", function (ev) {
    if (!ev.target.checked) { map.removeLayer(blindLayer); return; }
    blindLayer.clearLayers();
    api("GET", cfg.api.blindSpots).then(function (fc) {
      blindLayer.addData(fc);
      blindLayer.addTo(map);
      root.dataset.blindSpots = String((fc.features || []).length);
    }).catch(showError);
  });

  // ---- start ---------------------------------------------------------------------------------
  setBusy(0);
  refreshToolState();
  var ready = Promise.all([loadCounty(), loadEditions()]).then(function () {
    root.dataset.plannerReady = "1";
  }).catch(showError);

  // For tests and the browser console.
  window.gisgridPlanner = {
    map: map, state: state, grids: grids, ready: ready, select: select, reload: loadGrids,
    formatArea: formatArea,
  };
})();
