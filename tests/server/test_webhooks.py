"""Webhooks against a real `runfolio server start` process and a real receiver process:
what is sent (body, signature, headers), what is not (filters and rules), retries,
the test event, the delivery log, bad input, and who may manage webhooks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from runfolio.client.embedded import EmbeddedClient
from runfolio.ops.access import Role
from runfolio.schemas.artifacts import ArtifactCreate
from runfolio.settings import Settings
from runfolio.store import accounts, workspaces
from runfolio.store.engine import connect, write
from runfolio.webhook_signature import verify
from tests.receivers import Receiver, running_receiver
from tests.servers import ServerProcess, free_port, running_server

pytestmark = pytest.mark.server

PROD = "/api/accounts/acme/workspaces/prod"
#: Short waits, so retries happen within a test.
FAST = {
    "RUNFOLIO_WEBHOOK_POLL_SECONDS": "0.1",
    "RUNFOLIO_WEBHOOK_RETRY_SECONDS": "0.3",
    "RUNFOLIO_WEBHOOK_MAX_ATTEMPTS": "4",
}


@dataclass
class World:
    server: ServerProcess
    http: httpx.Client
    receiver: Receiver
    keys: dict[str, str]

    def as_(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}"}

    def hook(self, path: str = "/", base: str = "/api", **fields: Any) -> dict[str, Any]:
        body = {"name": "t", "url": self.receiver.url + path, **fields}
        key = "prod-admin" if base == PROD else "admin"
        made = self.http.post(f"{base}/webhooks/", json=body, headers=self.as_(key))
        assert made.status_code == 201, made.text
        hook: dict[str, Any] = made.json()
        return hook

    def artifact(self, **fields: Any) -> dict[str, Any]:
        made = self.http.post("/api/artifacts/", json=fields, headers=self.as_("admin"))
        assert made.status_code == 201, made.text
        artifact: dict[str, Any] = made.json()
        return artifact

    def deliveries(self, hook: dict[str, Any]) -> list[dict[str, Any]]:
        got = self.http.get(f"/api/webhooks/{hook['id']}/deliveries", headers=self.as_("admin"))
        assert got.status_code == 200, got.text
        found: list[dict[str, Any]] = got.json()
        return found

    def wait_deliveries(
        self, hook: dict[str, Any], status: str, count: int = 1, timeout: float = 10
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            found = [d for d in self.deliveries(hook) if d["status"] == status]
            if len(found) >= count:
                return found
            assert time.monotonic() < deadline, self.deliveries(hook)
            time.sleep(0.05)


def _accounts(db: Path) -> dict[str, str]:
    engine = connect(f"sqlite:///{db}")
    keys: dict[str, str] = {}
    try:
        with write(engine) as conn:
            default = workspaces.find(conn, "default")
            prod = workspaces.create(conn, "acme/prod")
            root = accounts.create_user(conn, "root", "root-pass-Zq81vT", is_admin=True)
            bob = accounts.create_user(conn, "bob", "bob-pass-Hx73mN", is_admin=False)
            accounts.set_role(conn, bob, default, Role.WRITE)
            for name, user, workspace, role in (
                ("admin", root, default, Role.ADMIN),
                ("prod-admin", root, prod, Role.ADMIN),
                ("write", bob, default, Role.WRITE),
            ):
                keys[name] = accounts.create_key(conn, user, workspace, role, name, None)[1]
    finally:
        engine.dispose()
    return keys


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("webhooks") / "home"
    home.mkdir()
    keys = _accounts(home / "runfolio.db")
    record = home.parent / "calls.jsonl"
    with (
        running_server(home, FAST) as server,
        running_receiver(free_port(), record) as receiver,
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        yield World(server, http, receiver, keys)


def _calls(world: World, path: str, count: int) -> list[dict[str, Any]]:
    return world.receiver.wait_for(count, where=lambda call: call["path"] == path)


def test_a_create_is_delivered_signed(world: World) -> None:
    hook = world.hook("/created", events=["artifact.created"])
    secret = hook["secret"]
    assert secret.startswith("whsec_")
    artifact = world.artifact(key="signed-one", type="markdown", data="# hi", description="d")
    (call,) = _calls(world, "/created", 1)
    body = call["body"].encode()
    headers = call["headers"]
    assert verify(secret, headers["runfolio-signature"], body) > 0
    with pytest.raises(ValueError, match="does not match"):
        verify(secret, headers["runfolio-signature"], body + b" ")
    with pytest.raises(ValueError, match="from now"):
        verify(secret, headers["runfolio-signature"], body, now=time.time() + 3600)
    sent = json.loads(body)
    assert sent["type"] == "artifact.created"
    assert sent["id"] == headers["runfolio-event-id"]
    assert headers["runfolio-event"] == "artifact.created"
    assert sent["workspace"] == "default/default"
    assert {k: sent["artifact"][k] for k in ("id", "key", "type", "data", "description")} == {
        k: artifact[k] for k in ("id", "key", "type", "data", "description")
    }
    (logged,) = world.wait_deliveries(hook, "delivered")
    assert logged["id"] == sent["id"]
    assert logged["attempts"] == 1 and logged["last_status_code"] == 200
    # The secret is never shown again.
    listed = world.http.get("/api/webhooks/", headers=world.as_("admin")).text
    one = world.http.get(f"/api/webhooks/{hook['id']}", headers=world.as_("admin")).text
    assert secret not in listed and secret not in one and hook["id"] in listed


def test_updates_and_deletes_are_sent_to_who_asked(world: World) -> None:
    hook = world.hook("/changes", events=["artifact.updated", "artifact.deleted"])
    artifact = world.artifact(key="changing", type="markdown", data="v1")
    patched = world.http.patch(
        f"/api/artifacts/{artifact['id']}", json={"data": "v2"}, headers=world.as_("admin")
    )
    assert patched.status_code == 204
    gone = world.http.delete(f"/api/artifacts/{artifact['id']}", headers=world.as_("admin"))
    assert gone.status_code == 204
    calls = _calls(world, "/changes", 2)
    sent = sorted((json.loads(c["body"]) for c in calls), key=lambda b: b["created"])
    assert [b["type"] for b in sent] == ["artifact.updated", "artifact.deleted"]
    assert [b["artifact"]["data"] for b in sent] == ["v2", "v2"]
    assert len(world.deliveries(hook)) == 2  # the create was not asked for


def test_pattern_type_and_rule_filter_what_is_sent(world: World) -> None:
    rule = {"kind": "table_cell", "column": "accuracy", "row": -1, "op": "<", "value": 0.9}
    hook = world.hook("/filtered", key_pattern="train-*", artifact_types=["table"], rule=rule)
    good = [{"epoch": 1, "accuracy": 0.95}]
    bad = [{"epoch": 1, "accuracy": 0.95}, {"epoch": 2, "accuracy": "0.81"}]
    world.artifact(key="eval-1", type="table", data=bad)  # key does not match
    world.artifact(key="train-md", type="markdown", data="accuracy 0.5")  # type
    world.artifact(key="train-good", type="table", data=good)  # rule does not hold
    world.artifact(type="table", data=bad)  # no key: a pattern needs one
    assert world.deliveries(hook) == []  # queued in the write's transaction: none
    match = world.artifact(key="train-bad", type="table", data=json.dumps(bad))
    (call,) = _calls(world, "/filtered", 1)
    assert json.loads(call["body"])["artifact"]["id"] == match["id"]
    assert len(world.deliveries(hook)) == 1


def test_progress_rule_fires_once_when_reached(world: World) -> None:
    hook = world.hook("/progress", rule={"kind": "progress_at_least", "value": 100})
    bar = world.artifact(key="bar", type="progress", data=10)
    for value in (50, 100, 100):
        response = world.http.patch(
            f"/api/artifacts/{bar['id']}", json={"data": value}, headers=world.as_("admin")
        )
        assert response.status_code == 204
    found = world.deliveries(hook)
    assert [d["event"] for d in found] == ["artifact.updated"]
    (call,) = _calls(world, "/progress", 1)
    assert json.loads(call["body"])["artifact"]["data"] == 100


def test_markdown_rule(world: World) -> None:
    hook = world.hook("/md", rule={"kind": "markdown_contains", "text": "FAILED"})
    world.artifact(type="markdown", data="all passed")
    world.artifact(type="markdown", data="3 tests failed")  # the phrase is case-sensitive
    world.artifact(type="markdown", data="tests FAILED: 3")
    assert len(world.deliveries(hook)) == 1


def test_an_inactive_webhook_sends_nothing(world: World) -> None:
    hook = world.hook("/paused", active=False)
    world.artifact(type="markdown", data="x")
    assert world.deliveries(hook) == []
    resumed = world.http.patch(
        f"/api/webhooks/{hook['id']}", json={"active": True}, headers=world.as_("admin")
    )
    assert resumed.status_code == 200 and resumed.json()["active"] is True
    world.artifact(type="markdown", data="y")
    assert len(world.deliveries(hook)) == 1


def test_retries_until_the_receiver_comes_back(world: World, tmp_path: Path) -> None:
    port = free_port()
    hook = world.hook(base="/api")  # posts to the shared receiver; repointed below
    down = f"http://127.0.0.1:{port}/late"
    moved = world.http.patch(
        f"/api/webhooks/{hook['id']}", json={"url": down}, headers=world.as_("admin")
    )
    assert moved.status_code == 200
    world.artifact(type="markdown", data="retry me")
    deadline = time.monotonic() + 10
    while not (found := world.deliveries(hook)) or found[0]["attempts"] < 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    first = found[0]
    assert first["status"] == "pending" and first["last_error"]
    assert first["last_status_code"] is None
    with running_receiver(port, tmp_path / "late.jsonl") as late:
        (call,) = late.wait_for(1)
        (done,) = world.wait_deliveries(hook, "delivered")
    assert done["attempts"] >= 2 and done["last_status_code"] == 200
    assert json.loads(call["body"])["id"] == first["id"]


def test_a_refusing_receiver_is_retried_then_failed(world: World) -> None:
    hook = world.hook("/status/500")
    world.artifact(type="markdown", data="refused")
    (failed,) = world.wait_deliveries(hook, "failed", timeout=15)
    assert failed["attempts"] == 4  # RUNFOLIO_WEBHOOK_MAX_ATTEMPTS
    assert failed["last_status_code"] == 500 and failed["last_error"].startswith("HTTP 500")
    assert len(_calls(world, "/status/500", 4)) == 4


def test_the_test_event(world: World) -> None:
    hook = world.hook("/ping", active=False)  # a paused webhook can still be tested
    sent = world.http.post(f"/api/webhooks/{hook['id']}/test", headers=world.as_("admin"))
    assert sent.status_code == 202
    (call,) = _calls(world, "/ping", 1)
    body = json.loads(call["body"])
    assert body["type"] == "webhook.test" and body["id"] == sent.json()["delivery_id"]
    assert verify(hook["secret"], call["headers"]["runfolio-signature"], call["body"].encode())
    (logged,) = world.wait_deliveries(hook, "delivered")
    assert logged["event"] == "webhook.test"


def test_delete_removes_the_webhook_and_its_log(world: World) -> None:
    hook = world.hook("/deleted")
    world.artifact(type="markdown", data="z")
    h = world.as_("admin")
    assert world.http.delete(f"/api/webhooks/{hook['id']}", headers=h).status_code == 204
    assert world.http.get(f"/api/webhooks/{hook['id']}", headers=h).status_code == 404
    assert world.http.get(f"/api/webhooks/{hook['id']}/deliveries", headers=h).status_code == 404
    assert hook["id"] not in world.http.get("/api/webhooks/", headers=h).text


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"url": "ftp://example.com/x"}, ["body", "url"]),
        ({"url": "not a url"}, ["body", "url"]),
        ({"url": "http://user:pw@example.com/"}, ["body", "url"]),
        ({"events": ["artifact.exploded"]}, ["body", "events", 0]),
        ({"events": []}, ["body", "events"]),
        ({"rule": {"kind": "sky_is_blue"}}, ["body", "rule"]),
        ({"rule": {"kind": "progress_at_least", "value": 150}}, ["body", "rule"]),
        (
            {"rule": {"kind": "table_cell", "column": "a", "op": "=~", "value": 1}},
            ["body", "rule"],
        ),
        ({"rule": {"kind": "markdown_contains", "text": ""}}, ["body", "rule"]),
        ({"name": ""}, ["body", "name"]),
        ({"secret": "mine"}, ["body", "secret"]),
    ],
)
def test_bad_input_is_422_naming_the_field(
    world: World, change: dict[str, Any], loc: list[Any]
) -> None:
    h = world.as_("admin")
    before = world.http.get("/api/webhooks/", headers=h).json()
    body = {"name": "bad", "url": "https://example.com/hook", **change}
    response = world.http.post("/api/webhooks/", json=body, headers=h)
    assert response.status_code == 422, response.text
    locs = [error["loc"][: len(loc)] for error in response.json()["exception_detail"]]
    assert loc in locs, response.text
    assert world.http.get("/api/webhooks/", headers=h).json() == before


def test_only_workspace_admins_manage_webhooks(world: World) -> None:
    hook = world.hook("/guarded")
    write_key = world.as_("write")
    for method, path, body in (
        ("GET", "/api/webhooks/", None),
        ("POST", "/api/webhooks/", {"name": "x", "url": "https://example.com/"}),
        ("GET", f"/api/webhooks/{hook['id']}", None),
        ("PATCH", f"/api/webhooks/{hook['id']}", {"active": False}),
        ("DELETE", f"/api/webhooks/{hook['id']}", None),
        ("POST", f"/api/webhooks/{hook['id']}/test", None),
        ("GET", f"/api/webhooks/{hook['id']}/deliveries", None),
    ):
        response = world.http.request(method, path, json=body, headers=write_key)
        assert response.status_code == 403, (method, path, response.text)
        unsigned = world.http.request(method, path, json=body)
        assert unsigned.status_code == 401, (method, path)
    still = world.http.get(f"/api/webhooks/{hook['id']}", headers=world.as_("admin")).json()
    assert still["active"] is True
    assert world.deliveries(hook) == []


def test_another_workspace_sees_nothing(world: World) -> None:
    hook = world.hook("/default-only")
    prod = world.as_("prod-admin")
    assert world.http.get(f"{PROD}/webhooks/", headers=prod).json() == []
    for method in ("GET", "DELETE"):
        response = world.http.request(method, f"{PROD}/webhooks/{hook['id']}", headers=prod)
        assert response.status_code == 404, response.text
    assert world.http.post(f"{PROD}/webhooks/{hook['id']}/test", headers=prod).status_code == 404
    # A key of prod on the default workspace's routes: 404, as if it did not exist.
    assert world.http.get("/api/webhooks/", headers=prod).status_code == 404
    # prod's own webhook hears prod's artifacts only.
    prod_hook = world.hook("/prod", base=PROD)
    made = world.http.post(
        f"{PROD}/artifacts/", json={"type": "markdown", "data": "p"}, headers=prod
    )
    assert made.status_code == 201
    (call,) = _calls(world, "/prod", 1)
    assert json.loads(call["body"])["workspace"] == "acme/prod"
    assert world.deliveries(hook) == [] or all(
        d["payload"]["workspace"] == "default/default" for d in world.deliveries(hook)
    )
    assert prod_hook["id"] not in world.http.get("/api/webhooks/", headers=world.as_("admin")).text


def test_deliveries_survive_a_restart(tmp_path: Path) -> None:
    """Queued while no server runs (a script writing to the database itself), sent once
    a server starts."""
    home = tmp_path / "home"
    record = tmp_path / "calls.jsonl"
    with running_receiver(free_port(), record) as receiver:
        with running_server(home, FAST) as server:
            made = httpx.post(
                f"{server.api_url}/webhooks/",
                json={"name": "restart", "url": receiver.url + "/restart"},
                timeout=10,
            )
            assert made.status_code == 201, made.text
        # The server is stopped: the embedded store queues the delivery in the write.
        client = EmbeddedClient(Settings(home=home))
        try:
            client.create_artifact(ArtifactCreate(type="markdown", data="while down"))
        finally:
            client.close()
        assert receiver.calls() == []
        with running_server(home, FAST):
            (call,) = receiver.wait_for(1)
    assert json.loads(call["body"])["artifact"]["data"] == "while down"


def test_appended_rows_are_judged_with_the_table(world: World) -> None:
    rule = {"kind": "table_cell", "column": "accuracy", "op": "<", "value": 0.9}
    hook = world.hook("/appended", rule=rule, events=["artifact.updated"])
    table = world.artifact(key="growing", type="table", data=[{"epoch": 1, "accuracy": 0.95}])
    h = world.as_("admin")
    for epoch, accuracy in ((2, 0.97), (3, 0.8), (4, 0.7)):
        rows = {"rows": [{"epoch": epoch, "accuracy": accuracy}]}
        added = world.http.post(f"/api/artifacts/{table['id']}/rows", json=rows, headers=h)
        assert added.status_code in (200, 201), added.text
    # Only the append that made the last row fall below 0.9 calls (epoch 4 still below).
    (delivery,) = world.deliveries(hook)
    assert delivery["event"] == "artifact.updated"
    data = delivery["payload"]["artifact"]["data"]
    rows = json.loads(data) if isinstance(data, str) else data
    assert [row["epoch"] for row in rows] == [1, 2, 3]


def test_a_replayed_append_calls_no_webhook_again(world: World) -> None:
    hook = world.hook("/replayed", key_pattern="replayed", events=["artifact.updated"])
    table = world.artifact(key="replayed", type="table", data=[{"n": 1}])
    body = {"id": "0192f0c4-7b1e-7c3a-9d2e-3f4a5b6c7d8e", "rows": [{"n": 2}]}
    url = f"/api/artifacts/{table['id']}/rows"
    answers = [world.http.post(url, json=body, headers=world.as_("admin")) for _ in range(3)]
    assert [a.status_code for a in answers] == [200] * 3
    assert len(world.deliveries(hook)) == 1  # the retries stored nothing, so told nothing


def test_an_update_cannot_null_what_a_webhook_needs(world: World) -> None:
    hook = world.hook("/nulls", key_pattern="k-*")
    h = world.as_("admin")
    url = f"/api/webhooks/{hook['id']}"
    for field in ("name", "url", "events", "active"):
        refused = world.http.patch(url, json={field: None}, headers=h)
        assert refused.status_code == 422, refused.text
        assert refused.json()["exception_detail"][0]["loc"] == ["body", field]
    assert world.http.get(url, headers=h).json()["key_pattern"] == "k-*"
    cleared = world.http.patch(url, json={"key_pattern": None}, headers=h)
    assert cleared.status_code == 200 and cleared.json()["key_pattern"] is None
    assert cleared.json()["name"] == hook["name"] and cleared.json()["url"] == hook["url"]


def test_redirects_are_not_followed(world: World) -> None:
    hook = world.hook("/status/307")
    world.artifact(type="markdown", data="moved")
    deadline = time.monotonic() + 10
    while not (found := world.deliveries(hook)) or found[0]["attempts"] < 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert found[0]["last_status_code"] == 307
    assert "redirect to '/elsewhere' not followed" in found[0]["last_error"]
    assert found[0]["status"] in ("pending", "failed")
    assert not [c for c in world.receiver.calls() if c["path"] == "/elsewhere"]
