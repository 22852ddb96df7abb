/* runfolio UI: live updates, pushed.

   A page names what it shows in data-stream-url (/api/ui/stream?...): a stream of
   Server-Sent Events, one `change` per write to it. On a change the page fetches
   what changed, under its own rights:
   - data-live-url (/api/ui/live?...): run states, durations, progress values and
     the run graph, applied in place, until the answer says `finished`;
   - [data-live-region] parts (whose data-live-topics name the change's topic) are
     drawn again from the page's own HTML, fetched anew: rewritten markdown,
     appended table rows, new versions, new rows of a list. Charts are kept (they
     redraw themselves on "runfolio:artifact-changed", sent for every artifact change).
   While the stream is away (refused, dropped, not supported) the page polls the
   live URL every second, as it did before streams, and listens again when it can. */
(function () {
  "use strict";

  var INTERVAL_MS = 1000;
  var LIVE_GAP_MS = 100;
  var REGION_GAP_MS = 300;
  var RETRY_STREAM_MS = 5000; // after the server refused a stream (too many, stopping)

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

  // One fetch at a time per kind; changes during a fetch ask for one more, at least
  // `gapMs` after it (a busy flow writing many times a second costs each open page a
  // few fetches a second, not one per write).
  function serial(work, gapMs) {
    var busy = false, again = false;
    function run() {
      if (busy) { again = true; return; }
      busy = true;
      work().catch(function () { /* the next change or poll tries again */ })
        .finally(function () {
          setTimeout(function () {
            busy = false;
            if (again) { again = false; run(); }
          }, again ? gapMs : 0);
        });
    }
    return run;
  }

  function topicsOf(region) {
    return (region.getAttribute("data-live-topics") || "").split(/\s+/);
  }

  // The region's new children, with the chart figures already drawn kept in place.
  function swapRegion(region, fresh) {
    var charts = {};
    region.querySelectorAll("figure[data-chart]").forEach(function (fig) {
      charts[fig.getAttribute("data-chart")] = fig;
    });
    var nodes = Array.prototype.map.call(fresh.childNodes, function (n) {
      return document.importNode(n, true);
    });
    var holder = document.createElement("div");
    holder.append.apply(holder, nodes);
    holder.querySelectorAll("figure[data-chart]").forEach(function (fig) {
      var kept = charts[fig.getAttribute("data-chart")];
      if (kept) fig.replaceWith(kept);
    });
    region.replaceChildren.apply(region, Array.prototype.slice.call(holder.childNodes));
    document.dispatchEvent(new CustomEvent("runfolio:content-replaced", { detail: { root: region } }));
  }

  function start() {
    var main = document.querySelector("main") || document.body;
    var host = document.querySelector("[data-live-url]");
    var streamUrl = main.getAttribute("data-stream-url");
    var liveUrl = host ? host.getAttribute("data-live-url") : null;
    var finished = !liveUrl;
    var streaming = false;
    var pollTimer = null;

    // data-live: what the live URL's part does (streaming, polling, finished);
    // data-stream: whether the stream is open (open, closed).
    function status() {
      main.setAttribute("data-stream", streaming ? "open" : "closed");
      if (liveUrl) main.setAttribute("data-live", finished ? "finished" : streaming ? "streaming" : "polling");
    }

    var refreshLive = serial(function () {
      if (!liveUrl || finished) return Promise.resolve();
      return fetch(liveUrl, { headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (update) {
          apply(update);
          if (update.finished) {
            finished = true;
            status();
          }
        });
    }, LIVE_GAP_MS);

    // What the page shows was deleted: it says so (once) and keeps the last content.
    function gone() {
      if (main.hasAttribute("data-live-gone")) return;
      main.setAttribute("data-live-gone", "");
      var notice = document.createElement("p");
      notice.className = "notice";
      notice.setAttribute("role", "status");
      notice.textContent = "This was deleted; what you see is what it showed last.";
      main.prepend(notice);
    }

    // Each region's HTML as the server sent it, kept before other scripts change it.
    var served = new WeakMap();
    document.querySelectorAll("[data-live-region]").forEach(function (region) {
      served.set(region, region.innerHTML);
    });

    var wanted = {};
    var refreshRegions = serial(function () {
      var topics = wanted;
      wanted = {};
      var regions = Array.prototype.filter.call(
        document.querySelectorAll("[data-live-region]"),
        function (r) { return topicsOf(r).some(function (t) { return topics[t]; }); }
      );
      if (!regions.length) return Promise.resolve();
      return fetch(location.href, { headers: { Accept: "text/html" }, cache: "no-store" })
        .then(function (response) {
          if (response.status === 404) {
            gone();
            return null;
          }
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (html) {
          if (html === null) return;
          var doc = new DOMParser().parseFromString(html, "text/html");
          regions.forEach(function (region) {
            var name = region.getAttribute("data-live-region");
            var fresh = doc.querySelector('[data-live-region="' + CSS.escape(name) + '"]');
            // Compared with what the server sent last (scripts change the page's copy).
            if (!fresh || fresh.innerHTML === served.get(region)) return;
            served.set(region, fresh.innerHTML);
            swapRegion(region, fresh);
          });
        });
    }, REGION_GAP_MS);

    function changed(change) {
      if (change.topic === "artifact") {
        document.dispatchEvent(new CustomEvent("runfolio:artifact-changed", {
          detail: { id: change.subject_id, action: change.action }
        }));
      }
      wanted[change.topic] = true;
      refreshLive();
      refreshRegions();
    }

    function poll() {
      pollTimer = null;
      if (streaming || finished || document.hidden) return;
      refreshLive();
      pollTimer = setTimeout(poll, INTERVAL_MS);
    }

    function fallBack() {
      streaming = false;
      status();
      if (!pollTimer && !finished) pollTimer = setTimeout(poll, INTERVAL_MS);
    }

    var everything = { artifact: true, flow_run: true, task_run: true };
    var dropped = false; // a stream came back: what happened meanwhile is fetched once

    var source = null;

    function listen() {
      if (source || document.hidden) return;
      if (!window.EventSource || !streamUrl) { fallBack(); return; }
      source = new EventSource(streamUrl);
      var mine = source;
      source.addEventListener("open", function () {
        if (pollTimer) { clearTimeout(pollTimer); pollTimer = null; }
        streaming = true;
        status();
        // Opened once: what changed since the page was drawn is in; a stream opened
        // anew later starts from then, and the page fetches what it missed instead.
        streamUrl = streamUrl.replace(/&since=[^&]*/, "").replace(/\?since=[^&]*&?/, "?");
        if (dropped) {
          dropped = false;
          wanted = everything;
          refreshLive();
          refreshRegions();
        }
      });
      source.addEventListener("reset", function () {
        wanted = everything;
        refreshLive();
        refreshRegions();
      });
      source.addEventListener("change", function (event) {
        var change;
        try { change = JSON.parse(event.data); } catch (error) { return; }
        changed(change);
      });
      source.addEventListener("error", function () {
        // The browser reconnects by itself (resuming after the last event) unless the
        // server refused the stream; meanwhile, and after a refusal, the page polls.
        if (source !== mine) return;
        var closed = source.readyState === EventSource.CLOSED;
        if (closed) { source.close(); source = null; }
        dropped = true;
        fallBack();
        if (closed) setTimeout(listen, RETRY_STREAM_MS);
      });
    }

    // A hidden tab lets its stream go (browsers allow few connections per server:
    // streams of tabs nobody looks at must not hold them) and catches up when shown.
    document.addEventListener("visibilitychange", function () {
      if (document.hidden) {
        if (source) { source.close(); source = null; }
        if (pollTimer) { clearTimeout(pollTimer); pollTimer = null; }
        streaming = false;
        dropped = true;
        main.setAttribute("data-stream", "paused");
      } else {
        listen();
        if (!window.EventSource || !streamUrl) poll();
      }
    });

    status();
    listen();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
