/* runfolio UI: sortable, paged table artifacts; tabs; filters that apply on change.
   Cells are written with textContent only, so nothing in a table is ever parsed as HTML. */
(function () {
  "use strict";

  var PAGE_ROWS = 100;
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  var formatter = new Intl.NumberFormat("en-US");

  function asNumber(text) {
    if (text === "" || text === "NaN") return null;
    var n = Number(text);
    return Number.isNaN(n) ? null : n;
  }

  function compareCells(x, y) {
    var nx = asNumber(x), ny = asNumber(y);
    if (nx !== null && ny !== null) return nx < ny ? -1 : nx > ny ? 1 : 0;
    if (nx !== null) return -1;
    if (ny !== null) return 1;
    return collator.compare(x, y);
  }

  function button(label, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "btn btn-small";
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  function setupTable(root) {
    var source = root.querySelector("script[data-table-json]");
    var tbody = root.querySelector("table.data tbody");
    if (!source || !tbody) return;
    var data = JSON.parse(source.textContent);
    var rows = data.rows.map(function (cells, i) { return { cells: cells, i: i }; });
    var headers = Array.prototype.slice.call(root.querySelectorAll("table.data thead th"));
    var numeric = headers.map(function (th) { return th.classList.contains("num"); });
    var order = rows, page = 0, sortCol = -1, direction = 1;
    var pages = Math.max(1, Math.ceil(rows.length / PAGE_ROWS));

    var pager = root.querySelector("[data-table-pager]");
    var range, pageLabel, prev, next;
    if (pager && pages > 1) {
      pager.textContent = "";
      range = document.createElement("span");
      range.setAttribute("data-table-range", "");
      pageLabel = document.createElement("strong");
      pageLabel.setAttribute("data-table-page", "");
      prev = button("‹ Previous", function () { page -= 1; render(); });
      next = button("Next ›", function () { page += 1; render(); });
      prev.setAttribute("data-table-prev", "");
      next.setAttribute("data-table-next", "");
      pager.append(range, prev, pageLabel, next);
    }

    function render() {
      page = Math.min(Math.max(page, 0), pages - 1);
      var start = page * PAGE_ROWS;
      var fragment = document.createDocumentFragment();
      order.slice(start, start + PAGE_ROWS).forEach(function (row) {
        var tr = document.createElement("tr");
        row.cells.forEach(function (cell, j) {
          var td = document.createElement("td");
          if (numeric[j]) td.className = "num";
          td.textContent = cell;
          tr.appendChild(td);
        });
        fragment.appendChild(tr);
      });
      if (rows.length) tbody.replaceChildren(fragment);
      if (range) {
        var last = Math.min(start + PAGE_ROWS, rows.length);
        range.textContent = "Rows " + formatter.format(start + 1) + "–" + formatter.format(last) +
          " of " + formatter.format(rows.length);
        pageLabel.textContent = "Page " + (page + 1) + " of " + pages;
        prev.disabled = page === 0;
        next.disabled = page === pages - 1;
      }
    }

    headers.forEach(function (th, col) {
      var sortButton = th.querySelector("button.sort");
      if (!sortButton) return;
      sortButton.addEventListener("click", function () {
        direction = sortCol === col ? -direction : 1;
        sortCol = col;
        order = rows.slice().sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          if (x === "" || y === "") return (x === "") - (y === "") || a.i - b.i; // empty cells last
          return compareCells(x, y) * direction || a.i - b.i;
        });
        headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", direction === 1 ? "ascending" : "descending");
        page = 0;
        render();
      });
    });
    render();
  }

  function setupTabs(tabs) {
    var buttons = Array.prototype.slice.call(tabs.querySelectorAll('[role="tab"]'));
    function select(chosen) {
      buttons.forEach(function (b) {
        var on = b === chosen;
        b.setAttribute("aria-selected", on ? "true" : "false");
        document.getElementById(b.getAttribute("aria-controls")).hidden = !on;
      });
    }
    buttons.forEach(function (b) {
      b.addEventListener("click", function () {
        select(b);
        history.replaceState(null, "", "#" + b.id.replace(/^tab-/, ""));
      });
    });
    var wanted = document.getElementById("tab-" + location.hash.slice(1));
    select(buttons.indexOf(wanted) >= 0 ? wanted : buttons[0]);
    tabs.classList.add("tabs-ready");
  }

  function start() {
    document.querySelectorAll("[data-table]").forEach(setupTable);
    document.querySelectorAll("[data-tabs]").forEach(setupTabs);
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  // live.js draws parts of a page again when they change: their tables get set up anew.
  document.addEventListener("runfolio:content-replaced", function (event) {
    var root = event.detail && event.detail.root;
    if (root) root.querySelectorAll("[data-table]").forEach(setupTable);
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
