"""Signing in and out of the UI, CSRF on its forms, failed sign-in limits and the
workspace the pages show: over HTTP against the app on a real SQLite file, and one
real Chromium against a real server. The tests that rest on stored rows (failure
counts, sessions, memberships, creators) run on PostgreSQL too."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect

from runfolio.ops.access import Role
from runfolio.server.app import create_app
from runfolio.server.ui import throttle, urls
from runfolio.settings import Settings
from runfolio.store import accounts, workspaces
from runfolio.store.engine import read, write
from tests.pg import on_both_databases
from tests.servers import running_server
from tests.workspaces import create_workspaces

PASSWORD = "correct horse battery"
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def _app(api: TestClient) -> FastAPI:
    app = api.app
    assert isinstance(app, FastAPI)
    return app


def _ok(response: httpx.Response) -> Any:
    assert response.is_success, response.text
    return response.json()


@pytest.fixture
def team(api: TestClient) -> dict[str, str]:
    """An artifact in the default workspace and one in acme/prod (made while the server is
    still open), then users: alice reads acme/prod, root is a server admin, carol has no
    workspace. Returns the artifacts' ids."""
    default = _ok(api.post("/api/artifacts/", json={"key": "default-secret", "data": "d"}))
    prod = _ok(
        api.post(
            "/api/accounts/acme/workspaces/prod/artifacts/",
            json={"key": "prod-report", "data": "p"},
        )
    )
    engine = _app(api).state.engine
    with write(engine) as conn:
        alice = accounts.create_user(conn, "alice", PASSWORD, is_admin=False)
        accounts.set_role(conn, alice, workspaces.find(conn, "acme/prod"), Role.READ)
        accounts.create_user(conn, "root", PASSWORD, is_admin=True)
        accounts.create_user(conn, "carol", PASSWORD, is_admin=False)
    _app(api).state.auth.forget()  # auth is on now, not in a second
    return {"default": default["id"], "prod": prod["id"]}


def _sign_in(
    client: TestClient, username: str, password: str = PASSWORD, next_url: str = "/"
) -> httpx.Response:
    page = client.get("/sign-in")
    assert page.status_code == 200
    token = client.cookies.get("runfolio_csrf")
    assert token
    form = {"username": username, "password": password, "next": next_url, "csrf_token": token}
    response: httpx.Response = client.post("/sign-in", data=form, follow_redirects=False)
    return response


def _page_token(client: TestClient, path: str = "/artifacts") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = TOKEN_FIELD.search(page.text)
    assert found
    return found.group(1)


def _workspace_options(html: str) -> list[str]:
    switcher = re.search(r'id="workspace-select".*?</select>', html, re.S)
    assert switcher
    return re.findall(r'<option value="([^"]+)"', switcher.group(0))


def _session(api: TestClient, token: str) -> accounts.Session | None:
    with read(_app(api).state.engine) as conn:
        return accounts.find_session(conn, token)


def _set_cookie(response: httpx.Response, name: str) -> str:
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return found[0]


# ---- signing in ----------------------------------------------------------------------


def test_sign_in_sets_a_session_cookie_and_goes_to_next(
    api: TestClient, team: dict[str, str]
) -> None:
    response = _sign_in(api, "alice", next_url="/runs?state=FAILED")
    assert response.status_code == 303
    assert response.headers["location"] == "/runs?state=FAILED"
    cookie = _set_cookie(response, "runfolio_session")
    flags = [part.strip().lower() for part in cookie.split(";")[1:]]
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert f"max-age={12 * 3600}" in flags
    assert "secure" not in flags  # plain http: a Secure cookie would never come back
    token = api.cookies.get("runfolio_session")
    assert token and _session(api, token) is not None
    page = api.get("/artifacts")
    assert page.status_code == 200
    assert 'id="signed-in-user">alice<' in page.text


def test_over_https_the_session_cookie_is_secure(api: TestClient, team: dict[str, str]) -> None:
    with TestClient(_app(api), base_url="https://testserver") as secure:
        response = _sign_in(secure, "alice")
        assert response.status_code == 303
        flags = [p.strip().lower() for p in _set_cookie(response, "runfolio_session").split(";")]
        assert "secure" in flags


def test_unknown_user_and_wrong_password_answer_alike(
    api: TestClient, team: dict[str, str]
) -> None:
    unknown = _sign_in(api, "nobody", "whatever password")
    wrong = _sign_in(api, "alice", "not the password")
    assert unknown.status_code == wrong.status_code == 401
    assert "Wrong username or password" in wrong.text
    assert unknown.text == wrong.text
    assert api.cookies.get("runfolio_session") is None


def test_sign_in_without_the_csrf_token_is_refused(api: TestClient, team: dict[str, str]) -> None:
    api.get("/sign-in")
    form = {"username": "alice", "password": PASSWORD, "next": "/"}
    missing = api.post("/sign-in", data=form, follow_redirects=False)
    wrong = api.post("/sign-in", data={**form, "csrf_token": "x" * 43}, follow_redirects=False)
    for response in (missing, wrong):
        assert response.status_code == 403
        assert "runfolio_session" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    "next_url",
    [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_next_never_leaves_the_server(api: TestClient, team: dict[str, str], next_url: str) -> None:
    assert f'value="{next_url}"' not in api.get("/sign-in", params={"next": next_url}).text
    response = _sign_in(api, "alice", next_url=next_url)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_local_path_keeps_paths_on_this_server() -> None:
    assert urls.local_path("/artifacts/key/a?version=1#x") == "/artifacts/key/a?version=1#x"
    assert urls.local_path("/") == "/"
    for hostile in ("//x.example/a", "https://x.example", "/\\x.example", "/a\nb", None, ""):
        assert urls.local_path(hostile) == "/"


# ---- failed sign-in limits -------------------------------------------------------------


@on_both_databases
def test_sixth_attempt_for_a_username_is_refused_even_with_the_right_password(
    api: TestClient, team: dict[str, str]
) -> None:
    for _ in range(throttle.MAX_PER_USER):
        assert _sign_in(api, "alice", "wrong password").status_code == 401
    limited = _sign_in(api, "alice")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "Too many failed sign-ins for this username" in limited.text
    assert api.cookies.get("runfolio_session") is None
    # Other usernames from the same address are not locked out by alice's failures.
    assert _sign_in(api, "root").status_code == 303


@on_both_databases
def test_too_many_failures_from_one_address_stop_every_username(
    api: TestClient, team: dict[str, str]
) -> None:
    for i in range(throttle.MAX_PER_ADDRESS):
        assert _sign_in(api, f"guess-{i}", "wrong password").status_code == 401
    limited = _sign_in(api, "alice")
    assert limited.status_code == 429
    assert "from your address" in limited.text
    assert limited.headers["retry-after"]


# ---- unauthenticated ----------------------------------------------------------------


def test_pages_send_to_sign_in_and_json_twins_answer_401(
    api: TestClient, team: dict[str, str]
) -> None:
    page = api.get("/artifacts/key/prod-report?version=x", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == urls.sign_in("/artifacts/key/prod-report?version=x")
    assert page.headers["location"].startswith("/sign-in?next=%2Fartifacts%2Fkey%2F")
    twin = api.get("/api/ui/artifacts", follow_redirects=False)
    assert twin.status_code == 401
    assert twin.headers["www-authenticate"] == "Bearer"
    assert "prod-report" not in twin.text


# ---- signing out --------------------------------------------------------------------


@on_both_databases
def test_sign_out_ends_the_session_and_a_replayed_cookie_is_sent_to_sign_in(
    api: TestClient, team: dict[str, str]
) -> None:
    assert _sign_in(api, "alice").status_code == 303
    old = api.cookies.get("runfolio_session")
    assert old
    token = _page_token(api)
    response = api.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"
    assert 'runfolio_session=""' in _set_cookie(response, "runfolio_session")
    assert _session(api, old) is None
    with TestClient(_app(api), cookies={"runfolio_session": old}) as replay:
        page = replay.get("/artifacts", follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"] == "/sign-in?next=%2Fartifacts"
        assert replay.get("/api/ui/artifacts").status_code == 401


def test_forms_without_a_token_or_with_a_stale_one_change_nothing(
    api: TestClient, team: dict[str, str]
) -> None:
    assert _sign_in(api, "root").status_code == 303
    stale = _page_token(api)
    assert api.post("/sign-out", data={"csrf_token": stale}).status_code == 200  # sign-in page
    assert _sign_in(api, "root").status_code == 303
    session = api.cookies.get("runfolio_session")
    assert session
    current = _page_token(api)
    assert current != stale
    for token in (None, stale, ""):
        form = {"workspace": "acme/prod", "next": "/artifacts"}
        if token is not None:
            form["csrf_token"] = token
        switched = api.post("/workspace", data=form, follow_redirects=False)
        assert switched.status_code == 403
        assert "nothing was changed" in switched.text
        assert "runfolio_workspace" not in switched.headers.get("set-cookie", "")
        out = api.post("/sign-out", data=form, follow_redirects=False)
        assert out.status_code == 403
        assert _session(api, session) is not None
    # The page still shows the default workspace, and the right token still works.
    assert "default-secret" in api.get("/artifacts").text
    ok = api.post(
        "/workspace",
        data={"workspace": "acme/prod", "next": "/runs", "csrf_token": current},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/runs"


# ---- the workspace the pages show ------------------------------------------------------


@on_both_databases
def test_a_reader_of_one_workspace_sees_only_that_one(
    api: TestClient, team: dict[str, str]
) -> None:
    assert _sign_in(api, "alice").status_code == 303
    twin = _ok(api.get("/api/ui/artifacts"))
    assert [item["key"] for item in twin["items"]] == ["prod-report"]
    page = api.get("/artifacts")
    assert "prod-report" in page.text and "default-secret" not in page.text
    assert _workspace_options(page.text) == ["acme/prod"]
    # Asking for the default workspace by cookie does not get it.
    api.cookies.set("runfolio_workspace", "default/default")
    assert [i["key"] for i in _ok(api.get("/api/ui/artifacts"))["items"]] == ["prod-report"]
    assert api.get(f"/artifacts/{team['default']}").status_code == 404
    assert api.get(f"/api/ui/artifacts/{team['default']}").status_code == 404
    assert api.get(f"/artifacts/{team['prod']}").status_code == 200
    token = _page_token(api)
    refused = api.post("/workspace", data={"workspace": "default/default", "csrf_token": token})
    assert refused.status_code == 404
    assert "runfolio_workspace" not in refused.headers.get("set-cookie", "")


def test_an_admin_switches_workspace(api: TestClient, team: dict[str, str]) -> None:
    assert _sign_in(api, "root").status_code == 303
    page = api.get("/artifacts")
    assert "default-secret" in page.text
    options = _workspace_options(page.text)
    assert "default/default" in options and "acme/prod" in options
    token = _page_token(api)
    switched = api.post(
        "/workspace",
        data={"workspace": "acme/prod", "next": "/artifacts", "csrf_token": token},
        follow_redirects=False,
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/artifacts"
    assert "httponly" in _set_cookie(switched, "runfolio_workspace").lower()
    assert [i["key"] for i in _ok(api.get("/api/ui/artifacts"))["items"]] == ["prod-report"]
    assert '<option value="acme/prod" selected>' in api.get("/artifacts").text


def test_a_user_in_no_workspace_is_told_so(api: TestClient, team: dict[str, str]) -> None:
    assert _sign_in(api, "carol").status_code == 303
    page = api.get("/artifacts")
    assert page.status_code == 403
    assert "not a member of any workspace" in page.text
    assert 'id="sign-out"' in page.text  # they can still sign out
    twin = api.get("/api/ui/artifacts")
    assert twin.status_code == 403
    assert "not a member of any workspace" in twin.json()["detail"]


def test_an_open_server_uses_a_double_submit_cookie(api: TestClient) -> None:
    page = api.get("/artifacts")
    assert page.status_code == 200
    cookie = _set_cookie(page, "runfolio_csrf").lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    token = TOKEN_FIELD.search(page.text)
    assert token and token.group(1) == api.cookies.get("runfolio_csrf")
    assert "Sign in" not in page.text and "Sign out" not in page.text
    # Nobody to sign in as: the sign-in page sends the browser on.
    away = api.get("/sign-in?next=/runs", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"] == "/runs"
    form = {"workspace": "acme/prod", "next": "/artifacts"}
    refused = api.post("/workspace", data={**form, "csrf_token": "forged"})
    assert refused.status_code == 403
    switched = api.post(
        "/workspace", data={**form, "csrf_token": token.group(1)}, follow_redirects=False
    )
    assert switched.status_code == 303
    assert api.get("/api/ui/artifacts").json()["items"] == []


# ---- who did it, headers --------------------------------------------------------------


@on_both_databases
def test_artifact_and_run_pages_say_who_created_them(api: TestClient, team: dict[str, str]) -> None:
    engine = _app(api).state.engine
    with write(engine) as conn:
        root = accounts.find_user(conn, "root")
        _, secret = accounts.create_key(
            conn, root, workspaces.find(conn, "default"), Role.ADMIN, "ci"
        )
    bearer = {"Authorization": f"Bearer {secret}"}
    flow = _ok(api.post("/api/flows/", json={"name": "etl"}, headers=bearer))
    run = _ok(api.post("/api/flow_runs/", json={"flow_id": flow["id"]}, headers=bearer))
    made = _ok(
        api.post(
            "/api/artifacts/",
            json={"key": "by-key", "data": "x", "flow_run_id": run["id"]},
            headers=bearer,
        )
    )
    assert _sign_in(api, "root").status_code == 303
    creator = "root (key ci)"
    artifact = api.get(f"/artifacts/{made['id']}")
    assert f'class="created-by">{creator}<' in artifact.text
    assert _ok(api.get(f"/api/ui/artifacts/{made['id']}"))["artifact"]["created_by"] == creator
    run_page = api.get(f"/runs/{run['id']}")
    assert f'class="created-by">{creator}<' in run_page.text
    assert _ok(api.get(f"/api/ui/runs/{run['id']}"))["run"]["created_by"] == creator
    # Rows made while the server was open record nobody, and say nothing.
    assert "created-by" not in api.get(f"/artifacts/{team['default']}").text


def test_html_responses_refuse_framing_and_keep_referrers_home(
    api: TestClient, team: dict[str, str]
) -> None:
    responses = [api.get("/sign-in"), _sign_in(api, "root"), api.get("/artifacts")]
    responses.append(api.get(f"/artifacts/{uuid.uuid4()}"))
    for response in responses:
        assert response.headers["x-frame-options"] == "DENY", response.url
        assert response.headers["referrer-policy"] == "same-origin"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


# ---- in a browser --------------------------------------------------------------------


@pytest.fixture
def team_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A real server whose database has root (admin) and alice (reader of acme/team and
    acme/prod), an artifact in each workspace; returns its URL and alice's password."""
    home = tmp_path / "home"
    app = create_app(Settings(home=home, database_url=None, api_url=None, api_key=None))
    engine = app.state.engine
    create_workspaces(engine, "acme/prod", "acme/team")
    keys: dict[str, str] = {}
    with write(engine) as conn:
        root = accounts.create_user(conn, "root", PASSWORD, is_admin=True)
        alice = accounts.create_user(conn, "alice", PASSWORD, is_admin=False)
        for path in ("acme/prod", "acme/team"):
            found = workspaces.find(conn, path)
            accounts.set_role(conn, alice, found, Role.READ)
            keys[path] = accounts.create_key(conn, root, found, Role.WRITE, "seed")[1]
    engine.dispose()
    with running_server(home) as server:
        for path, key in keys.items():
            account, name = path.split("/")
            response = httpx.post(
                f"{server.api_url}/accounts/{account}/workspaces/{name}/artifacts/",
                json={"key": f"{name}-report", "type": "markdown", "data": f"# {path}"},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert response.status_code == 201, response.text
        yield server.url, PASSWORD


@pytest.mark.browser
def test_sign_in_switch_workspace_and_sign_out_in_a_browser(
    browser: Browser, team_server: tuple[str, str]
) -> None:
    url, password = team_server
    context = browser.new_context(base_url=url, locale="en-US")
    context.set_default_timeout(10_000)
    problems: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    try:
        tab.goto("/runs")
        expect(tab).to_have_url(re.compile(r"/sign-in\?next=%2Fruns$"))
        tab.fill("#username", "alice")
        tab.fill("#password", password)
        tab.click("button[type=submit]")
        expect(tab).to_have_url(f"{url}/runs")
        expect(tab.locator("#signed-in-user")).to_have_text("alice")
        select = tab.locator("#workspace-select")
        expect(select.locator("option")).to_have_text(["acme/prod", "acme/team"])
        expect(select).to_have_value("acme/prod")  # no default: the first readable one
        tab.goto("/artifacts")
        expect(tab.locator("main")).to_contain_text("prod-report")
        select.select_option("acme/team")
        tab.click(".workspace-switch button")
        expect(tab).to_have_url(f"{url}/artifacts")
        expect(select).to_have_value("acme/team")
        expect(tab.locator("main")).to_contain_text("team-report")
        expect(tab.locator("main")).not_to_contain_text("prod-report")
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["runfolio_session"]["httpOnly"]
        assert cookies["runfolio_session"]["sameSite"] == "Lax"
        tab.click("#sign-out")
        expect(tab).to_have_url(f"{url}/sign-in")
        assert "runfolio_session" not in {c["name"] for c in context.cookies()}
        tab.goto("/artifacts")
        expect(tab).to_have_url(re.compile(r"/sign-in\?next=%2Fartifacts$"))
    finally:
        context.close()
    assert not problems, problems
