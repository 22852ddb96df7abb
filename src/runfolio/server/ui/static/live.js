/* runfolio UI: live updates. A page that can still change carries data-live-url
   (/api/ui/live?...); this polls it every second and applies run states, durations,
   progress values and the run graph, until the answer says `finished`. */
(function () {
  "use strict";

  var INTERVAL_MS = 1000;
  var RETRY_MS = 2000;

  function stateClass(type) { return "state-" + String(type || "unknown").toLowerCase(); }
  function each(selector, fn) { document.querySelectorAll(selector).forEach(fn); }
  function attr(name, id) { return "[" + name + '="' + CSS.escape(id) + '"]'; }

  function applyRun(id, s) {
    each(attr("data-run-state", id), function (el) {
      el.className = "state " + stateClass(s.state_type);
      el.querySelector(".state-name").textContent = s.state_name || s.state_type || "Unknown";
    });
    each(attr("data-run-duration", id), function (el) { el.textContent = s.duration; });
    if (s.end_time) {
      each(attr("data-run-end", id), function (el) {
        var exact = s.end_time.slice(0, 19).replace("T", " ") + " UTC";
        el.textContent = "";
        var time = document.createElement("time");
        time.className = "time-both";
        time.dateTime = s.end_time;
        var rel = document.createElement("span");
        rel.className = "rel";
        rel.textContent = "just now";
        var ex = document.createElement("span");
        ex.className = "exact";
        ex.textContent = exact;
        time.append(rel, ex);
        el.appendChild(time);
      });
    }
  }

  function applyProgress(id, p) {
    each(attr("data-progress", id), function (el) {
      el.setAttribute("aria-valuenow", p.value === null ? "" : String(p.value));
      el.querySelector(".progress-fill").style.width = (p.value || 0) + "%";
    });
    each(attr("data-progress-label", id), function (el) { el.textContent = p.label; });
  }

  function drawBar(row, bar) {
    row.id = "task-" + bar.task_run_id;
    row.setAttribute("data-task", bar.task_run_id);
    var name = row.querySelector("[data-bar-name]");
    name.textContent = bar.name;
    name.title = bar.name;
    row.querySelector("[data-bar-duration]").textContent = bar.duration;
    var el = row.querySelector("[data-bar]");
    el.className = "graph-bar " + stateClass(bar.state_type) + (bar.started ? "" : " not-started");
    el.style.left = bar.left + "%";
    el.style.width = bar.width + "%";
    el.title = bar.state_name || bar.state_type || "";
    var fill = row.querySelector("[data-bar-progress]");
    var label = row.querySelector("[data-bar-label]");
    fill.hidden = bar.progress === null;
    fill.style.width = (bar.progress || 0) + "%";
    label.hidden = !bar.progress_label;
    label.textContent = bar.progress_label || "";
  }

  function drawGraph(graph) {
    var root = document.querySelector("[data-graph]");
    if (!root) return;
    var ticks = root.querySelector("[data-graph-ticks]");
    ticks.replaceChildren.apply(ticks, graph.ticks.map(function (tick) {
      var span = document.createElement("span");
      span.className = "graph-tick";
      span.style.left = tick.left + "%";
      span.textContent = tick.label;
      return span;
    }));
    var grid = root.querySelector("[data-graph-grid]");
    grid.replaceChildren.apply(grid, graph.ticks.map(function (tick) {
      var line = document.createElement("span");
      line.style.left = tick.left + "%";
      return line;
    }));
    var list = root.querySelector("[data-graph-rows]");
    var template = root.querySelector("template[data-graph-row-template]");
    var existing = {};
    list.querySelectorAll("[data-task]").forEach(function (row) {
      existing[row.getAttribute("data-task")] = row;
    });
    graph.bars.forEach(function (bar) {
      var row = existing[bar.task_run_id];
      delete existing[bar.task_run_id];
      if (!row) row = template.content.firstElementChild.cloneNode(true);
      drawBar(row, bar);
      list.appendChild(row); // appending moves rows into the server's order
    });
    Object.keys(existing).forEach(function (id) { existing[id].remove(); });
    root.querySelector("[data-graph-empty]").hidden = graph.bars.length > 0;
  }

  function apply(update) {
    Object.keys(update.runs).forEach(function (id) { applyRun(id, update.runs[id]); });
    Object.keys(update.progress).forEach(function (id) { applyProgress(id, update.progress[id]); });
    if (update.graph) drawGraph(update.graph);
  }

  function start() {
    var host = document.querySelector("[data-live-url]");
    if (!host) return;
    var url = host.getAttribute("data-live-url");
    host.setAttribute("data-live", "polling");

    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (update) {
          apply(update);
          if (update.finished) {
            host.setAttribute("data-live", "finished");
            return;
          }
          setTimeout(poll, INTERVAL_MS);
        })
        .catch(function () { setTimeout(poll, RETRY_MS); });
    }
    setTimeout(poll, INTERVAL_MS);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
