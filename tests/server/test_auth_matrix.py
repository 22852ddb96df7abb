"""Who may call what, against a real `runfolio server start` process.

Every API route (taken from the server's own OpenAPI document, so a new route
is covered, or noticed, without editing this file) is called under `/api` and
under a named workspace with no, malformed, wrong, revoked and expired
credentials, with a key of another workspace, and with keys of each role.
Users, workspaces, memberships and keys are made straight in the server's
SQLite file through the store functions, as `runfolio user`/`key` would.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, update
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

from runfolio.ops.access import Role
from runfolio.store import accounts, workspaces
from runfolio.store.engine import connect, write
from runfolio.store.tables import api_keys
from tests.servers import ServerProcess, free_port, running_server

pytestmark = pytest.mark.server

PROD = "/api/accounts/acme/workspaces/prod"
OTHER = "/api/accounts/acme/workspaces/other"
DEFAULT = "/api"
BASES = (DEFAULT, PROD)

# Routes that answer without credentials. Probes (health, ready) must; the others
# only tell versions (or, csrf-token, that there is no CSRF token). A new route that
# answers without credentials (one that forgot its dependency) fails `test_open_routes`.
OPEN_ROUTES = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/version"),
    ("GET", "/admin/version"),
    ("GET", "/info"),
    ("GET", "/hello"),
    ("GET", "/csrf-token"),
}
# What each guarded route needs: read, write, or delete (the admin role).
READ_ROUTES = {
    ("GET", "/artifacts/{artifact_id}"),
    ("GET", "/artifacts/{key}/latest"),
    ("POST", "/artifacts/filter"),
    ("POST", "/artifacts/latest/filter"),
    ("POST", "/artifacts/count"),
    ("POST", "/artifacts/latest/count"),
    ("GET", "/flows/{flow_id}"),
    ("POST", "/flows/filter"),
    ("GET", "/flow_runs/{id}"),
    ("GET", "/flow_runs/{id}/states"),
    ("POST", "/flow_runs/filter"),
    ("GET", "/task_runs/{id}"),
    ("GET", "/task_runs/{id}/states"),
    ("POST", "/task_runs/filter"),
    ("POST", "/logs/filter"),
    ("GET", "/ui/artifacts"),
    ("GET", "/ui/artifacts/key/{key}"),
    ("GET", "/ui/artifacts/key/{key}/compare"),
    ("GET", "/ui/artifacts/key/{key}/trends"),
    ("GET", "/ui/artifacts/{artifact_id}"),
    ("GET", "/ui/runs"),
    ("GET", "/ui/runs/{run_id}"),
    ("GET", "/ui/live"),
    ("GET", "/ui/stream"),  # Server-Sent Events: `call` reads its first event only
    ("GET", "/ui/keys"),  # a non-admin's own keys only (tests/ui/test_keys_page.py)
    ("GET", "/blobs/{sha256}"),
    ("GET", "/retention/policies"),
}
WRITE_ROUTES = {
    ("POST", "/artifacts/"),
    ("PATCH", "/artifacts/{artifact_id}"),
    ("POST", "/artifacts/{artifact_id}/rows"),  # on the table artifact of Objects
    ("POST", "/flows/"),
    ("POST", "/flow_runs/"),
    ("POST", "/flow_runs/{id}/set_state"),
    ("POST", "/task_runs/"),
    ("POST", "/task_runs/batch"),
    ("POST", "/task_runs/{id}/set_state"),
    ("POST", "/logs/"),
    ("POST", "/blobs"),  # a raw body: the JSON text `{}` of route_body is the file
}
DELETE_ROUTES = {("DELETE", "/artifacts/{artifact_id}")}
# Routes that take the admin role: a workspace's members, and its webhooks (their
# listing too: a webhook's URL often carries a token of the receiving service).
MANAGE_ROUTES = {
    ("GET", "/ui/members"),
    # Retention policies decide what gets deleted: setting and removing them is an admin's.
    ("PUT", "/retention/policies"),
    ("DELETE", "/retention/policies"),
    ("GET", "/ui/retention"),  # the Retention page's twin: its admins only
    ("GET", "/ui/webhooks"),
    ("POST", "/webhooks/"),
    ("GET", "/webhooks/"),
    ("GET", "/webhooks/{webhook_id}"),
    ("PATCH", "/webhooks/{webhook_id}"),
    ("DELETE", "/webhooks/{webhook_id}"),
    ("POST", "/webhooks/{webhook_id}/test"),
    ("GET", "/webhooks/{webhook_id}/deliveries"),
}
GUARDED = READ_ROUTES | WRITE_ROUTES | DELETE_ROUTES | MANAGE_ROUTES

MALFORMED = ["Bearer", "Token abc", "Basic !!!", "Bearer " + "x" * 2000]
PASSWORDS = {"root": "root-pass-Zq81vT", "alice": "alice-pass-Kd42pW", "bob": "bob-pass-Hx73mN"}
AUTH_STRING = "admin:s3cret"


@dataclass(frozen=True)
class Objects:
    """One of each object in a workspace, to fill path parameters with real ids."""

    artifact_id: str
    key: str
    flow_id: str
    flow_run_id: str
    task_run_id: str
    blob: str  # the SHA-256 of a blob uploaded there
    table_id: str = ""  # a table artifact (rows are appended to it)
    webhook_id: str = ""  # a webhook made there (paused)


@dataclass
class World:
    server: ServerProcess
    engine: Engine
    db: Path
    #: name -> the key's secret text
    keys: dict[str, str]
    #: base -> the objects made there
    objects: dict[str, Objects] = field(default_factory=dict)
    #: base -> a key of the admin role there
    admin: dict[str, str] = field(default_factory=dict)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def basic(text: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(text.encode()).decode()}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def api_routes(server: ServerProcess) -> set[tuple[str, str]]:
    """(METHOD, path after /api) of every operation the server documents."""
    doc = httpx.get(f"{server.api_url}/openapi.json", timeout=10).json()
    found = set()
    for path, operations in doc["paths"].items():
        assert path.startswith("/api/"), path
        for method in operations:
            found.add((method.upper(), path[len("/api") :]))
    return found


def in_workspaces(route: tuple[str, str]) -> bool:
    """Whether the route is also served under /api/accounts/A/workspaces/W (the UI's
    JSON twins are not: the UI is the default workspace's)."""
    return not route[1].startswith("/ui/")


def route_url(base: str, route: tuple[str, str], objs: Objects) -> str:
    method, path = route
    values = {
        "artifact_id": objs.table_id if path.endswith("/rows") else objs.artifact_id,
        "key": objs.key,
        "flow_id": objs.flow_id,
        "run_id": objs.flow_run_id,
        "sha256": objs.blob,
        "webhook_id": objs.webhook_id,
        "id": objs.task_run_id if path.startswith("/task_runs") else objs.flow_run_id,
    }
    filled = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
    if path == "/csrf-token":
        filled += "?client=matrix"
    if path == "/retention/policies" and method == "DELETE":
        filled += "?key_pattern=matrix-*"  # the pattern the PUT of route_body sets
    if path == "/ui/stream":
        # Since a few minutes ago: the changes of the objects made for the matrix come first.
        recent = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        filled += f"?topics=artifact,flow_run,task_run&since={recent:%Y-%m-%dT%H:%M:%SZ}"
    return base + filled


def route_body(route: tuple[str, str], objs: Objects) -> Any:
    """A valid body, so a refusal is the credentials' doing and not the body's."""
    method, path = route
    if method in ("GET", "DELETE"):
        return None
    state = {"state": {"type": "RUNNING"}, "force": True}
    bodies: dict[str, Any] = {
        "/artifacts/": {"key": "matrix-made", "type": "markdown", "data": "made"},
        "/webhooks/": {"name": "matrix", "url": "https://example.com/hook"},
        "/webhooks/{webhook_id}": {"name": "renamed"},
        "/retention/policies": {"key_pattern": "matrix-*", "keep_last": 50},
        "/artifacts/{artifact_id}": {"data": "patched"},
        "/artifacts/{artifact_id}/rows": {"rows": [{"n": 2}]},
        "/flows/": {"name": "matrix-flow"},
        "/flow_runs/": {"flow_id": objs.flow_id},
        "/flow_runs/{id}/set_state": state,
        "/task_runs/": {"task_key": "matrix-task", "dynamic_key": "0"},
        "/task_runs/batch": [
            {
                "task_run": {"task_key": "matrix-batch", "dynamic_key": "0"},
                "states": [{"type": "COMPLETED", "timestamp": _now()}],
            }
        ],
        "/task_runs/{id}/set_state": state,
        "/logs/": [
            {"level": 20, "message": "m", "timestamp": _now(), "flow_run_id": objs.flow_run_id}
        ],
        "/logs/filter": _logs_of(objs),
    }
    return bodies.get(path, {})


def _logs_of(objs: Objects) -> dict[str, Any]:
    return {"logs": {"flow_run_id": {"any_": [objs.flow_run_id]}}}


def _stream_start(http: httpx.Client, url: str, headers: dict[str, str]) -> httpx.Response:
    """A stream's status and what it sends first (its opening and the changes since
    `since`, i.e. the whole workspace's): a stream never ends by itself."""
    with http.stream("GET", url, headers=headers) as response:
        if response.status_code != 200:
            response.read()
            return response
        text = ""
        for chunk in response.iter_text():
            text += chunk
            if len(text) > 2000 or "event: " in text:
                break
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=text)


def call(
    http: httpx.Client, base: str, route: tuple[str, str], objs: Objects, headers: dict[str, str]
) -> httpx.Response:
    body = route_body(route, objs)
    url = route_url(base, route, objs)
    if route == ("GET", "/ui/stream"):
        return _stream_start(http, url, headers)
    if body is None:
        return http.request(route[0], url, headers=headers)
    return http.request(route[0], url, headers=headers, json=body)


def snapshot(http: httpx.Client, base: str, objs: Objects, admin_key: str) -> tuple[Any, ...]:
    """What a workspace holds, read through an admin key: any write changes it."""
    h = bearer(admin_key)
    got: list[Any] = []
    for path, body in (
        ("/artifacts/count", {}),
        ("/artifacts/latest/count", {}),
        ("/flows/filter", {}),
        ("/flow_runs/filter", {}),
        ("/task_runs/filter", {}),
        ("/logs/filter", _logs_of(objs)),
    ):
        response = http.post(base + path, headers=h, json=body)
        assert response.status_code == 200, response.text
        got.append(response.json() if path.endswith("count") else len(response.json()))
    for path in (
        f"/artifacts/{objs.artifact_id}",
        f"/flow_runs/{objs.flow_run_id}/states",
        f"/task_runs/{objs.task_run_id}/states",
    ):
        response = http.get(base + path, headers=h)
        assert response.status_code == 200, response.text
        got.append(response.json())
    return tuple(got)


def make_objects(http: httpx.Client, base: str, headers: dict[str, str], tag: str) -> Objects:
    def post(path: str, body: Any) -> dict[str, Any]:
        response = http.post(base + path, json=body, headers=headers)
        assert response.status_code in (200, 201), response.text
        created: dict[str, Any] = response.json()
        return created

    key = f"seed-{tag}"
    artifact = post("/artifacts/", {"key": key, "type": "markdown", "data": f"# {tag}"})
    flow = post("/flows/", {"name": f"flow-{tag}"})
    flow_run = post("/flow_runs/", {"flow_id": flow["id"]})
    task_run = post(
        "/task_runs/",
        {"task_key": f"task-{tag}", "dynamic_key": "0", "flow_run_id": flow_run["id"]},
    )
    uploaded = http.post(base + "/blobs", content=f"blob of {tag}".encode(), headers=headers)
    assert uploaded.status_code == 201, uploaded.text
    blob = uploaded.json()["sha256"]
    table = post("/artifacts/", {"type": "table", "data": '[{"n": 1}]'})
    # Paused, and pointing at a closed local port: the matrix's writes call nobody.
    hook = post("/webhooks/", {"name": tag, "url": "http://127.0.0.1:9/matrix", "active": False})
    return Objects(
        artifact["id"],
        key,
        flow["id"],
        flow_run["id"],
        task_run["id"],
        blob,
        table["id"],
        hook["id"],
    )


def _make_accounts(engine: Engine) -> dict[str, str]:
    """Users, workspaces, roles and keys; returns each key's secret by name."""
    keys: dict[str, str] = {}
    with write(engine) as conn:
        default = workspaces.find(conn, "default")
        prod = workspaces.create(conn, "acme/prod")
        other = workspaces.create(conn, "acme/other")
        root = accounts.create_user(conn, "root", PASSWORDS["root"], is_admin=True)
        alice = accounts.create_user(conn, "alice", PASSWORDS["alice"], is_admin=False)
        bob = accounts.create_user(conn, "bob", PASSWORDS["bob"], is_admin=False)
        accounts.set_role(conn, alice, prod, Role.ADMIN)
        accounts.set_role(conn, bob, default, Role.WRITE)
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        made = {
            "root-default": (root, default, Role.ADMIN, None),
            "root-prod": (root, prod, Role.ADMIN, None),
            "root-other": (root, other, Role.ADMIN, None),
            "prod-read": (alice, prod, Role.READ, None),
            "prod-write": (alice, prod, Role.WRITE, None),
            "prod-admin": (alice, prod, Role.ADMIN, None),
            "prod-revoked": (alice, prod, Role.ADMIN, None),
            "prod-expired": (alice, prod, Role.ADMIN, soon),
            "prod-revoke-live": (alice, prod, Role.READ, None),
            "default-read": (bob, default, Role.READ, None),
            "default-write": (bob, default, Role.WRITE, None),
        }
        for name, (user, workspace, role, expires) in made.items():
            key, secret = accounts.create_key(conn, user, workspace, role, name, expires)
            keys[name] = secret
        accounts.revoke_key(conn, keys["prod-revoked"])
        # create_key refuses a past expiry; the row is set to one, as time would.
        past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        expired_prefix = keys["prod-expired"][: len(accounts.KEY_PREFIX) + 12]
        conn.execute(
            update(api_keys).where(api_keys.c.prefix == expired_prefix).values(expires=past)
        )
    return keys


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A server whose database has users (so auth is on) before it starts."""
    home = tmp_path_factory.mktemp("auth-matrix") / "home"
    home.mkdir()
    db = home / "runfolio.db"
    engine = connect(f"sqlite:///{db}")
    try:
        keys = _make_accounts(engine)
        with running_server(home) as server:
            w = World(server, engine, db, keys)
            w.admin = {DEFAULT: keys["root-default"], PROD: keys["prod-admin"]}
            w.admin[OTHER] = keys["root-other"]
            with httpx.Client(base_url=server.url, timeout=10) as http:
                for base, tag in ((DEFAULT, "default"), (PROD, "prod"), (OTHER, "other")):
                    w.objects[base] = make_objects(http, base, bearer(w.admin[base]), tag)
            yield w
    finally:
        engine.dispose()


@pytest.fixture
def http(world: World) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=world.server.url, timeout=10) as client:
        yield client


def _check(failures: list[str], ok: bool, what: str) -> None:
    if not ok:
        failures.append(what)


# ---- the route list -------------------------------------------------------------


def test_every_documented_route_is_classified(world: World) -> None:
    """A new route must be put in one of the sets above (and so get tested)."""
    documented = api_routes(world.server)
    assert documented == OPEN_ROUTES | GUARDED
    assert not (OPEN_ROUTES & GUARDED)


def test_open_routes(world: World, http: httpx.Client) -> None:
    """Exactly the routes of OPEN_ROUTES answer without credentials."""
    objs = world.objects[DEFAULT]
    answering = set()
    for route in api_routes(world.server):
        response = call(http, DEFAULT, route, objs, {})
        if response.status_code != 401:
            answering.add(route)
    assert answering == OPEN_ROUTES
    assert http.get("/api/health").json() is True
    assert http.get("/api/ready").status_code == 200
    assert http.get("/api/version").status_code == 200


# ---- refused credentials: 401, nothing written -------------------------------------


def test_bad_credentials_are_401_and_write_nothing(world: World, http: httpx.Client) -> None:
    wrong = "rfk_" + secrets.token_hex(6) + "_" + secrets.token_urlsafe(32)
    attempts: list[tuple[str, dict[str, str]]] = [("none", {})]
    attempts += [(f"malformed {h[:20]!r}", {"Authorization": h}) for h in MALFORMED]
    attempts += [
        ("wrong key", bearer(wrong)),
        ("revoked key", bearer(world.keys["prod-revoked"])),
        ("expired key", bearer(world.keys["prod-expired"])),
        ("wrong key as Basic", basic("x:" + wrong)),
    ]
    failures: list[str] = []
    checked = 0
    for base in BASES:
        objs = world.objects[base]
        for route in sorted(GUARDED):
            if base != DEFAULT and not in_workspaces(route):
                continue
            before = snapshot(http, base, objs, world.admin[base])
            for what, headers in attempts:
                response = call(http, base, route, objs, headers)
                checked += 1
                _check(
                    failures,
                    response.status_code == 401,
                    f"{what} {route} {base}: {response.status_code}",
                )
                challenge = response.headers.get("www-authenticate", "")
                _check(failures, challenge.startswith("Bearer"), f"{what} {route}: {challenge!r}")
            after = snapshot(http, base, objs, world.admin[base])
            _check(failures, before == after, f"{route} {base} wrote: {before} -> {after}")
    assert not failures, "\n".join(failures)
    assert checked > 200


def test_a_key_of_another_workspace_is_404(world: World, http: httpx.Client) -> None:
    """Keys of acme/prod, whatever their role, find nothing elsewhere (404, not 403:
    the answer must not tell that the workspace exists)."""
    failures: list[str] = []
    for base in (DEFAULT, OTHER):
        objs = world.objects[base]
        for route in sorted(GUARDED):
            if base != DEFAULT and not in_workspaces(route):
                continue
            before = snapshot(http, base, objs, world.admin[base])
            for name in ("prod-read", "prod-write", "prod-admin"):
                if in_workspaces(route):
                    response = call(http, base, route, objs, bearer(world.keys[name]))
                    refused = response.status_code == 404 and "orkspace" in response.text
                else:
                    # The UI's JSON twins show a workspace the caller may read (chosen by
                    # a cookie, else the default, else the first): asking for the default
                    # one by cookie shows prod's, and nothing of the default workspace.
                    headers = {**bearer(world.keys[name]), "Cookie": "runfolio_workspace=default"}
                    response = call(http, base, route, objs, headers)
                    shown = response.text
                    # A manage route also says 403 to a key below admin in its own workspace.
                    allowed = (200, 403, 404) if route in MANAGE_ROUTES else (200, 404)
                    refused = response.status_code in allowed and not any(
                        secret in shown
                        for secret in (objs.artifact_id, objs.key, objs.flow_run_id, objs.flow_id)
                    )
                _check(
                    failures,
                    refused,
                    f"{name} {route} {base}: {response.status_code} {response.text[:100]}",
                )
            after = snapshot(http, base, objs, world.admin[base])
            _check(failures, before == after, f"{route} {base} wrote: {before} -> {after}")
    assert not failures, "\n".join(failures)


def test_a_read_key_reads_and_cannot_write(world: World, http: httpx.Client) -> None:
    failures: list[str] = []
    for base, key in ((DEFAULT, "default-read"), (PROD, "prod-read")):
        objs = world.objects[base]
        for route in sorted(READ_ROUTES):
            if base != DEFAULT and not in_workspaces(route):
                continue
            response = call(http, base, route, objs, bearer(world.keys[key]))
            _check(failures, response.status_code == 200, f"{key} {route}: {response.text[:200]}")
        before = snapshot(http, base, objs, world.admin[base])
        for route in sorted(WRITE_ROUTES | DELETE_ROUTES | MANAGE_ROUTES):
            if base != DEFAULT and not in_workspaces(route):
                continue
            response = call(http, base, route, objs, bearer(world.keys[key]))
            _check(failures, response.status_code == 403, f"{key} {route}: {response.text[:200]}")
        after = snapshot(http, base, objs, world.admin[base])
        _check(failures, before == after, f"{key} wrote in {base}: {before} -> {after}")
    assert not failures, "\n".join(failures)


def test_a_write_key_writes_but_cannot_delete(world: World, http: httpx.Client) -> None:
    for base, key in ((DEFAULT, "default-write"), (PROD, "prod-write")):
        objs = world.objects[base]
        h = bearer(world.keys[key])
        for route in sorted(WRITE_ROUTES):
            response = call(http, base, route, objs, h)
            assert response.status_code in (200, 201, 204), (key, route, response.text)
        made = http.post(f"{base}/artifacts/", headers=h, json={"type": "markdown", "data": "x"})
        assert made.status_code == 201
        before = snapshot(http, base, objs, world.admin[base])
        refused = http.delete(f"{base}/artifacts/{made.json()['id']}", headers=h)
        assert refused.status_code == 403, refused.text
        assert snapshot(http, base, objs, world.admin[base]) == before
        admin = bearer(world.admin[base])
        assert (
            http.delete(f"{base}/artifacts/{made.json()['id']}", headers=admin).status_code == 204
        )
        assert http.get(f"{base}/artifacts/{made.json()['id']}", headers=admin).status_code == 404


def test_basic_with_a_key_as_password_acts_as_that_key(world: World, http: httpx.Client) -> None:
    objs = world.objects[PROD]
    as_read = basic("anything:" + world.keys["prod-read"])
    assert call(http, PROD, ("POST", "/artifacts/filter"), objs, as_read).status_code == 200
    assert call(http, PROD, ("POST", "/artifacts/"), objs, as_read).status_code == 403
    assert call(http, DEFAULT, ("POST", "/artifacts/filter"), objs, as_read).status_code == 404
    as_write = basic("x:" + world.keys["prod-write"])
    response = http.post(
        f"{PROD}/artifacts/", headers=as_write, json={"type": "markdown", "data": "basic"}
    )
    assert response.status_code == 201, response.text


# ---- revocation while the server runs --------------------------------------------------


def test_revocation_takes_effect_within_the_cache_time(world: World, http: httpx.Client) -> None:
    h = bearer(world.keys["prod-revoke-live"])
    url = f"{PROD}/artifacts/count"
    assert http.post(url, headers=h).status_code == 200  # now cached as good
    with write(world.engine) as conn:
        accounts.revoke_key(conn, world.keys["prod-revoke-live"])
    revoked_at = time.monotonic()
    while http.post(url, headers=h).status_code != 401:
        assert time.monotonic() - revoked_at < 2.0, "a revoked key still works after 2 s"
        time.sleep(0.05)
    assert http.post(url, headers=h).status_code == 401


def _key_for_new_user(world: World, username: str, expires: dt.datetime | None) -> str:
    with write(world.engine) as conn:
        user = accounts.create_user(conn, username, PASSWORDS["alice"], is_admin=False)
        prod = workspaces.find(conn, "acme/prod")
        accounts.set_role(conn, user, prod, Role.READ)
        _, secret = accounts.create_key(conn, user, prod, Role.READ, "short", expires)
    return secret


def test_a_key_stops_at_its_expiry_not_at_the_end_of_the_cache(
    world: World, http: httpx.Client
) -> None:
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1.5)
    h = bearer(_key_for_new_user(world, "carol", expires))
    url = f"{PROD}/artifacts/count"
    while dt.datetime.now(dt.UTC) < expires - dt.timedelta(seconds=0.8):
        time.sleep(0.05)
    assert http.post(url, headers=h).status_code == 200  # cached now, for less than 1 s
    while dt.datetime.now(dt.UTC) < expires + dt.timedelta(seconds=0.05):
        time.sleep(0.02)
    assert http.post(url, headers=h).status_code == 401


def test_a_disabled_users_keys_stop_working(world: World, http: httpx.Client) -> None:
    h = bearer(_key_for_new_user(world, "dave", None))
    url = f"{PROD}/artifacts/count"
    assert http.post(url, headers=h).status_code == 200
    with write(world.engine) as conn:
        accounts.set_disabled(conn, "dave", True)
    disabled_at = time.monotonic()
    while http.post(url, headers=h).status_code != 401:
        assert time.monotonic() - disabled_at < 2.0, "a disabled user's key works after 2 s"
        time.sleep(0.05)


def test_a_session_cookie_does_not_authenticate_the_api(world: World, http: httpx.Client) -> None:
    """The REST API takes the Authorization header only: a cookie is what a hostile
    page can make a browser send (CSRF)."""
    with write(world.engine) as conn:
        root = accounts.find_user(conn, "root")
        token, _ = accounts.create_session(conn, root, dt.timedelta(hours=1))
    cookie = {"Cookie": f"runfolio_session={token}"}
    # The UI's JSON twins do take it (reads only): the session itself is good.
    assert http.get("/api/ui/artifacts", headers=cookie).status_code == 200
    objs = world.objects[DEFAULT]
    before = snapshot(http, DEFAULT, objs, world.admin[DEFAULT])
    for route in sorted(GUARDED):
        if not in_workspaces(route):
            continue
        response = call(http, DEFAULT, route, objs, cookie)
        assert response.status_code == 401, (route, response.status_code)
    assert snapshot(http, DEFAULT, objs, world.admin[DEFAULT]) == before


# ---- the events websocket --------------------------------------------------------------


def _ws_url(world: World, base: str) -> str:
    return world.server.url.replace("http://", "ws://") + base + "/events/in"


def _task_run_event(run_id: uuid.UUID) -> str:
    return json.dumps(
        {
            "occurred": _now(),
            "event": "prefect.task-run.Pending",
            "resource": {
                "prefect.resource.id": f"prefect.task-run.{run_id}",
                "prefect.resource.name": "ws-task",
                "prefect.state-type": "PENDING",
                "prefect.state-name": "Pending",
            },
            "related": [],
            "payload": {"validated_state": {"type": "PENDING", "name": "Pending"}},
            "id": str(uuid.uuid4()),
            "follows": None,
        }
    )


def _open(world: World, base: str, **kw: Any) -> ClientConnection:
    url = _ws_url(world, base)
    conn: ClientConnection = ws_connect(
        url, subprotocols=[Subprotocol("prefect")], open_timeout=5, **kw
    )
    return conn


def _refused_then_sends(conn: ClientConnection, run_id: uuid.UUID) -> int | None:
    """Read until the server closes, sending an event anyway. The close code."""
    try:
        conn.send(_task_run_event(run_id))
        reply = json.loads(conn.recv(timeout=5))
        assert reply["type"] == "auth_failure", reply
        conn.send(_task_run_event(run_id))
        conn.recv(timeout=5)
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None
    return None


def _recorded(http: httpx.Client, world: World, base: str, run_id: uuid.UUID) -> bool:
    response = http.get(f"{base}/task_runs/{run_id}", headers=bearer(world.admin[base]))
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


def _send_and_wait(
    world: World, http: httpx.Client, base: str, token: str, run_id: uuid.UUID
) -> None:
    with _open(world, base) as conn:
        conn.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(conn.recv(timeout=5)) == {"type": "auth_success"}
        conn.send(_task_run_event(run_id))
        deadline = time.monotonic() + 5
        while not _recorded(http, world, base, run_id):
            assert time.monotonic() < deadline, "a valid key's event was not recorded in 5 s"
            time.sleep(0.02)


def test_events_need_a_valid_token(world: World, http: httpx.Client) -> None:
    refused = {}
    for what, token in (("null", None), ("bad", "rfk_" + secrets.token_hex(20))):
        run_id = uuid.uuid4()
        with _open(world, PROD) as conn:
            conn.send(json.dumps({"type": "auth", "token": token}))
            assert _refused_then_sends(conn, run_id) == 1008, what
        refused[what] = run_id
    # A good key's event on a later connection is recorded; once it is, the refused
    # connections (closed before it opened) had their chance and recorded nothing.
    good = uuid.uuid4()
    _send_and_wait(world, http, PROD, world.keys["prod-write"], good)
    assert _recorded(http, world, PROD, good)
    for run_id in refused.values():
        assert not _recorded(http, world, PROD, run_id)


def test_events_of_a_read_key_or_another_workspace_record_nothing(
    world: World, http: httpx.Client
) -> None:
    cases = ((PROD, "prod-read"), (DEFAULT, "prod-write"), (OTHER, "prod-admin"))
    sent = []
    for base, key in cases:
        run_id = uuid.uuid4()
        with _open(world, base) as conn:
            conn.send(json.dumps({"type": "auth", "token": world.keys[key]}))
            assert json.loads(conn.recv(timeout=5)) == {"type": "auth_success"}
            conn.send(_task_run_event(run_id))
            with pytest.raises(ConnectionClosed) as closed:
                conn.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008, key
        sent.append((base, run_id))
    _send_and_wait(world, http, PROD, world.keys["prod-write"], uuid.uuid4())
    for base, run_id in sent:
        assert not _recorded(http, world, base, run_id)


def test_events_from_a_foreign_origin_are_refused_at_the_handshake(
    world: World, http: httpx.Client
) -> None:
    port = world.server.url.rsplit(":", 1)[1]
    # Another site, and a page of another server on this machine (another port).
    for origin in ("http://evil.example", "http://127.0.0.1:1", f"https://127.0.0.1:{port}x"):
        with pytest.raises(InvalidStatus) as refused:
            with _open(world, PROD, origin=origin) as conn:
                conn.send(json.dumps({"type": "auth", "token": world.keys["prod-write"]}))
        assert refused.value.response.status_code == 403, origin
    with _open(world, PROD, origin=f"http://127.0.0.1:{port}") as conn:
        conn.send(json.dumps({"type": "auth", "token": world.keys["prod-write"]}))
        assert json.loads(conn.recv(timeout=5)) == {"type": "auth_success"}


def test_the_upgrade_authorization_header_is_checked(world: World) -> None:
    """Prefect's client may authenticate the upgrade request instead of the message."""
    with _open(world, PROD, additional_headers=bearer("rfk_" + secrets.token_hex(20))) as conn:
        conn.send(json.dumps({"type": "auth", "token": world.keys["prod-write"]}))
        assert _refused_then_sends(conn, uuid.uuid4()) == 1008
    with _open(world, PROD, additional_headers=basic("x:" + world.keys["prod-write"])) as conn:
        conn.send(json.dumps({"type": "auth", "token": None}))
        assert json.loads(conn.recv(timeout=5)) == {"type": "auth_success"}


def test_events_with_a_bad_header_and_no_auth_message_record_nothing(
    world: World, http: httpx.Client
) -> None:
    """A client that sends events straight after a bad upgrade header is refused."""
    run_id = uuid.uuid4()
    bad = bearer("rfk_" + secrets.token_hex(20))
    with _open(world, PROD, additional_headers=bad) as conn:
        conn.send(_task_run_event(run_id))
        with pytest.raises(ConnectionClosed) as closed:
            while True:  # an auth_failure message may come before the close
                assert json.loads(conn.recv(timeout=5))["type"] == "auth_failure"
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    _send_and_wait(world, http, PROD, world.keys["prod-write"], uuid.uuid4())
    assert not _recorded(http, world, PROD, run_id)


def test_events_upgrade_naming_a_foreign_host_is_refused(world: World) -> None:
    """DNS rebinding: a page of attacker.example resolved to 127.0.0.1 names its own
    host and origin; the upgrade must not be accepted (raw HTTP, since the
    websocket client sets Host from the URL)."""
    port = int(world.server.url.rsplit(":", 1)[1])
    request = (
        f"GET {PROD}/events/in HTTP/1.1\r\n"
        f"Host: attacker.example:{port}\r\n"
        f"Origin: http://attacker.example:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: prefect\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request.encode())
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 ")
    assert status_line.startswith(b"HTTP/1.1 400 "), status_line


# ---- Host header (DNS rebinding) -----------------------------------------------------------


def test_foreign_host_header_is_400(world: World, http: httpx.Client) -> None:
    port = world.server.url.rsplit(":", 1)[1]
    h = bearer(world.admin[DEFAULT])
    for path in ("/api/artifacts/count", "/"):
        foreign = http.request(
            "POST" if path.startswith("/api") else "GET",
            path,
            headers={**h, "Host": "attacker.example"},
        )
        assert foreign.status_code == 400, (path, foreign.status_code)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        assert http.post("/api/artifacts/count", headers={**h, "Host": host}).status_code == 200
        assert http.get("/", headers={**h, "Host": host}).status_code == 200


# ---- the seed's REST example ---------------------------------------------------------------


def test_seed_rest_example_with_a_bearer_key(world: World) -> None:
    prefect_api_url = world.server.url + PROD
    data = {"sort": "CREATED_DESC", "limit": 5, "artifacts": {"key": {"exists_": True}}}
    headers = {"Authorization": f"Bearer {world.keys['prod-read']}"}
    response = httpx.post(f"{prefect_api_url}/artifacts/filter", headers=headers, json=data)
    assert response.status_code == 200
    keys = {artifact["key"] for artifact in response.json()}
    assert world.objects[PROD].key in keys
    assert world.objects[DEFAULT].key not in keys
    assert all(key is not None for key in keys)
    ids = {artifact["id"] for artifact in response.json()}
    assert world.objects[DEFAULT].artifact_id not in ids


# ---- secrets at rest ---------------------------------------------------------------------


def test_no_key_or_password_in_the_database_files(world: World, http: httpx.Client) -> None:
    for key in world.keys.values():
        http.post(f"{PROD}/artifacts/count", headers=bearer(key))  # every key used at least once
    files = [world.db, world.db.with_name(world.db.name + "-wal")]
    stored = b"".join(path.read_bytes() for path in files if path.exists())
    assert len(stored) > 10_000  # the files were read
    for name, key in world.keys.items():
        secret = key[len(accounts.KEY_PREFIX) + 13 :]  # after rfk_<12 hex>_
        assert len(secret) >= 40
        assert key.encode() not in stored, name
        assert secret.encode() not in stored, name
    for user, password in PASSWORDS.items():
        assert password.encode() not in stored, user
        assert password.encode("utf-16-le") not in stored, user


# ---- other servers: auth string, an open server, non-loopback start ------------------------


def test_server_auth_string_works_as_prefect_basic_auth(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    engine = connect(f"sqlite:///{home / 'runfolio.db'}")
    try:
        with write(engine) as conn:
            workspaces.create(conn, "acme/prod")
    finally:
        engine.dispose()
    env = {"RUNFOLIO_SERVER_AUTH_STRING": AUTH_STRING}
    with running_server(home, env) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        good = basic(AUTH_STRING)
        failures: list[str] = []
        for base in BASES:
            objs = make_objects(http, base, good, base.rsplit("/", 1)[-1])
            routes = [r for r in api_routes(server) if base == DEFAULT or in_workspaces(r)]
            # Deletes last: they remove the artifact the other routes address.
            for route in sorted(routes, key=lambda r: (r[0] == "DELETE", r)):
                if route not in OPEN_ROUTES:
                    response = call(http, base, route, objs, basic("admin:wrong"))
                    _check(failures, response.status_code == 401, f"wrong string {route} {base}")
                response = call(http, base, route, objs, good)
                expected = {422} if route == ("GET", "/csrf-token") else {200, 201, 202, 204}
                _check(
                    failures,
                    response.status_code in expected,
                    f"auth string {route} {base}: {response.status_code} {response.text[:200]}",
                )
        assert not failures, "\n".join(failures)


def test_an_open_server_needs_credentials_once_a_user_exists(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with running_server(home) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.post("/api/artifacts/count").status_code == 200  # open: nobody to be
        engine = connect(f"sqlite:///{home / 'runfolio.db'}")
        try:
            with write(engine) as conn:
                accounts.create_user(conn, "first", "first-pass-Uj29", is_admin=True)
        finally:
            engine.dispose()
        created = time.monotonic()
        while http.post("/api/artifacts/count").status_code != 401:
            assert time.monotonic() - created < 2.0, "still open 2 s after a user was created"
            time.sleep(0.05)
        assert http.get("/api/health").status_code == 200


def _start(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"RUNFOLIO_HOME": str(home), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "runfolio.cli",
            "server",
            "start",
            "--port",
            str(free_port()),
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_network_address_with_no_users_is_refused(tmp_path: Path) -> None:
    result = _start(tmp_path / "home", "--host", "0.0.0.0")
    assert result.returncode != 0
    assert "--insecure-no-auth" in result.stdout + result.stderr


def test_insecure_no_auth_serves_a_network_address(tmp_path: Path) -> None:
    args = ["--host", "0.0.0.0", "--insecure-no-auth"]
    with running_server(tmp_path / "home", args=args) as server:
        assert httpx.post(f"{server.api_url}/artifacts/count", timeout=10).status_code == 200
