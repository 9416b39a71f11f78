/* gisgrid case pages (案件办理): the centre's queue, a unit's work orders, one case, the inbox.
 *
 * Plain ES2017, no build step, no CDN. Configuration from json_script "cases-config", UI strings
 * from data attributes on #cases-strings (translated by Django). Every value that comes from the
 * API (descriptions, addresses, names, reasons) enters the page through textContent only.
 *
 * The pages act through the same API as any client: each transition is a POST carrying the
 * version the page read. The page reacts to the error *code* of a refusal (stale_version,
 * wrong_state, permission_denied, invalid, ...), never to the message text: a stale or moved
 * case is reloaded and the viewer told why.
 *
 * `document.documentElement.dataset.casesReady` is "1" once a page's data is shown and again
 * after each reload, for people and for browser tests waiting on it.
 */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("cases-config").textContent);
  var T = document.getElementById("cases-strings").dataset;
  var $ = gisgridDom.byId;
  var el = gisgridDom.el;
  var root = document.documentElement;
  var OFFSET_MS = (cfg.utcOffsetMin || 0) * 60000;

  // ---- strings ---------------------------------------------------------------------------------
  function camel(prefix, key) {
    return prefix + String(key).replace(/(^|[_-])([a-z0-9])/g, function (m, sep, c) { return c.toUpperCase(); });
  }
  function str(prefix, key, fallback) {
    var v = T[camel(prefix, key)];
    return v !== undefined ? v : (fallback !== undefined ? fallback : key);
  }
  function fmt(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (m, k) {
      return values[k] === undefined ? m : String(values[k]);
    });
  }
  function label(map, key) { return (map && map[key]) || key || ""; }

  // ---- county time -------------------------------------------------------------------------------
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function fmtTime(iso) {
    if (!iso) return "";
    var ms = Date.parse(iso);
    if (!isFinite(ms)) return String(iso);
    var w = new Date(ms + OFFSET_MS);
    return w.getUTCFullYear() + "-" + pad(w.getUTCMonth() + 1) + "-" + pad(w.getUTCDate()) + " " +
      pad(w.getUTCHours()) + ":" + pad(w.getUTCMinutes());
  }
  function fmtSpan(ms) {
    var min = Math.round(Math.abs(ms) / 60000);
    if (min < 120) return min + " " + T.unitMin;
    var h = Math.round(min / 60);
    if (h < 48) return h + " " + T.unitH;
    return Math.round(h / 24) + " " + T.unitD;
  }
  function fmtDue(iso) {
    if (!iso) return "";
    var left = Date.parse(iso) - Date.now();
    return fmtTime(iso) + "（" + fmt(left >= 0 ? T.minutesLeft : T.overdueBy, { t: fmtSpan(left) }) + "）";
  }

  // ---- API ---------------------------------------------------------------------------------------
  function csrfToken() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  // Resolves with the JSON body of a 2xx answer; rejects with {status, code, body}.
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
    return fetch(url, opts).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (r.ok) return data;
        throw { status: r.status, code: (data && data.error) || "other", body: data || {} };
      });
    }, function () {
      throw { status: 0, code: "network", body: {} };
    });
  }
  function query(url, params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v === undefined || v === null || v === "" || v === false) return;
      parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(v === true ? "true" : v));
    });
    return url + (parts.length ? (url.indexOf("?") < 0 ? "?" : "&") + parts.join("&") : "");
  }
  // The message for a refusal, by its code; the field reasons the server gave, as text.
  function errorText(err) {
    var text = str("err", err && err.code, "");
    if (!text) text = (err && err.body && err.body.detail) || T.errOther;
    var fields = err && err.body && err.body.fields;
    if (fields && typeof fields === "object") {
      var extra = Object.keys(fields).map(function (k) {
        var v = fields[k];
        return k + ": " + (Array.isArray(v) ? v.join("; ") : String(v));
      });
      if (extra.length) text += " — " + extra.join(" / ");
    }
    return text;
  }
  function showError(node, err) {
    if (!node) return;
    if (!err) { node.hidden = true; node.textContent = ""; delete node.dataset.code; return; }
    node.textContent = errorText(err);
    node.dataset.code = err.code || "other";
    node.hidden = false;
  }
  function setStatus(text, kind) {
    var s = $("status");
    if (!s) return;
    s.textContent = text || "";
    s.className = "status" + (kind ? " " + kind : "");
  }
  function ready() { root.dataset.casesReady = "1"; }
  function busy() { root.dataset.casesReady = "0"; }

  // ---- small views -------------------------------------------------------------------------------
  function clockBadge(colour) {
    var s = el("span", "clock-badge clock-" + (colour || "none"), label(cfg.clocks, colour));
    s.dataset.clock = colour || "none";
    return s;
  }
  function stateBadge(state) {
    var s = el("span", "state-badge state-" + state, label(cfg.states, state));
    s.dataset.state = state;
    return s;
  }
  function caseUrl(number) { return cfg.casePage.replace("NUMBER", encodeURIComponent(number)); }
  function caseLink(number) {
    var a = el("a", "case-link", number);
    a.href = caseUrl(number);
    return a;
  }
  function td(content, className) {
    var cell = el("td", className || "");
    if (content instanceof Node) cell.appendChild(content); else cell.textContent = content == null ? "" : content;
    return cell;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function pager(node, meta, go) {
    clear(node);
    var pages = Math.max(1, Math.ceil(meta.count / meta.page_size));
    var prev = el("button", "", T.prev);
    prev.type = "button";
    prev.disabled = meta.page <= 1;
    prev.addEventListener("click", function () { go(meta.page - 1); });
    var next = el("button", "", T.next);
    next.type = "button";
    next.disabled = meta.page >= pages;
    next.addEventListener("click", function () { go(meta.page + 1); });
    node.appendChild(prev);
    node.appendChild(el("span", "page-info", fmt(T.pageOf, { page: meta.page, pages: pages, count: meta.count })));
    node.appendChild(next);
  }
  function formValues(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (f) {
      if (!f.name || f.type === "submit" || f.type === "button" || f.type === "file") return;
      if (f.type === "checkbox") { out[f.name] = f.checked; return; }
      if (f.type === "radio") { if (f.checked) out[f.name] = f.value; return; }
      out[f.name] = f.value.trim();
    });
    return out;
  }
  function refreshUnread() {
    var badge = $("nav-unread");
    if (!badge) return;
    api("GET", query(cfg.api.inbox, { unread: true, page_size: 1 })).then(function (data) {
      badge.textContent = data.unread ? String(data.unread) : "";
      badge.hidden = !data.unread;
    }, function () { badge.hidden = true; });
  }
  function loadCategories(select) {
    return api("GET", cfg.api.categories).then(function (list) {
      clear(select);
      list.filter(function (c) { return c.parent_code; }).forEach(function (c) {
        var o = el("option", "", c.code + " " + c.name);
        o.value = c.code;
        select.appendChild(o);
      });
      return list;
    });
  }

  // ---- the centre's queue --------------------------------------------------------------------------
  function queuePage() {
    var page = 1;
    var stateSelect = $("f-state");
    Object.keys(cfg.states).forEach(function (s) {
      var o = el("option", "", cfg.states[s]);
      o.value = s;
      stateSelect.appendChild(o);
    });
    function counts() {
      ["red", "yellow", "green", "paused"].forEach(function (c) {
        api("GET", query(cfg.api.cases, { status: "open", clock: c, page_size: 1 })).then(function (data) {
          $("count-" + c).textContent = String(data.count);
        }, function () { $("count-" + c).textContent = "?"; });
      });
    }
    function load() {
      busy();
      var f = formValues($("filters"));
      var params = { order: "clock", page: page, clock: f.clock, category: f.category, grid: f.grid, unit: f.unit,
                     q: f.q };
      if (f.state) params.state = f.state; else params.status = "open";
      setStatus(T.loading);
      showError($("filter-error"), null);
      return api("GET", query(cfg.api.cases, params)).then(function (data) {
        var body = $("queue-body");
        clear(body);
        data.results.forEach(function (c) {
          var tr = el("tr", "clock-row-" + c.clock);
          tr.dataset.number = c.number;
          tr.appendChild(td(clockBadge(c.clock)));
          tr.appendChild(td(caseLink(c.number)));
          tr.appendChild(td(c.category.code + " " + c.category.name));
          tr.appendChild(td(c.address || c.description));
          var st = el("span");
          st.appendChild(stateBadge(c.state));
          if (c.supervised) st.appendChild(el("span", "flag flag-supervised", T.supervised));
          if (c.outside) st.appendChild(el("span", "flag flag-outside", T.outside));
          tr.appendChild(td(st));
          tr.appendChild(td(c.lead_unit ? c.lead_unit.name : ""));
          tr.appendChild(td(fmtDue(c.stage_due)));
          tr.appendChild(td(fmtTime(c.reported_at)));
          body.appendChild(tr);
        });
        if (!data.results.length) {
          var tr = el("tr", "empty");
          var cell = td(T.empty);
          cell.colSpan = 8;
          tr.appendChild(cell);
          body.appendChild(tr);
        }
        pager($("pager"), data, function (p) { page = p; load(); });
        setStatus("");
        ready();
      }, function (err) {
        showError($("filter-error"), err);
        setStatus("");
        ready();
      });
    }
    $("filters").addEventListener("submit", function (e) { e.preventDefault(); page = 1; load(); });
    counts();
    load();
    hotline();
  }

  function hotline() {
    var form = $("hotline-form");
    if (!form) return;
    loadCategories($("h-category"));
    placeLookup();
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var f = formValues(form);
      var body = { category: f.category, caller_name: f.caller_name, caller_phone: f.caller_phone,
                   address: f.address, description: f.description, crs: f.crs };
      if (f.lon !== "" || f.lat !== "") { body.lon = Number(f.lon); body.lat = Number(f.lat); }
      showError($("hotline-error"), null);
      api("POST", cfg.api.hotline, body).then(function (c) {
        window.location.href = caseUrl(c.number);
      }, function (err) { showError($("hotline-error"), err); });
    });
  }

  // The hotline form's address field as a lookup: what the caller said -> the gazetteer's ranked
  // places (GET geocode), shown with their grid chain, unit and staff; choosing one fills the
  // point fields, so the case goes where the dispatcher saw it go. The typed text stays the
  // address of record. `#h-lookup[data-state]` is idle | loading | done | error, `data-query` the
  // text it is for (browser tests wait on them).
  var NUMBER_PARTS = [["group", "group"], ["house", "house"], ["building", "building"], ["unit", "unitNo"],
                      ["floor", "floor"], ["room", "room"]];
  var LOOKUP_DELAY_MS = 300;

  function placeLookup() {
    var H = $("hotline-strings").dataset;
    var box = $("h-lookup");
    var input = $("h-address");
    var list = $("h-places");
    var lon = $("h-lon");
    var lat = $("h-lat");
    var crs = $("h-crs");
    var chosenNode = $("h-chosen");
    var statusNode = $("h-lookup-status");
    var errorNode = $("h-lookup-error");
    var seq = 0;
    var timer = null;
    var places = [];
    var active = -1;
    var chosen = null;
    var crsBefore = null;

    function chain(p) {
      var names = (p.grids || []).slice().sort(function (a, b) { return a.level - b.level; })
        .map(function (g) { return g.name; });
      if (p.status === "outside" || !names.length) return H.outside;
      var text = names.join(" › ");
      return p.status === "blind_spot" ? text + "（" + H.blindSpot + "）" : text;
    }
    function isSure(p) { return p.score >= cfg.geocode.sure; }
    function withPhone(name, phone) { return phone ? name + " " + phone : name; }

    function setState(state, q) { box.dataset.state = state; box.dataset.query = q || ""; }
    function resetResults() {
      places = [];
      active = -1;
      clear(list);
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      ["h-parsed", "h-dym", "h-note"].forEach(function (id) { clear($(id)); $(id).hidden = true; });
      statusNode.textContent = "";
    }

    function markOptions() {
      Array.prototype.forEach.call(list.querySelectorAll("li[role=option]"), function (li) {
        var i = Number(li.dataset.index);
        li.setAttribute("aria-selected", chosen && places[i] === chosen ? "true" : "false");
        li.classList.toggle("active", i === active);
      });
      if (active >= 0) input.setAttribute("aria-activedescendant", "h-place-" + active);
      else input.removeAttribute("aria-activedescendant");
    }
    function setActive(i) {
      active = i;
      markOptions();
      var li = $("h-place-" + i);
      if (li && li.scrollIntoView) li.scrollIntoView({ block: "nearest" });
    }

    function choose(i) {
      var p = places[i];
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
    function forget() {
      chosen = null;
      chosenNode.hidden = true;
      chosenNode.textContent = "";
      delete chosenNode.dataset.name;
      markOptions();
    }

    function option(p, i) {
      var li = el("li", "place");
      li.id = "h-place-" + i;
      li.setAttribute("role", "option");
      li.dataset.index = String(i);
      li.dataset.name = p.name;
      li.dataset.score = String(p.score);
      li.dataset.sure = isSure(p) ? "1" : "0";
      var top = el("div", "place-top");
      top.appendChild(el("b", "place-name", p.name));
      top.appendChild(el("span", "place-kind", p.kind_label || p.kind));
      var hint = el("span", "place-score " + (isSure(p) ? "sure" : "unsure"),
        (isSure(p) ? H.sure : H.unsure) + " · " + fmt(H.score, { p: Math.round(p.score * 100) + "%" }));
      top.appendChild(hint);
      li.appendChild(top);
      li.appendChild(el("div", "place-chain", chain(p)));
      if (p.unit) li.appendChild(el("div", "place-unit", H.unit + "：" + withPhone(p.unit.name, p.unit.phone)));
      if (p.staff && p.staff.length) {
        li.appendChild(el("div", "place-staff", H.staff + "：" + p.staff.map(function (s) {
          return withPhone((s.role_label ? s.role_label + " " : "") + s.name, s.phone);
        }).join("、")));
      }
      // mousedown would move the focus off the field before the click lands; keep it typing-ready.
      li.addEventListener("mousedown", function (e) { e.preventDefault(); });
      li.addEventListener("click", function () { choose(i); });
      return li;
    }

    function fact(part, name, value) {
      var li = el("li", "fact fact-" + part);
      li.dataset.part = part;
      li.dataset.value = String(value);
      li.appendChild(el("span", "fact-name", name));
      li.appendChild(el("span", "fact-value", value));
      return li;
    }
    function showParsed(parsed) {
      var node = $("h-parsed");
      clear(node);
      if (!parsed) { node.hidden = true; return; }
      if (parsed.admin && parsed.admin.length) {
        node.appendChild(fact("admin", H.admin, parsed.admin.map(function (a) { return a.name; }).join(" › ")));
      }
      if (parsed.intersection && parsed.intersection.length) {
        node.appendChild(fact("intersection", H.crossing, parsed.intersection.join(" × ")));
      } else if (parsed.core) {
        node.appendChild(fact("core", H.core, parsed.core));
      }
      var number = parsed.number || {};
      NUMBER_PARTS.forEach(function (pair) {
        if (number[pair[0]] !== undefined && number[pair[0]] !== null) {
          node.appendChild(fact(pair[0], H[pair[1]], number[pair[0]]));
        }
      });
      if (parsed.gate) node.appendChild(fact("gate", H.gate, parsed.gate));
      if (parsed.relative && parsed.relative.length) node.appendChild(fact("relative", H.relative, parsed.relative.join("、")));
      node.hidden = !node.firstChild;
    }
    function showDidYouMean(names) {
      var node = $("h-dym");
      clear(node);
      if (!names || !names.length) { node.hidden = true; return; }
      node.appendChild(el("span", "dym-label", H.didYouMean));
      names.forEach(function (name, k) {
        if (k) node.appendChild(document.createTextNode("、"));
        var i = -1;
        places.forEach(function (p, j) { if (i < 0 && p.name === name) i = j; });
        if (i < 0) { node.appendChild(el("span", "dym-name", name)); return; }
        var b = el("button", "link dym-name", name);
        b.type = "button";
        b.addEventListener("click", function () { choose(i); input.focus(); });
        node.appendChild(b);
      });
      node.hidden = false;
    }
    function showNote(answer) {
      var node = $("h-note");
      clear(node);
      node.classList.toggle("outside", !!answer.outside);
      if (answer.outside) node.appendChild(el("span", "flag flag-outside", H.outside));
      if (answer.note) node.appendChild(el("span", "note-text", answer.note));
      node.hidden = !node.firstChild;
    }

    function show(answer) {
      places = answer.results || [];
      active = -1;
      clear(list);
      places.forEach(function (p, i) { list.appendChild(option(p, i)); });
      if (!places.length && !answer.note) list.appendChild(el("li", "empty", H.noPlace));
      list.hidden = !list.firstChild;
      input.setAttribute("aria-expanded", places.length ? "true" : "false");
      showParsed(answer.parsed);
      showDidYouMean(answer.did_you_mean);
      showNote(answer);
      statusNode.textContent = "";
      // A choice made for this same text survives a second look-up (the 查找 button again).
      var kept = -1;
      if (chosen) {
        places.forEach(function (p, i) {
          if (kept < 0 && p.name === chosen.name && p.point[0] === chosen.point[0] && p.point[1] === chosen.point[1]) kept = i;
        });
      }
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

    function lookup() {
      clearTimeout(timer);
      var q = input.value.trim();
      var mine = ++seq;
      if (!q) { resetResults(); showError(errorNode, null); setState("idle"); return; }
      setState("loading", q);
      statusNode.textContent = H.lookingUp;
      api("GET", query(cfg.geocode.url, { q: q, limit: cfg.geocode.limit })).then(function (answer) {
        if (mine !== seq) return; // an answer for older text: a newer look-up owns the list
        showError(errorNode, null);
        show(answer);
        setState("done", q);
      }, function (err) {
        if (mine !== seq) return;
        resetResults();
        showError(errorNode, err);
        setState("error", q);
      });
    }

    input.addEventListener("input", function (e) {
      dropChoice();
      clearTimeout(timer);
      seq++; // an answer still on its way is for the text before this edit
      // While an input method composes, the text is pinyin on its way to characters.
      if (e.isComposing) return;
      if (!input.value.trim()) { resetResults(); showError(errorNode, null); setState("idle"); return; }
      timer = setTimeout(lookup, LOOKUP_DELAY_MS);
    });
    input.addEventListener("compositionend", function () {
      clearTimeout(timer);
      timer = setTimeout(lookup, LOOKUP_DELAY_MS);
    });
    input.addEventListener("keydown", function (e) {
      if (e.isComposing || e.keyCode === 229) return; // the input method's own Enter and arrows
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        if (!places.length) return;
        e.preventDefault();
        list.hidden = false;
        var step = e.key === "ArrowDown" ? 1 : -1;
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
    $("h-find").addEventListener("click", function () { lookup(); input.focus(); });
    // A point typed over the chosen one is the dispatcher's own: the choice no longer describes it.
    [lon, lat, crs].forEach(function (node) {
      node.addEventListener(node.tagName === "SELECT" ? "change" : "input", function () { if (chosen) forget(); });
    });
  }

  // ---- a unit's work orders -----------------------------------------------------------------------
  function unitPage() {
    var page = 1;
    function load() {
      busy();
      var f = formValues($("filters"));
      setStatus(T.loading);
      showError($("filter-error"), null);
      api("GET", query(cfg.api.workorders, { page: page, open: f.open ? "true" : "", clock: f.clock, q: f.q,
                                             unit: f.unit })).then(function (data) {
        var body = $("orders-body");
        clear(body);
        data.results.forEach(function (o) {
          var tr = el("tr", "clock-row-" + o.case.clock);
          tr.dataset.number = o.case.number;
          tr.appendChild(td(clockBadge(o.case.clock)));
          tr.appendChild(td(caseLink(o.case.number)));
          tr.appendChild(td(o.case.category.code + " " + o.case.category.name));
          tr.appendChild(td(o.case.address || o.case.description));
          tr.appendChild(td(o.unit.name));
          tr.appendChild(td(o.role === "lead" ? T.lead : T.assist));
          tr.appendChild(td(label(cfg.workStates, o.work_state)));
          tr.appendChild(td(o.work_state === "dispatched" ? fmtDue(o.ack_due) : fmtTime(o.acknowledged_at)));
          tr.appendChild(td(fmtDue(o.due)));
          body.appendChild(tr);
        });
        if (!data.results.length) {
          var tr = el("tr", "empty");
          var cell = td(T.emptyOrders);
          cell.colSpan = 9;
          tr.appendChild(cell);
          body.appendChild(tr);
        }
        pager($("pager"), data, function (p) { page = p; load(); });
        setStatus("");
        ready();
      }, function (err) {
        showError($("filter-error"), err);
        setStatus("");
        ready();
      });
    }
    $("filters").addEventListener("submit", function (e) { e.preventDefault(); page = 1; load(); });
    load();
  }

  // ---- the inbox ------------------------------------------------------------------------------------
  function inboxPage() {
    var page = 1;
    function markRead(ids) {
      return api("POST", cfg.api.inboxRead, ids ? { ids: ids } : {}).then(function () { load(); refreshUnread(); },
        function (err) { setStatus(errorText(err), "error"); });
    }
    function load() {
      busy();
      api("GET", query(cfg.api.inbox, { page: page, unread: $("only-unread").checked })).then(function (data) {
        var list = $("inbox-list");
        clear(list);
        $("inbox-unread").textContent = data.unread ? "（" + T.unread + " " + data.unread + "）" : "";
        data.results.forEach(function (n) {
          var li = el("li", "notice " + (n.read ? "read" : "unread"));
          li.dataset.id = String(n.id);
          var head = el("div", "notice-head");
          head.appendChild(el("span", "notice-time", fmtTime(n.created_at)));
          if (n.case) {
            var a = el("a", "notice-subject", n.subject);
            a.href = caseUrl(n.case);
            head.appendChild(a);
          } else {
            head.appendChild(el("span", "notice-subject", n.subject));
          }
          head.appendChild(el("span", "notice-state", n.read ? T.read : T.unread));
          li.appendChild(head);
          if (n.body) li.appendChild(el("p", "notice-body", n.body));
          if (!n.read) {
            var b = el("button", "small mark-read", T.markRead);
            b.type = "button";
            b.addEventListener("click", function () { markRead([n.id]); });
            li.appendChild(b);
          }
          list.appendChild(li);
        });
        if (!data.results.length) list.appendChild(el("li", "empty", T.emptyInbox));
        pager($("pager"), data, function (p) { page = p; load(); });
        ready();
      }, function (err) { setStatus(errorText(err), "error"); ready(); });
    }
    $("only-unread").addEventListener("change", function () { page = 1; load(); });
    $("read-all").addEventListener("click", function () { markRead(null); });
    load();
  }

  // ---- one case -------------------------------------------------------------------------------------
  // Fields of each action's form: [name, kind, options]. kinds: severity, text, textarea, file,
  // files, yesno, approve, days, unit.
  var ACTION_FIELDS = {
    accept: [["severity", "severity"], ["lead_unit", "text"], ["assisting_units", "text"]],
    dispatch: [], acknowledge: [], arrive: [], archive: [], resume: [],
    complete: [["result_text", "textarea", { required: true }], ["document", "file"], ["photos", "files"]],
    verify: [["satisfied", "yesno"], ["reason", "textarea"], ["photos", "files"]],
    send_back: [["reason", "textarea", { required: true }]],
    return_to_centre: [["reason", "textarea", { required: true }]],
    void: [["reason", "textarea", { required: true }]],
    pause: [["reason", "textarea", { required: true }]],
    supervise: [["reason", "textarea", { required: true }]],
    request_extension: [["days", "days"], ["reason", "textarea", { required: true }]],
    decide_extension: [["approve", "approve"], ["reason", "textarea"]],
    merge: [["into", "text", { required: true }]],
  };
  var SEGMENTS = { send_back: "send-back", return_to_centre: "return", request_extension: "extension" };
  var FIELD_LABELS = { severity: "fSeverity", lead_unit: "fLeadUnit", assisting_units: "fAssistingUnits",
                       result_text: "fResultText", document: "fDocument", photos: "fPhotos", reason: "fReason",
                       days: "fDays", satisfied: "fSatisfied", approve: "fSatisfied", into: "fInto" };

  function casePage() {
    var current = null;
    var openAction = null;

    function load(message) {
      busy();
      return api("GET", cfg.caseApi).then(function (c) {
        current = c;
        render(c);
        if (message) setStatus(message, "info"); else setStatus("");
        ready();
        return c;
      }, function (err) {
        setStatus(errorText(err), "error");
        ready();
      });
    }

    function fact(id, value) {
      var node = $(id);
      clear(node);
      if (value instanceof Node) node.appendChild(value); else node.textContent = value == null ? "" : value;
    }

    function render(c) {
      var stateNode = $("c-state");
      stateNode.textContent = label(cfg.states, c.state);
      stateNode.className = "state-badge state-" + c.state;
      stateNode.dataset.state = c.state;
      var clockNode = $("c-clock");
      clockNode.textContent = label(cfg.clocks, c.clock);
      clockNode.className = "clock-badge clock-" + c.clock;
      clockNode.dataset.clock = c.clock;
      var flags = $("c-flags");
      clear(flags);
      if (c.supervised) flags.appendChild(el("span", "flag flag-supervised", T.supervised));
      if (c.paused) flags.appendChild(el("span", "flag flag-paused", T.paused));
      if (c.outside) flags.appendChild(el("span", "flag flag-outside", T.outside));
      if (c.round > 1) flags.appendChild(el("span", "flag", fmt(T.round, { n: c.round })));
      $("c-summary").textContent = c.category.name + " · " + (c.address || "") + " · " + fmtTime(c.reported_at);
      fact("c-category", c.category.code + " " + c.category.name);
      fact("c-severity", label(cfg.severities, c.severity));
      fact("c-channel", label(cfg.channels, c.channel));
      fact("c-address", c.address);
      fact("c-description", c.description);
      fact("c-point", c.wgs84[0].toFixed(6) + ", " + c.wgs84[1].toFixed(6) +
        (c.input.crs !== "wgs84" ? "（" + c.input.crs + ": " + c.input.lon + ", " + c.input.lat + "）" : ""));
      var g = c.routing.grids;
      fact("c-grids", [g.level1, g.level2, g.level3].filter(Boolean).join(" / "));
      fact("c-rule", c.routing.rule);
      fact("c-lead", c.units.lead ? c.units.lead.name : "");
      fact("c-assisting", c.units.assisting.map(function (u) { return u.name; }).join("、"));
      fact("c-reporter", c.reporter ? c.reporter.name + (c.reporter.phone ? " " + c.reporter.phone : "") : "");
      fact("c-result", c.result_text);
      var k = c.clock_detail;
      fact("k-stage", label(cfg.stages, k.stage));
      fact("k-stage-due", fmtDue(k.stage_due));
      fact("k-dispatch-due", fmtTime(k.dispatch_due));
      fact("k-complete-due", fmtTime(k.complete_due));
      fact("k-extended", k.extended_days ? fmt(T.extensionDays, { days: k.extended_days }) : T.none);
      var fb = $("k-fallback");
      fb.hidden = !k.calendar_fallback;
      fb.textContent = k.calendar_fallback ? T.fallback : "";
      renderPhotos(c);
      renderOrders(c);
      renderTimeline(c);
      renderActions(c);
      renderDuplicates(c);
    }

    function renderPhotos(c) {
      var list = $("photos");
      clear(list);
      c.photos.forEach(function (p) {
        var li = el("li", "photo" + (p.exif && p.exif.flagged ? " flagged" : ""));
        li.dataset.id = String(p.id);
        var a = el("a");
        a.href = p.original || p.public;
        a.target = "_blank";
        a.rel = "noopener";
        var img = el("img");
        img.src = p.thumbnail;
        img.alt = label(cfg.photoStages, p.stage);
        a.appendChild(img);
        li.appendChild(a);
        li.appendChild(el("span", "photo-stage", label(cfg.photoStages, p.stage)));
        if (p.exif !== undefined) {
          var note;
          if (!p.exif) note = T.exifNone;
          else if (p.exif.flagged) note = fmt(T.exifFar, { m: Math.round(p.exif.distance_m) });
          else note = fmt(T.exifNear, { m: Math.round(p.exif.distance_m || 0) });
          li.appendChild(el("span", "photo-exif", note));
        }
        list.appendChild(li);
      });
      if (!c.photos.length) list.appendChild(el("li", "empty", T.none));
    }

    function renderOrders(c) {
      var body = $("orders-body");
      clear(body);
      c.work_orders.forEach(function (o) {
        var tr = el("tr", "order-" + o.work_state);
        tr.dataset.unit = o.unit.code;
        tr.appendChild(td(String(o.round)));
        tr.appendChild(td(o.unit.name));
        tr.appendChild(td(o.role === "lead" ? T.lead : T.assist));
        tr.appendChild(td(label(cfg.workStates, o.work_state)));
        tr.appendChild(td(fmtTime(o.dispatched_at)));
        tr.appendChild(td(fmtTime(o.acknowledged_at)));
        tr.appendChild(td(fmtTime(o.on_site_at)));
        tr.appendChild(td(fmtTime(o.completed_at)));
        tr.appendChild(td(fmtTime(o.due)));
        var result = el("span", "", o.result_text || o.return_reason || "");
        if (o.document) {
          var a = el("a", "document", T.document);
          a.href = o.document.url;
          result.appendChild(document.createTextNode(" "));
          result.appendChild(a);
        }
        tr.appendChild(td(result));
        body.appendChild(tr);
      });
      var ext = $("extensions");
      clear(ext);
      c.extensions.forEach(function (x) {
        ext.appendChild(el("li", "extension extension-" + x.decision,
          str("ev", "extension_" + x.decision, x.decision) + " · " + fmt(T.extensionDays, { days: x.days }) +
          (x.reason ? " · " + x.reason : "") + (x.decision_reason ? " · " + x.decision_reason : "")));
      });
    }

    function renderTimeline(c) {
      var list = $("timeline");
      clear(list);
      c.timeline.forEach(function (e) {
        var li = el("li", "event event-" + e.action);
        li.dataset.action = e.action;
        li.appendChild(el("span", "event-time", fmtTime(e.at)));
        li.appendChild(el("span", "event-action", str("ev", e.action, e.action)));
        if (e.from_state !== e.to_state && e.to_state) {
          li.appendChild(el("span", "event-states",
            (e.from_state ? label(cfg.states, e.from_state) + " → " : "") + label(cfg.states, e.to_state)));
        }
        if (e.actor) li.appendChild(el("span", "event-actor", e.actor));
        if (e.reason) li.appendChild(el("span", "event-reason", e.reason));
        list.appendChild(li);
      });
    }

    function renderActions(c) {
      var box = $("actions");
      clear(box);
      c.allowed_actions.forEach(function (action) {
        var b = el("button", "action action-" + action, str("act", action));
        b.type = "button";
        b.dataset.action = action;
        b.addEventListener("click", function () { showForm(action); });
        box.appendChild(b);
      });
      $("no-actions").hidden = c.allowed_actions.length > 0;
      if (openAction && c.allowed_actions.indexOf(openAction) < 0) hideForm();
    }

    function renderDuplicates(c) {
      var boxNode = $("duplicates-box");
      if (!cfg.canDuplicates || c.state === "archived" || c.state === "voided") { boxNode.hidden = true; return; }
      api("GET", cfg.duplicatesApi).then(function (data) {
        var list = $("duplicates");
        clear(list);
        data.suggestions.forEach(function (s) {
          var li = el("li");
          li.appendChild(caseLink(s.number));
          li.appendChild(el("span", "", " " + label(cfg.states, s.state) + " · " + fmt(T.distanceM, { m: Math.round(s.distance_m) }) +
            " · " + (s.address || s.description)));
          list.appendChild(li);
        });
        if (!data.suggestions.length) list.appendChild(el("li", "empty", T.noDuplicates));
        boxNode.hidden = false;
        current.duplicates = data.suggestions;
      }, function () { boxNode.hidden = true; });
    }

    function field(name, kind, options) {
      options = options || {};
      var wrap = el("label", "field field-" + name);
      wrap.appendChild(el("span", "field-label", T[FIELD_LABELS[name]] || name));
      var input;
      if (kind === "severity") {
        input = el("select");
        Object.keys(cfg.severities).forEach(function (s) {
          var o = el("option", "", cfg.severities[s]);
          o.value = s;
          o.selected = current && s === current.severity;
          input.appendChild(o);
        });
      } else if (kind === "textarea") {
        input = el("textarea");
        input.rows = 3;
        input.maxLength = name === "result_text" ? 4000 : 500;
      } else if (kind === "file" || kind === "files") {
        input = el("input");
        input.type = "file";
        if (kind === "files") { input.multiple = true; input.accept = "image/jpeg,image/png,image/webp"; }
      } else if (kind === "yesno" || kind === "approve") {
        input = el("span", "radios");
        [["true", kind === "yesno" ? T.fYes : T.fApprove], ["false", kind === "yesno" ? T.fNo : T.fReject]]
          .forEach(function (pair, i) {
            var l = el("label", "radio");
            var r = el("input");
            r.type = "radio";
            r.name = name;
            r.value = pair[0];
            r.checked = i === 0;
            l.appendChild(r);
            l.appendChild(document.createTextNode(" " + pair[1]));
            input.appendChild(l);
          });
        wrap.appendChild(input);
        return wrap;
      } else if (kind === "days") {
        input = el("input");
        input.type = "number";
        input.min = "1";
        input.max = "30";
        input.value = "2";
      } else {
        input = el("input");
        input.type = "text";
        if (name === "into" && current.duplicates && current.duplicates.length) input.value = current.duplicates[0].number;
      }
      input.name = name;
      if (options.required) input.required = true;
      wrap.appendChild(input);
      return wrap;
    }

    function showForm(action) {
      openAction = action;
      var form = $("action-form");
      clear(form);
      form.dataset.action = action;
      form.appendChild(el("h3", "", str("act", action)));
      (ACTION_FIELDS[action] || []).forEach(function (f) { form.appendChild(field(f[0], f[1], f[2])); });
      var buttons = el("p", "buttons");
      var ok = el("button", "primary", T.confirm);
      ok.type = "submit";
      var cancel = el("button", "", T.cancel);
      cancel.type = "button";
      cancel.addEventListener("click", hideForm);
      buttons.appendChild(ok);
      buttons.appendChild(cancel);
      form.appendChild(buttons);
      form.hidden = false;
      showError($("action-error"), null);
      var first = form.querySelector("textarea, input[type=text]");
      if (first) first.focus();
    }
    function hideForm() {
      openAction = null;
      var form = $("action-form");
      form.hidden = true;
      clear(form);
    }

    function actionUrl(action) {
      if (action === "decide_extension") {
        var pending = current.extensions.filter(function (x) { return x.decision === "requested"; })[0];
        return cfg.caseApi + "/extensions/" + (pending ? pending.id : 0) + "/decide";
      }
      return cfg.caseApi + "/" + (SEGMENTS[action] || action);
    }

    function submit(e) {
      e.preventDefault();
      var form = $("action-form");
      var action = form.dataset.action;
      var values = formValues(form);
      var files = Array.prototype.filter.call(form.querySelectorAll("input[type=file]"), function (f) {
        return f.files && f.files.length;
      });
      var body;
      if (files.length) {
        body = new FormData();
        body.append("version", String(current.version));
        Object.keys(values).forEach(function (k) { if (values[k] !== "") body.append(k, values[k]); });
        files.forEach(function (f) {
          Array.prototype.forEach.call(f.files, function (file) { body.append(f.name, file); });
        });
      } else {
        body = { version: current.version };
        Object.keys(values).forEach(function (k) {
          var v = values[k];
          if (v === "") return;
          if (k === "satisfied" || k === "approve") v = v === "true";
          else if (k === "days") v = Number(v);
          else if (k === "assisting_units") v = v.split(/[,，\s]+/).filter(Boolean);
          body[k] = v;
        });
      }
      busy();
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      api("POST", actionUrl(action), body).then(function (c) {
        hideForm();
        current = c;
        render(c);
        setStatus(T.saved, "info");
        refreshUnread();
        ready();
      }, function (err) {
        button.disabled = false;
        showError($("action-error"), err);
        // The case moved under the viewer: show it as it is now; the message says why.
        if (err.code === "stale_version" || err.code === "wrong_state" || err.code === "permission_denied") {
          hideForm();
          load().then(function () { showError($("action-error"), err); });
        } else {
          ready();
        }
      });
    }

    $("action-form").addEventListener("submit", submit);
    load();
  }

  window.gisgridCases = {
    cfg: cfg, T: T, api: api, query: query, fmt: fmt, fmtTime: fmtTime, fmtDue: fmtDue, errorText: errorText,
    showError: showError, setStatus: setStatus, clockBadge: clockBadge, stateBadge: stateBadge, caseLink: caseLink,
    label: label, clear: clear, loadCategories: loadCategories, ready: ready, busy: busy, refreshUnread: refreshUnread,
  };

  refreshUnread();
  var pages = { queue: queuePage, unit: unitPage, inbox: inboxPage, "case": casePage };
  if (pages[cfg.page]) pages[cfg.page]();
})();
