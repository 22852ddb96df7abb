"""The webhooks page: its admins make, test and delete webhooks with CSRF-checked forms;
anyone else gets 403 and changes nothing; bad input changes nothing. Over HTTP
against the app, and one real Chromium against a real server and a real receiver."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect

from runfolio.ops.access import Role
from runfolio.store import accounts, workspaces
from runfolio.store.engine import connect, read, write
from runfolio.store.tables import webhooks
from runfolio.webhook_signature import verify
from tests.receivers import running_receiver
from tests.servers import free_port, running_server

PASSWORD = "correct horse battery"
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
SECRET = re.compile(r'id="webhook-secret">(whsec_[^<]+)<')
FORM = {"name": "alerts", "url": "https://hooks.example.com/x", "event_created": "on"}


def _app(api: TestClient) -> FastAPI:
    app = api.app
    assert isinstance(app, FastAPI)
    return app


@pytest.fixture
def crew(api: TestClient) -> None:
    """alice is admin of the default workspace, bob writes there."""
    with write(_app(api).state.engine) as conn:
        here = workspaces.find(conn, "default")
        for name, role in (("alice", Role.ADMIN), ("bob", Role.WRITE)):
            user = accounts.create_user(conn, name, PASSWORD, is_admin=False)
            accounts.set_role(conn, user, here, role)
    _app(api).state.auth.forget()


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


def _token(client: TestClient, path: str = "/artifacts") -> str:
    found = TOKEN_FIELD.search(client.get(path).text)
    assert found
    return found.group(1)


def _rows(api: TestClient) -> list[Any]:
    with read(_app(api).state.engine) as conn:
        return list(conn.execute(webhooks.select()))


def test_an_admin_makes_tests_and_deletes_a_webhook(api: TestClient, crew: None) -> None:
    alice = _signed_in(api, "alice")
    assert 'id="webhooks-link"' in alice.get("/artifacts").text
    made = alice.post("/webhooks", data={**FORM, "csrf_token": _token(alice, "/webhooks")})
    assert made.status_code == 201, made.text
    assert made.headers["cache-control"] == "no-store"
    found = SECRET.search(made.text)
    assert found
    secret = found.group(1)
    (row,) = _rows(api)
    assert row.secret == secret and row.events == ["artifact.created"]
    listed = alice.get("/webhooks").text
    assert "alerts" in listed and secret not in listed
    twin = alice.get("/api/ui/webhooks")
    assert twin.status_code == 200 and secret not in twin.text
    hook_id = str(row.id)
    token = _token(alice, "/webhooks")
    sent = alice.post(
        "/webhooks/test", data={"webhook_id": hook_id, "csrf_token": token}, follow_redirects=False
    )
    assert sent.status_code == 303
    (shown,) = alice.get("/api/ui/webhooks").json()["webhooks"]
    assert [d["event"] for d in shown["deliveries"]] == ["webhook.test"]
    gone = alice.post(
        "/webhooks/delete",
        data={"webhook_id": hook_id, "csrf_token": token},
        follow_redirects=False,
    )
    assert gone.status_code == 303 and _rows(api) == []


def test_bad_input_is_refused_and_changes_nothing(api: TestClient, crew: None) -> None:
    alice = _signed_in(api, "alice")
    token = _token(alice, "/webhooks")
    for change, words in (
        ({"url": "ftp://example.com"}, "url"),
        ({"event_created": ""}, "events"),
        ({"rule": "{not json"}, "rule: is not JSON"),
        ({"rule": '{"kind": "progress_at_least", "value": 101}'}, "rule.progress_at_least.value"),
    ):
        refused = alice.post("/webhooks", data={**FORM, **change, "csrf_token": token})
        assert refused.status_code == 400, refused.text
        assert words in refused.text and "No webhook was made" in refused.text
    missing = alice.post(
        "/webhooks/test",
        data={"webhook_id": "01a227f9-bb37-70ab-aa96-28e7655597f7", "csrf_token": token},
    )
    assert missing.status_code == 404
    assert _rows(api) == []


def test_a_non_admin_and_a_form_without_its_token_change_nothing(
    api: TestClient, crew: None
) -> None:
    bob = _signed_in(api, "bob")
    assert 'id="webhooks-link"' not in bob.get("/artifacts").text
    assert bob.get("/webhooks").status_code == 403
    assert bob.get("/api/ui/webhooks").status_code == 403
    refused = bob.post("/webhooks", data={**FORM, "csrf_token": _token(bob)})
    assert refused.status_code == 403 and _rows(api) == []
    alice = _signed_in(api, "alice")
    for token in ("", "stale-token"):
        forged = alice.post("/webhooks", data={**FORM, "csrf_token": token})
        assert forged.status_code == 403
    assert _rows(api) == []


# ---- in a browser -----------------------------------------------------------------------


@pytest.fixture
def admin_server(tmp_path: Path) -> Iterator[str]:
    """A real server (short webhook waits) whose database has alice, a workspace admin."""
    home = tmp_path / "home"
    engine = connect(f"sqlite:///{home / 'runfolio.db'}")
    try:
        with write(engine) as conn:
            alice = accounts.create_user(conn, "alice", PASSWORD, is_admin=False)
            accounts.set_role(conn, alice, workspaces.find(conn, "default"), Role.ADMIN)
    finally:
        engine.dispose()
    with running_server(home, {"RUNFOLIO_WEBHOOK_POLL_SECONDS": "0.1"}) as server:
        yield server.url


@pytest.mark.browser
def test_make_a_webhook_and_send_a_test_event_in_a_browser(
    browser: Browser, admin_server: str, tmp_path: Path
) -> None:
    url = admin_server
    context = browser.new_context(base_url=url, locale="en-US")
    context.set_default_timeout(10_000)
    problems: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    tab.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    with running_receiver(free_port(), tmp_path / "calls.jsonl") as receiver:
        try:
            tab.goto("/sign-in")
            tab.fill("#username", "alice")
            tab.fill("#password", PASSWORD)
            tab.click("button[type=submit]")
            tab.click("#webhooks-link")
            expect(tab).to_have_url(f"{url}/webhooks")
            tab.fill("#webhook-name", "ci alerts")
            tab.fill("#webhook-url", receiver.url + "/browser")
            tab.fill("#webhook-rule", '{"kind": "markdown_contains", "text": "FAILED"}')
            tab.click("#create-webhook button[type=submit]")
            expect(tab.locator("h1")).to_have_text("Webhook created")
            secret = tab.locator("#webhook-secret").inner_text().strip()
            assert secret.startswith("whsec_")
            tab.click("#back")
            expect(tab.locator(".webhook-name")).to_have_text("ci alerts")
            assert secret not in tab.content()
            tab.click(".send-test")
            expect(tab).to_have_url(f"{url}/webhooks")
            (call,) = receiver.wait_for(1)
            assert verify(secret, call["headers"]["runfolio-signature"], call["body"].encode())
            assert json.loads(call["body"])["type"] == "webhook.test"
            deadline = time.monotonic() + 10
            status = tab.locator(".delivery-status")
            while status.inner_text() != "delivered":
                assert time.monotonic() < deadline, status.inner_text()
                time.sleep(0.1)
                tab.reload()
            expect(tab.locator(".delivery-event")).to_have_text("webhook.test")
            expect(tab.locator(".delivery-code")).to_have_text("200")
        finally:
            context.close()
    assert not problems, problems
