/* The grid map page (/map/): county outline + three grid levels, search, locate, routing,
 * blind spots. This module wires the parts together:
 *   layers.js   grid levels, counts, labels, highlighting, blind spots
 *   popups.js   popup and label content (DOM nodes, never HTML from data)
 *   search.js   grid and address search
 *   locate.js   the locate panel (click or coordinates), with route.js for the matter routing
 * Configuration: json_script "gisgrid-config"; strings: #gisgrid-strings; API addresses:
 * #gisgrid-endpoints (all from web/map.html). window.gisgrid is for tests and the console.
 */
import { createMap } from "../core/mapbase.js";
import { formatArea } from "../core/format.js";
import { pageConfig, strings } from "../core/i18n.js";
import { showMessage } from "../core/messages.js";
import { createGridLayers } from "./layers.js";
import { createLocator } from "./locate.js";
import { createPopups } from "./popups.js";
import { createSearch } from "./search.js";

const cfg = pageConfig("gisgrid-config");
const T = strings("gisgrid-strings");
const API = strings("gisgrid-endpoints");
const statusArea = document.getElementById("status");
const setStatus = (text, isError) => showMessage(statusArea, text, isError ? "error" : "");

const map = createMap("map", cfg);
const ctx = { cfg, T, API, map, setStatus };
ctx.popups = createPopups(ctx);
const grids = createGridLayers(ctx);
const locator = createLocator(ctx, grids);
const search = createSearch(ctx, grids, locator);

const county = map.countyReady.then((fc) => {
  if (!fc) { setStatus(T.loadFailed, true); return; }
  const f = fc.features && fc.features[0];
  if (f && f.properties && f.properties.name) document.getElementById("county-name").textContent = f.properties.name;
});

grids.start();
const ready = Promise.all([county, grids.loadLevel(1), grids.loadLevel(2)]).then(() => {
  grids.maybeShowLevel3();
  document.documentElement.dataset.mapReady = "1";
});

window.gisgrid = {
  map,
  state: grids.state,
  ready,
  buildPopupContent: ctx.popups.buildPopupContent,
  findMatches: search.findMatches,
  search: search.search,
  formatArea,
  locate: locator.locate,
  current: locator.current,
  marker: locator.marker,
  geocode: search.geocode,
  setSearchMode: search.setSearchMode,
  setLocateMode: locator.setLocateMode,
  routeCurrent: locator.routeCurrent,
  blindSpots: grids.blind,
  buildBlindSpotPopup: ctx.popups.buildBlindSpotPopup,
};
