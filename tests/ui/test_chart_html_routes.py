"""Chart and HTML artifacts over HTTP (in-process app on a real SQLite file): data round
trips through the API unchanged, the pages pick their renderers, the HTML frame's route
carries its own headers and the workspace's access rules, and the rest of the site keeps
its own."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from runfolio.ops.access import Role
from runfolio.server.app import create_app
from runfolio.server.auth import SESSION_COOKIE
from runfolio.settings import Settings
from runfolio.store import accounts, workspaces
from runfolio.store.engine import write

SPEC: dict[str, Any] = {
    "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
    "data": {"values": [{"x": 1, "y": 2.5}, {"x": 2, "y": None}]},
    "mark": "line",
    "encoding": {"x": {"field": "x"}, "y": {"field": "y"}},
}
DOC = "<!doctype html><h1>Report é</h1><script>document.title = 'x'</script>"
PASSWORD = "correct horse battery"


def _create(api: TestClient, base: str = "/api", **body: Any) -> dict[str, Any]:
    r = api.post(f"{base}/artifacts/", json=body)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def test_chart_and_html_data_round_trip_and_pick_their_renderers(api: TestClient) -> None:
    chart = _create(api, key="loss", type="chart", data=SPEC)
    html = _create(api, key="report", type="html", data=DOC)

    for created, data in ((chart, SPEC), (html, DOC)):
        assert created["data"] == data
        assert api.get(f"/api/artifacts/{created['id']}").json()["data"] == data
        assert api.get(f"/api/artifacts/{created['key']}/latest").json()["data"] == data
    twin = api.get(f"/api/ui/artifacts/{chart['id']}").json()["artifact"]
    assert twin["kind"] == "chart" and twin["artifact"]["data"] == SPEC
    assert api.get(f"/api/ui/artifacts/{html['id']}").json()["artifact"]["kind"] == "html"

    page = api.get(f"/artifacts/{chart['id']}").text
    assert (
        f'<figure class="chart-artifact" data-renderer="chart" data-chart="{chart["id"]}"' in page
    )
    page = api.get(f"/artifacts/{html['id']}").text
    frame = f'sandbox="allow-scripts" src="/artifacts/{html["id"]}/frame"'
    assert frame in page
    assert "<h1>Report" not in page  # the document is never inlined in the page


def test_chart_spec_in_the_page_is_inert_json(api: TestClient) -> None:
    spec = {**SPEC, "title": "</script><script>alert(1)</script>"}
    chart = _create(api, type="chart", data=spec)
    page = api.get(f"/artifacts/{chart['id']}").text
    assert "</script><script>alert(1)" not in page
    assert "\\u003c/script\\u003e" in page


def test_frame_serves_the_document_with_its_own_headers(api: TestClient) -> None:
    html = _create(api, type="html", data=DOC)

    r = api.get(f"/artifacts/{html['id']}/frame")

    assert r.status_code == 200 and r.text == DOC
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    csp = [d.strip() for d in r.headers["content-security-policy"].split(";")]
    assert csp[0] == "sandbox allow-scripts"  # an opaque origin, even opened in a tab
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp
    assert "form-action 'none'" in csp and "frame-ancestors 'self'" in csp
    assert "img-src data: blob:" in csp
    for flag in ("allow-same-origin", "allow-top-navigation", "allow-popups", "allow-forms"):
        assert flag not in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "SAMEORIGIN"
    assert r.headers["referrer-policy"] == "no-referrer"

    # The rest of the site is still never framed, and frames only this server.
    page = api.get(f"/artifacts/{html['id']}")
    assert page.headers["x-frame-options"] == "DENY"
    page_csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page_csp and "frame-src 'self'" in page_csp
    assert "script-src 'self';" in page_csp and "unsafe-eval" not in page_csp


def test_frame_of_what_is_not_an_html_document_is_404(api: TestClient) -> None:
    chart = _create(api, type="chart", data=SPEC)
    misfit = _create(api, type="html", data={"not": "a string"})
    for artifact_id in (chart["id"], misfit["id"], "01a227f2-00fa-76aa-9cdf-ed42fd34f041"):
        r = api.get(f"/artifacts/{artifact_id}/frame")
        assert r.status_code == 404, artifact_id
        assert "x-frame-options" not in r.headers or r.headers["x-frame-options"] == "DENY"
    assert api.get("/artifacts/not-a-uuid/frame").status_code == 404


def test_frame_of_another_workspace_is_404(api: TestClient) -> None:
    theirs = _create(api, "/api/accounts/abc/workspaces/xyz", type="html", data=DOC)
    r = api.get(f"/artifacts/{theirs['id']}/frame")
    assert r.status_code == 404 and DOC not in r.text


def _app(api: TestClient) -> FastAPI:
    app = api.app
    assert isinstance(app, FastAPI)
    return app


def _signed_in(app: FastAPI, username: str) -> TestClient:
    client = TestClient(app)
    assert client.get("/sign-in").status_code == 200
    form = {
        "username": username,
        "password": PASSWORD,
        "next": "/",
        "csrf_token": client.cookies["runfolio_csrf"],
    }
    assert client.post("/sign-in", data=form, follow_redirects=False).status_code == 303
    return client


def test_frame_needs_read_in_the_workspace(api: TestClient) -> None:
    html = _create(api, type="html", data=DOC)
    app = _app(api)
    with write(app.state.engine) as conn:
        here = workspaces.find(conn, "default")
        other = workspaces.find(conn, "abc/xyz")
        rita = accounts.create_user(conn, "rita", PASSWORD, is_admin=False)
        accounts.set_role(conn, rita, here, Role.READ)
        olga = accounts.create_user(conn, "olga", PASSWORD, is_admin=False)
        accounts.set_role(conn, olga, other, Role.READ)
    app.state.auth.forget()  # auth is on now

    anonymous = TestClient(app).get(f"/artifacts/{html['id']}/frame", follow_redirects=False)
    assert anonymous.status_code in (302, 303, 307) and "/sign-in" in anonymous.headers["location"]
    assert DOC not in anonymous.text

    reader = _signed_in(app, "rita").get(f"/artifacts/{html['id']}/frame")
    assert reader.status_code == 200 and reader.text == DOC
    # The session cookie a frame's request carries is HttpOnly (no script reads it).
    browser = TestClient(app)
    browser.get("/sign-in")
    form = {"username": "rita", "password": PASSWORD, "next": "/"}
    form["csrf_token"] = browser.cookies["runfolio_csrf"]
    r = browser.post("/sign-in", data=form, follow_redirects=False)
    sessions = [h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)]
    assert sessions and "httponly" in sessions[0].lower()

    # olga reads another workspace only: this one's document is not hers.
    outsider = _signed_in(app, "olga").get(f"/artifacts/{html['id']}/frame")
    assert outsider.status_code == 404 and DOC not in outsider.text


@pytest.mark.parametrize(
    ("type_", "data", "field"),
    [("chart", "not a spec", "chart"), ("chart", [1, 2], "chart"), ("html", {"a": 1}, "html")],
)
def test_strict_data_refuses_misfits(settings: Settings, type_: str, data: Any, field: str) -> None:
    with TestClient(create_app(settings.model_copy(update={"strict_artifact_data": True}))) as api:
        r = api.post("/api/artifacts/", json={"type": type_, "data": data})
        assert r.status_code == 422, r.text
        assert field in r.text
        assert api.post("/api/artifacts/count", json={}).json() == 0


def test_null_data_says_so_instead_of_an_empty_chart_or_frame(api: TestClient) -> None:
    chart = _create(api, type="chart", data=None)
    html = _create(api, type="html", data=None)
    assert "No chart spec." in api.get(f"/artifacts/{chart['id']}").text
    page = api.get(f"/artifacts/{html['id']}").text
    assert "No document." in page and "<iframe" not in page
    assert api.get(f"/artifacts/{html['id']}/frame").status_code == 404


def test_artifacts_page_filters_by_the_new_types(api: TestClient) -> None:
    _create(api, key="a-chart", type="chart", data=SPEC)
    _create(api, key="a-report", type="html", data=DOC)
    _create(api, key="a-note", type="markdown", data="# note")
    for type_, key in (("chart", "a-chart"), ("html", "a-report")):
        items = api.get("/api/ui/artifacts", params={"type": type_}).json()["items"]
        assert [(i["key"], i["kind"]) for i in items] == [(key, type_)]
    page = api.get("/artifacts").text
    assert '<option value="chart"' in page and '<option value="html"' in page
