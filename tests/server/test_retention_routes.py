"""/api/retention/policies over HTTP (set, list, remove; bad input refused with the field
and nothing changed; named workspaces kept apart), and the server's scheduled pass in a
real server process."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from runfolio.schemas.common import utcnow
from runfolio.schemas.retention import RetentionPolicySet
from runfolio.store import retention
from runfolio.store.engine import connect, write
from runfolio.store.tables import DEFAULT_WORKSPACE_ID
from tests.retention_data import add_versions, version_count
from tests.servers import running_server

URL = "/api/retention/policies"


def _patterns(api: TestClient, base: str = "/api") -> list[tuple[str, Any, Any]]:
    response = api.get(f"{base}/retention/policies")
    assert response.status_code == 200, response.text
    return [(p["key_pattern"], p["keep_last"], p["keep_days"]) for p in response.json()]


def test_policies_are_set_listed_and_removed(api: TestClient) -> None:
    assert _patterns(api) == []
    made = api.put(URL, json={"key_pattern": "*", "keep_last": 100})
    assert made.status_code == 201, made.text
    assert made.json()["key_pattern"] == "*" and made.json()["keep_days"] is None
    assert api.put(URL, json={"key_pattern": "nightly-*", "keep_days": 7.5}).status_code == 201
    changed = api.put(URL, json={"key_pattern": "*", "keep_last": 5, "keep_days": 30})
    assert changed.status_code == 200 and changed.json()["id"] == made.json()["id"]
    assert _patterns(api) == [("nightly-*", None, 7.5), ("*", 5, 30.0)]
    assert api.delete(URL, params={"key_pattern": "*"}).status_code == 204
    missing = api.delete(URL, params={"key_pattern": "*"})
    assert missing.status_code == 404
    assert missing.json() == {"detail": "No retention policy for the key pattern '*'."}
    assert _patterns(api) == [("nightly-*", None, 7.5)]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"key_pattern": "x"}, ["body"]),
        ({"key_pattern": "x", "keep_last": 0}, ["body", "keep_last"]),
        ({"key_pattern": "x", "keep_last": "3"}, ["body", "keep_last"]),
        ({"key_pattern": "x", "keep_last": 2.5}, ["body", "keep_last"]),
        ({"key_pattern": "x", "keep_days": 0}, ["body", "keep_days"]),
        ({"key_pattern": "x", "keep_days": -3}, ["body", "keep_days"]),
        ({"key_pattern": "x", "keep_days": 1e9}, ["body", "keep_days"]),
        ({"key_pattern": "Big/*", "keep_last": 1}, ["body", "key_pattern"]),
        ({"key_pattern": "a" * 201, "keep_last": 1}, ["body", "key_pattern"]),
        ({"keep_last": 1}, ["body", "key_pattern"]),
        ({"key_pattern": "x", "keep_last": 1, "forever": True}, ["body", "forever"]),
    ],
)
def test_bad_policies_are_422_and_change_nothing(
    api: TestClient, body: dict[str, Any], loc: list[str]
) -> None:
    assert api.put(URL, json={"key_pattern": "*", "keep_last": 9}).status_code == 201
    refused = api.put(URL, json=body)
    assert refused.status_code == 422, refused.text
    errors = refused.json()["exception_detail"]
    assert loc in [error["loc"] for error in errors], errors
    assert all(error["msg"] for error in errors)
    assert _patterns(api) == [("*", 9, None)]


def test_a_bad_pattern_to_remove_is_422(api: TestClient) -> None:
    for pattern in ("", "UPPER", "a" * 201):
        refused = api.delete(URL, params={"key_pattern": pattern})
        assert refused.status_code == 422, (pattern, refused.text)
    assert api.delete(URL).status_code == 422  # no pattern at all


def test_each_workspace_has_its_own_policies(api: TestClient) -> None:
    prod = "/api/accounts/acme/workspaces/prod"
    assert (
        api.put(f"{prod}/retention/policies", json={"key_pattern": "*", "keep_last": 3}).status_code
        == 201
    )
    assert _patterns(api, prod) == [("*", 3, None)]
    assert _patterns(api) == []
    assert api.delete(URL, params={"key_pattern": "*"}).status_code == 404


def test_the_server_runs_the_pass_on_its_schedule(tmp_path: Path) -> None:
    """A real server with a 1-second interval deletes what the policy no longer keeps,
    without being asked, and keeps answering meanwhile."""
    home = tmp_path / "home"
    home.mkdir()
    engine = connect(f"sqlite:///{home / 'runfolio.db'}")
    try:
        now = utcnow()
        ids = add_versions(engine, "scheduled", [dt.timedelta(hours=n) for n in range(50)], now=now)
        with write(engine) as conn:
            action = RetentionPolicySet(key_pattern="sched*", keep_last=4)
            retention.set_policy(conn, DEFAULT_WORKSPACE_ID, action)
        with running_server(home, {"RUNFOLIO_RETENTION_INTERVAL": "1"}) as server:
            deadline = time.monotonic() + 15
            while version_count(engine, "scheduled") != 4:
                assert time.monotonic() < deadline, "the scheduled pass did not run in 15 s"
                time.sleep(0.1)
            latest = httpx.get(f"{server.api_url}/artifacts/scheduled/latest", timeout=5)
            assert latest.status_code == 200 and latest.json()["id"] == str(ids[-1])
    finally:
        engine.dispose()
