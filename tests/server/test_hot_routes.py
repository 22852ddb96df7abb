"""The hot routes (server/hot_routes.py) answer as the FastAPI routes they stand in for:
the same requests sent to a real `runfolio server start` and to a real server of the same
app with every request left to FastAPI's routing get the same answers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from tests.servers import ServerProcess, running_server

pytestmark = pytest.mark.server

AUTH_STRING = "admin:hot-routes-secret"
AUTH = {"Authorization": f"Bearer {AUTH_STRING}"}
JSON = {**AUTH, "content-type": "application/json"}
CHARSET = "application/json; charset=utf-8"
MAX_BODY = 4096
ENV = {
    "RUNFOLIO_SERVER_AUTH_STRING": AUTH_STRING,
    "RUNFOLIO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "RUNFOLIO_MAX_BODY_BYTES": str(MAX_BODY),
}
# What differs between two servers however alike: when each stored a version.
_TIMES = ("created", "updated")
# The answer's headers that carry meaning (not the date, nor the server's name).
_HEADERS = ("content-type", "content-length", "www-authenticate", "retry-after", "location")

FIRST_ID = str(uuid.UUID(int=1))
SECOND_ID = str(uuid.UUID(int=2))
THIRD_ID = str(uuid.UUID(int=3))
CREATE = {"id": FIRST_ID, "key": "hot-md", "type": "markdown", "data": "# one"}
PROGRESS = {"id": SECOND_ID, "type": "progress", "data": 10.0}
TOO_LONG = "w" * 201


def _chunks(total: int) -> Iterator[bytes]:
    yield b'{"type": "markdown", "data": "'
    for _ in range(total // 1024):
        yield b"x" * 1024
    yield b'"}'


def _requests() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(what, method, path under /api, httpx arguments), sent in this order."""
    named = "/accounts/default/workspaces/default/artifacts/"
    return [
        ("create", "POST", "/artifacts/", {"json": CREATE, "headers": AUTH}),
        ("replay", "POST", "/artifacts/", {"json": CREATE, "headers": AUTH}),
        ("conflict", "POST", "/artifacts/", {"json": {**CREATE, "data": "other"}, "headers": AUTH}),
        (
            "charset",
            "POST",
            "/artifacts/",
            {"content": json.dumps(PROGRESS), "headers": {**JSON, "content-type": CHARSET}},
        ),
        (
            "named workspace",
            "POST",
            named,
            {"json": {"id": THIRD_ID, "type": "link", "data": "x"}, "headers": AUTH},
        ),
        ("malformed json", "POST", "/artifacts/", {"content": b'{"type": ', "headers": JSON}),
        ("empty body", "POST", "/artifacts/", {"content": b"", "headers": JSON}),
        ("not an object", "POST", "/artifacts/", {"content": b"[1, 2]", "headers": JSON}),
        (
            "invalid",
            "POST",
            "/artifacts/",
            {"json": {"type": 5, "key": "Bad Key"}, "headers": AUTH},
        ),
        (
            "wrong content type",
            "POST",
            "/artifacts/",
            {"content": b'{"type": "markdown"}', "headers": {**AUTH, "content-type": "text/plain"}},
        ),
        (
            "no content type",
            "POST",
            "/artifacts/",
            {"content": b'{"type": "markdown"}', "headers": AUTH},
        ),
        ("no credentials", "POST", "/artifacts/", {"json": CREATE}),
        (
            "wrong credentials",
            "POST",
            "/artifacts/",
            {"json": CREATE, "headers": {"Authorization": "Bearer pnu_wrong"}},
        ),
        ("no credentials, bad body", "POST", "/artifacts/", {"json": {"type": 5}}),
        (
            "foreign workspace",
            "POST",
            "/accounts/someone/workspaces/theirs/artifacts/",
            {"json": PROGRESS, "headers": AUTH},
        ),
        (
            "workspace name too long",
            "POST",
            f"/accounts/default/workspaces/{TOO_LONG}/artifacts/",
            {"json": PROGRESS, "headers": AUTH},
        ),
        (
            "declared too large",
            "POST",
            "/artifacts/",
            {"json": {"type": "markdown", "data": "x" * MAX_BODY}, "headers": AUTH},
        ),
        (
            "streamed too large",
            "POST",
            "/artifacts/",
            {"content": _chunks(MAX_BODY + 2048), "headers": JSON},
        ),
        (
            "foreign host",
            "POST",
            "/artifacts/",
            {"json": PROGRESS, "headers": {**AUTH, "host": "evil.example"}},
        ),
        (
            "old api version",
            "POST",
            "/artifacts/",
            {"json": PROGRESS, "headers": {**AUTH, "x-prefect-api-version": "0.1.0"}},
        ),
        (
            "progress update",
            "PATCH",
            f"/artifacts/{SECOND_ID}",
            {"json": {"data": 50.0}, "headers": AUTH},
        ),
        (
            "update of no artifact",
            "PATCH",
            f"/artifacts/{uuid.UUID(int=99)}",
            {"json": {"data": 1.0}, "headers": AUTH},
        ),
        (
            "update refused",
            "PATCH",
            f"/artifacts/{SECOND_ID}",
            {"json": {"data": 1.0, "metadata_": 5}, "headers": AUTH},
        ),
        (
            "update, malformed json",
            "PATCH",
            f"/artifacts/{SECOND_ID}",
            {"content": b"{", "headers": JSON},
        ),
        ("update, not a uuid", "PATCH", "/artifacts/not-a-uuid", {"json": {}, "headers": AUTH}),
        ("update without credentials", "PATCH", f"/artifacts/{SECOND_ID}", {"json": {}}),
        ("read back", "GET", f"/artifacts/{SECOND_ID}", {"headers": AUTH}),
        ("listing", "POST", "/artifacts/filter", {"json": {"limit": 10}, "headers": AUTH}),
        (
            "listing, filtered and sorted",
            "POST",
            "/artifacts/filter",
            {
                "json": {"artifacts": {"type": {"any_": ["progress"]}}, "sort": "ID_DESC"},
                "headers": AUTH,
            },
        ),
        ("listing, no body", "POST", "/artifacts/filter", {"headers": AUTH}),
        ("listing refused", "POST", "/artifacts/filter", {"json": {"limit": -1}, "headers": AUTH}),
        ("listing without credentials", "POST", "/artifacts/filter", {"json": {}}),
        (
            "latest listing",
            "POST",
            "/artifacts/latest/filter",
            {"json": {"sort": "KEY_ASC"}, "headers": AUTH},
        ),
        (
            "latest listing, named workspace",
            "POST",
            named.removesuffix("/") + "/latest/filter",
            {"json": {"limit": 5}, "headers": AUTH},
        ),
        ("latest listing, no body", "POST", "/artifacts/latest/filter", {"headers": AUTH}),
        (
            "latest listing, unknown field",
            "POST",
            "/artifacts/latest/filter",
            {"json": {"nope": 1}, "headers": AUTH},
        ),
        (
            "latest listing, malformed json",
            "POST",
            "/artifacts/latest/filter",
            {"content": b"{", "headers": JSON},
        ),
    ]


def _answers(server: ServerProcess) -> dict[str, tuple[int, dict[str, str], Any]]:
    answers = {}
    with httpx.Client(base_url=server.api_url, timeout=30) as http:
        for what, method, path, arguments in _requests():
            r = http.request(method, path, **arguments)
            headers = {name: r.headers[name] for name in _HEADERS if name in r.headers}
            try:
                body: Any = r.json()
            except ValueError:
                body = r.content
            if isinstance(body, dict):
                body = _masked(body)
            elif isinstance(body, list):
                body = [_masked(item) if isinstance(item, dict) else item for item in body]
            answers[what] = (r.status_code, headers, body)
    return answers


def _masked(stored: dict[str, Any]) -> dict[str, Any]:
    """`stored` without what differs between two servers: times, and a key row's own id."""
    differ = (*_TIMES, "id") if "latest_id" in stored else _TIMES
    return {k: (f"<{k}>" if k in differ else v) for k, v in stored.items()}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def both(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """The answers of each server, on its own new database of the kind `request.param`
    (on PostgreSQL, plain creates are served on the event loop: `PostgresQuickWrites`)."""
    with ExitStack() as stack:

        def env() -> dict[str, str]:
            if request.param == "sqlite":
                return ENV
            url = stack.enter_context(request.getfixturevalue("postgres").database())
            return {**ENV, "RUNFOLIO_DATABASE_URL": url}

        with running_server(tmp_path_factory.mktemp("hot") / "home", env()) as hot:
            lean = _answers(hot)
        framework_app = "tests.server.framework_routes_app:app"
        home = tmp_path_factory.mktemp("framework") / "home"
        with running_server(home, env(), app_factory=framework_app) as framework:
            routed = _answers(framework)
        yield lean, routed


EXPECTED_STATUS = {
    "create": 201,
    "replay": 200,
    "conflict": 409,
    "charset": 201,
    "named workspace": 201,
    "malformed json": 422,
    "empty body": 422,
    "not an object": 422,
    "invalid": 422,
    "wrong content type": 422,
    "no content type": 422,
    "no credentials": 401,
    "wrong credentials": 401,
    "no credentials, bad body": 401,
    "foreign workspace": 404,
    "workspace name too long": 404,
    "declared too large": 413,
    "streamed too large": 413,
    "foreign host": 400,
    "old api version": 400,
    "progress update": 204,
    "update of no artifact": 404,
    "update refused": 422,
    "update, malformed json": 422,
    "update, not a uuid": 404,
    "update without credentials": 401,
    "read back": 200,
    "listing": 200,
    "listing, filtered and sorted": 200,
    "listing, no body": 200,
    "listing refused": 422,
    "listing without credentials": 401,
    "latest listing": 200,
    "latest listing, named workspace": 200,
    "latest listing, no body": 200,
    "latest listing, unknown field": 200,
    "latest listing, malformed json": 422,
}


@pytest.mark.parametrize("what", list(EXPECTED_STATUS))
def test_hot_route_answers_as_the_framework_route(
    both: tuple[dict[str, Any], dict[str, Any]], what: str
) -> None:
    lean, routed = both
    assert lean[what][0] == EXPECTED_STATUS[what], lean[what]
    assert lean[what] == routed[what]


def test_the_update_went_through(both: tuple[dict[str, Any], dict[str, Any]]) -> None:
    lean, _ = both
    assert lean["read back"][2]["data"] == 50.0


def test_the_listings_show_what_was_stored(
    both: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    lean, _ = both
    listed = {found["id"]: found for found in lean["listing"][2]}
    assert set(listed) == {FIRST_ID, SECOND_ID, THIRD_ID}
    assert listed[SECOND_ID]["data"] == 50.0
    assert [found["id"] for found in lean["listing, filtered and sorted"][2]] == [SECOND_ID]
    [latest] = lean["latest listing"][2]
    assert (latest["key"], latest["latest_id"], latest["data"]) == ("hot-md", FIRST_ID, "# one")
    # The named default workspace is the same workspace.
    assert lean["latest listing, named workspace"][2] == lean["latest listing"][2]
