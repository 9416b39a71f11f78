/* Cases on the map: one marker per case in a Leaflet.markercluster group, coloured by clock
 * (red, yellow, green, paused); a cluster takes the colour of its most urgent case. The marker
 * of the selected case is drawn larger and kept out of clusters, so map and queue show the same
 * selection. Updates are per marker (remove + add): a pushed change costs one marker, never a
 * redraw of 5,000.
 */
import { CLOCK_RANK, shownClock } from "./store.js";

const SIZE = 14;
const SELECTED_SIZE = 24;

function icon(clock, selected) {
  const size = selected ? SELECTED_SIZE : SIZE;
  return window.L.divIcon({
    className: "case-marker clock-" + clock + (selected ? " selected" : ""),
    iconSize: [size, size],
    iconAnchor: [size / 2, size / 2],
  });
}

const ICONS = {};
function iconFor(clock, selected) {
  const key = clock + (selected ? "!" : "");
  if (!ICONS[key]) ICONS[key] = icon(clock, selected);
  return ICONS[key];
}

// The most urgent clock under a cluster, stopping at the first red: a change of one case
// redraws the icons of the clusters above it, and the county-wide ones hold thousands of cases
// (getAllChildMarkers would copy them all, on every pushed change). Reads markercluster's own
// tree (_markers, _childClusters), as its getAllChildMarkers does.
function worstClock(cluster) {
  let worst = 9;
  let clock = "none";
  const stack = [cluster];
  while (stack.length) {
    const c = stack.pop();
    for (const m of c._markers) {
      const r = CLOCK_RANK[m.clock];
      if (r < worst) {
        worst = r;
        clock = m.clock;
        if (r === 0) return clock;
      }
    }
    for (const child of c._childClusters) stack.push(child);
  }
  return clock;
}

function clusterIcon(cluster) {
  const worstClockName = worstClock(cluster);
  const n = cluster.getChildCount();
  const size = n < 10 ? 30 : n < 100 ? 36 : n < 1000 ? 42 : 48;
  return window.L.divIcon({
    html: "<span>" + n + "</span>", // a number: never user text
    className: "case-cluster clock-" + worstClockName,
    iconSize: [size, size],
  });
}

/** The cases layer on `map` (from core/mapbase.js createMap); `onSelect(number)` on a click. */
export function createCasesLayer(map, store, onSelect) {
  const L = window.L;
  const group = L.markerClusterGroup({
    chunkedLoading: true,
    showCoverageOnHover: false,
    maxClusterRadius: 45,
    spiderfyOnMaxZoom: true,
    disableClusteringAtZoom: 18,
    iconCreateFunction: clusterIcon,
    // When the last chunk is in: the time the snapshot's markers are drawn (read by the bench).
    chunkProgress(done, total) {
      if (done === total) document.documentElement.dataset.markersDrawnAt = String(Math.round(performance.now()));
    },
  });
  const selectedLayer = L.layerGroup();
  const markers = new Map();
  let selected = null;

  function make(rec) {
    const clock = shownClock(rec);
    const m = L.marker(map.toMap(rec.lon, rec.lat), { icon: iconFor(clock, false), keyboard: false });
    m.number = rec.number;
    m.clock = clock;
    m.on("click", () => onSelect(rec.number));
    return m;
  }

  function drawSelected() {
    selectedLayer.clearLayers();
    const rec = selected && store.get(selected);
    if (!rec) return;
    const m = L.marker(map.toMap(rec.lon, rec.lat), { icon: iconFor(shownClock(rec), true), zIndexOffset: 1000 });
    m.number = rec.number;
    m.on("click", () => onSelect(rec.number));
    selectedLayer.addLayer(m);
  }

  function reloadAll() {
    group.clearLayers();
    markers.clear();
    const list = [];
    store.cases.forEach((rec) => {
      const m = make(rec);
      markers.set(rec.number, m);
      list.push(m);
    });
    group.addLayers(list);
    drawSelected();
  }

  function update(number, rec) {
    const old = markers.get(number);
    if (old) {
      group.removeLayer(old);
      markers.delete(number);
    }
    if (rec) {
      const m = make(rec);
      markers.set(number, m);
      group.addLayer(m);
    }
    if (number === selected) drawSelected();
  }

  store.onChange((number, rec) => {
    if (number === "*") reloadAll();
    else update(number, rec);
  });

  return {
    group,
    selectedLayer,
    markers,
    select(number, { pan = true } = {}) {
      selected = number;
      drawSelected();
      const rec = number && store.get(number);
      if (rec && pan) {
        const ll = map.toMap(rec.lon, rec.lat);
        if (!map.getBounds().pad(-0.1).contains(ll)) map.panTo(ll);
      }
    },
    get selected() { return selected; },
  };
}
