"""The API keys and members pages of the current workspace: keys made in the UI work
on the API and are shown once; revoking and lowering roles take effect at once; who
may see and change what; forms without their CSRF token change nothing. Over HTTP
against the app (on SQLite, and PostgreSQL where the stored rows matter), and one
real Chromium against a real server."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect

from runfolio.ops.access import Role
from runfolio.schemas.common import utcnow
from runfolio.server.app import create_app
from runfolio.settings import Settings
from runfolio.store import accounts, workspaces
from runfolio.store.engine import read, write
from tests.pg import on_both_databases
from tests.servers import running_server

PASSWORD = "correct horse battery"
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
NEW_KEY = re.compile(r'id="new-key">(rfk_[^<]+)<')
FILTER = "/api/artifacts/filter"


def _app(api: TestClient) -> FastAPI:
    app = api.app
    assert isinstance(app, FastAPI)
    return app


@pytest.fixture
def crew(api: TestClient) -> None:
    """In the default workspace: alice is admin, bob writes, rita reads; root is a server
    admin; carol is a user of no workspace."""
    with write(_app(api).state.engine) as conn:
        here = workspaces.find(conn, "default")
        for name, role in (("alice", Role.ADMIN), ("bob", Role.WRITE), ("rita", Role.READ)):
            user = accounts.create_user(conn, name, PASSWORD, is_admin=False)
            accounts.set_role(conn, user, here, role)
        accounts.create_user(conn, "root", PASSWORD, is_admin=True)
        accounts.create_user(conn, "carol", PASSWORD, is_admin=False)
    _app(api).state.auth.forget()  # auth is on now, not in a second


def _signed_in(api: TestClient, username: str) -> TestClient:
    """A browser of its own (cookie jar) on the same app, signed in as `username`."""
    client = TestClient(_app(api))
    assert client.get("/sign-in").status_code == 200
    form = {
        "username": username,
        "password": PASSWORD,
        "next": "/",
        "csrf_token": client.cookies["runfolio_csrf"],
    }
    assert client.post("/sign-in", data=form, follow_redirects=False).status_code == 303
    return client


def _token(client: TestClient, path: str = "/keys") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = TOKEN_FIELD.search(page.text)
    assert found
    return found.group(1)


def _create(
    client: TestClient, name: str = "ci", role: str = "write", expires: str = "90", **extra: str
) -> httpx.Response:
    form = {"name": name, "role": role, "expires": expires, "csrf_token": _token(client)}
    response: httpx.Response = client.post("/keys", data={**form, **extra})
    return response


def _secret(response: httpx.Response) -> str:
    assert response.status_code == 201, response.text
    found = NEW_KEY.search(response.text)
    assert found
    return found.group(1)


def _bearer(api: TestClient, secret: str, path: str = FILTER, **kw: Any) -> int:
    # A client of its own, with no cookies (the API takes the header only); not entered
    # as a context: leaving it would shut the shared app down.
    bare = TestClient(_app(api))
    headers = {"Authorization": f"Bearer {secret}"}
    response: httpx.Response = bare.post(path, headers=headers, **kw)
    return response.status_code


def _keys(api: TestClient) -> list[accounts.ApiKey]:
    with read(_app(api).state.engine) as conn:
        return accounts.list_keys(conn)


def _key_of(api: TestClient, username: str, name: str) -> accounts.ApiKey:
    found = [k for k in _keys(api) if k.username == username and k.name == name]
    assert len(found) == 1
    return found[0]


def _store_key(api: TestClient, username: str, role: Role, name: str) -> tuple[str, str]:
    with write(_app(api).state.engine) as conn:
        user = accounts.find_user(conn, username)
        key, secret = accounts.create_key(conn, user, workspaces.find(conn, "default"), role, name)
    return str(key.id), secret


def _roles(api: TestClient) -> dict[str, str]:
    with read(_app(api).state.engine) as conn:
        members = accounts.members_of(conn, workspaces.find(conn, "default").id)
    return {m.user.username: m.role.label for m in members}


# ---- creating a key --------------------------------------------------------------------


@on_both_databases
def test_a_key_made_in_the_form_works_on_the_api_and_is_shown_once(
    api: TestClient, crew: None
) -> None:
    bob = _signed_in(api, "bob")
    assert 'id="keys-link"' in bob.get("/artifacts").text
    created = _create(bob, name="ci-bot", role="write", expires="90")
    secret = _secret(created)
    assert created.headers["cache-control"] == "no-store"
    assert "location" not in created.headers
    assert secret not in " ".join(created.headers.get_list("set-cookie"))
    assert f'id="export-line">export RUNFOLIO_API_KEY={secret}<' in created.text
    assert "will not be shown again" in created.text
    assert _bearer(api, secret) == 200
    assert _bearer(api, secret, "/api/artifacts/", json={"key": "by-ui-key", "data": "x"}) == 201
    key = _key_of(api, "bob", "ci-bot")
    assert key.role is Role.WRITE and key.workspace == "default/default"
    assert key.expires is not None
    assert dt.timedelta(days=89) < key.expires - utcnow() <= dt.timedelta(days=90)
    listed = bob.get("/keys")
    assert listed.status_code == 200
    assert key.prefix in listed.text and "ci-bot" in listed.text
    assert secret not in listed.text
    twin = bob.get("/api/ui/keys")
    assert secret not in twin.text
    rows = twin.json()["keys"]
    assert [(r["name"], r["prefix"], r["user"], r["role"], r["status"]) for r in rows] == [
        ("ci-bot", key.prefix, "bob", "write", "active")
    ]
    assert rows[0]["last_used"] is not None  # the API calls above used it


def test_a_reader_cannot_make_a_write_key(api: TestClient, crew: None) -> None:
    rita = _signed_in(api, "rita")
    page = rita.get("/keys").text
    role_select = re.search(r'id="key-role".*?</select>', page, re.S)
    assert role_select
    assert re.findall(r'<option value="(\w+)"', role_select.group(0)) == ["read"]
    refused = _create(rita, role="write")
    assert refused.status_code == 400
    assert "cannot have more rights than its user" in refused.text
    assert not NEW_KEY.search(refused.text)
    assert _keys(api) == []
    # Other bad input is refused the same way, naming the field.
    for fields, said in (
        ({"role": "owner"}, "unknown role"),
        ({"expires": "7"}, "expires: choose one of none, 30, 90, 365"),
        ({"name": "  "}, "name: must be 1 to 200 characters"),
    ):
        response = _create(rita, **{"role": "read", **fields})
        assert response.status_code == 400, fields
        assert said in response.text and "No key was made" in response.text
    assert _keys(api) == []
    assert _secret(_create(rita, role="read", expires="none")).startswith("rfk_")
    assert _key_of(api, "rita", "ci").expires is None


def test_a_key_is_made_for_the_workspace_the_pages_show(api: TestClient, crew: None) -> None:
    root = _signed_in(api, "root")
    root.cookies.set("runfolio_workspace", "acme/prod")
    secret = _secret(_create(root, role="admin"))
    assert _key_of(api, "root", "ci").workspace == "acme/prod"
    assert _bearer(api, secret, "/api/accounts/acme/workspaces/prod/artifacts/filter") == 200
    assert _bearer(api, secret) == 404  # the default workspace is not this key's


# ---- revoking ---------------------------------------------------------------------------


@on_both_databases
def test_revoking_your_own_key_stops_it_at_once(api: TestClient, crew: None) -> None:
    bob = _signed_in(api, "bob")
    secret = _secret(_create(bob))
    assert _bearer(api, secret) == 200  # now in this process's cache
    key = _key_of(api, "bob", "ci")
    form = {"key_id": str(key.id), "csrf_token": _token(bob)}
    revoked = bob.post("/keys/revoke", data=form, follow_redirects=False)
    assert revoked.status_code == 303 and revoked.headers["location"] == "/keys"
    assert _bearer(api, secret) == 401
    assert _key_of(api, "bob", "ci").revoked is not None
    row = re.search(rf'data-key="{key.id}".*?</tr>', bob.get("/keys").text, re.S)
    assert row and 'class="key-status">revoked<' in row.group(0)
    assert "Revoke</button>" not in row.group(0)


@on_both_databases
def test_a_writer_cannot_revoke_anothers_key_and_an_admin_can(api: TestClient, crew: None) -> None:
    key_id, secret = _store_key(api, "rita", Role.READ, "dash")
    bob = _signed_in(api, "bob")
    assert "dash" not in bob.get("/keys").text  # bob sees his own keys only
    assert bob.get("/api/ui/keys").json()["keys"] == []
    refused = bob.post("/keys/revoke", data={"key_id": key_id, "csrf_token": _token(bob)})
    assert refused.status_code == 403
    assert "Nothing was changed" in refused.text
    assert _key_of(api, "rita", "dash").revoked is None
    assert _bearer(api, secret) == 200
    alice = _signed_in(api, "alice")
    twin = alice.get("/api/ui/keys").json()
    assert twin["manages"] is True
    assert [(r["user"], r["name"]) for r in twin["keys"]] == [("rita", "dash")]
    done = alice.post("/keys/revoke", data={"key_id": key_id, "csrf_token": _token(alice)})
    assert done.status_code == 200  # the list page, after the redirect
    assert _bearer(api, secret) == 401


def test_a_key_of_another_workspace_is_not_revoked_from_this_one(
    api: TestClient, crew: None
) -> None:
    with write(_app(api).state.engine) as conn:
        root = accounts.find_user(conn, "root")
        key, secret = accounts.create_key(
            conn, root, workspaces.find(conn, "acme/prod"), Role.READ, "elsewhere"
        )
    alice = _signed_in(api, "alice")  # admin of the default workspace only
    form = {"key_id": str(key.id), "csrf_token": _token(alice)}
    assert alice.post("/keys/revoke", data=form).status_code == 403
    assert _bearer(api, secret, "/api/accounts/acme/workspaces/prod/artifacts/filter") == 200
    garbage = alice.post("/keys/revoke", data={**form, "key_id": "not-an-id"})
    assert garbage.status_code == 403


# ---- CSRF -------------------------------------------------------------------------------


def test_forms_without_their_token_or_with_a_stale_one_change_nothing(
    api: TestClient, crew: None
) -> None:
    alice = _signed_in(api, "alice")
    stale = _token(alice)
    assert alice.post("/sign-out", data={"csrf_token": stale}).status_code == 200
    alice = _signed_in(api, "alice")
    key_id, secret = _store_key(api, "bob", Role.WRITE, "ci")
    for token in (None, stale, ""):
        extra = {} if token is None else {"csrf_token": token}
        made = alice.post("/keys", data={"name": "x", "role": "read", "expires": "30", **extra})
        gone = alice.post("/keys/revoke", data={"key_id": key_id, **extra})
        role = alice.post("/members", data={"username": "bob", "role": "none", **extra})
        for response in (made, gone, role):
            assert response.status_code == 403
            assert "nothing was changed" in response.text
    assert [k.name for k in _keys(api)] == ["ci"]
    assert _key_of(api, "bob", "ci").revoked is None
    assert _bearer(api, secret) == 200
    assert _roles(api)["bob"] == "write"


# ---- members ----------------------------------------------------------------------------


@on_both_databases
def test_an_admin_lowers_a_role_and_the_members_keys_follow_at_once(
    api: TestClient, crew: None
) -> None:
    _, secret = _store_key(api, "bob", Role.WRITE, "ci")
    create = {"json": {"key": "before", "data": "x"}}
    assert _bearer(api, secret, "/api/artifacts/", **create) == 201  # cached as write now
    alice = _signed_in(api, "alice")
    page = alice.get("/members")
    assert page.status_code == 200
    assert 'id="members-link"' in page.text
    assert "Server admin: admin of every workspace" in page.text  # root's row
    form = {"username": "bob", "role": "read", "csrf_token": _token(alice, "/members")}
    done = alice.post("/members", data=form)
    assert done.status_code == 200
    assert "bob now has the read role in default/default" in done.text
    assert "1 API key of theirs in default/default lowered to read" in done.text
    assert _bearer(api, secret, "/api/artifacts/", json={"key": "after", "data": "x"}) == 403
    assert _bearer(api, secret) == 200  # still reads
    assert _key_of(api, "bob", "ci").role is Role.READ
    twin = alice.get("/api/ui/members").json()
    assert {m["username"]: m["role"] for m in twin["members"]} == {
        "alice": "admin",
        "bob": "read",
        "rita": "read",
        "root": "admin",
    }
    removed = alice.post("/members", data={**form, "role": "none"})
    assert "bob no longer has a role in default/default" in removed.text
    assert "1 API key of theirs in default/default revoked" in removed.text
    assert _bearer(api, secret) == 401


def test_an_admin_adds_an_existing_user_and_bad_input_changes_nothing(
    api: TestClient, crew: None
) -> None:
    alice = _signed_in(api, "alice")
    token = _token(alice, "/members")
    for fields, status, said in (
        ({"username": "nobody", "role": "read"}, 400, "no user nobody"),
        ({"username": "carol", "role": "owner"}, 400, "unknown role"),
        ({"username": "root", "role": "read"}, 400, "root is a server admin: admin of every"),
    ):
        response = alice.post("/members", data={**fields, "csrf_token": token})
        assert response.status_code == status, fields
        assert said in response.text and "Nothing was changed" in response.text
    before = {"alice": "admin", "bob": "write", "rita": "read", "root": "admin"}
    assert _roles(api) == before
    added = alice.post("/members", data={"username": "carol", "role": "write", "csrf_token": token})
    assert added.status_code == 200
    assert "carol now has the write role in default/default" in added.text
    assert _roles(api) == {**before, "carol": "write"}
    carol = _signed_in(api, "carol")
    assert carol.get("/artifacts").status_code == 200  # a member now


def test_a_non_admin_gets_403_on_members(api: TestClient, crew: None) -> None:
    bob = _signed_in(api, "bob")
    assert 'id="members-link"' not in bob.get("/artifacts").text
    page = bob.get("/members")
    assert page.status_code == 403
    assert "Only an admin of default/default" in page.text
    assert 'id="sign-out"' in page.text  # the header is there to go elsewhere
    twin = bob.get("/api/ui/members")
    assert twin.status_code == 403 and "Only an admin" in twin.json()["detail"]
    form = {"username": "bob", "role": "admin", "csrf_token": _token(bob)}
    assert bob.post("/members", data=form).status_code == 403
    assert _roles(api)["bob"] == "write"


# ---- an open server ----------------------------------------------------------------------


def test_an_open_server_says_accounts_are_off(api: TestClient) -> None:
    for path in ("/keys", "/members"):
        page = api.get(path)
        assert page.status_code == 200
        assert "Accounts are off" in page.text
        assert "runfolio user create NAME --admin" in page.text
        assert 'id="create-key"' not in page.text
        assert api.get(f"/api/ui{path}").json()["accounts_on"] is False
    token = _token(api)  # the double-submit cookie's
    made = api.post(
        "/keys", data={"name": "x", "role": "read", "expires": "30", "csrf_token": token}
    )
    assert made.status_code == 403 and "Accounts are off" in made.text
    assert _keys(api) == []


# ---- in a browser -----------------------------------------------------------------------


@pytest.fixture
def bob_server(tmp_path: Path) -> Iterator[str]:
    """A real server whose database has bob, a writer in the default workspace."""
    home = tmp_path / "home"
    app = create_app(Settings(home=home, database_url=None, api_url=None, api_key=None))
    engine = app.state.engine
    with write(engine) as conn:
        bob = accounts.create_user(conn, "bob", PASSWORD, is_admin=False)
        accounts.set_role(conn, bob, workspaces.find(conn, "default"), Role.WRITE)
    engine.dispose()
    with running_server(home) as server:
        yield server.url


@pytest.mark.browser
def test_create_a_key_in_a_browser_and_see_it_once(browser: Browser, bob_server: str) -> None:
    url = bob_server
    context = browser.new_context(base_url=url, locale="en-US")
    context.set_default_timeout(10_000)
    problems: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    tab.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    try:
        tab.goto("/sign-in")
        tab.fill("#username", "bob")
        tab.fill("#password", PASSWORD)
        tab.click("button[type=submit]")
        tab.click("#keys-link")
        expect(tab).to_have_url(f"{url}/keys")
        tab.fill("#key-name", "laptop")
        tab.select_option("#key-role", "read")
        tab.click("#create-key button[type=submit]")
        expect(tab.locator("h1")).to_have_text("Key created")
        secret = tab.locator("#new-key").inner_text().strip()
        assert re.fullmatch(r"rfk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", secret)
        expect(tab.locator("#export-line")).to_have_text(f"export RUNFOLIO_API_KEY={secret}")
        response = httpx.post(
            f"{url}/api/artifacts/filter", headers={"Authorization": f"Bearer {secret}"}
        )
        assert response.status_code == 200
        tab.click("#back")
        expect(tab).to_have_url(f"{url}/keys")
        expect(tab.locator("#key-list")).to_contain_text("laptop")
        assert secret not in tab.content()
        tab.reload()  # no-store: the key is not in any cache to come back from
        assert secret not in tab.content()
        assert all(secret not in c["value"] for c in context.cookies())
    finally:
        context.close()
    assert not problems, problems
