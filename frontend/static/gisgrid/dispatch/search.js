/* One search box for three things: a case number (HY20261201-0001: select it), a grid code of
 * 9, 12 or 15 digits (fit the map to it and open its panel), anything else an address
 * (GET /api/v1/geocode: a list of places; a click flies there).
 */
import { api } from "../core/api.js";
import { el } from "../core/format.js";
import { geoJsonLayer } from "../core/mapbase.js";
import { showError } from "../core/messages.js";

const CASE_NUMBER = /^[A-Za-z]{2}\d{8}-\d{4,}$/;
const GRID_CODE = /^\d{9}(\d{3})?(\d{3})?$/;

export function createSearch(map, { form, input, results, config, T, busy, onCase, onGrid }) {
  const L = window.L;
  const found = L.layerGroup().addTo(map);

  function place(p) {
    found.clearLayers();
    const ll = map.toMap(p.point[0], p.point[1]);
    L.circleMarker(ll, { radius: 9, color: "#8e44ad", weight: 3, fillOpacity: 0.2 }).addTo(found);
    map.setView(ll, Math.max(map.getZoom(), 16));
  }

  function list(places) {
    results.textContent = "";
    if (!places.length) results.appendChild(el("li", "none", T.noResults));
    places.forEach((p) => {
      const li = el("li", "place");
      const b = el("button", "link", p.name);
      b.type = "button";
      b.addEventListener("click", () => { results.hidden = true; place(p); });
      li.appendChild(b);
      li.appendChild(el("span", "muted", " " + (p.kind_label || "")));
      results.appendChild(li);
    });
    results.hidden = false;
  }

  function grid(code) {
    return busy.track(api(config.api.grid.replace("CODE", encodeURIComponent(code)))).then((g) => {
      found.clearLayers();
      const layer = geoJsonLayer(map, { type: "Feature", geometry: g.geometry, properties: {} },
                                 { style: { color: "#8e44ad", weight: 3, fill: false } }).addTo(found);
      map.fitBounds(layer.getBounds(), { maxZoom: 17 });
      onGrid(code);
    });
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = input.value.trim();
    results.hidden = true;
    if (!q) return;
    let work;
    if (CASE_NUMBER.test(q)) work = Promise.resolve(onCase(q.toUpperCase()));
    else if (GRID_CODE.test(q)) work = grid(q);
    else work = busy.track(api(config.api.geocode, { params: { q, limit: 10 } })).then((a) => list(a.results || []));
    work.catch((err) => {
      results.textContent = "";
      const li = el("li", "none");
      results.appendChild(li);
      showError(li, err);
      results.hidden = false;
    });
  });
  document.addEventListener("click", (e) => { if (!form.contains(e.target)) results.hidden = true; });
}
