"""A request that fails half-way leaves the database as it was: every write is one
transaction (the version row and its key's row change together or not at all)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from tests.pg import refuse
from tests.server.conftest import Api


def _refuse(engine: Engine, event: str, table: str, when: str | None = None) -> None:
    """A trigger that makes the database refuse one statement, half-way through a write."""
    with engine.begin() as conn:
        refuse(conn, event, table, when)


@pytest.mark.parametrize(
    "event,table,when,refused",
    [
        ("BEFORE INSERT", "artifacts", "CAST(NEW.data AS TEXT) = '\"v2\"'", {"k", "fresh"}),
        ("BEFORE UPDATE", "artifact_collections", None, {"k"}),  # an existing key's row
        ("BEFORE INSERT", "artifact_collections", None, {"fresh"}),  # a new key's row
    ],
    ids=["version-row", "key-row-update", "key-row-insert"],
)
def test_create_failing_on_either_row(
    arts: Api, engine: Engine, event: str, table: str, when: str | None, refused: set[str]
) -> None:
    # A create writes the version row and its key's row; whichever fails, neither stays.
    v1 = arts.create(key="k", type="markdown", data="v1")
    _refuse(engine, event, table, when)
    before = arts.snapshot()
    for key in sorted(refused):
        r = arts.post("/artifacts/", json={"key": key, "type": "markdown", "data": "v2"})
        assert r.status_code == 409, r.text
        assert arts.snapshot() == before
    assert arts.latest("k").json() == v1
    assert arts.latest("fresh").status_code == 404


def test_patch_failing_on_the_key_row(arts: Api, engine: Engine) -> None:
    v = arts.create(key="k", type="progress", data=1.0)
    _refuse(engine, "BEFORE UPDATE", "artifact_collections")
    before = arts.snapshot()
    r = arts.patch(f"/artifacts/{v['id']}", json={"data": 2.0})
    assert r.status_code == 409
    assert arts.snapshot() == before
    assert arts.read(v["id"]).json()["data"] == 1.0


def test_delete_failing_on_the_repoint(arts: Api, engine: Engine) -> None:
    arts.create(key="k", data="v1")
    v2 = arts.create(key="k", data="v2")
    _refuse(engine, "BEFORE UPDATE", "artifact_collections")
    before = arts.snapshot()
    assert arts.delete(f"/artifacts/{v2['id']}").status_code == 409
    assert arts.snapshot() == before
    assert arts.read(v2["id"]).status_code == 200


def test_delete_failing_on_the_key_removal(arts: Api, engine: Engine) -> None:
    v1 = arts.create(key="k", data="v1")
    _refuse(engine, "BEFORE DELETE", "artifact_collections")
    before = arts.snapshot()
    assert arts.delete(f"/artifacts/{v1['id']}").status_code == 409
    assert arts.snapshot() == before
    assert arts.latest("k").json() == v1


def test_validation_failures_write_nothing_anywhere(either: Api) -> None:
    either.create(key="k", type="progress", data=1.0)
    before = either.snapshot()
    bad = [
        {"key": "k", "type": "table", "data": json.loads("[" * 80 + "]" * 80)},
        {"key": "k" * 1001, "data": "x"},
        {"key": "K", "data": "x"},
        {"key": "new-key", "type": "markdown", "description": "d" * 100_001},
        {"key": "new-key", "extra": 1},
    ]
    for body in bad:
        assert either.post("/artifacts/", json=body).status_code == 422, body
    assert either.snapshot() == before
    assert either.latest("new-key").status_code == 404
