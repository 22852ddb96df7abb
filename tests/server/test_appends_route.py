"""`POST /artifacts/{id}/rows`: rows appended in place, merged into every read, and
refused (changing nothing) when they do not fit."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import func, select

from runfolio.schemas.appends import MAX_ROWS_PER_APPEND
from runfolio.store.engine import connect, read
from runfolio.store.tables import artifact_row_appends, artifacts
from tests.server.conftest import Api


def _table(api: Api, rows: Any, key: str | None = "tbl") -> dict[str, Any]:
    return api.create(key=key, type="table", data=json.dumps(rows))


def _append(api: Api, artifact_id: str, rows: Any) -> Any:
    return api.post(f"/artifacts/{artifact_id}/rows", json={"rows": rows})


def test_append_merges_into_every_read(either: Api) -> None:
    made = _table(either, [{"a": 1, "b": "x"}])
    r = _append(either, made["id"], [{"a": 2, "b": "y"}, {"b": "z", "a": 3}])
    assert r.status_code == 200, r.text
    assert r.json() == {"artifact_id": made["id"], "appended": 2, "rows_appended": 2}
    r = _append(either, made["id"], [{"a": 4, "b": "w"}])
    assert r.json()["rows_appended"] == 3
    expected = [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}, {"b": "z", "a": 3}, {"a": 4, "b": "w"}]

    by_id = either.read(made["id"]).json()
    assert json.loads(by_id["data"]) == expected
    assert by_id["updated"] > by_id["created"]  # changed in place: same id, no new version
    assert json.loads(either.latest("tbl").json()["data"]) == expected
    [found] = either.filter(artifacts={"id": {"any_": [made["id"]]}})
    assert json.loads(found["data"]) == expected
    collection = either.collection("tbl")
    assert collection is not None and collection["latest_id"] == made["id"]
    assert json.loads(collection["data"]) == expected
    assert collection["updated"] == by_id["updated"]
    assert either.count() == 1


def test_a_listing_merges_rows_only_into_the_tables_that_have_some(either: Api) -> None:
    """A page's query says which of its tables have rows appended; only theirs are read."""
    grown = _table(either, [{"a": 1}], key="grown")
    plain = _table(either, [{"a": 9}], key="plain")
    note = either.create(key="note", type="markdown", data="# notes")
    assert _append(either, grown["id"], [{"a": 2}]).status_code == 200
    versions = {found["id"]: found for found in either.filter()}
    assert json.loads(versions[grown["id"]]["data"]) == [{"a": 1}, {"a": 2}]
    assert versions[plain["id"]]["data"] == plain["data"]
    assert versions[note["id"]]["data"] == "# notes"
    latest = {found["key"]: found for found in either.latest_filter()}
    assert json.loads(latest["grown"]["data"]) == [{"a": 1}, {"a": 2}]
    assert latest["grown"]["latest_id"] == grown["id"]
    assert latest["plain"]["data"] == plain["data"]
    assert latest["note"]["data"] == "# notes"


def test_list_of_lists_and_column_tables(arts: Api) -> None:
    rows = _table(arts, [[1, 2], [3, 4]], key=None)
    assert _append(arts, rows["id"], [[5, 6]]).status_code == 200
    assert json.loads(arts.read(rows["id"]).json()["data"]) == [[1, 2], [3, 4], [5, 6]]
    columns = _table(arts, {"x": [1], "y": [2]}, key=None)
    assert _append(arts, columns["id"], [{"y": 4, "x": 3}]).status_code == 200
    assert json.loads(arts.read(columns["id"]).json()["data"]) == {"x": [1, 3], "y": [2, 4]}
    # An empty table takes the columns of its first append.
    empty = _table(arts, [], key=None)
    assert _append(arts, empty["id"], [{"k": 1}]).status_code == 200
    assert _append(arts, empty["id"], [{"j": 1}]).status_code == 422
    assert json.loads(arts.read(empty["id"]).json()["data"]) == [{"k": 1}]


def test_rows_of_differing_columns_fit_the_union(arts: Api) -> None:
    """In a table whose rows have different keys, a row fits with the keys of its first
    row or with all of its columns (the union of its rows' keys), not with others."""
    made = _table(arts, [{"a": 1}, {"a": 2, "b": 3}], key=None)
    assert _append(arts, made["id"], [{"a": 4, "b": 5}]).status_code == 200
    assert _append(arts, made["id"], [{"a": 6}]).status_code == 200
    loc, msg = _error(_append(arts, made["id"], [{"b": 7}]))
    assert loc == ["body", "rows", 0] and "['a', 'b']" in msg
    data = json.loads(arts.read(made["id"]).json()["data"])
    assert data == [{"a": 1}, {"a": 2, "b": 3}, {"a": 4, "b": 5}, {"a": 6}]


def test_patch_of_the_whole_table_drops_appended_rows(arts: Api) -> None:
    made = _table(arts, [{"a": 1}])
    assert _append(arts, made["id"], [{"a": 2}]).status_code == 200
    r = arts.patch(f"/artifacts/{made['id']}", json={"data": json.dumps([{"c": 9}])})
    assert r.status_code == 204
    assert json.loads(arts.read(made["id"]).json()["data"]) == [{"c": 9}]
    collection = arts.collection("tbl")
    assert collection is not None and json.loads(collection["data"]) == [{"c": 9}]
    # The new table's columns rule from now on.
    assert _append(arts, made["id"], [{"a": 3}]).status_code == 422
    r = _append(arts, made["id"], [{"c": 10}])
    assert r.json()["rows_appended"] == 1
    assert json.loads(arts.read(made["id"]).json()["data"]) == [{"c": 9}, {"c": 10}]
    # A PATCH of the description only keeps them.
    assert arts.patch(f"/artifacts/{made['id']}", json={"description": "d"}).status_code == 204
    assert json.loads(arts.read(made["id"]).json()["data"]) == [{"c": 9}, {"c": 10}]


def test_patch_replaces_every_type_and_moves_updated(arts: Api) -> None:
    for type_, data, new in [
        ("markdown", "# a", "# b"),
        ("markdown", "[x](https://a.example)", "[y](https://b.example)"),
        ("image", "https://a.example/1.png", "https://a.example/2.png"),
        ("progress", 10.0, 55.5),
        ("table", "[[1]]", "[[2], [3]]"),
    ]:
        made = arts.create(type=type_, data=data)
        r = arts.patch(f"/artifacts/{made['id']}", json={"data": new, "metadata_": {"k": "v"}})
        assert r.status_code == 204
        got = arts.read(made["id"]).json()
        assert (got["data"], got["metadata_"]) == (new, {"k": "v"})
        assert got["updated"] > made["updated"]


def _error(r: Any) -> tuple[list[Any], str]:
    assert r.status_code == 422, r.text
    [detail] = r.json()["exception_detail"]
    return detail["loc"], detail["msg"]


def test_bad_rows_are_refused_and_change_nothing(arts: Api) -> None:
    made = _table(arts, [{"a": 1, "b": 2}])
    rows = _table(arts, [[1, 2]], key="lists")
    markdown = arts.create(type="markdown", data="# hi")
    not_json = arts.create(type="table", data="not json")
    null_data = arts.create(type="table", data=None)
    number = arts.create(type="table", data=5)
    before = arts.snapshot()
    loc, msg = _error(_append(arts, made["id"], [{"a": 1, "b": 2}, {"a": 1}]))
    assert loc == ["body", "rows", 1] and "not the table's columns ['a', 'b']" in msg
    loc, msg = _error(_append(arts, made["id"], [[1, 2]]))
    assert loc == ["body", "rows", 0] and "must be an object" in msg
    loc, msg = _error(_append(arts, rows["id"], [[1, 2, 3]]))
    assert loc == ["body", "rows", 0] and "has 3 cells; the table's rows have 2" in msg
    loc, msg = _error(_append(arts, rows["id"], [{"a": 1}]))
    assert loc == ["body", "rows", 0] and "must be a list" in msg
    loc, _ = _error(_append(arts, made["id"], []))
    assert loc == ["body", "rows"]
    loc, _ = _error(_append(arts, made["id"], [{"a": 1, "b": 2}] * (MAX_ROWS_PER_APPEND + 1)))
    assert loc == ["body", "rows"]
    r = arts.post(f"/artifacts/{made['id']}/rows", json={"rowz": [{"a": 1}]})
    assert r.status_code == 422
    locs = [d["loc"] for d in r.json()["exception_detail"]]
    assert locs == [["body", "rows"], ["body", "rowz"]]
    r = arts.post(f"/artifacts/{made['id']}/rows", content=b'{"rows": [{"a": NaN, "b": 1}]}')
    assert r.status_code == 422
    loc, msg = _error(_append(arts, markdown["id"], [{"a": 1}]))
    assert loc == ["path", "artifact_id"] and "type 'markdown'" in msg
    loc, msg = _error(_append(arts, not_json["id"], [{"a": 1}]))
    assert loc == ["path", "artifact_id"] and "not a table" in msg
    loc, msg = _error(_append(arts, null_data["id"], [{"a": 1}]))
    assert loc == ["path", "artifact_id"] and "has no data" in msg
    loc, msg = _error(_append(arts, number["id"], [{"a": 1}]))
    assert loc == ["path", "artifact_id"] and "not a table" in msg
    assert arts.snapshot() == before


def test_unknown_and_deleted_artifacts_are_404(arts: Api) -> None:
    r = _append(arts, str(uuid.uuid4()), [{"a": 1}])
    assert r.status_code == 404 and r.json() == {"detail": "Artifact not found."}
    made = _table(arts, [{"a": 1}])
    assert _append(arts, made["id"], [{"a": 2}]).status_code == 200
    assert arts.delete(f"/artifacts/{made['id']}").status_code == 204
    assert _append(arts, made["id"], [{"a": 3}]).status_code == 404


def test_workspaces_do_not_see_each_others_rows(arts: Api, ws: Api) -> None:
    made = _table(arts, [{"a": 1}])
    assert _append(ws, made["id"], [{"a": 2}]).status_code == 404
    assert json.loads(arts.read(made["id"]).json()["data"]) == [{"a": 1}]


def test_deleting_the_latest_repoints_to_a_merged_previous(arts: Api) -> None:
    first = _table(arts, [{"a": 1}])
    assert _append(arts, first["id"], [{"a": 2}]).status_code == 200
    second = _table(arts, [{"a": 9}])
    collection = arts.collection("tbl")
    assert collection is not None and json.loads(collection["data"]) == [{"a": 9}]
    assert arts.delete(f"/artifacts/{second['id']}").status_code == 204
    collection = arts.collection("tbl")
    assert collection is not None and collection["latest_id"] == first["id"]
    assert json.loads(collection["data"]) == [{"a": 1}, {"a": 2}]


def test_a_large_table_is_not_rewritten(arts: Api, settings: Any) -> None:
    """100,000 rows, then 100 appended: reads hold all 100,100 in order, and the stored
    table text is the one it was created with."""
    base = [{"i": i, "name": f"row {i}", "value": i * 0.5} for i in range(100_000)]
    made = _table(arts, base)
    engine = connect(settings.resolved_database_url())
    with read(engine) as conn:
        stored_before = conn.execute(
            select(artifacts.c.data).where(artifacts.c.id == uuid.UUID(made["id"]))
        ).scalar_one()
    more = [{"i": i, "name": f"row {i}", "value": i * 0.5} for i in range(100_000, 100_100)]
    r = _append(arts, made["id"], more)
    assert r.status_code == 200 and r.json()["rows_appended"] == 100
    data = json.loads(arts.read(made["id"]).json()["data"])
    assert len(data) == 100_100 and [row["i"] for row in data] == list(range(100_100))
    assert data[-1] == {"i": 100_099, "name": "row 100099", "value": 50049.5}
    with read(engine) as conn:
        stored_after = conn.execute(
            select(artifacts.c.data, artifacts.c.rows_appended).where(
                artifacts.c.id == uuid.UUID(made["id"])
            )
        ).one()
        appended_rows = conn.execute(
            select(func.count()).select_from(artifact_row_appends)
        ).scalar_one()
    assert stored_after.data == stored_before and stored_after.rows_appended == 100
    assert appended_rows == 1
    engine.dispose()


def test_first_rows_longer_than_the_prefix_read(arts: Api) -> None:
    """The check reads the table's first 16 KiB; a first row longer than that, and
    multi-byte text cut at that point, are read whole and still checked right."""
    long_first = _table(arts, [{"note": "x" * 40_000, "n": 1}], key=None)
    assert _append(arts, long_first["id"], [{"n": 2, "note": "y"}]).status_code == 200
    assert _append(arts, long_first["id"], [{"n": 3}]).status_code == 422
    accents = _table(arts, [{"t": "é€𝄞" * 3000, "n": i} for i in range(5)], key=None)
    assert _append(arts, accents["id"], [{"t": "ü", "n": 5}]).status_code == 200
    assert _append(arts, accents["id"], [{"t": "ü"}]).status_code == 422
    data = json.loads(arts.read(accents["id"]).json()["data"])
    assert [row["n"] for row in data] == [0, 1, 2, 3, 4, 5] and data[-1]["t"] == "ü"
