"""Bad input gets a clear error naming the field and the reason, and changes nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.server.conftest import Api

KEY_RULE = "Artifact key must only contain lowercase letters, numbers, and dashes."


@pytest.fixture
def seeded(arts: Api) -> Api:
    """A workspace holding a version and a key, so 'nothing changed' is a real check.

    Validation happens before a workspace is addressed; `test_named_workspace_refuses_alike`
    checks the named-workspace routes answer the same.
    """
    arts.create(key="k", type="progress", data=10.0, description="before")
    return arts


def _refused(api: Api, body: Any, loc: list[Any], err_type: str | None = None) -> dict[str, Any]:
    """POST the create body; assert one 422 at `loc`, and that nothing was written."""
    before = api.snapshot()
    r = api.post("/artifacts/", json=body)
    assert r.status_code == 422, r.text
    out = r.json()
    assert set(out) == {"exception_message", "exception_detail", "request_body"}
    assert out["exception_message"] == "Invalid request received."
    assert out["request_body"] == body
    locs = [e["loc"] for e in out["exception_detail"]]
    assert loc in locs, locs
    err: dict[str, Any] = out["exception_detail"][locs.index(loc)]
    assert err["msg"], err
    if err_type:
        assert err["type"] == err_type
    assert api.snapshot() == before
    return err


@pytest.mark.parametrize(
    "key",
    ["Upper", "", "nl\n", "with space", " lead", "under_score", "dot.", "ü", "tab\t", "a/b"],
)
def test_invalid_keys(seeded: Api, key: str) -> None:
    err = _refused(seeded, {"key": key, "data": "x"}, ["body", "key"], "value_error")
    assert err["msg"] == f"Value error, {KEY_RULE}"
    assert err["input"] == key


@pytest.mark.parametrize("key", ["a", "0", "-", "a-b-9", "x" * 1000])
def test_valid_keys(arts: Api, key: str) -> None:
    assert arts.create(key=key)["key"] == key
    assert arts.latest(key).status_code == 200


@pytest.mark.parametrize("field,limit", [("key", 1000), ("type", 200), ("description", 100_000)])
def test_text_past_its_column_is_refused(seeded: Api, field: str, limit: int) -> None:
    err = _refused(seeded, {field: "x" * (limit + 1)}, ["body", field], "string_too_long")
    assert str(limit) in err["msg"]


def test_key_of_the_wrong_type(seeded: Api) -> None:
    _refused(seeded, {"key": 5}, ["body", "key"], "string_type")


@pytest.mark.parametrize(
    "type_,data",
    [
        ("markdown", 5),
        ("markdown", ["# a"]),
        ("markdown", {"md": "x"}),
        ("image", 3.5),
        ("image", {"url": "https://example.com"}),
        ("table", "not json"),
        ("table", '"a string"'),
        ("table", "[1, 2, 3]"),
        ("table", '{"a": 1}'),
        ("table", '[[1], {"a": 1}]'),
        ("table", 7),
        ("table", [1, 2]),
        ("table", {"col": 1}),
        ("progress", "42"),
        ("progress", -0.5),
        ("progress", 100.01),
        ("progress", 1e9),
        ("progress", True),
        ("progress", [50]),
    ],
)
def test_data_of_the_wrong_shape_for_a_known_type(
    seeded: Api, strict_arts: Api, type_: str, data: Any
) -> None:
    # Stored as sent, as the protocol's server does ...
    created = seeded.create(key="k", type=type_, data=data)
    assert seeded.read(created["id"]).json()["data"] == data
    assert seeded.latest("k").json()["data"] == data
    # ... and refused, changing nothing, where the operator asks for strict data.
    strict_arts.create(key="k", type="progress", data=10.0)
    err = _refused(strict_arts, {"key": "k", "type": type_, "data": data}, ["body", "data"])
    assert type_ in err["msg"]


@pytest.mark.parametrize(
    "type_,data",
    [
        ("table", [{"a": 1}, {"b": 2}]),
        ("table", {"a": [1, 2]}),
        ("table", [[1, 2], [3]]),
        ("table", "[]"),
        ("progress", 0),
        ("progress", 100),
        ("markdown", ""),
        ("markdown", None),
        ("something-else", {"anything": [1, "goes"]}),
        ("Progress", "not checked: an unknown type"),
    ],
)
def test_accepted_shapes(arts: Api, type_: str, data: Any) -> None:
    created = arts.create(type=type_, data=data)
    assert arts.read(created["id"]).json()["data"] == data


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_progress_is_refused_cleanly(seeded: Api, token: bytes) -> None:
    before = seeded.snapshot()
    body = b'{"key": "k", "type": "progress", "data": ' + token + b"}"
    r = seeded.post("/artifacts/", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    (err,) = r.json()["exception_detail"]
    assert err["loc"] == ["body", "data"]
    assert seeded.snapshot() == before


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"[1, -Infinity]", b'{"x": NaN}'])
def test_non_standard_json_numbers_in_data_are_refused(seeded: Api, token: bytes) -> None:
    # They are not JSON: storing them would give back something other than what was sent.
    before = seeded.snapshot()
    body = b'{"key": "k", "type": "custom", "data": ' + token + b"}"
    r = seeded.post("/artifacts/", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    (err,) = r.json()["exception_detail"]
    assert err["loc"] == ["body", "data"]
    assert seeded.snapshot() == before


@pytest.mark.parametrize(
    "raw",
    [b'{"key": "a",', b"not json", b"{'key': 'a'}", b"", b'{"key": "a"} trailing'],
)
def test_malformed_json(seeded: Api, raw: bytes) -> None:
    before = seeded.snapshot()
    r = seeded.post("/artifacts/", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    out = r.json()
    assert out["exception_message"] == "Invalid request received."
    assert out["exception_detail"][0]["loc"][0] == "body"
    assert seeded.snapshot() == before


@pytest.mark.parametrize(
    "body,loc,err_type",
    [
        ({"description": 5}, ["body", "description"], "string_type"),
        ({"type": ["markdown"]}, ["body", "type"], "string_type"),
        ({"metadata_": {"a": 1}}, ["body", "metadata_", "a"], "string_type"),
        ({"metadata_": ["a"]}, ["body", "metadata_"], "dict_type"),
        ({"flow_run_id": "not-a-uuid"}, ["body", "flow_run_id"], "uuid_parsing"),
        ({"task_run_id": 12}, ["body", "task_run_id"], "uuid_type"),
        ({"id": "nope"}, ["body", "id"], "uuid_parsing"),
        ({"created": 1767225600}, ["body", "created"], "datetime_type"),
        ({"updated": "2026-01-01T00:00:00Z"}, ["body", "updated"], "extra_forbidden"),
        ({"latest_id": str(uuid.uuid4())}, ["body", "latest_id"], "extra_forbidden"),
        ({"metadata": {"a": "b"}}, ["body", "metadata"], "extra_forbidden"),
        ({"key": "k", "colour": "red"}, ["body", "colour"], "extra_forbidden"),
    ],
)
def test_wrong_field_types_and_extra_fields(
    seeded: Api, body: dict[str, Any], loc: list[Any], err_type: str
) -> None:
    _refused(seeded, body, loc, err_type)


def test_body_that_is_not_an_object(seeded: Api) -> None:
    _refused(seeded, [{"key": "k"}], ["body"], "model_attributes_type")


# -- PATCH --------------------------------------------------------------------------


def _target(api: Api) -> str:
    (row,) = api.filter()
    target: str = row["id"]
    return target


def test_patch_without_a_body_is_422(seeded: Api) -> None:
    before = seeded.snapshot()
    r = seeded.patch(f"/artifacts/{_target(seeded)}")
    assert r.status_code == 422
    (err,) = r.json()["exception_detail"]
    assert err["loc"] == ["body"] and err["type"] == "missing"
    assert seeded.snapshot() == before


@pytest.mark.parametrize(
    "body,loc,err_type",
    [
        ({"key": "other"}, ["body", "key"], "extra_forbidden"),
        ({"type": "markdown"}, ["body", "type"], "extra_forbidden"),
        ({"flow_run_id": str(uuid.uuid4())}, ["body", "flow_run_id"], "extra_forbidden"),
        ({"description": 3}, ["body", "description"], "string_type"),
        ({"metadata_": {"a": 2}}, ["body", "metadata_", "a"], "string_type"),
    ],
)
def test_patch_bad_fields(seeded: Api, body: dict[str, Any], loc: list[Any], err_type: str) -> None:
    before = seeded.snapshot()
    r = seeded.patch(f"/artifacts/{_target(seeded)}", json=body)
    assert r.status_code == 422
    errs = r.json()["exception_detail"]
    assert [(e["loc"], e["type"]) for e in errs] == [(loc, err_type)]
    assert r.json()["request_body"] == body
    assert seeded.snapshot() == before


@pytest.mark.parametrize("data", ["fifty", 150.0, -1, [1], {"p": 5}])
def test_patch_data_of_the_wrong_shape_for_the_stored_type(
    seeded: Api, strict_arts: Api, data: Any
) -> None:
    target = _target(seeded)
    r = seeded.patch(f"/artifacts/{target}", json={"data": data, "description": "x"})
    assert r.status_code == 204, r.text
    assert seeded.read(target).json()["data"] == data

    seeded = strict_arts
    seeded.create(key="k", type="progress", data=10.0, description="before")
    target = _target(seeded)
    before = seeded.snapshot()
    r = seeded.patch(f"/artifacts/{target}", json={"data": data, "description": "x"})
    assert r.status_code == 422, r.text
    out = r.json()
    assert out["exception_message"] == "Invalid request received."
    (err,) = out["exception_detail"]
    assert err["loc"] == ["body", "data"] and "progress" in err["msg"]
    assert err["input"] == data
    assert out["request_body"] == {"data": data, "description": "x"}
    assert seeded.snapshot() == before


def test_patch_data_for_each_known_type(strict_arts: Api) -> None:
    arts = strict_arts
    table = arts.create(type="table", data="[[1]]")
    assert arts.patch(f"/artifacts/{table['id']}", json={"data": "[1]"}).status_code == 422
    assert arts.patch(f"/artifacts/{table['id']}", json={"data": "[[2]]"}).status_code == 204
    md = arts.create(type="markdown", data="x")
    assert arts.patch(f"/artifacts/{md['id']}", json={"data": 1}).status_code == 422
    assert arts.patch(f"/artifacts/{md['id']}", json={"data": None}).status_code == 204
    other = arts.create(type="custom", data=1)
    assert arts.patch(f"/artifacts/{other['id']}", json={"data": [1, 2.0]}).status_code == 204
    assert arts.read(other["id"]).json()["data"] == [1, 2.0]


def test_patch_non_finite_data_is_refused(seeded: Api) -> None:
    before = seeded.snapshot()
    r = seeded.patch(
        f"/artifacts/{_target(seeded)}",
        content=b'{"data": NaN}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["exception_detail"][0]["loc"] == ["body", "data"]
    assert seeded.snapshot() == before


def test_unknown_ids_are_404_and_change_nothing(seeded: Api) -> None:
    before = seeded.snapshot()
    unknown = str(uuid.uuid4())
    for r in (
        seeded.read(unknown),
        seeded.patch(f"/artifacts/{unknown}", json={"data": 1}),
        seeded.delete(f"/artifacts/{unknown}"),
        seeded.latest("unknown-key"),
    ):
        assert r.status_code == 404
        assert r.json() == {"detail": "Artifact not found."}
    for r in (
        seeded.get("/artifacts/123"),
        seeded.patch("/artifacts/123", json={}),
        seeded.delete("/artifacts/123"),
        seeded.get(f"/artifacts/{unknown.upper()}x"),
    ):
        assert r.status_code == 404
        assert r.json() == {"detail": "Not Found"}
    assert seeded.snapshot() == before


def test_named_workspace_refuses_alike(ws: Api) -> None:
    target = ws.create(key="k", type="progress", data=10.0)
    before = ws.snapshot()
    for body, loc in (
        ({"key": "Bad"}, ["body", "key"]),
        ({"key": "k" * 1001}, ["body", "key"]),
        ({"data": [[[[1]]]] * 2 + [json.loads("[" * 70 + "]" * 70)]}, ["body"]),
        ({"extra": 1}, ["body", "extra"]),
    ):
        r = ws.post("/artifacts/", json=body)
        assert r.status_code == 422
        assert r.json()["exception_detail"][0]["loc"] == loc
        assert r.json()["request_body"] == body
    r = ws.patch(
        f"/artifacts/{target['id']}",
        content=b'{"data": [NaN]}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["exception_detail"][0]["loc"] == ["body", "data"]
    assert ws.patch(f"/artifacts/{target['id']}").status_code == 422
    raw = ws.post("/artifacts/", content=b"{", headers={"content-type": "application/json"})
    assert raw.status_code == 422
    assert ws.snapshot() == before


@pytest.mark.parametrize(
    "raw,loc",
    [
        (b'{"key": "k", "data": "\\ud800"}', ["body", "data"]),
        (b'{"key": "k", "description": "x\\udfffy"}', ["body", "description"]),
        (b'{"key": "k", "metadata_": {"a": "\\ud800"}}', ["body", "metadata_", "a"]),
        (b'{"key": "k", "data": {"ok": [1, {"\\ud800": 1}]}}', ["body", "data", "ok", 1, "\ud800"]),
        (b'{"key": "k", "type": "\\udc00"}', ["body", "type"]),
    ],
)
def test_lone_surrogates_are_refused(seeded: Api, raw: bytes, loc: list[Any]) -> None:
    # Valid JSON escapes, but not Unicode text: the database cannot store them.
    before = seeded.snapshot()
    r = seeded.post("/artifacts/", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    (err,) = r.json()["exception_detail"]
    assert err["type"] == "string_unicode"
    assert err["loc"] == [
        part.replace("\ud800", "\ufffd") if isinstance(part, str) else part for part in loc
    ]
    assert r.json()["exception_message"] == "Invalid request received."
    assert seeded.snapshot() == before


def test_lone_surrogates_elsewhere_are_refused_too(seeded: Api) -> None:
    raw = b'{"name": "flow-\\ud800"}'
    r = seeded.post("/flows/", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["exception_detail"][0]["loc"] == ["body", "name"]
    assert seeded.post("/flows/filter").json() == []
    created = seeded.filter()[0]
    r = seeded.patch(
        f"/artifacts/{created['id']}",
        content=b'{"description": "\\ud800"}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    assert seeded.read(created["id"]).json() == created
