/* The map page's search box: grids by code or name (among loaded features) or addresses
 * through the gazetteer API; a chosen place is located like a click. */
import { api } from "../core/api.js";
import { el } from "../core/format.js";
import { errorLines } from "../core/messages.js";
import { LEVELS } from "./layers.js";

export function createSearch(ctx, grids, locator) {
  const { T, API, map, popups } = ctx;
  const resultsList = document.getElementById("search-results");
  const searchInput = document.getElementById("search-input");
  let searchMode = "grid";
  let geocodeSeq = 0;
  let geocodeTimer = null;

  // Exact code, exact name, code prefix, then name substring; finer levels first within a rank.
  function findMatches(query) {
    const q = String(query || "").trim().toLowerCase();
    if (!q) return [];
    const ranked = [];
    grids.allFeatures().forEach((f) => {
      const p = f.properties || {};
      const code = String(p.code || "").toLowerCase();
      const name = String(p.name || "").toLowerCase();
      const rank = code === q ? 0 : name === q ? 1 : code.indexOf(q) === 0 ? 2 : name.indexOf(q) >= 0 ? 3 : -1;
      if (rank >= 0) ranked.push({ rank, f });
    });
    ranked.sort((a, b) => a.rank - b.rank || (a.f.properties.level - b.f.properties.level) ||
      String(a.f.properties.code).localeCompare(String(b.f.properties.code)));
    return ranked.map((r) => r.f);
  }

  function showResults(matches) {
    resultsList.textContent = "";
    if (!matches.length) {
      resultsList.appendChild(el("li", "no-match", T.noMatch));
      resultsList.hidden = false;
      return;
    }
    matches.slice(0, 10).forEach((f) => {
      const li = el("li");
      const btn = el("button", "result");
      btn.type = "button";
      btn.appendChild(el("span", "result-name", f.properties.name));
      btn.appendChild(el("span", "result-code", f.properties.code + " · " + popups.levelLabel(f.properties.level)));
      btn.addEventListener("click", () => grids.zoomToFeature(f));
      li.appendChild(btn);
      resultsList.appendChild(li);
    });
    if (matches.length > 10) resultsList.appendChild(el("li", "more", matches.length + " " + T.matches));
    resultsList.hidden = false;
  }

  function search(query) {
    // Level 3 may not be loaded yet: fetch its data (without showing it) so it is searchable.
    return Promise.all(LEVELS.map(grids.loadLevel)).then(() => {
      const matches = findMatches(query);
      showResults(matches);
      if (matches.length) grids.zoomToFeature(matches[0]);
      return matches;
    });
  }

  function setSearchMode(mode) {
    searchMode = mode === "address" ? "address" : "grid";
    searchInput.placeholder = searchMode === "address" ? T.placeholderAddress : T.placeholderGrid;
    resultsList.hidden = true;
    resultsList.textContent = "";
    resultsList.dataset.mode = searchMode;
    document.querySelectorAll("input[name=search-mode]").forEach((r) => { r.checked = r.value === searchMode; });
  }

  function chainText(list) { return (list || []).map((g) => g.name).join(" › "); }

  function showPlaces(answer) {
    resultsList.textContent = "";
    resultsList.dataset.mode = "address";
    const places = (answer && answer.results) || [];
    if (!places.length) resultsList.appendChild(el("li", "no-match", T.noPlace));
    places.forEach((p) => {
      const li = el("li");
      const btn = el("button", "result place");
      btn.type = "button";
      const top = el("span", "result-top");
      top.appendChild(el("span", "result-name", p.name));
      top.appendChild(el("span", "result-code", p.kind_label || p.kind));
      btn.appendChild(top);
      btn.appendChild(el("span", "result-chain", chainText(p.grids) || T.statusOutside));
      btn.addEventListener("click", () => choosePlace(p));
      li.appendChild(btn);
      resultsList.appendChild(li);
    });
    resultsList.hidden = false;
    resultsList.dataset.query = (answer && answer.query) || "";
  }

  function geocode(query) {
    const q = String(query || "").trim();
    const seq = ++geocodeSeq;
    if (!q) { resultsList.hidden = true; resultsList.textContent = ""; return Promise.resolve(null); }
    return api(API.geocode, { params: { q, limit: 10 } }).then((answer) => {
      if (seq === geocodeSeq && searchMode === "address") showPlaces(answer);
      return answer;
    }, (err) => {
      if (seq !== geocodeSeq) return null;
      resultsList.textContent = "";
      errorLines(err).forEach((line) => resultsList.appendChild(el("li", "no-match error", line)));
      resultsList.hidden = false;
      return null;
    });
  }

  function choosePlace(p) {
    const [lon, lat] = p.point;
    map.setView(map.toMap(lon, lat), Math.max(map.getZoom(), 16), { animate: false });
    return locator.locate({ lon, lat, crs: "wgs84" });
  }

  document.querySelectorAll("input[name=search-mode]").forEach((r) => {
    r.addEventListener("change", () => { if (r.checked) setSearchMode(r.value); });
  });
  document.getElementById("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    clearTimeout(geocodeTimer);
    if (searchMode === "address") geocode(searchInput.value);
    else search(searchInput.value);
  });
  searchInput.addEventListener("input", (e) => {
    clearTimeout(geocodeTimer);
    if (!e.target.value.trim()) { geocodeSeq++; resultsList.hidden = true; resultsList.textContent = ""; return; }
    if (searchMode === "address") geocodeTimer = setTimeout(() => geocode(e.target.value), 300);
  });

  setSearchMode((document.querySelector("input[name=search-mode]:checked") || {}).value);
  return { findMatches, search, geocode, setSearchMode };
}
