/* gisgrid phone page (手机上报) for grid members and inspectors: report a problem with the
 * phone's position (the browser's Geolocation, WGS-84) and camera photos; my open reports; the
 * open cases of my grids. Uses the helpers of cases.js (window.gisgridCases); data enters the
 * page as text only.
 */
(function () {
  "use strict";

  var C = window.gisgridCases;
  var T = C.T;
  var cfg = C.cfg;
  var $ = gisgridDom.byId;
  var el = gisgridDom.el;
  var position = null;

  function locate() {
    var node = $("r-position");
    node.textContent = T.locating;
    node.className = "hint";
    if (!navigator.geolocation) {
      node.textContent = T.noPosition;
      node.className = "hint error";
      return;
    }
    navigator.geolocation.getCurrentPosition(function (p) {
      position = { lon: p.coords.longitude, lat: p.coords.latitude, accuracy: p.coords.accuracy };
      node.textContent = C.fmt(T.located, { lon: position.lon.toFixed(6), lat: position.lat.toFixed(6),
                                            acc: Math.round(position.accuracy || 0) });
      node.dataset.located = "1";
    }, function () {
      position = null;
      node.textContent = T.noPosition;
      node.className = "hint error";
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  }

  function list(node, params) {
    return C.api("GET", C.query(cfg.api.cases, Object.assign({ status: "open", order: "clock", page_size: 50 },
                                                             params))).then(function (data) {
      C.clear(node);
      data.results.forEach(function (c) {
        var li = el("li", "case-item clock-row-" + c.clock);
        li.dataset.number = c.number;
        li.appendChild(C.clockBadge(c.clock));
        li.appendChild(C.caseLink(c.number));
        li.appendChild(C.stateBadge(c.state));
        li.appendChild(el("span", "case-what", c.category.name + " · " + (c.address || c.description)));
        node.appendChild(li);
      });
      if (!data.results.length) node.appendChild(el("li", "empty", T.empty));
    }, function (err) {
      C.clear(node);
      node.appendChild(el("li", "api-error", C.errorText(err)));
    });
  }

  function lists() {
    return Promise.all([list($("mine-list"), { mine: true }), list($("grid-list"), { my_grids: true })]);
  }

  function submit(e) {
    e.preventDefault();
    var error = $("report-error");
    C.showError(error, null);
    $("report-done").hidden = true;
    if (!position) {
      error.textContent = T.needPosition;
      error.hidden = false;
      locate();
      return;
    }
    var files = $("r-photos").files;
    if (files.length > cfg.maxPhotos) {
      error.textContent = C.fmt(T.tooManyPhotos, { n: cfg.maxPhotos });
      error.hidden = false;
      return;
    }
    var body = new FormData();
    body.append("category", $("r-category").value);
    body.append("lon", String(position.lon));
    body.append("lat", String(position.lat));
    body.append("crs", "wgs84");
    body.append("description", $("r-description").value.trim());
    body.append("address", $("r-address").value.trim());
    Array.prototype.forEach.call(files, function (f) { body.append("photos", f); });
    var button = $("r-submit");
    button.disabled = true;
    C.busy();
    C.api("POST", cfg.api.cases, body).then(function (c) {
      button.disabled = false;
      var done = $("report-done");
      C.clear(done);
      done.appendChild(document.createTextNode(C.fmt(T.filed, { number: "" })));
      done.appendChild(C.caseLink(c.number));
      done.hidden = false;
      done.dataset.number = c.number;
      $("r-description").value = "";
      $("r-address").value = "";
      $("r-photos").value = "";
      lists().then(C.ready);
    }, function (err) {
      button.disabled = false;
      C.showError(error, err);
      C.ready();
    });
  }

  $("report-form").addEventListener("submit", submit);
  $("r-locate").addEventListener("click", locate);
  C.loadCategories($("r-category"));
  locate();
  lists().then(C.ready);
})();
