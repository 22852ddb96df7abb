"""Who may compare, chart and download a key's history: the read role is enough; another
workspace's caller gets 404, a caller of no workspace 403, nobody signed in nothing."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from runfolio.ops.access import Role
from runfolio.store import accounts, workspaces
from runfolio.store.engine import write

PASSWORD = "correct horse battery"


def _app(api: TestClient) -> FastAPI:
    app = api.app
    assert isinstance(app, FastAPI)
    return app


def _signed_in(api: TestClient, username: str) -> TestClient:
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


@pytest.fixture
def world(api: TestClient) -> dict[str, str]:
    """Two versions of a key in the default workspace (made while the server is open);
    then rita reads the default workspace, olga reads only abc/other, carol nothing."""
    ids = [
        api.post(
            "/api/artifacts/",
            json={"key": "guarded", "type": "table", "data": json.dumps([{"a": n, "b": 1}])},
        ).json()["id"]
        for n in (1, 2)
    ]
    with write(_app(api).state.engine) as conn:
        rita = accounts.create_user(conn, "rita", PASSWORD, is_admin=False)
        accounts.set_role(conn, rita, workspaces.find(conn, "default"), Role.READ)
        olga = accounts.create_user(conn, "olga", PASSWORD, is_admin=False)
        accounts.set_role(conn, olga, workspaces.find(conn, "abc/other"), Role.READ)
        accounts.create_user(conn, "carol", PASSWORD, is_admin=False)
        _, secret = accounts.create_key(
            conn, rita, workspaces.find(conn, "default"), Role.READ, "reader"
        )
    _app(api).state.auth.forget()
    return {"old": ids[0], "new": ids[1], "secret": secret}


def _paths(world: dict[str, str]) -> list[str]:
    return [
        "/artifacts/key/guarded/compare?from=1&to=2",
        "/api/ui/artifacts/key/guarded/compare",
        "/artifacts/key/guarded/trends",
        "/api/ui/artifacts/key/guarded/trends",
        f"/artifacts/{world['old']}/download",
        "/artifacts/key/guarded/history.zip",
    ]


def test_read_role_is_enough(api: TestClient, world: dict[str, str]) -> None:
    rita = _signed_in(api, "rita")
    for path in _paths(world):
        assert rita.get(path).status_code == 200, path
    bare = TestClient(_app(api))
    headers = {"Authorization": f"Bearer {world['secret']}"}
    r = bare.get(f"/artifacts/{world['new']}/download?format=json", headers=headers)
    assert r.status_code == 200 and r.json() == [{"a": 2, "b": 1}]


def test_other_workspace_no_workspace_and_nobody(api: TestClient, world: dict[str, str]) -> None:
    olga = _signed_in(api, "olga")  # her pages show abc/other, where the key is not
    for path in _paths(world):
        r = olga.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert "guarded" not in r.text or "no artifact with the key" in r.text.lower(), path
    carol = _signed_in(api, "carol")
    for path in _paths(world):
        assert carol.get(path).status_code == 403, path
    nobody = TestClient(_app(api))
    for path in _paths(world):
        r = nobody.get(path, follow_redirects=False)
        assert r.status_code in (303, 401), (path, r.status_code)
        assert "PK" not in r.text[:2] and '"a"' not in r.text
