"""The artifact routes of contract §3.1: status codes, field order, exact round trips."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import (
    ARTIFACT_FIELDS,
    COLLECTION_FIELDS,
    DEFAULT_BASE,
    TIMESTAMP,
    WORKSPACE_BASE,
    Api,
    Float,
    typed,
    typed_json,
)


def _sdk(
    key: str | None, type_: str | None, data: Any, description: str | None = None
) -> dict[str, Any]:
    """A create body as the SDK sends it: exactly these six keys, nulls included."""
    return {
        "key": key,
        "type": type_,
        "description": description,
        "data": data,
        "flow_run_id": None,
        "task_run_id": None,
    }


# Every create body the contract shows (§2.1, §2.2, §5.1).
CONTRACT_BODIES: list[dict[str, Any]] = [
    _sdk("top-md", "markdown", "# Hello", "desc here"),
    # links
    _sdk(None, "markdown", "[Example](https://example.com/x)"),
    _sdk(None, "markdown", "[https://example.com/y](https://example.com/y)"),
    # tables: JSON strings, one with the non-standard Infinity token
    _sdk("tbl", "table", '[{"a": 1, "b": null}, {"a": 2, "c": "z"}]'),
    _sdk("tbl", "table", '{"a": [1, 2], "b": [null, 3.5]}'),
    _sdk("tbl", "table", '[[1, "x", null], [2, "y", null]]'),
    _sdk("tbl", "table", '[{"n": {"deep": null}, "inf": Infinity}]'),
    # progress: whole-number floats stay floats
    _sdk("prog", "progress", 100.0),
    _sdk("prog", "progress", 42.5),
    _sdk("prog", "progress", 7.0),
    _sdk("prog", "progress", 0.0),
    _sdk("prog", "progress", 42),
    # image
    _sdk("img", "image", "https://example.com/cat.png", "a cat"),
    # generic Artifact(...).create(): data JSON-encoded into a string
    _sdk("generic", None, '{"x": [1, 2]}'),
    _sdk("generic", None, '"q"'),
    _sdk("generic", None, "1"),
    _sdk("generic", None, "null"),
    # raw JSON values over REST: nested floats keep their form
    {"key": "raw", "type": "custom", "data": [1, "two", 3.0]},
    {"key": "raw", "type": None, "data": {"x": {"y": [1.0, 2.50, -0.0, 1e20]}, "z": "ü ✓"}},
    {"key": "raw", "type": "custom", "data": 100.0},
    {"key": "raw", "type": "custom", "data": True},
    {"type": None, "data": None},
    {},
]


def _ids(body: dict[str, Any]) -> str:
    return f"{body.get('type')}-{str(body.get('data'))[:20]}"


@pytest.mark.parametrize("body", CONTRACT_BODIES, ids=[_ids(b) for b in CONTRACT_BODIES])
def test_contract_bodies_round_trip_exactly(api: TestClient, body: dict[str, Any]) -> None:
    for base in (DEFAULT_BASE, WORKSPACE_BASE):
        _round_trip(Api(api, base), body)


def _round_trip(either: Api, body: dict[str, Any]) -> None:
    r = either.post("/artifacts/", json=body)
    assert r.status_code == 201, r.text
    created = typed_json(r.text)
    assert list(created) == ARTIFACT_FIELDS
    for name in ("key", "type", "description", "data", "flow_run_id", "task_run_id"):
        assert created[name] == typed(body.get(name)), name
    assert created["metadata_"] is None
    assert TIMESTAMP.match(created["created"]) and created["updated"] == created["created"]
    assert uuid.UUID(created["id"])

    # Every read path gives back exactly what was stored.
    read = either.read(created["id"])
    assert read.status_code == 200
    assert typed_json(read.text) == created
    listed = typed_json(either.post("/artifacts/filter", json={}).text)
    assert listed == [created]
    if body.get("key"):
        assert typed_json(either.latest(body["key"]).text) == created
        (collection,) = typed_json(either.post("/artifacts/latest/filter", json={}).text)
        assert list(collection) == COLLECTION_FIELDS
        assert collection["latest_id"] == created["id"]
        assert collection["id"] != created["id"]
        for name in ("key", "type", "description", "data", "metadata_"):
            assert collection[name] == created[name], name


def test_top_level_whole_float_stays_float_in_the_text(arts: Api) -> None:
    created = arts.create(key="p", type="progress", data=100.0)
    text = arts.read(created["id"]).text
    assert '"data":100.0' in text
    assert type(typed_json(text)["data"]) is Float
    assert '"data":100.0' in arts.latest("p").text


def test_table_string_with_infinity_is_kept_verbatim(arts: Api) -> None:
    table = '[{"n": {"deep": null}, "inf": Infinity}, {"m": -Infinity, "x": NaN}]'
    created = arts.create(type="table", data=table)
    assert arts.read(created["id"]).json()["data"] == table


def test_metadata_round_trip_and_truncation(arts: Api) -> None:
    long = "x" * 600
    created = arts.create(key="m", metadata_={"short": "v", "long": long, "edge": "y" * 500})
    assert created["metadata_"] == {"short": "v", "long": "x" * 500 + "...", "edge": "y" * 500}
    assert arts.read(created["id"]).json()["metadata_"] == created["metadata_"]
    assert arts.collection("m")["metadata_"] == created["metadata_"]  # type: ignore[index]


def test_run_ids_are_stored_without_foreign_keys(arts: Api) -> None:
    flow_run_id, task_run_id = str(uuid.uuid4()), str(uuid.uuid4())
    created = arts.create(key="k", flow_run_id=flow_run_id, task_run_id=task_run_id)
    got = arts.read(created["id"]).json()
    assert (got["flow_run_id"], got["task_run_id"]) == (flow_run_id, task_run_id)


def test_a_large_string_is_accepted(arts: Api) -> None:
    big = "a" * (3 * 1024 * 1024)
    created = arts.create(type="markdown", data=big)
    assert arts.read(created["id"]).json()["data"] == big


def test_post_without_slash_redirects_307(either: Api) -> None:
    r = either.client.post(either.url("/artifacts"), json={"key": "x"}, follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"].endswith(either.url("/artifacts/"))
    assert either.count() == 0
    followed = either.client.post(either.url("/artifacts"), json={"key": "x"})
    assert followed.status_code == 201
    assert either.count() == 1


def test_read_by_id(either: Api) -> None:
    created = either.create(key="k", type="markdown", data="# a")
    r = either.read(created["id"])
    assert r.status_code == 200 and r.json() == created
    missing = either.read(str(uuid.uuid4()))
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Artifact not found."}
    assert either.read("not-a-uuid").status_code == 404
    assert either.read("not-a-uuid").json() == {"detail": "Not Found"}


def test_read_latest_returns_the_latest_version_itself(either: Api) -> None:
    v1 = either.create(key="k", type="markdown", data="v1")
    v2 = either.create(key="k", type="markdown", data="v2")
    r = either.latest("k")
    assert r.status_code == 200
    assert list(r.json()) == ARTIFACT_FIELDS
    assert r.json() == v2  # its own id and times, not the collection row's
    assert r.json()["id"] != v1["id"]
    missing = either.latest("nope")
    assert missing.status_code == 404 and missing.json() == {"detail": "Artifact not found."}


def test_patch_updates_in_place(either: Api) -> None:
    created = either.create(key="k", type="progress", description="d", data=10.0)
    r = either.patch(f"/artifacts/{created['id']}", json={"data": 42.5})
    assert r.status_code == 204 and r.content == b""
    got = either.read(created["id"]).json()
    assert got["data"] == 42.5 and got["description"] == "d"
    assert got["updated"] > created["updated"] and got["created"] == created["created"]
    assert either.count() == 1  # no new version

    either.patch(f"/artifacts/{created['id']}", json={"description": None, "metadata_": {"a": "b"}})
    got = either.read(created["id"]).json()
    assert got["description"] is None and got["metadata_"] == {"a": "b"} and got["data"] == 42.5


def test_patch_empty_body_bumps_updated(either: Api) -> None:
    created = either.create(key="k")
    assert either.patch(f"/artifacts/{created['id']}", json={}).status_code == 204
    assert either.read(created["id"]).json()["updated"] > created["updated"]


def test_patch_unknown_and_malformed_ids(either: Api) -> None:
    r = either.patch(f"/artifacts/{uuid.uuid4()}", json={"data": 1})
    assert r.status_code == 404 and r.json() == {"detail": "Artifact not found."}
    r = either.patch("/artifacts/nope", json={"data": 1})
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}


def test_delete(either: Api) -> None:
    created = either.create(key="k")
    r = either.delete(f"/artifacts/{created['id']}")
    assert r.status_code == 204 and r.content == b""
    assert either.read(created["id"]).status_code == 404
    again = either.delete(f"/artifacts/{created['id']}")
    assert again.status_code == 404 and again.json() == {"detail": "Artifact not found."}
    bad = either.delete("/artifacts/nope")
    assert bad.status_code == 404 and bad.json() == {"detail": "Not Found"}
    assert either.count() == 0


def test_filter_and_count_answer_without_a_body(either: Api) -> None:
    either.create(key="a")
    either.create()
    for path in ("/artifacts/filter", "/artifacts/latest/filter"):
        r = either.post(path)
        assert r.status_code == 200, r.text
    assert len(either.post("/artifacts/filter").json()) == 2
    assert len(either.post("/artifacts/latest/filter").json()) == 1
    assert either.post("/artifacts/count").json() == 2
    assert either.post("/artifacts/latest/count").json() == 1
    assert either.count({}) == 2 and either.latest_count({}) == 1
    # Responses are bare integers.
    assert either.post("/artifacts/count").text == "2"


def test_unknown_top_level_keys_in_filter_bodies_are_ignored(arts: Api) -> None:
    arts.create(key="a")
    r = arts.post("/artifacts/filter", json={"whatever": 1, "limit": 5})
    assert r.status_code == 200 and len(r.json()) == 1
    assert arts.post("/artifacts/count", json={"whatever": 1}).json() == 1


def test_sdk_get_body_works(arts: Api) -> None:
    arts.create(key="generic", data="1")
    body: dict[str, Any] = {
        "artifacts": {"key": {"any_": ["generic"]}},
        "flow_runs": None,
        "task_runs": None,
        "limit": 1,
        "offset": None,
        "sort": "UPDATED_DESC",
    }
    r = arts.post("/artifacts/filter", json=body)
    assert r.status_code == 200 and [a["key"] for a in r.json()] == ["generic"]
    body["artifacts"] = {"key": {"any_": None}}
    assert len(arts.post("/artifacts/filter", json=body).json()) == 1


def test_cli_ls_body_works(arts: Api) -> None:
    arts.create(key="b")
    arts.create(key="a")
    body = {
        "artifacts": None,
        "flow_runs": None,
        "task_runs": None,
        "limit": 100,
        "offset": 0,
        "sort": "KEY_ASC",
    }
    rows = arts.post("/artifacts/latest/filter", json=body).json()
    assert [r["key"] for r in rows] == ["a", "b"]


def test_cli_inspect_and_delete_bodies_work(arts: Api) -> None:
    made = [arts.create(key="k", data=str(i)) for i in range(3)]
    arts.create(key="other")
    inspect = {
        "artifacts": {"key": {"any_": ["k"]}},
        "flow_runs": None,
        "task_runs": None,
        "limit": 10,
        "offset": 0,
        "sort": "UPDATED_DESC",
    }
    rows = arts.post("/artifacts/filter", json=inspect).json()
    assert [r["id"] for r in rows] == [m["id"] for m in reversed(made)]
    delete = {**inspect, "limit": None, "sort": None}
    rows = arts.post("/artifacts/filter", json=delete).json()
    assert sorted(r["id"] for r in rows) == sorted(m["id"] for m in made)
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)  # ID_DESC
    for row in rows:
        assert arts.delete(f"/artifacts/{row['id']}").status_code == 204
    assert arts.latest("k").status_code == 404 and arts.count() == 1
