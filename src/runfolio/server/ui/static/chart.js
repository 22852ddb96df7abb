/* runfolio UI: chart artifacts. Each <figure data-chart> holds a Vega-Lite spec as inert
   JSON; this draws every chart with Vega (vendored, same origin, loaded once and only
   when the page shows a chart) and its expression interpreter (`ast: true`: no eval, so
   the page's CSP stays strict). A chart is drawn again when its artifact changes: on
   the "runfolio:artifact-changed" event the live updates dispatch, and on a slow poll
   while the page is visible. Charts that live updates bring into the page (the
   "runfolio:content-replaced" event) are drawn too. */
(function () {
  "use strict";

  // The fallback poll: every 5 s while the page is visible, backing off to 30 s while
  // a chart does not change (a run page may hold many), back to 5 s once it does.
  var POLL_MS = 5000;
  var POLL_MAX_MS = 30000;

  var me = document.currentScript;
  var sources = [me.dataset.vega, me.dataset.vegaLite, me.dataset.vegaEmbed];
  var ready = null;

  // Fetched in parallel, run in order (async=false keeps insertion order); once.
  function loadVega() {
    if (ready) return ready;
    ready = Promise.all(sources.map(function (src) {
      return new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = src;
        s.async = false;
        s.onload = resolve;
        s.onerror = function () { reject(new Error("could not load " + src)); };
        document.head.appendChild(s);
      });
    }));
    return ready;
  }

  // Charts draw from the spec's inline data only: no URL is fetched or shown (data,
  // images, links), so a spec can neither read what the viewer may read nor send it away.
  function inlineOnlyLoader(fig) {
    var loader = window.vega.loader();
    loader.sanitize = function (uri) {
      var note = fig.querySelector("[data-chart-refused]");
      if (!note) {
        note = document.createElement("p");
        note.className = "notice";
        note.setAttribute("data-chart-refused", "");
        fig.appendChild(note);
      }
      note.textContent = "Charts draw from inline data only; not loaded: " + uri;
      return Promise.reject(new Error("charts use inline data only; refused " + uri));
    };
    return loader;
  }

  function showError(fig, target, error) {
    var p = document.createElement("p");
    p.className = "notice";
    p.textContent = "This chart could not be drawn: " + (error && error.message || error);
    target.replaceChildren(p);
    fig.setAttribute("data-chart-state", "error");
  }

  function draw(fig, spec) {
    var target = fig.querySelector("[data-chart-target]");
    return loadVega().then(function () {
      if (fig._chart) fig._chart.finalize();
      fig._chart = null;
      var refused = fig.querySelector("[data-chart-refused]");
      if (refused) refused.remove();
      return window.vegaEmbed(target, spec, {
        // Expressions as syntax trees, run by the vega-interpreter bundled in vega-embed
        // (which it uses when vega.expressionInterpreter is unset): no eval, no Function.
        ast: true,
        loader: inlineOnlyLoader(fig),
        renderer: "svg",
        actions: { export: true, source: false, compiled: false, editor: false },
      });
    }).then(function (result) {
      fig._chart = result;
      fig.setAttribute("data-chart-state", "drawn");
      fig.setAttribute("data-chart-draws", String(Number(fig.getAttribute("data-chart-draws") || 0) + 1));
    }).catch(function (error) { showError(fig, target, error); });
  }

  // The same text for the same spec whatever its keys' order (the page's copy has
  // them sorted), so a chart is drawn again only when it really changed.
  function canon(value) {
    if (Array.isArray(value)) return "[" + value.map(canon).join(",") + "]";
    if (value && typeof value === "object") {
      return "{" + Object.keys(value).sort().map(function (k) {
        return JSON.stringify(k) + ":" + canon(value[k]);
      }).join(",") + "}";
    }
    return JSON.stringify(value);
  }

  function due(fig, changed) {
    fig._wait = changed ? POLL_MS : Math.min((fig._wait || POLL_MS) * 2, POLL_MAX_MS);
    fig._due = Date.now() + fig._wait;
  }

  function refresh(fig) {
    if (fig._busy) return;
    fig._busy = true;
    fetch(fig.getAttribute("data-chart-src"), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (page) {
        if (!page) return;
        var spec = page.artifact.artifact.data;
        var text = canon(spec);
        if (text === fig._text) { due(fig, false); return; }
        fig._text = text;
        due(fig, true);
        return draw(fig, spec);
      })
      .catch(function () { due(fig, false); /* offline for now: the next poll tries again */ })
      .finally(function () { fig._busy = false; });
  }

  function figures() { return document.querySelectorAll("figure[data-chart]"); }

  // Draws the charts under `root` not drawn yet (a kept chart keeps its state).
  function start(root) {
    root.querySelectorAll("figure[data-chart]").forEach(function (fig) {
      if (fig._started) return;
      fig._started = true;
      var spec;
      try {
        spec = JSON.parse(fig.querySelector("[data-chart-spec]").textContent);
      } catch (error) {
        showError(fig, fig.querySelector("[data-chart-target]"), error);
        return;
      }
      fig._text = canon(spec);
      due(fig, true);
      draw(fig, spec);
    });
  }

  start(document);
  document.addEventListener("runfolio:content-replaced", function (event) {
    start((event.detail && event.detail.root) || document);
  });

  document.addEventListener("runfolio:artifact-changed", function (event) {
    var id = event.detail && event.detail.id;
    figures().forEach(function (fig) {
      if (fig.getAttribute("data-chart") === id) refresh(fig);
    });
  });

  function poll(all) {
    if (document.visibilityState !== "visible") return;
    var now = Date.now();
    figures().forEach(function (fig) { if (all || now >= fig._due) refresh(fig); });
  }
  setInterval(poll, 1000);
  document.addEventListener("visibilitychange", function () { poll(true); });
})();
