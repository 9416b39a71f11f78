/* gisgrid grid map: county outline + three grid levels from the JSON API.
 *
 * Plain ES2017, no build step. Configuration comes from the page (json_script "gisgrid-config"),
 * UI strings from data attributes on #gisgrid-strings (translated by Django).
 * Rule: data (names, codes, units) is only ever put into the page with textContent / DOM
 * nodes, never as HTML; Leaflet's popups and tooltips get DOM elements, not strings.
 */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("gisgrid-config").textContent);
  var T = document.getElementById("gisgrid-strings").dataset;
  var API = document.getElementById("gisgrid-endpoints").dataset;
  var LEVELS = [1, 2, 3];
  var STYLES = {
    county: { color: "#7a1f1f", weight: 3, dashArray: "8 4", fill: false, interactive: false },
    1: { color: "#1b2a3a", weight: 3, opacity: 0.95, fillColor: "#3b6ea5", fillOpacity: 0.04 },
    2: { color: "#3b6ea5", weight: 1.2, opacity: 0.9, fillColor: "#3b6ea5", fillOpacity: 0.03 },
    3: { color: "#b35400", weight: 1, opacity: 0.9, fillColor: "#f39c34", fillOpacity: 0.28 },
  };
  var HIGHLIGHT = { color: "#e6007e", weight: 4, opacity: 1 };

  // ---- small DOM helpers (text only) -------------------------------------------------------
  var el = gisgridDom.el;
  var escapeHtml = gisgridDom.escapeHtml;
  function setStatus(text, isError) {
    var s = document.getElementById("status");
    s.textContent = text || "";
    s.classList.toggle("error", !!isError);
  }

  function formatArea(m2) {
    var v = Number(m2);
    if (!isFinite(v)) return "";
    if (v >= 1e6) return (v / 1e6).toLocaleString(undefined, { maximumFractionDigits: 2 }) + " km²";
    return Math.round(v).toLocaleString() + " m²";
  }
  function kindLabel(kind) {
    return (cfg.kinds && cfg.kinds[kind]) || kind || "";
  }
  function levelLabel(level) {
    return T["levelName" + level] || String(level);
  }

  // Popup content for a grid's properties, built as DOM nodes (never HTML from data).
  function buildPopupContent(props) {
    props = props || {};
    var box = el("div", "grid-popup");
    box.appendChild(el("h3", "grid-popup-name", props.name));
    var dl = el("dl");
    function row(label, value) {
      dl.appendChild(el("dt", null, label));
      dl.appendChild(el("dd", null, value === null || value === undefined || value === "" ? T.none : value));
    }
    row(T.code, props.code);
    row(T.level, levelLabel(props.level));
    row(T.kind, kindLabel(props.kind));
    if (props.parent_code) row(T.parent, props.parent_code);
    row(T.unit, props.unit);
    row(T.area, formatArea(props.area_m2));
    box.appendChild(dl);
    return box;
  }
  function buildLabel(props, level) {
    return el("span", "grid-label-text", props && props.name);
  }

  // ---- map -------------------------------------------------------------------------------
  var map = L.map("map", { center: cfg.center, zoom: cfg.zoom, zoomControl: false, minZoom: 6, maxZoom: 19 });
  L.control.zoom({ position: "bottomright" }).addTo(map);
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);

  // Leaflet's attribution prefix is a link to leafletjs.com (text only, no request).
  if (cfg.basemap && cfg.basemap.url) {
    // Attribution is deployment configuration; escaped anyway so it is shown as text.
    L.tileLayer(cfg.basemap.url, {
      attribution: escapeHtml(cfg.basemap.attribution || ""),
      maxZoom: 19,
    }).addTo(map);
  } else {
    map.getContainer().classList.add("no-basemap");
  }

  // Panes keep the stacking fixed whatever order data arrives in: county < 1 < 2 < 3.
  [["county", 402], ["grid1", 410], ["grid2", 420], ["grid3", 430], ["blind", 435]].forEach(function (p) {
    map.createPane(p[0]).style.zIndex = String(p[1]);
  });

  var countyLayer = L.geoJSON(null, { pane: "county", style: STYLES.county, interactive: false });
  countyLayer.addTo(map);

  var state = {};
  var highlighted = null; // { layer: the level's GeoJSON group, feature: the highlighted path }
  LEVELS.forEach(function (level) {
    state[level] = { features: [], loaded: false, promise: null, userHidden: false };
    state[level].layer = L.geoJSON(null, {
      pane: "grid" + level,
      style: function () { return STYLES[level]; },
      onEachFeature: function (feature, layer) {
        var props = feature.properties || {};
        layer.bindPopup(function () { return buildPopupContent(props); }, { maxWidth: 320 });
        layer.bindTooltip(buildLabel(props, level), {
          permanent: true, direction: "center", interactive: false,
          className: "grid-label grid-label-" + level,
        });
        layer.on("mouseover", function () { layer.setStyle({ weight: STYLES[level].weight + 1.5 }); });
        layer.on("mouseout", function () {
          if (!highlighted || highlighted.feature !== layer) state[level].layer.resetStyle(layer);
        });
        feature.__layer = layer;
      },
    });
    state[level].layer.on("add", function () { loadLevel(level); });
  });

  var overlays = {};
  overlays[escapeHtml(T.county)] = countyLayer;
  LEVELS.forEach(function (level) {
    var label = '<span class="swatch swatch-' + level + '"></span>' + escapeHtml(T["level" + level]);
    overlays[label] = state[level].layer;
  });
  // 盲点: parts of urban communities no level-3 grid covers (hatched grey, on demand).
  var blind = { layer: null, promise: null, count: 0 };
  blind.layer = L.geoJSON(null, {
    pane: "blind",
    style: function () {
      return { color: "#5f6368", weight: 1.2, dashArray: "4 3", fillColor: "#9aa0a6", fillOpacity: 0.45,
               className: "blind-spot" };
    },
    onEachFeature: function (feature, layer) {
      var props = feature.properties || {};
      layer.bindPopup(function () { return buildBlindSpotPopup(props); }, { maxWidth: 320 });
    },
  });
  blind.layer.on("add", function () { loadBlindSpots(); });
  overlays['<span class="swatch swatch-blind"></span>' + escapeHtml(T.blindSpots)] = blind.layer;

  L.control.layers(null, overlays, { collapsed: false, position: "topright" }).addTo(map);

  map.on("overlayadd", function (e) {
    LEVELS.forEach(function (l) { if (e.layer === state[l].layer) state[l].userHidden = false; });
  });
  map.on("overlayremove", function (e) {
    LEVELS.forEach(function (l) { if (e.layer === state[l].layer) state[l].userHidden = true; });
  });

  // ---- loading ---------------------------------------------------------------------------
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status + " " + r.statusText + " " + url);
        return r.json();
      });
  }

  function setCount(level) {
    var c = document.getElementById("count-" + level);
    var s = state[level];
    c.textContent = s.loaded ? String(s.features.length) : (s.promise ? T.loading : T.notLoaded);
    c.dataset.count = s.loaded ? String(s.features.length) : "";
  }

  // Fetch a level once; resolves with its features. Adding the layer to the map is separate.
  function loadLevel(level) {
    var s = state[level];
    if (s.promise) return s.promise;
    var simplify = (cfg.simplify && cfg.simplify[level]) || 0;
    var url = cfg.api.grids + "?level=" + encodeURIComponent(level) + "&simplify=" + encodeURIComponent(simplify);
    s.promise = getJSON(url).then(function (fc) {
      s.features = (fc && fc.features) || [];
      s.layer.addData(fc);
      s.loaded = true;
      setCount(level);
      updateLabels();
      document.documentElement.dataset["level" + level + "Loaded"] = "1";
      return s.features;
    }).catch(function (err) {
      s.promise = null;
      setCount(level);
      setStatus(T.loadFailed + " (" + levelLabel(level) + ")", true);
      if (window.console) console.error(err);
      return [];
    });
    setCount(level);
    return s.promise;
  }

  function loadCounty() {
    return getJSON(cfg.api.county).then(function (fc) {
      countyLayer.addData(fc);
      var f = fc && fc.features && fc.features[0];
      if (f && f.properties && f.properties.name) {
        document.getElementById("county-name").textContent = f.properties.name;
      }
      var b = countyLayer.getBounds();
      if (b.isValid()) map.fitBounds(b, { padding: [10, 10], animate: false });
      document.documentElement.dataset.countyLoaded = "1";
    }).catch(function (err) {
      setStatus(T.loadFailed, true);
      if (window.console) console.error(err);
    });
  }

  // ---- labels by zoom ----------------------------------------------------------------------
  function updateLabels() {
    var z = map.getZoom();
    var container = map.getContainer();
    LEVELS.forEach(function (level) {
      var min = (cfg.labelMinZoom && cfg.labelMinZoom[level]) || 0;
      container.classList.toggle("hide-labels-" + level, z < min);
    });
  }

  function maybeShowLevel3() {
    var s = state[3];
    if (map.getZoom() >= cfg.level3LoadZoom && !s.userHidden && !map.hasLayer(s.layer)) {
      map.addLayer(s.layer); // the layer's "add" handler fetches it
    }
  }
  map.on("zoomend", function () { updateLabels(); maybeShowLevel3(); });

  // ---- search ------------------------------------------------------------------------------
  var resultsList = document.getElementById("search-results");

  function allFeatures() {
    var out = [];
    LEVELS.forEach(function (l) { out = out.concat(state[l].features); });
    return out;
  }

  // Exact code, exact name, code prefix, then name substring; finer levels first within a rank.
  function findMatches(query) {
    var q = String(query || "").trim().toLowerCase();
    if (!q) return [];
    var ranked = [];
    allFeatures().forEach(function (f) {
      var p = f.properties || {};
      var code = String(p.code || "").toLowerCase();
      var name = String(p.name || "").toLowerCase();
      var rank = code === q ? 0 : name === q ? 1 : code.indexOf(q) === 0 ? 2 : name.indexOf(q) >= 0 ? 3 : -1;
      if (rank >= 0) ranked.push({ rank: rank, f: f });
    });
    ranked.sort(function (a, b) {
      return a.rank - b.rank || (a.f.properties.level - b.f.properties.level) ||
        String(a.f.properties.code).localeCompare(String(b.f.properties.code));
    });
    return ranked.map(function (r) { return r.f; });
  }

  function zoomToFeature(f) {
    var level = f.properties.level;
    var s = state[level];
    if (!map.hasLayer(s.layer)) map.addLayer(s.layer);
    var layer = f.__layer;
    if (!layer) return;
    if (highlighted) highlighted.layer.resetStyle(highlighted.feature);
    layer.setStyle(HIGHLIGHT);
    layer.bringToFront();
    highlighted = { layer: s.layer, feature: layer };
    map.fitBounds(layer.getBounds(), { padding: [40, 40], maxZoom: 17, animate: false });
    layer.openPopup(layer.getBounds().getCenter());
  }

  function showResults(matches) {
    resultsList.textContent = "";
    if (!matches.length) {
      resultsList.appendChild(el("li", "no-match", T.noMatch));
      resultsList.hidden = false;
      return;
    }
    matches.slice(0, 10).forEach(function (f) {
      var li = el("li");
      var btn = el("button", "result");
      btn.type = "button";
      btn.appendChild(el("span", "result-name", f.properties.name));
      btn.appendChild(el("span", "result-code", f.properties.code + " · " + levelLabel(f.properties.level)));
      btn.addEventListener("click", function () { zoomToFeature(f); });
      li.appendChild(btn);
      resultsList.appendChild(li);
    });
    if (matches.length > 10) resultsList.appendChild(el("li", "more", matches.length + " " + T.matches));
    resultsList.hidden = false;
  }

  function search(query) {
    // Level 3 may not be loaded yet: fetch its data (without showing it) so it is searchable.
    return Promise.all(LEVELS.map(loadLevel)).then(function () {
      var matches = findMatches(query);
      showResults(matches);
      if (matches.length) zoomToFeature(matches[0]);
      return matches;
    });
  }

  // ---- search: grids (loaded features) or addresses (gazetteer API) ---------------------------
  var searchInput = document.getElementById("search-input");
  var searchMode = "grid";
  var geocodeSeq = 0;
  var geocodeTimer = null;

  function setSearchMode(mode) {
    searchMode = mode === "address" ? "address" : "grid";
    searchInput.placeholder = searchMode === "address" ? T.placeholderAddress : T.placeholderGrid;
    resultsList.hidden = true;
    resultsList.textContent = "";
    resultsList.dataset.mode = searchMode;
    document.querySelectorAll("input[name=search-mode]").forEach(function (r) { r.checked = r.value === searchMode; });
  }

  function chainText(grids) {
    return (grids || []).map(function (g) { return g.name; }).join(" › ");
  }

  function showPlaces(answer) {
    resultsList.textContent = "";
    resultsList.dataset.mode = "address";
    var places = (answer && answer.results) || [];
    if (!places.length) {
      resultsList.appendChild(el("li", "no-match", T.noPlace));
    }
    places.forEach(function (p) {
      var li = el("li");
      var btn = el("button", "result place");
      btn.type = "button";
      var top = el("span", "result-top");
      top.appendChild(el("span", "result-name", p.name));
      top.appendChild(el("span", "result-code", p.kind_label || p.kind));
      btn.appendChild(top);
      var chain = chainText(p.grids);
      btn.appendChild(el("span", "result-chain", chain || T.statusOutside));
      btn.addEventListener("click", function () { choosePlace(p); });
      li.appendChild(btn);
      resultsList.appendChild(li);
    });
    resultsList.hidden = false;
    resultsList.dataset.query = (answer && answer.query) || "";
  }

  function geocode(query) {
    var q = String(query || "").trim();
    var seq = ++geocodeSeq;
    if (!q) { resultsList.hidden = true; resultsList.textContent = ""; return Promise.resolve(null); }
    return apiGet(API.geocode, { q: q, limit: 10 }).then(function (answer) {
      if (seq === geocodeSeq && searchMode === "address") showPlaces(answer);
      return answer;
    }, function (err) {
      if (seq !== geocodeSeq) return null;
      resultsList.textContent = "";
      errorLines(err).forEach(function (line) { resultsList.appendChild(el("li", "no-match error", line)); });
      resultsList.hidden = false;
      return null;
    });
  }

  function choosePlace(p) {
    var lon = p.point[0], lat = p.point[1];
    map.setView([lat, lon], Math.max(map.getZoom(), 16), { animate: false });
    return locate({ lon: lon, lat: lat, crs: "wgs84" });
  }

  document.querySelectorAll("input[name=search-mode]").forEach(function (r) {
    r.addEventListener("change", function () { if (r.checked) setSearchMode(r.value); });
  });
  document.getElementById("search-form").addEventListener("submit", function (e) {
    e.preventDefault();
    clearTimeout(geocodeTimer);
    if (searchMode === "address") geocode(searchInput.value);
    else search(searchInput.value);
  });
  searchInput.addEventListener("input", function (e) {
    clearTimeout(geocodeTimer);
    if (!e.target.value.trim()) { geocodeSeq++; resultsList.hidden = true; resultsList.textContent = ""; return; }
    if (searchMode === "address") {
      geocodeTimer = setTimeout(function () { geocode(e.target.value); }, 300);
    }
  });

  // ---- API calls that may answer 4xx with a message ---------------------------------------
  function apiGet(url, params) {
    var qs = Object.keys(params || {}).filter(function (k) {
      return params[k] !== undefined && params[k] !== null;
    }).map(function (k) {
      return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]);
    }).join("&");
    return fetch(url + (qs ? "?" + qs : ""), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().catch(function () { return null; }).then(function (body) {
          if (!r.ok) {
            var err = new Error(r.status + " " + url);
            err.status = r.status;
            err.body = body;
            throw err;
          }
          return body;
        });
      });
  }

  // The API's own words for a failed request: every message under `fields`, else `detail`.
  function errorLines(err) {
    var body = err && err.body;
    var lines = [];
    function collect(prefix, v) {
      if (v === null || v === undefined) return;
      if (Array.isArray(v)) { v.forEach(function (x) { collect(prefix, x); }); return; }
      if (typeof v === "object") {
        Object.keys(v).forEach(function (k) { collect(prefix ? prefix + "." + k : k, v[k]); });
        return;
      }
      lines.push((prefix ? prefix + ": " : "") + String(v));
    }
    if (body && body.fields) collect("", body.fields);
    if (!lines.length && body && body.detail) lines.push(String(body.detail));
    if (!lines.length) lines.push(T.requestFailed + (err && err.status ? " (" + err.status + ")" : ""));
    return lines;
  }

  // ---- locate: which grid, who is responsible --------------------------------------------
  var locatePanel = document.getElementById("locate-panel");
  var locateBody = document.getElementById("locate-body");
  var routeBox = document.getElementById("route-box");
  var routeSelect = document.getElementById("route-category");
  var routeBody = document.getElementById("route-body");
  var locateToggle = document.getElementById("locate-toggle");
  var locateSeq = 0;
  var routeSeq = 0;
  var current = null; // the last located answer
  var marker = null;
  var CRS_LABELS = { wgs84: "WGS-84", cgcs2000: "CGCS2000", gcj02: "GCJ-02", bd09: "BD-09" };

  function fmtCoord(v) { return Number(v).toFixed(6); }
  function formatDistance(m) {
    var v = Number(m);
    if (!isFinite(v)) return "";
    if (v >= 1000) return (v / 1000).toLocaleString(undefined, { maximumFractionDigits: 2 }) + " km";
    return (Math.round(v * 10) / 10).toLocaleString() + " m";
  }

  function setMarker(lon, lat) {
    var ll = [lat, lon];
    if (!marker) {
      marker = L.marker(ll, {
        icon: L.divIcon({ className: "locate-pin", html: "", iconSize: [18, 18], iconAnchor: [9, 9] }),
        keyboard: false, interactive: false,
      }).addTo(map);
    } else {
      marker.setLatLng(ll);
    }
  }

  function showPanel() { locatePanel.hidden = false; }
  function section(title) {
    var box = el("div", "locate-section");
    if (title) box.appendChild(el("h3", null, title));
    return box;
  }
  function phoneLink(phone) {
    var a = el("a", "phone", phone);
    a.href = "tel:" + String(phone).replace(/[^0-9+]/g, "");
    return a;
  }
  function staffList(staff) {
    var ul = el("ul", "staff-list");
    (staff || []).forEach(function (s) {
      var li = el("li", "staff");
      li.appendChild(el("span", "staff-role", s.role_label || s.role));
      li.appendChild(el("span", "staff-name", s.name));
      if (s.unit) li.appendChild(el("span", "staff-unit", s.unit));
      if (s.phone) li.appendChild(phoneLink(s.phone));
      ul.appendChild(li);
    });
    if (!ul.children.length) ul.appendChild(el("li", "none", T.none));
    return ul;
  }

  function zoomToCode(level, code) {
    return loadLevel(level).then(function (features) {
      var f = features.find(function (x) { return x.properties && x.properties.code === code; });
      if (f) zoomToFeature(f);
      return f || null;
    });
  }

  function renderLocate(a) {
    locateBody.textContent = "";
    locatePanel.dataset.status = a.status || "";
    var statusText = { inside: T.statusInside, blind_spot: T.statusBlindSpot, outside: T.statusOutside }[a.status] ||
      a.status;
    var head = el("div", "locate-status");
    head.appendChild(el("span", "badge status-" + String(a.status).replace(/[^a-z_]/g, ""), statusText));
    var w = a.wgs84 || [];
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
      var chainBox = section(T.gridChain);
      var ol = el("ol", "grid-chain");
      a.grids.forEach(function (g) {
        var li = el("li", "level-" + g.level);
        var btn = el("button", "chain-link");
        btn.type = "button";
        btn.dataset.code = g.code;
        btn.appendChild(el("span", "chain-level", levelLabel(g.level)));
        btn.appendChild(el("span", "chain-name", g.name));
        btn.appendChild(el("span", "chain-code", g.code));
        btn.addEventListener("click", function () { zoomToCode(g.level, g.code); });
        li.appendChild(btn);
        ol.appendChild(li);
      });
      chainBox.appendChild(ol);
      locateBody.appendChild(chainBox);
    }

    if (a.near_boundary && a.candidates && a.candidates.length) {
      var dmin = Math.min.apply(null, a.candidates.map(function (c) { return Number(c.distance_m); }));
      var warn = el("div", "warning near-boundary");
      warn.appendChild(el("span", null, T.nearBoundary.replace("{d}", String(Math.round(dmin * 10) / 10)) + ": " +
        T.candidates + " "));
      a.candidates.forEach(function (c, i) {
        if (i) warn.appendChild(document.createTextNode("、"));
        var btn = el("button", "link candidate", c.name + " (" + levelLabel(c.level) + ", " +
          formatDistance(c.distance_m) + ")");
        btn.type = "button";
        btn.addEventListener("click", function () { zoomToCode(c.level, c.code); });
        warn.appendChild(btn);
      });
      locateBody.appendChild(warn);
    }

    if (a.status === "outside") {
      if (a.nearest) {
        var nb = section(T.nearest);
        var btnN = el("button", "link nearest", a.nearest.name + " (" + a.nearest.code + ")");
        btnN.type = "button";
        btnN.addEventListener("click", function () { zoomToCode(1, a.nearest.code); });
        nb.appendChild(btnN);
        nb.appendChild(el("span", "distance", " · " + T.distance + " " + formatDistance(a.nearest.distance_m)));
        locateBody.appendChild(nb);
      }
      if (a.swapped_inside) locateBody.appendChild(el("p", "warning swapped", T.swapped));
    } else {
      var ub = section(T.responsibleUnit);
      if (a.unit) {
        var u = el("p", "unit");
        u.appendChild(el("span", "unit-name", a.unit.name));
        if (a.unit.phone) u.appendChild(phoneLink(a.unit.phone));
        ub.appendChild(u);
      } else {
        ub.appendChild(el("p", "unit none", T.none));
      }
      locateBody.appendChild(ub);
      var sb = section(T.staff);
      sb.appendChild(staffList(a.staff));
      locateBody.appendChild(sb);
    }
    if (a.edition && a.edition.name) {
      locateBody.appendChild(el("p", "edition", T.edition + ": " + a.edition.name));
    }
  }

  function renderError(err, body) {
    body.textContent = "";
    var box = el("div", "api-error");
    errorLines(err).forEach(function (line) { box.appendChild(el("p", null, line)); });
    body.appendChild(box);
  }

  // Locate a point (lon, lat in `crs`); the marker goes where the API says the point lies.
  function locate(q) {
    var seq = ++locateSeq;
    routeSeq++;
    showPanel();
    locatePanel.dataset.state = "loading";
    locateBody.textContent = "";
    locateBody.appendChild(el("p", "loading", T.lookingUp));
    routeBox.hidden = true;
    routeBody.textContent = "";
    return apiGet(API.locate, { lon: q.lon, lat: q.lat, crs: q.crs || "wgs84" }).then(function (a) {
      if (seq !== locateSeq) return a;
      current = a;
      renderLocate(a);
      if (a.wgs84 && isFinite(a.wgs84[0]) && isFinite(a.wgs84[1])) setMarker(a.wgs84[0], a.wgs84[1]);
      if (q.zoom && a.wgs84) map.setView([a.wgs84[1], a.wgs84[0]], Math.max(map.getZoom(), 16), { animate: false });
      routeBox.hidden = false;
      routeSelect.value = "";
      loadCategories();
      locatePanel.dataset.state = "done";
      return a;
    }, function (err) {
      if (seq !== locateSeq) return null;
      current = null;
      locatePanel.dataset.status = "";
      renderError(err, locateBody);
      locatePanel.dataset.state = "error";
      return null;
    });
  }

  // ---- matter list and routing ------------------------------------------------------------
  var categoriesPromise = null;
  function loadCategories() {
    if (categoriesPromise) return categoriesPromise;
    categoriesPromise = apiGet(API.categories).then(function (cats) {
      cats = cats || [];
      var children = {};
      cats.forEach(function (c) {
        if (c.parent_code) (children[c.parent_code] = children[c.parent_code] || []).push(c);
      });
      var other = [];
      cats.forEach(function (c) {
        if (c.parent_code) return;
        var kids = children[c.code];
        if (!kids) { other.push(c); return; }
        var group = el("optgroup");
        group.label = c.code + " " + c.name;
        kids.forEach(function (k) { group.appendChild(categoryOption(k)); });
        routeSelect.appendChild(group);
      });
      // Children whose parent is not listed, and parents without children.
      cats.forEach(function (c) {
        if (c.parent_code && !cats.some(function (p) { return p.code === c.parent_code; })) other.push(c);
      });
      if (other.length) {
        var g = el("optgroup");
        g.label = T.other;
        other.forEach(function (c) { g.appendChild(categoryOption(c)); });
        routeSelect.appendChild(g);
      }
      routeSelect.dataset.loaded = String(cats.length);
      return cats;
    }).catch(function (err) {
      categoriesPromise = null;
      renderError(err, routeBody);
      return [];
    });
    return categoriesPromise;
  }
  function categoryOption(c) {
    var o = el("option", null, c.code + " " + c.name);
    o.value = c.code;
    return o;
  }

  function timeLimitText(days) {
    var n = Number(days);
    if (n === 0) return T.onTheSpot;
    return T.workingDays.replace("{n}", String(n));
  }

  function renderRoute(r) {
    routeBody.textContent = "";
    var dl = el("dl", "route");
    function row(label, node) {
      dl.appendChild(el("dt", null, label));
      var dd = el("dd");
      if (node instanceof Node) dd.appendChild(node);
      else dd.textContent = node === null || node === undefined || node === "" ? T.none : String(node);
      dl.appendChild(dd);
    }
    if (r.category) row(T.matter, r.category.code + " " + r.category.name);
    row(T.leadUnit, r.lead_unit && r.lead_unit.name);
    row(T.assistingUnits, (r.assisting_units || []).map(function (u) { return u && u.name; }).filter(Boolean)
      .join("、"));
    var limit = el("span", "time-limit", timeLimitText(r.limit_working_days));
    row(T.timeLimit, limit);
    row(T.reason, r.reason);
    routeBody.appendChild(dl);
    var nb = section(T.notify);
    nb.appendChild(staffList(r.notify));
    routeBody.appendChild(nb);
  }

  function routeCurrent(category) {
    var seq = ++routeSeq;
    routeBody.textContent = "";
    if (!category || !current || !current.wgs84) { routeBox.dataset.state = ""; return Promise.resolve(null); }
    routeBox.dataset.state = "loading";
    routeBody.appendChild(el("p", "loading", T.lookingUp));
    return apiGet(API.route, { lon: current.wgs84[0], lat: current.wgs84[1], crs: "wgs84", category: category })
      .then(function (r) {
        if (seq !== routeSeq) return r;
        renderRoute(r);
        routeBox.dataset.state = "done";
        return r;
      }, function (err) {
        if (seq !== routeSeq) return null;
        renderError(err, routeBody);
        routeBox.dataset.state = "error";
        return null;
      });
  }
  routeSelect.addEventListener("change", function () { routeCurrent(routeSelect.value); });

  // ---- click to locate, coordinate form ----------------------------------------------------
  var locateMode = false;
  function setLocateMode(on) {
    locateMode = !!on;
    locateToggle.setAttribute("aria-pressed", locateMode ? "true" : "false");
    locateToggle.classList.toggle("active", locateMode);
    map.getContainer().classList.toggle("locate-mode", locateMode);
    document.getElementById("locate-hint").textContent = locateMode ? T.locateModeOn : locateToggle.title;
    if (locateMode) map.closePopup();
  }
  locateToggle.addEventListener("click", function () { setLocateMode(!locateMode); });
  map.on("click", function (e) {
    if (!locateMode) return;
    var ll = e.latlng.wrap();
    locate({ lon: Number(ll.lng.toFixed(7)), lat: Number(ll.lat.toFixed(7)), crs: "wgs84" });
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && locateMode) setLocateMode(false);
  });

  document.getElementById("coord-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var lonIn = document.getElementById("coord-lon");
    var latIn = document.getElementById("coord-lat");
    var lon = lonIn.value.trim(), lat = latIn.value.trim();
    // A pasted pair "110.15037,35.23810" in the longitude box fills both.
    var pair = lon.split(/[\s,，]+/).filter(Boolean);
    if (pair.length === 2 && !lat) { lon = pair[0]; lat = pair[1]; lonIn.value = lon; latIn.value = lat; }
    locate({ lon: lon, lat: lat, crs: document.getElementById("coord-crs").value, zoom: true });
  });

  document.getElementById("locate-close").addEventListener("click", function () {
    locatePanel.hidden = true;
    locateSeq++;
    routeSeq++;
    current = null;
    if (marker) { map.removeLayer(marker); marker = null; }
  });

  // ---- blind spots ---------------------------------------------------------------------------
  function buildBlindSpotPopup(props) {
    var box = el("div", "grid-popup blind-popup");
    box.appendChild(el("h3", "grid-popup-name", (props.community_name || "") + " · " + T.statusBlindSpot));
    var dl = el("dl");
    function row(label, value) {
      dl.appendChild(el("dt", null, label));
      dl.appendChild(el("dd", null, value === null || value === undefined || value === "" ? T.none : value));
    }
    row(T.communityCode, props.community_code);
    row(T.area, Math.round(Number(props.area_m2) || 0).toLocaleString() + " m²");
    var items = props.items;
    row(T.reportsInside, Array.isArray(items) ? items.length : (Number(items) || 0));
    box.appendChild(dl);
    return box;
  }

  function loadBlindSpots() {
    if (blind.promise) return blind.promise;
    blind.promise = apiGet(API.blindSpots).then(function (fc) {
      blind.layer.addData(fc);
      blind.count = ((fc && fc.features) || []).length;
      document.documentElement.dataset.blindSpotsLoaded = String(blind.count);
      return fc;
    }).catch(function (err) {
      blind.promise = null;
      setStatus(T.loadFailed + " (" + T.blindSpots + "): " + errorLines(err).join("; "), true);
      return null;
    });
    return blind.promise;
  }

  // ---- start -------------------------------------------------------------------------------
  setSearchMode((document.querySelector("input[name=search-mode]:checked") || {}).value);
  state[1].layer.addTo(map);
  state[2].layer.addTo(map);
  LEVELS.forEach(setCount);
  updateLabels();
  var ready = Promise.all([loadCounty(), loadLevel(1), loadLevel(2)]).then(function () {
    maybeShowLevel3();
    document.documentElement.dataset.mapReady = "1";
  });

  // For tests and the browser console.
  window.gisgrid = {
    map: map,
    state: state,
    ready: ready,
    buildPopupContent: buildPopupContent,
    findMatches: findMatches,
    search: search,
    formatArea: formatArea,
    locate: locate,
    current: function () { return current; },
    marker: function () { return marker; },
    geocode: geocode,
    setSearchMode: setSearchMode,
    setLocateMode: setLocateMode,
    routeCurrent: routeCurrent,
    blindSpots: blind,
    buildBlindSpotPopup: buildBlindSpotPopup,
  };
})();
