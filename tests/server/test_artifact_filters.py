"""Filter operators, sorts, paging and counts of §3.3, on versions and on keys."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine

from runfolio.schemas.artifacts import ArtifactCreate
from runfolio.store import artifacts as store
from runfolio.store.engine import write
from runfolio.store.tables import DEFAULT_WORKSPACE_ID, artifact_collections, artifacts
from tests.server.conftest import Api

SORTS = ["CREATED_DESC", "UPDATED_DESC", "ID_DESC", "KEY_DESC", "KEY_ASC"]


@pytest.fixture
def sample(either: Api) -> dict[str, dict[str, Any]]:
    """Five versions over three keys plus two keyless ones, with run ids and types."""
    fr1, fr2, tr1 = (str(uuid.uuid4()) for _ in range(3))
    made = {
        "a1": either.create(key="alpha", type="markdown", data="a1", flow_run_id=fr1),
        "b1": either.create(key="beta", type="table", data="[[1]]", task_run_id=tr1),
        "a2": either.create(key="alpha", type="progress", data=5.0, flow_run_id=fr2),
        "n1": either.create(type="markdown", data="keyless", flow_run_id=fr1),
        "c1": either.create(key="gamma-x", type=None, data="untyped"),
        "n2": either.create(type="image", data="https://example.com/i.png"),
    }
    return made


def _ids(rows: list[dict[str, Any]]) -> set[str]:
    return {r["id"] for r in rows}


def _names(sample: dict[str, dict[str, Any]], rows: list[dict[str, Any]]) -> set[str]:
    by_id = {v["id"]: k for k, v in sample.items()}
    return {by_id[r["id"]] for r in rows}


def _check(
    api: Api, sample: dict[str, dict[str, Any]], crit: dict[str, Any], want: set[str]
) -> None:
    """Versions matching `crit` are exactly `want`; count agrees."""
    rows = api.filter(artifacts=crit)
    assert _names(sample, rows) == want, crit
    assert api.count({"artifacts": crit}) == len(want), crit


def test_id_any(either: Api, sample: dict[str, dict[str, Any]]) -> None:
    _check(either, sample, {"id": {"any_": [sample["a1"]["id"], sample["n2"]["id"]]}}, {"a1", "n2"})
    _check(either, sample, {"id": {"any_": [str(uuid.uuid4())]}}, set())
    _check(either, sample, {"id": {"any_": []}}, set())
    _check(either, sample, {"id": {"any_": None}}, set(sample))


def test_key_any_like_exists(either: Api, sample: dict[str, dict[str, Any]]) -> None:
    _check(either, sample, {"key": {"any_": ["alpha", "gamma-x"]}}, {"a1", "a2", "c1"})
    _check(either, sample, {"key": {"any_": []}}, set())
    _check(either, sample, {"key": {"like_": "ph"}}, {"a1", "a2"})
    _check(either, sample, {"key": {"like_": "PH"}}, {"a1", "a2"})  # case-insensitive
    _check(either, sample, {"key": {"like_": "a"}}, {"a1", "a2", "b1", "c1"})
    _check(either, sample, {"key": {"like_": ""}}, set(sample))  # ignored
    # like_ matches its text literally: % and _ are not wildcards.
    _check(either, sample, {"key": {"like_": "%"}}, set())
    _check(either, sample, {"key": {"like_": "a_x"}}, set())
    _check(either, sample, {"key": {"like_": "a-x"}}, {"c1"})
    _check(either, sample, {"key": {"like_": "gamm_"}}, set())
    _check(either, sample, {"key": {"exists_": True}}, {"a1", "a2", "b1", "c1"})
    _check(either, sample, {"key": {"exists_": False}}, {"n1", "n2"})
    # Sub-conditions of one field are ANDed.
    _check(either, sample, {"key": {"any_": ["alpha", "beta"], "like_": "bet"}}, {"b1"})


def test_run_id_filters(either: Api, sample: dict[str, dict[str, Any]]) -> None:
    fr1 = sample["a1"]["flow_run_id"]
    _check(either, sample, {"flow_run_id": {"any_": [fr1]}}, {"a1", "n1"})
    _check(either, sample, {"flow_run_id": {"any_": []}}, set())
    tr1 = sample["b1"]["task_run_id"]
    _check(either, sample, {"task_run_id": {"any_": [tr1]}}, {"b1"})
    _check(either, sample, {"task_run_id": {"any_": []}}, set())


def test_type_any_and_not_any(either: Api, sample: dict[str, dict[str, Any]]) -> None:
    _check(either, sample, {"type": {"any_": ["markdown", "image"]}}, {"a1", "n1", "n2"})
    _check(either, sample, {"type": {"any_": []}}, set())
    # not_any_ also drops rows whose type is NULL (c1), as the protocol does.
    _check(either, sample, {"type": {"not_any_": ["markdown"]}}, {"b1", "a2", "n2"})
    _check(either, sample, {"type": {"not_any_": []}}, set(sample))  # ignored


def test_operator_or_and_and(either: Api, sample: dict[str, dict[str, Any]]) -> None:
    crit = {"key": {"any_": ["beta"]}, "type": {"any_": ["image"]}}
    _check(either, sample, {**crit, "operator": "or_"}, {"b1", "n2"})
    _check(either, sample, {**crit, "operator": "and_"}, set())
    _check(either, sample, crit, set())  # and_ is the default


def test_collection_filters(either: Api, sample: dict[str, dict[str, Any]]) -> None:
    def keys(crit: dict[str, Any]) -> set[str]:
        rows = either.latest_filter(artifacts=crit)
        assert either.latest_count({"artifacts": crit}) == len(rows)
        return {r["key"] for r in rows}

    assert keys({}) == {"alpha", "beta", "gamma-x"}
    assert keys({"latest_id": {"any_": [sample["a2"]["id"]]}}) == {"alpha"}
    assert keys({"latest_id": {"any_": [sample["a1"]["id"]]}}) == set()  # not the latest
    assert keys({"latest_id": {"any_": []}}) == set()
    assert keys({"key": {"any_": ["beta"]}}) == {"beta"}
    assert keys({"key": {"like_": "_"}}) == set()  # literal, not a wildcard
    assert keys({"key": {"like_": "-"}}) == {"gamma-x"}
    assert keys({"key": {"like_": ""}}) == {"alpha", "beta", "gamma-x"}
    assert keys({"key": {"exists_": True}}) == {"alpha", "beta", "gamma-x"}
    assert keys({"key": {"exists_": False}}) == set()
    # The collection mirrors the latest version: alpha's run and type are a2's.
    assert keys({"flow_run_id": {"any_": [sample["a2"]["flow_run_id"]]}}) == {"alpha"}
    assert keys({"flow_run_id": {"any_": [sample["a1"]["flow_run_id"]]}}) == set()
    assert keys({"task_run_id": {"any_": [sample["b1"]["task_run_id"]]}}) == {"beta"}
    assert keys({"type": {"any_": ["progress"]}}) == {"alpha"}
    assert keys({"type": {"any_": ["markdown"]}}) == set()
    assert keys({"type": {"not_any_": ["table"]}}) == {"alpha"}  # gamma-x has no type
    assert keys({"key": {"any_": ["beta"]}, "type": {"any_": ["progress"]}, "operator": "or_"}) == {
        "alpha",
        "beta",
    }
    # Collections have no filter on their own id.
    r = either.post("/artifacts/latest/filter", json={"artifacts": {"id": {"any_": []}}})
    assert r.status_code == 422
    assert r.json()["exception_detail"][0]["type"] == "extra_forbidden"


def test_unknown_operator_inside_a_filter_is_refused(either: Api) -> None:
    for path in ("/artifacts/filter", "/artifacts/count", "/artifacts/latest/filter"):
        r = either.post(path, json={"artifacts": {"key": {"equals_": "x"}}})
        assert r.status_code == 422, path
        (err,) = r.json()["exception_detail"]
        assert err["type"] == "extra_forbidden"
        assert err["loc"] == ["body", "artifacts", "key", "equals_"]


# -- sorting ----------------------------------------------------------------------


def test_sorts_on_versions(either: Api) -> None:
    # Client-chosen ids whose order differs from the creation order.
    ids = ["00000000-0000-4000-8000-00000000000b", "00000000-0000-4000-8000-00000000000a"]
    first = either.create(id=ids[0], key="m")
    second = either.create(id=ids[1], key="b")
    third = either.create(key=None)
    either.patch(f"/artifacts/{first['id']}", json={})  # first is now the most recently updated

    def order(sort: str) -> list[str]:
        return [r["id"] for r in either.filter(sort=sort)]

    assert order("CREATED_DESC") == [third["id"], second["id"], first["id"]]
    assert order("UPDATED_DESC") == [first["id"], third["id"], second["id"]]
    assert order("ID_DESC") == sorted([first["id"], second["id"], third["id"]], reverse=True)
    assert order("ID_DESC") == order("ID_DESC") == [r["id"] for r in either.filter()]  # default
    # NULL keys come first ascending and last descending.
    assert order("KEY_ASC") == [third["id"], second["id"], first["id"]]
    assert order("KEY_DESC") == [first["id"], second["id"], third["id"]]


def test_sorts_on_collections(either: Api) -> None:
    either.create(key="b")
    either.create(key="c")
    either.create(key="a")
    either.create(key="b")  # b is now the most recently updated key

    def order(sort: str) -> list[str]:
        return [r["key"] for r in either.latest_filter(sort=sort)]

    assert order("KEY_ASC") == ["a", "b", "c"]
    assert order("KEY_DESC") == ["c", "b", "a"]
    assert order("UPDATED_DESC") == ["b", "a", "c"]
    assert order("CREATED_DESC") == ["a", "c", "b"]  # a key's created is its first upsert
    rows = either.latest_filter(sort="ID_DESC")
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)


@pytest.mark.parametrize("sort", ["lowercase", "created_desc", "NAME_ASC", 3])
def test_bad_sort_is_422(arts: Api, sort: object) -> None:
    for path in ("/artifacts/filter", "/artifacts/latest/filter"):
        r = arts.post(path, json={"sort": sort})
        assert r.status_code == 422
        assert r.json()["exception_detail"][0]["loc"] == ["body", "sort"]
        assert r.json()["exception_detail"][0]["type"] == "enum"


def _insert_same_time(
    engine: Engine, rows: list[dict[str, Any]], collections: bool = False
) -> None:
    """Versions (and their key rows) sharing one timestamp: only the id can order them."""
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with engine.begin() as conn:
        for row in rows:
            values = {"workspace_id": DEFAULT_WORKSPACE_ID, "created": when, "updated": when}
            conn.execute(artifacts.insert().values(**values, **row))
            if collections:
                conn.execute(
                    artifact_collections.insert().values(
                        **values,
                        id=uuid.uuid4(),
                        key=row["key"],
                        latest_id=row["id"],
                        latest_created=when,
                    )
                )


@pytest.mark.parametrize("sort", SORTS)
def test_id_breaks_ties_so_pages_are_stable(arts: Api, engine: Engine, sort: str) -> None:
    ids = [uuid.UUID(int=i) for i in (5, 3, 9, 1, 7, 2)]
    # Two keys with three versions each and equal times: only the id orders within a key.
    _insert_same_time(engine, [{"id": i, "key": None} for i in ids[:3]])
    _insert_same_time(engine, [{"id": i, "key": "same"} for i in ids[3:]])
    full = [r["id"] for r in arts.filter(sort=sort)]
    assert len(full) == 6
    paged = [r["id"] for offset in range(6) for r in arts.filter(sort=sort, limit=1, offset=offset)]
    assert paged == full
    nulls = [str(i) for i in sorted(ids[:3], reverse=sort != "KEY_ASC")]
    keyed = [str(i) for i in sorted(ids[3:], reverse=sort != "KEY_ASC")]
    if sort == "KEY_ASC":
        assert full == nulls + keyed
    elif sort == "KEY_DESC":
        assert full == keyed + nulls
    else:
        assert full == sorted(nulls + keyed, reverse=True)


def test_collection_ties_are_broken_by_id(arts: Api, engine: Engine) -> None:
    rows = [{"id": uuid.UUID(int=i), "key": f"k{i}"} for i in (4, 8, 6)]
    _insert_same_time(engine, rows, collections=True)
    for sort in ("CREATED_DESC", "UPDATED_DESC"):
        found = arts.latest_filter(sort=sort)
        assert [r["id"] for r in found] == sorted((r["id"] for r in found), reverse=True)


# -- paging -----------------------------------------------------------------------


def test_paging(either: Api) -> None:
    made = [either.create(key=f"k{i:03d}") for i in range(5)]
    asc = [m["id"] for m in made]
    assert [r["id"] for r in either.filter(sort="KEY_ASC", limit=2)] == asc[:2]
    assert [r["id"] for r in either.filter(sort="KEY_ASC", limit=2, offset=2)] == asc[2:4]
    assert [r["id"] for r in either.filter(sort="KEY_ASC", offset=4)] == asc[4:]
    assert either.filter(sort="KEY_ASC", offset=5) == []
    assert either.filter(limit=0) == []
    assert either.latest_filter(limit=0) == []
    assert either.filter(limit=None, offset=None) == either.filter()
    keys = [r["key"] for r in either.latest_filter(sort="KEY_DESC", limit=2, offset=1)]
    assert keys == ["k003", "k002"]


def test_default_limit_is_200(arts: Api, engine: Engine) -> None:
    with write(engine) as conn:  # 201 versions in one go (the routes are tested elsewhere)
        for i in range(201):
            store.create(conn, DEFAULT_WORKSPACE_ID, ArtifactCreate(key=f"k{i}"))
    assert len(arts.filter()) == 200
    assert len(arts.filter(limit=None)) == 200
    assert len(arts.latest_filter()) == 200
    assert len(arts.filter(limit=200)) == 200
    assert len(arts.filter(offset=200)) == 1
    assert arts.count() == 201 and arts.latest_count() == 201


@pytest.mark.parametrize("path", ["/artifacts/filter", "/artifacts/latest/filter"])
def test_limit_bounds(either: Api, path: str) -> None:
    r = either.post(path, json={"limit": 201})
    assert r.status_code == 422
    assert r.json() == {"detail": "Invalid limit: must be less than or equal to 200."}
    r = either.post(path, json={"limit": -1})
    assert r.status_code == 422
    assert r.json() == {"detail": "Invalid limit: must be greater than or equal to 0."}
    r = either.post(path, json={"offset": -1})
    assert r.status_code == 422
    (err,) = r.json()["exception_detail"]
    assert err["loc"] == ["body", "offset"] and err["type"] == "greater_than_equal"
    r = either.post(path, json={"limit": "many"})
    assert r.status_code == 422
    assert r.json()["exception_detail"][0]["loc"] == ["body", "limit"]
