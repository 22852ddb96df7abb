"""Bodies over the configured limit get 413 and change nothing, with or without a length."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runfolio.settings import Settings
from runfolio.store.engine import dispose_engines
from tests.server.conftest import DEFAULT_BASE, WORKSPACE_BASE
from tests.workspaces import app_with_workspaces

LIMIT = 4096
TOO_LARGE = {"detail": f"Request body is larger than the limit of {LIMIT} bytes."}


@pytest.fixture
def small(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        home=tmp_path / "small", database_url=None, api_url=None, api_key=None, max_body_bytes=LIMIT
    )
    with TestClient(app_with_workspaces(settings)) as client:
        yield client
    dispose_engines()


def _body(size: int) -> bytes:
    """A valid create body of exactly `size` bytes."""
    empty = json.dumps({"key": "big", "type": "markdown", "data": ""}).encode()
    body = json.dumps({"key": "big", "type": "markdown", "data": "x" * (size - len(empty))})
    assert len(body) == size
    return body.encode()


def _chunks(body: bytes, size: int = 512) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _counts(client: TestClient, base: str) -> tuple[int, int]:
    return (
        client.post(f"{base}/artifacts/count").json(),
        client.post(f"{base}/artifacts/latest/count").json(),
    )


@pytest.mark.parametrize("base", [DEFAULT_BASE, WORKSPACE_BASE])
def test_content_length_over_the_limit_is_413(small: TestClient, base: str) -> None:
    r = small.post(f"{base}/artifacts/", content=_body(LIMIT + 1), headers=_json())
    assert r.status_code == 413
    assert r.json() == TOO_LARGE
    assert _counts(small, base) == (0, 0)
    ok = small.post(f"{base}/artifacts/", content=_body(LIMIT), headers=_json())
    assert ok.status_code == 201
    assert _counts(small, base) == (1, 1)


@pytest.mark.parametrize("base", [DEFAULT_BASE, WORKSPACE_BASE])
def test_streamed_body_without_length_over_the_limit_is_413(small: TestClient, base: str) -> None:
    r = small.post(f"{base}/artifacts/", content=_chunks(_body(LIMIT * 3)), headers=_json())
    assert "content-length" not in r.request.headers
    assert r.request.headers["transfer-encoding"] == "chunked"
    assert r.status_code == 413, r.text
    assert r.json() == TOO_LARGE
    assert _counts(small, base) == (0, 0)


def test_streamed_body_just_over_the_limit_is_413(small: TestClient) -> None:
    r = small.post("/api/artifacts/", content=_chunks(_body(LIMIT + 1)), headers=_json())
    assert r.status_code == 413, r.text
    assert _counts(small, DEFAULT_BASE) == (0, 0)


def test_streamed_body_under_the_limit_is_accepted(small: TestClient) -> None:
    r = small.post("/api/artifacts/", content=_chunks(_body(LIMIT)), headers=_json())
    assert r.status_code == 201, r.text
    assert len(r.json()["data"]) > 0
    assert _counts(small, DEFAULT_BASE) == (1, 1)


def test_the_limit_applies_to_every_route(small: TestClient) -> None:
    big = json.dumps({"artifacts": {"key": {"any_": ["x" * LIMIT]}}}).encode()
    for path in ("/api/artifacts/filter", "/api/artifacts/count", "/api/logs/"):
        r = small.post(path, content=big, headers=_json())
        assert r.status_code == 413, path
        assert r.json() == TOO_LARGE
        r = small.post(path, content=_chunks(big), headers=_json())
        assert r.status_code == 413, path


def test_patch_over_the_limit_changes_nothing(small: TestClient) -> None:
    created = small.post("/api/artifacts/", json={"key": "k", "data": "before"}).json()
    big = json.dumps({"data": "y" * LIMIT}).encode()
    r = small.patch(f"/api/artifacts/{created['id']}", content=_chunks(big), headers=_json())
    assert r.status_code == 413
    assert small.get(f"/api/artifacts/{created['id']}").json() == created


def test_default_limit_is_ten_mib() -> None:
    assert Settings.model_fields["max_body_bytes"].default == 10 * 1024 * 1024


def _json() -> dict[str, str]:
    return {"content-type": "application/json"}
