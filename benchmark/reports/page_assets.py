"""The web page's own style sheet and script (``benchmark.reports.page``): small, inline, no library, nothing fetched.

The script reads only the page's own elements (no data is ever written into it, so nothing from a result file can
reach script context): a click on a column header sorts the rows of that table (numbers by their exact
``data-sort`` value, text by name; empty cells last; methods and references sorted apart, references stay apart);
the three selects hide the summaries of other datasets, splits or judges. The page's Content-Security-Policy allows
exactly this script and this style sheet by their sha256 (``csp``), so even a string that escaped the escaper could
not run as script.
"""

from __future__ import annotations

import base64
import hashlib

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 120em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
h2 { font-size: 1.15em; margin: 1.6em 0 .4em; }
.intro { color: #444; max-width: 60em; }
#filters { position: sticky; top: 0; background: #f6f8fa; border: 1px solid #d0d7de; padding: .5em .8em;
           display: flex; gap: 1.2em; align-items: center; flex-wrap: wrap; z-index: 1; }
#filters label { font-weight: 600; }
#filters select { margin-left: .3em; }
#shown { color: #555; }
div.scroll { overflow-x: auto; }
table.board { border-collapse: collapse; margin: .4em 0 .8em; font-variant-numeric: tabular-nums; }
table.board th, table.board td { border: 1px solid #d0d7de; padding: .25em .5em; text-align: right; vertical-align: top; }
table.board th[scope=row], table.board td.text { text-align: left; }
table.board thead th { background: #f6f8fa; }
table.board thead button { font: inherit; font-weight: 600; background: none; border: 0; padding: 0; cursor: pointer; }
table.board thead th[aria-sort=ascending] button::after { content: " \\25B2"; }
table.board thead th[aria-sort=descending] button::after { content: " \\25BC"; }
table.board tr.group th { text-align: left; background: #fbfbfb; font-weight: normal; font-style: italic; }
table.board tbody.references tr.row { color: #666; }
table.board span.num { white-space: nowrap; }
td.source { min-width: 14em; max-width: 28em; font-size: .85em; text-align: left; color: #555; }
.warn { color: #b35900; }
figure { margin: .6em 0; }
figure img { max-width: 100%; border: 1px solid #d0d7de; }
figcaption { color: #555; font-size: .9em; }
.sheets figure { display: inline-block; vertical-align: top; margin-right: 1em; }
.missing { color: #777; font-size: .9em; }
#none { color: #a00; }
"""

SCRIPT = """
(function () {
  "use strict";
  function key(cell, type) {
    var raw = cell ? cell.getAttribute("data-sort") : null;
    if (raw === null || raw === "") { return null; }
    return type === "num" ? parseFloat(raw) : raw.toLowerCase();
  }
  function sortBy(th) {
    var table = th.closest("table");
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var type = th.getAttribute("data-type");
    var current = th.getAttribute("aria-sort");
    var dir;
    if (current === "descending") { dir = "ascending"; }
    else if (current === "ascending") { dir = "descending"; }
    else { dir = (type === "num" && th.getAttribute("data-lower") !== "1") ? "descending" : "ascending"; }
    table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir);
    var sign = dir === "ascending" ? 1 : -1;
    table.querySelectorAll("tbody").forEach(function (body) {
      var rows = Array.prototype.slice.call(body.querySelectorAll("tr.row"));
      rows.sort(function (a, b) {
        var x = key(a.children[col], type), y = key(b.children[col], type);
        if (x === null || y === null) { return (x === null) - (y === null); }
        return x < y ? -sign : (x > y ? sign : 0);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  }
  function applyFilters() {
    var want = {};
    document.querySelectorAll("select[data-filter]").forEach(function (s) {
      want[s.getAttribute("data-filter")] = s.value;
    });
    var shown = 0, total = 0;
    document.querySelectorAll("section.summary").forEach(function (sec) {
      var ok = Object.keys(want).every(function (k) {
        return want[k] === "" || sec.getAttribute("data-" + k) === want[k];
      });
      sec.hidden = !ok;
      var n = sec.querySelectorAll("tr.row").length;
      total += n;
      if (ok) { shown += n; }
    });
    document.getElementById("shown").textContent = shown + " of " + total + " rows shown";
    document.getElementById("none").hidden = shown > 0;
  }
  document.querySelectorAll("table.board thead th button").forEach(function (b) {
    b.addEventListener("click", function () { sortBy(b.parentNode); });
  });
  document.querySelectorAll("select[data-filter]").forEach(function (s) {
    s.addEventListener("change", applyFilters);
  });
  applyFilters();
}());
"""


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def csp() -> str:
    """The page's Content-Security-Policy (W3C CSP Level 3): nothing may load but the page's own images (same
    folder, ``'self'``) and exactly ``STYLE`` and ``SCRIPT`` (by sha256 hash); no other script, style, frame, form,
    font, connection or base URL."""
    return (f"default-src 'none'; img-src 'self'; style-src {_sha256(STYLE)}; script-src {_sha256(SCRIPT)}; "
            "base-uri 'none'; form-action 'none'")
