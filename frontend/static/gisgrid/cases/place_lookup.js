/* The hotline form's address field as a lookup: what the caller said -> the gazetteer's ranked
 * places (GET geocode), shown by place_list.js; choosing one fills the point fields, so the case
 * goes where the dispatcher saw it go. The typed text stays the address of record.
 * `#h-lookup[data-state]` is idle | loading | done | error, `data-query` the text it is for
 * (browser tests wait on them). */
import { api } from "../core/api.js";
import { byId, el } from "../core/format.js";
import { fmt } from "../core/i18n.js";
import { showError } from "./errors.js";
import { busy, config } from "./page.js";
import { H, chain, isSure, placeOption, showDidYouMean, showNote, showParsed } from "./place_list.js";

const LOOKUP_DELAY_MS = 300;

export function startPlaceLookup() {
  const box = byId("h-lookup");
  const input = byId("h-address");
  const list = byId("h-places");
  const lon = byId("h-lon");
  const lat = byId("h-lat");
  const crs = byId("h-crs");
  const chosenNode = byId("h-chosen");
  const statusNode = byId("h-lookup-status");
  const errorNode = byId("h-lookup-error");
  let seq = 0; // numbers the look-ups: only the newest may fill the list
  let timer = null;
  let places = [];
  let active = -1;
  let chosen = null;
  let crsBefore = null;

  function setState(state, q) { box.dataset.state = state; box.dataset.query = q || ""; }

  function resetResults() {
    places = [];
    active = -1;
    list.textContent = "";
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    ["h-parsed", "h-dym", "h-note"].forEach((id) => { byId(id).textContent = ""; byId(id).hidden = true; });
    statusNode.textContent = "";
  }

  function markOptions() {
    list.querySelectorAll("li[role=option]").forEach((li) => {
      const i = Number(li.dataset.index);
      li.setAttribute("aria-selected", chosen && places[i] === chosen ? "true" : "false");
      li.classList.toggle("active", i === active);
    });
    if (active >= 0) input.setAttribute("aria-activedescendant", "h-place-" + active);
    else input.removeAttribute("aria-activedescendant");
  }

  function setActive(i) {
    active = i;
    markOptions();
    const li = byId("h-place-" + i);
    if (li && li.scrollIntoView) li.scrollIntoView({ block: "nearest" });
  }

  function choose(i) {
    const p = places[i];
    if (!p) return;
    if (!chosen) crsBefore = crs.value;
    chosen = p;
    lon.value = String(p.point[0]);
    lat.value = String(p.point[1]);
    crs.value = "wgs84";
    chosenNode.textContent = fmt(H.chosen, { name: p.name, chain: chain(p) });
    chosenNode.dataset.name = p.name;
    chosenNode.hidden = false;
    active = i;
    markOptions();
  }

  function forget() {
    chosen = null;
    chosenNode.hidden = true;
    chosenNode.textContent = "";
    delete chosenNode.dataset.name;
    markOptions();
  }

  // The address text changed: the place chosen for the old text is no longer the caller's.
  // Only a point the choice wrote is cleared; one the dispatcher typed stays.
  function dropChoice() {
    if (!chosen) return;
    if (lon.value === String(chosen.point[0]) && lat.value === String(chosen.point[1])) {
      lon.value = "";
      lat.value = "";
      if (crsBefore !== null) crs.value = crsBefore;
    }
    forget();
  }

  function show(answer) {
    places = answer.results || [];
    active = -1;
    list.textContent = "";
    places.forEach((p, i) => list.appendChild(placeOption(p, i, choose)));
    if (!places.length && !answer.note) list.appendChild(el("li", "empty", H.noPlace));
    list.hidden = !list.firstChild;
    input.setAttribute("aria-expanded", places.length ? "true" : "false");
    showParsed(byId("h-parsed"), answer.parsed);
    showDidYouMean(byId("h-dym"), answer.did_you_mean, places, (i) => { choose(i); input.focus(); });
    showNote(byId("h-note"), answer);
    statusNode.textContent = "";
    // A choice made for this same text survives a second look-up (the 查找 button again).
    const kept = chosen ? places.findIndex((p) => p.name === chosen.name &&
      p.point[0] === chosen.point[0] && p.point[1] === chosen.point[1]) : -1;
    if (kept >= 0) {
      chosen = places[kept];
      active = kept;
      markOptions();
    } else if (!chosen && !lon.value.trim() && !lat.value.trim() && places.length && isSure(places[0]) &&
               !(answer.did_you_mean || []).length) {
      // Sure and without a near rival: what the server would take anyway, now visible. A point
      // the dispatcher typed is never overwritten by it.
      choose(0);
    } else {
      markOptions();
    }
  }

  function idle() {
    resetResults();
    showError(errorNode, null);
    setState("idle");
  }

  async function lookup() {
    clearTimeout(timer);
    const q = input.value.trim();
    const mine = ++seq;
    if (!q) { idle(); return; }
    setState("loading", q);
    statusNode.textContent = H.lookingUp;
    let answer;
    try {
      answer = await busy.track(api(config.geocode.url, { params: { q, limit: config.geocode.limit } }));
    } catch (err) {
      if (mine !== seq) return;
      resetResults();
      showError(errorNode, err);
      setState("error", q);
      return;
    }
    if (mine !== seq) return; // an answer for older text: a newer look-up owns the list
    showError(errorNode, null);
    show(answer);
    setState("done", q);
  }

  input.addEventListener("input", (e) => {
    dropChoice();
    clearTimeout(timer);
    seq++; // an answer still on its way is for the text before this edit
    // While an input method composes, the text is pinyin on its way to characters.
    if (e.isComposing) return;
    if (!input.value.trim()) { idle(); return; }
    timer = setTimeout(lookup, LOOKUP_DELAY_MS);
  });
  input.addEventListener("compositionend", () => {
    clearTimeout(timer);
    timer = setTimeout(lookup, LOOKUP_DELAY_MS);
  });
  input.addEventListener("keydown", (e) => {
    if (e.isComposing || e.keyCode === 229) return; // the input method's own Enter and arrows
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!places.length) return;
      e.preventDefault();
      list.hidden = false;
      const step = e.key === "ArrowDown" ? 1 : -1;
      setActive(active < 0 ? (step > 0 ? 0 : places.length - 1) : (active + step + places.length) % places.length);
    } else if (e.key === "Enter") {
      e.preventDefault(); // Enter here looks up or chooses; it never files the case
      if (!list.hidden && active >= 0 && places[active] !== chosen) choose(active);
      else lookup();
    } else if (e.key === "Escape" && !list.hidden) {
      e.preventDefault();
      list.hidden = true;
    }
  });
  byId("h-find").addEventListener("click", () => { lookup(); input.focus(); });
  // A point typed over the chosen one is the dispatcher's own: the choice no longer describes it.
  [lon, lat, crs].forEach((node) => {
    node.addEventListener(node.tagName === "SELECT" ? "change" : "input", () => { if (chosen) forget(); });
  });
}
