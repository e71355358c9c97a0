// The offers table of index.html: filter, sort, highlight the cheapest offer per GPU.
// Data: the JSON block #offers-data written by pipelines/site/pages.py (columns + rows as
// arrays, so a few thousand offers stay small). No library, no request: works from file://.
// State lives in the URL hash (#gpu=H100&pricing_model=spot) so filtered views can be linked.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("offers-data").textContent);
  var C = {};
  data.columns.forEach(function (name, i) { C[name] = i; });
  var rows = data.rows;
  var table = document.getElementById("offers");
  var tbody = table.querySelector("tbody");
  var FIRST_ROWS = 150, MORE_ROWS = 500, renderToken = 0;
  var count = document.getElementById("count");
  var precisionSel = document.getElementById("precision");
  var filterSels = Array.prototype.slice.call(document.querySelectorAll("select[data-filter]"));
  var sortKey = "usd_per_gpu_hour";
  var sortDir = 1;
  var precIndex = function () { return C[precisionSel.value]; };

  function esc(v) {
    return String(v).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  // One formatter per precision: toLocaleString would build a new one for every cell.
  var formats = {};
  function num(v, digits) {
    if (v === null || v === undefined) return "–";
    var f = formats[digits] || (formats[digits] = new Intl.NumberFormat("en-US", { maximumFractionDigits: digits }));
    return f.format(v);
  }
  function pflop(r) {
    var t = r[precIndex()], p = r[C.usd_per_gpu_hour];
    return t && p !== null ? (p * 1000) / t : null;
  }
  function value(r, key) {
    if (key === "pflop") return pflop(r);
    if (key === "gpu") return r[C.gpu];
    return r[C[key]];
  }
  function filterKey(key) { return key === "gpu" ? C.gpu : C[key]; }

  // Options of each filter: the values present, sorted.
  filterSels.forEach(function (sel) {
    var idx = filterKey(sel.dataset.filter), seen = {};
    rows.forEach(function (r) { var v = r[idx]; if (v !== null && v !== undefined) seen[v] = 1; });
    Object.keys(seen).sort(function (a, b) { return a.localeCompare(b, "en", { numeric: true }); })
      .forEach(function (v) {
        var o = document.createElement("option");
        o.value = v; o.textContent = v;
        sel.appendChild(o);
      });
  });

  function readHash() {
    var params = new URLSearchParams(location.hash.slice(1));
    filterSels.forEach(function (sel) {
      var v = params.get(sel.dataset.filter) || "";
      if (v && !Array.prototype.some.call(sel.options, function (o) { return o.value === v; })) {
        var o = document.createElement("option"); o.value = v; o.textContent = v; sel.appendChild(o);
      }
      sel.value = v;
    });
    if (params.get("precision") && C[params.get("precision")] !== undefined) {
      precisionSel.value = params.get("precision");
    }
  }
  function writeHash() {
    var params = new URLSearchParams();
    filterSels.forEach(function (sel) { if (sel.value) params.set(sel.dataset.filter, sel.value); });
    if (precisionSel.value !== precisionSel.querySelector("[selected]").value) {
      params.set("precision", precisionSel.value);
    }
    var h = params.toString();
    if (location.hash.slice(1) !== h) location.hash = h;
  }

  function render() {
    var active = filterSels.filter(function (s) { return s.value; })
      .map(function (s) { return [filterKey(s.dataset.filter), s.value]; });
    var shown = rows.filter(function (r) {
      for (var i = 0; i < active.length; i++) if (String(r[active[i][0]]) !== active[i][1]) return false;
      return true;
    });
    // Cheapest per GPU among the rows shown (free tiers at $0 are not "cheapest").
    var best = {};
    shown.forEach(function (r) {
      var p = r[C.usd_per_gpu_hour];
      if (p > 0 && (best[r[C.gpu]] === undefined || p < best[r[C.gpu]])) best[r[C.gpu]] = p;
    });
    shown.sort(function (a, b) {
      var x = value(a, sortKey), y = value(b, sortKey);
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;  // empty cells last either way
      if (y === null || y === undefined) return -1;
      return (typeof x === "number" ? x - y : String(x).localeCompare(String(y))) * sortDir;
    });
    function rowHtml(r) {
      var page = data.pages[r[C.provider]];
      var isBest = r[C.usd_per_gpu_hour] > 0 && r[C.usd_per_gpu_hour] === best[r[C.gpu]];
      var gpu = r[C.page] ? '<a href="gpu/' + esc(r[C.page]) + '.html">' + esc(r[C.gpu]) + "</a>"
        : esc(r[C.gpu]);
      var prov = page ? '<a href="' + esc(page) + '" rel="noopener" title="pricing page">'
        + esc(r[C.provider]) + " ↗</a>" : esc(r[C.provider]);
      var term = r[C.term] ? " (" + esc(r[C.term]) + ")" : "";
      return "<tr" + (isBest ? ' class="best" title="cheapest ' + esc(r[C.gpu]) + ' shown"' : "")
        + "><td>" + prov + "</td><td>" + gpu + "</td><td class=num>" + num(r[C.gpu_count], 2)
        + "</td><td class=num>" + num(r[C.gpu_memory_gb], 1) + "</td><td class=num>"
        + num(r[C.usd_per_gpu_hour], 4) + "</td><td class=num>" + num(pflop(r), 3)
        + "</td><td>" + esc(r[C.pricing_model]) + term + "</td><td>" + esc(r[C.price_scope] || "–")
        + "</td><td>" + esc(r[C.region] || "–") + "</td><td title=\"" + esc(r[C.instance_type] || "") + "\">" + esc(r[C.instance_type] || "–")
        + "</td><td>" + esc(r[C.last_seen] || "–") + "</td></tr>";
    }
    function chunk(from, to) {
      var html = [];
      for (var i = from; i < to && i < shown.length; i++) html.push(rowHtml(shown[i]));
      return html.join("");
    }
    // The first screenfuls at once; the rest in later tasks, so the page shows and responds
    // at once even with thousands of offers (laying out every row is what costs, not data).
    // A newer render (filter, sort) cancels the chunks still pending.
    var token = ++renderToken;
    table.dataset.state = "rendering";
    while (table.tBodies.length > 1) table.removeChild(table.tBodies[1]);
    tbody.innerHTML = chunk(0, FIRST_ROWS);
    function more(from) {
      if (from >= shown.length) { table.dataset.state = "done"; return; }
      setTimeout(function () {
        if (token !== renderToken) return;
        // A section of its own: the rows above are not laid out again.
        table.insertAdjacentHTML("beforeend", "<tbody>" + chunk(from, from + MORE_ROWS) + "</tbody>");
        more(from + MORE_ROWS);
      }, 0);
    }
    // On first load the rest waits for the load event: the page is complete first.
    if (document.readyState === "complete") more(FIRST_ROWS);
    else window.addEventListener("load", function () { more(FIRST_ROWS); }, { once: true });
    count.textContent = "Showing " + shown.length.toLocaleString("en-US") + " of "
      + rows.length.toLocaleString("en-US") + " offers";
    document.getElementById("prec-label").textContent = precisionSel.value.toUpperCase();
    document.querySelectorAll("th[data-sort]").forEach(function (th) {
      if (th.dataset.sort === sortKey) th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    });
  }

  document.querySelectorAll("th[data-sort]").forEach(function (th) {
    th.tabIndex = 0;
    function sortBy() {
      if (sortKey === th.dataset.sort) sortDir = -sortDir; else { sortKey = th.dataset.sort; sortDir = 1; }
      render();
    }
    th.addEventListener("click", sortBy);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(); } });
  });
  filterSels.concat([precisionSel]).forEach(function (sel) {
    sel.addEventListener("change", function () { writeHash(); render(); });
  });
  document.getElementById("reset").addEventListener("click", function () {
    filterSels.forEach(function (s) { s.value = ""; });
    precisionSel.value = precisionSel.querySelector("[selected]").value;
    writeHash(); render();
  });
  window.addEventListener("hashchange", function () { readHash(); render(); });
  readHash();
  render();
})();
