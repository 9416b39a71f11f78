// The assessment pages: rankings with charts, a score opened down to its evidence, a grid
// member's own score and quota, a bulletin from its frozen snapshot, the reports list.
// All text comes from the page (#assess-strings, translated); all user text is escaped.
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("assess-config").textContent);
  const S = document.getElementById("assess-strings").dataset;
  const $ = (sel) => document.querySelector(sel);
  const status = (text) => { const el = $("#status"); if (el) el.textContent = text || ""; };

  function esc(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  function cookie(name) {
    const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }
  async function getJSON(url) {
    const r = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    const body = await r.json();
    if (!r.ok) throw new Error(body.detail || body.error || r.status);
    return body;
  }
  async function postJSON(url, data) {
    const r = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": cookie("csrftoken") },
      body: JSON.stringify(data),
    });
    const body = await r.json();
    if (!r.ok) throw new Error(body.detail || body.error || r.status);
    return body;
  }
  const fmt = (v) => (v === null || v === undefined ? "" : Math.round(v * 100) / 100);
  const signed = (v) => `<td class="${v < 0 ? "neg" : v > 0 ? "pos" : ""}">${esc(fmt(v))}</td>`;

  // A horizontal bar chart. Every bar carries its value as a label, so a score at the floor of 0
  // reads "0" instead of looking like a missing bar. For scores (isScore) the axis runs from 0 to
  // 100, or to the highest score when bonuses take one above 100; other charts (the bulletin's
  // points per rule, which are negative) keep ECharts' own axis.
  function bar(el, rows, label, value, isScore) {
    if (!el || !window.echarts) return;
    const chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el);
    const xAxis = { type: "value" };
    if (isScore) Object.assign(xAxis, { min: 0, max: (extent) => Math.max(100, extent.max) });
    chart.setOption({
      grid: { left: 120, right: 40, top: 10, bottom: 20 },
      xAxis,
      yAxis: { type: "category", data: rows.map(label), inverse: true },
      series: [{ type: "bar", data: rows.map(value), itemStyle: { color: "#3b82f6" },
        label: { show: true, position: "right", formatter: (p) => String(fmt(p.value)) } }],
      tooltip: {},
    }, true);
  }
  // The rows a score chart shows: the 15 lowest scores, lowest first.
  const lowest = (rows) => rows.slice().sort((a, b) => a.score - b.score).slice(0, 15);

  function peopleTable(rows, onClick) {
    const body = $("#people tbody");
    body.innerHTML = rows.map((p) => `<tr class="clickable" data-person="${esc(p.person_id)}">
      <td>${esc(p.rank)}</td><td>${esc(p.name)}</td><td>${esc(p.role_label)}</td><td>${esc(p.unit)}</td>
      <td>${esc(fmt(p.score))}</td>${signed(p.plus)}${signed(p.minus)}<td>${p.no_excellent ? esc(S.yes) : ""}</td></tr>`).join("");
    body.querySelectorAll("tr").forEach((tr) => tr.addEventListener("click", () => onClick("person", tr.dataset.person,
      tr.children[1].textContent)));
  }
  function rate(u, code) { const r = (u.rates || {})[code]; return r && r.rate !== null ? r.rate : ""; }
  function unitsTable(rows, onClick) {
    const body = $("#units tbody");
    body.innerHTML = rows.map((u) => `<tr class="clickable" data-unit="${esc(u.unit_id)}">
      <td>${esc(u.rank)}</td><td>${esc(u.name)}</td><td>${esc(fmt(u.score))}</td>${signed(u.entry_points)}
      ${signed(u.indicator_points)}<td>${esc(rate(u, "closure_rate"))}</td><td>${esc(rate(u, "on_time_rate"))}</td>
      <td>${esc(rate(u, "satisfaction_rate"))}</td><td>${esc(rate(u, "rework_rate"))}</td></tr>`).join("");
    body.querySelectorAll("tr").forEach((tr) => tr.addEventListener("click", () => onClick("unit", tr.dataset.unit,
      tr.children[1].textContent)));
  }

  function evidence(e) {
    const parts = [];
    if (e.case) {
      const url = cfg.casePage.replace("NUMBER", encodeURIComponent(e.case));
      parts.push(`${esc(S.case)} <a class="ev-case" href="${esc(url)}">${esc(e.case)}</a> ${esc(e.case_category)}`);
    }
    if (e.work_order) {
      const w = e.work_order;
      parts.push(`<span class="ev-wo">${esc(S.workOrder)} #${esc(w.id)} ${esc(w.unit)} ${esc(S.due)} ${esc((w.due || "").slice(0, 16))}
        ${esc(S.completed)} ${esc(w.completed_at ? w.completed_at.slice(0, 16) : S.open)}</span>`);
    }
    if (e.event) {
      parts.push(`<span class="ev-event">${esc(S.event)} ${esc(e.event.action)} ${esc(e.event.at.slice(0, 16))}
        ${esc(e.event.reason)}</span>`);
    }
    if (e.figure && Object.keys(e.figure).length) {
      parts.push(`<span class="ev-figure">${esc(S.figure)} ${esc(JSON.stringify(e.figure))}</span>`);
    }
    return parts.join("<br>");
  }
  function showEntries(title, entries) {
    $("#drill").hidden = false;
    $("#drill-title").textContent = S.entriesOf + title;
    $("#entries tbody").innerHTML = entries.map((e) => `<tr data-rule="${esc(e.rule)}"><td>${esc(e.day)}</td>
      <td>${esc(e.rule_name)}${e.correction ? " (" + esc(S.correction) + ")" : ""}</td>${signed(e.points)}
      <td>${esc(e.grid_code)}</td><td class="evidence">${evidence(e)}</td></tr>`).join("");
    $("#drill").scrollIntoView({ block: "start" });
  }

  // -- /assessment/ --------------------------------------------------------------------------
  function periodQuery() {
    return `kind=${encodeURIComponent($("#p-kind").value)}&start=${encodeURIComponent($("#p-start").value)}`;
  }
  async function drillLive(kind, id, name) {
    try {
      const body = await getJSON(`${cfg.api.entries}?${periodQuery()}&${kind}=${encodeURIComponent(id)}`);
      showEntries(name, body.entries);
    } catch (err) { status(`${S.failed}: ${err.message}`); }
  }
  async function loadIndex() {
    status(S.loading);
    try {
      const body = await getJSON(`${cfg.api.scores}?${periodQuery()}`);
      if (cfg.leader) {
        const people = body.people.filter((p) => p.entries || p.no_excellent);
        peopleTable(people, drillLive);
        unitsTable(body.units, drillLive);
        bar($("#c-people"), lowest(people), (p) => p.name, (p) => p.score, true);
        bar($("#c-units"), lowest(body.units), (u) => u.name, (u) => u.score, true);
      } else if (cfg.person) {
        const me = body.people[0];
        $("#my-score").textContent = me ? fmt(me.score) : "100";
        const entries = await getJSON(`${cfg.api.entries}?${periodQuery()}&person=${cfg.person.id}`);
        showEntries(cfg.person.name, entries.entries);
        const today = new Date();
        const iso = new Date(today.getTime() - today.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
        const q = await getJSON(`${cfg.api.quota}?week=${iso}`);
        const w = q.weeks[0];
        $("#my-quota").textContent = w ? S.found.replace("{found}", w.found).replace("{required}", w.required) : S.none;
      } else {
        $("#my-score").textContent = S.noPerson;
      }
      status(body.period.label);
    } catch (err) { status(`${S.failed}: ${err.message}`); }
  }
  async function loadBulletins() {
    if (!cfg.leader) return;
    try {
      const list = await getJSON(cfg.api.bulletins);
      $("#bulletins").innerHTML = list.map((b) => `<li><a href="${esc(cfg.bulletinPage.replace("ID", b.id))}">${esc(b.title)}</a>
        <span class="muted">${esc(b.issued_at.slice(0, 16))}</span></li>`).join("") || `<li>${esc(S.none)}</li>`;
    } catch (err) { status(`${S.failed}: ${err.message}`); }
  }

  // -- a bulletin ----------------------------------------------------------------------------
  async function loadBulletin() {
    status(S.loading);
    try {
      const b = await getJSON(cfg.bulletin.api);
      const snap = b.snapshot;
      const drill = (kind, id, name) => {
        const key = kind === "person" ? "person_id" : "unit_id";
        showEntries(name, snap.entries.filter((e) => String(e[key]) === String(id)));
      };
      peopleTable(snap.people, drill);
      unitsTable(snap.units, drill);
      bar($("#c-people"), lowest(snap.people), (p) => p.name, (p) => p.score, true);
      bar($("#c-units"), lowest(snap.units), (u) => u.name, (u) => u.score, true);
      const rules = Object.entries(snap.by_rule || {});
      bar($("#c-rules"), rules, (r) => r[0], (r) => r[1]);
      $("#replacements").innerHTML = (snap.replacements || []).map((r) => `<li>${esc(r.name)} ${esc(r.unit)}
        ${esc(r.week_start)} ${esc(r.grids.join("、"))}</li>`).join("") || `<li>${esc(S.none)}</li>`;
      status(snap.label);
    } catch (err) { status(`${S.failed}: ${err.message}`); }
  }

  // -- reports -------------------------------------------------------------------------------
  async function loadReports() {
    status(S.loading);
    try {
      const list = await getJSON(cfg.api.reports);
      $("#reports tbody").innerHTML = list.map((r) => `<tr><td>${esc(r.title)}</td><td>${esc(r.start)} – ${esc(r.end)}</td>
        <td>${esc(r.created_at.slice(0, 16))}</td><td>${Object.entries(r.downloads).map(([f, u]) =>
          `<a href="${esc(u)}">${esc(f.toUpperCase())}</a>`).join(" ")}</td></tr>`).join("");
      status("");
    } catch (err) { status(`${S.failed}: ${err.message}`); }
  }

  if (cfg.page === "index") {
    $("#p-start").value = cfg.defaultStart;
    $("#period").addEventListener("submit", (ev) => { ev.preventDefault(); loadIndex(); });
    const re = $("#recompute");
    if (re) {
      re.addEventListener("click", async () => {
        status(S.loading);
        try {
          await postJSON(cfg.api.recompute, { kind: $("#p-kind").value, start: $("#p-start").value });
          status(S.recomputed);
          loadIndex();
        } catch (err) { status(`${S.failed}: ${err.message}`); }
      });
    }
    loadIndex();
    loadBulletins();
  } else if (cfg.page === "bulletin") {
    loadBulletin();
  } else {
    loadReports();
  }
})();
