"""GET /api/openapi.json declares what the API really answers: the error statuses and
their bodies, the paging bounds, bodies without content, and `Allow` on a 405.

`test_openapi_fuzz.py` checks the same against a real server with generated requests;
these are the cheap, exact checks of what it found."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from runfolio.settings import Settings
from runfolio.store.engine import dispose_engines
from tests.workspaces import app_with_workspaces

ERRORS = {"400", "404", "409", "413", "422", "503"}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def document(api: TestClient) -> dict[str, Any]:
    doc: dict[str, Any] = api.get("/api/openapi.json").json()
    return doc


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _validator(document: dict[str, Any], status: str, method: str, path: str) -> Any:
    """A validator of the response body `status` is declared with on `method path`
    (jsonschema-rs, the validator schemathesis checks responses with)."""
    response = document["paths"][path][method]["responses"][status]
    schema = response["content"]["application/json"]["schema"]
    # `$ref`s point into the document's components.
    return jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})


def test_every_operation_declares_the_error_answers(document: dict[str, Any]) -> None:
    for method, path, op in _operations(document):
        assert ERRORS <= set(op["responses"]), (method, path)
        assert op["responses"]["422"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Rejected"
        }
    # FastAPI's own validation shape is not what the server sends, so it is not declared.
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_both_422_shapes_match_the_document(api: TestClient, document: dict[str, Any]) -> None:
    check = _validator(document, "422", "post", "/api/artifacts/filter")
    invalid = api.post("/api/artifacts/filter", json={"offset": -1})
    limit = api.post("/api/artifacts/filter", json={"limit": 1000})
    assert invalid.status_code == limit.status_code == 422
    assert "exception_detail" in invalid.json() and "detail" in limit.json()
    for body in (invalid.json(), limit.json()):
        check.validate(body)
    with pytest.raises(jsonschema_rs.ValidationError):
        check.validate({"detail": [{"loc": ["body"], "msg": "x", "type": "y"}]})


def test_not_found_and_conflict_match_the_document(
    api: TestClient, document: dict[str, Any]
) -> None:
    unknown = api.get("/api/artifacts/00000000-0000-4000-8000-0000000000ff")
    assert unknown.status_code == 404
    _validator(document, "404", "get", "/api/artifacts/{artifact_id}").validate(unknown.json())
    body = {"id": "00000000-0000-4000-8000-0000000000aa", "data": 1}
    assert api.post("/api/artifacts/", json=body).status_code == 201
    conflict = api.post("/api/artifacts/", json={**body, "data": 2})
    assert conflict.status_code == 409
    _validator(document, "409", "post", "/api/artifacts/").validate(conflict.json())


def test_page_limit_is_documented_with_the_servers_maximum(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path / "home", database_url=None, api_url=None, api_key=None, default_limit=50
    )
    with TestClient(app_with_workspaces(settings)) as client:
        schemas = client.get("/api/openapi.json").json()["components"]["schemas"]
        assert client.post("/api/flows/filter", json={"limit": 50}).status_code == 200
        assert client.post("/api/flows/filter", json={"limit": 51}).status_code == 422
    dispose_engines()
    paged = [name for name, schema in schemas.items() if "limit" in schema.get("properties", {})]
    assert {"ArtifactFilterBody", "FlowRunFilterBody", "LogFilterBody"} <= set(paged)
    for name in paged:
        (limit, _) = schemas[name]["properties"]["limit"]["anyOf"]
        assert (limit["type"], limit["minimum"], limit["maximum"]) == ("integer", 0, 50), name
        (offset, _) = schemas[name]["properties"]["offset"]["anyOf"]
        assert (offset["minimum"], offset["maximum"]) == (0, 2**31 - 1), name


def test_log_level_is_documented_with_the_columns_range(document: dict[str, Any]) -> None:
    level = document["components"]["schemas"]["LogCreate"]["properties"]["level"]
    assert (level["type"], level["minimum"], level["maximum"]) == ("integer", -(2**31), 2**31 - 1)


def test_writing_logs_answers_as_documented(api: TestClient, document: dict[str, Any]) -> None:
    created = document["paths"]["/api/logs/"]["post"]["responses"]["201"]
    r = api.post("/api/logs/", json=[])
    assert r.status_code == 201
    if "content" in created:
        assert r.headers["content-type"] == "application/json"
        r.json()
    else:
        assert r.content == b""


@pytest.mark.parametrize(
    "path,body",
    [
        ("/api/flows/", {"name": "again"}),
        # A retried create (same client-chosen id, same content) stores nothing new.
        ("/api/artifacts/", {"id": "00000000-0000-4000-8000-0000000000bb", "data": 1}),
    ],
)
def test_an_existing_object_answers_a_documented_200(
    api: TestClient, document: dict[str, Any], path: str, body: dict[str, Any]
) -> None:
    assert api.post(path, json=body).status_code == 201
    again = api.post(path, json=body)
    assert again.status_code == 200
    assert "200" in document["paths"][path]["post"]["responses"]


@pytest.mark.parametrize("method", ["OPTIONS", "PUT", "POST"])
def test_405_allows_every_method_of_the_path(api: TestClient, method: str) -> None:
    r = api.request(method, "/api/artifacts/00000000-0000-4000-8000-0000000000ff")
    assert r.status_code == 405
    assert r.json() == {"detail": "Method Not Allowed"}
    assert r.headers["allow"] == "DELETE, GET, PATCH"
    named = api.request(method, "/api/accounts/a/workspaces/w/artifacts/" + "0" * 32)
    assert named.headers["allow"] == "DELETE, GET, PATCH"
