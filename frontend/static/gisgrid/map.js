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
  var LEVELS = [1, 2, 3];
  var STYLES = {
    county: { color: "#7a1f1f", weight: 3, dashArray: "8 4", fill: false, interactive: false },
    1: { color: "#1b2a3a", weight: 3, opacity: 0.95, fillColor: "#3b6ea5", fillOpacity: 0.04 },
    2: { color: "#3b6ea5", weight: 1.2, opacity: 0.9, fillColor: "#3b6ea5", fillOpacity: 0.03 },
    3: { color: "#b35400", weight: 1, opacity: 0.9, fillColor: "#f39c34", fillOpacity: 0.28 },
  };
  var HIGHLIGHT = { color: "#e6007e", weight: 4, opacity: 1 };

  // ---- small DOM helpers (text only) -------------------------------------------------------
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
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
  [["county", 402], ["grid1", 410], ["grid2", 420], ["grid3", 430]].forEach(function (p) {
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

  document.getElementById("search-form").addEventListener("submit", function (e) {
    e.preventDefault();
    search(document.getElementById("search-input").value);
  });
  document.getElementById("search-input").addEventListener("input", function (e) {
    if (!e.target.value.trim()) { resultsList.hidden = true; resultsList.textContent = ""; }
  });

  // ---- start -------------------------------------------------------------------------------
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
  };
})();
