"""Root and admin routes, the OpenAPI document, the API version header, the REST example."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import DEFAULT_BASE, WORKSPACE_BASE, Api


def test_health_version_ready(api: TestClient) -> None:
    assert api.get("/api/health").json() is True
    assert api.get("/api/version").json() == "0.8.4"
    admin = api.get("/api/admin/version")
    assert admin.status_code == 200 and admin.json().split(".")[0] == "3"
    ready = api.get("/api/ready")
    assert ready.status_code == 200 and ready.json() == {"message": "OK"}
    assert api.get("/api/hello").json() == "👋"


def test_csrf_probe_is_told_protection_is_disabled(api: TestClient) -> None:
    r = api.get("/api/csrf-token", params={"client": "x"})
    assert r.status_code == 422
    assert r.json() == {"detail": "CSRF protection is disabled."}
    assert "CSRF protection is disabled." in r.text


def test_openapi_lists_the_artifact_routes(api: TestClient) -> None:
    r = api.get("/api/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    expected = {
        "/api/artifacts/": {"post"},
        "/api/artifacts/{artifact_id}": {"get", "patch", "delete"},
        "/api/artifacts/{key}/latest": {"get"},
        "/api/artifacts/filter": {"post"},
        "/api/artifacts/latest/filter": {"post"},
        "/api/artifacts/count": {"post"},
        "/api/artifacts/latest/count": {"post"},
        "/api/flows/": {"post"},
        "/api/flow_runs/": {"post"},
        "/api/flow_runs/{id}/set_state": {"post"},
        "/api/health": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path
    assert api.get("/api/openapi.json").json() == r.json()  # stable across calls


def test_interactive_docs_answer(api: TestClient) -> None:
    r = api.get("/api/docs")
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    assert "/api/openapi.json" in r.text


@pytest.mark.parametrize("base", [DEFAULT_BASE, WORKSPACE_BASE])
def test_api_version_header(api: TestClient, base: str) -> None:
    url = f"{base}/artifacts/count"
    assert api.post(url, headers={"X-PREFECT-API-VERSION": "0.8.4"}).status_code == 200
    assert api.post(url, headers={"X-PREFECT-API-VERSION": "9.0.0"}).status_code == 200
    bad = api.post(url, headers={"X-PREFECT-API-VERSION": "latest"})
    assert bad.status_code == 400
    assert bad.json() == {
        "detail": "Invalid X-PREFECT-API-VERSION header format."
        "Expected header in format 'x.y.z' but received latest"
    }
    old = api.post(url, headers={"X-PREFECT-API-VERSION": "0.7.9"})
    assert old.status_code == 400
    assert old.json() == {
        "detail": "The request specified API version 0.7.9 but this server requires "
        "version 0.8.0 or higher."
    }
    # A refused request writes nothing.
    r = api.post(f"{base}/artifacts/", json={"key": "k"}, headers={"X-PREFECT-API-VERSION": "x"})
    assert r.status_code == 400
    assert api.post(url).json() == 0


@pytest.mark.parametrize("base", [DEFAULT_BASE, WORKSPACE_BASE])
def test_the_contracts_rest_example(api: TestClient, base: str) -> None:
    """POST …/artifacts/filter with CREATED_DESC, limit 5, keyed only, and a Bearer header."""
    arts = Api(api, base)
    keyed = []
    for i in range(7):
        keyed.append(arts.create(key=f"report-{i}", type="markdown", data=f"# {i}"))
        arts.create(type="markdown", data=f"keyless {i}")  # newer, but keyless
    r = api.post(
        f"{base}/artifacts/filter",
        json={"sort": "CREATED_DESC", "limit": 5, "artifacts": {"key": {"exists_": True}}},
        headers={"Authorization": "Bearer pnu_ghijk"},
    )
    assert r.status_code == 200
    rows = r.json()
    assert [row["id"] for row in rows] == [a["id"] for a in reversed(keyed)][:5]
    assert [row["key"] for row in rows] == [f"report-{i}" for i in (6, 5, 4, 3, 2)]
    created = [row["created"] for row in rows]
    assert created == sorted(created, reverse=True)


def test_probes_ignore_the_api_version_header(api: TestClient) -> None:
    bad = {"X-PREFECT-API-VERSION": "not-a-version"}
    assert api.get("/api/health", headers=bad).json() is True
    assert api.get("/api/ready", headers=bad).status_code == 200
    assert api.post("/api/artifacts/count", headers=bad).status_code == 400
