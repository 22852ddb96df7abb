"""The latest-version-per-key collection (§1.2) and idempotent creates."""

from __future__ import annotations

import uuid

from tests.server.conftest import TIMESTAMP, Api

MIRRORED = ("type", "description", "data", "metadata_", "flow_run_id", "task_run_id")


def test_new_key_creates_its_row(either: Api) -> None:
    run = str(uuid.uuid4())
    v1 = either.create(
        key="k", type="markdown", description="d", data="x", metadata_={"a": "b"}, flow_run_id=run
    )
    row = either.collection("k")
    assert row is not None
    assert row["latest_id"] == v1["id"] and row["id"] != v1["id"]
    assert row["created"] == row["updated"] == v1["created"]
    for name in MIRRORED:
        assert row[name] == v1[name], name


def test_upsert_overwrites_all_fields_nulls_included(either: Api) -> None:
    run, task = str(uuid.uuid4()), str(uuid.uuid4())
    v1 = either.create(
        key="k",
        type="markdown",
        description="d",
        data="x",
        metadata_={"a": "b"},
        flow_run_id=run,
        task_run_id=task,
    )
    first = either.collection("k")
    v2 = either.create(key="k", data="only data")
    row = either.collection("k")
    assert row is not None and first is not None
    assert row["id"] == first["id"]  # the key keeps its row
    assert row["latest_id"] == v2["id"]
    assert row["created"] == v1["created"]  # kept
    assert row["updated"] == v2["created"]  # bumped
    assert {name: row[name] for name in MIRRORED} == {
        "type": None,
        "description": None,
        "data": "only data",
        "metadata_": None,
        "flow_run_id": None,
        "task_run_id": None,
    }
    assert either.latest_count() == 1 and either.count() == 2


def test_keyless_create_leaves_collections_alone(either: Api) -> None:
    either.create(key="k", data="x")
    before = either.latest_filter()
    either.create(data="no key")
    assert either.latest_filter() == before


def test_patch_of_the_latest_version_updates_the_collection(either: Api) -> None:
    either.create(key="k", type="progress", data=1.0)
    v2 = either.create(key="k", type="progress", data=2.0, description="old")
    before = either.collection("k")
    r = either.patch(
        f"/artifacts/{v2['id']}", json={"data": 50.0, "description": "new", "metadata_": {"m": "1"}}
    )
    assert r.status_code == 204
    row = either.collection("k")
    assert row is not None and before is not None
    assert (row["data"], row["description"], row["metadata_"]) == (50.0, "new", {"m": "1"})
    assert row["updated"] > before["updated"] and row["created"] == before["created"]
    assert row["latest_id"] == v2["id"]
    assert either.latest("k").json()["data"] == 50.0


def test_patch_with_only_some_fields_keeps_the_others(either: Api) -> None:
    v = either.create(key="k", type="progress", data=1.0, description="keep", metadata_={"a": "b"})
    either.patch(f"/artifacts/{v['id']}", json={"data": 3.5})
    row = either.collection("k")
    assert row is not None
    assert (row["data"], row["description"], row["metadata_"]) == (3.5, "keep", {"a": "b"})


def test_patch_of_an_older_version_leaves_the_collection(either: Api) -> None:
    v1 = either.create(key="k", type="progress", data=1.0)
    either.create(key="k", type="progress", data=2.0)
    before = either.collection("k")
    assert either.patch(f"/artifacts/{v1['id']}", json={"data": 99.0}).status_code == 204
    assert either.collection("k") == before
    assert either.read(v1["id"]).json()["data"] == 99.0


def test_delete_of_the_latest_repoints_to_the_previous_version(either: Api) -> None:
    v1 = either.create(key="k", type="markdown", data="one", description="first")
    v2 = either.create(key="k", type="table", data="[[2]]", metadata_={"x": "y"})
    v3 = either.create(key="k", type="progress", data=3.0)
    row_id = either.collection("k")["id"]  # type: ignore[index]
    assert either.delete(f"/artifacts/{v3['id']}").status_code == 204
    row = either.collection("k")
    assert row is not None
    assert row["id"] == row_id and row["latest_id"] == v2["id"]
    for name in MIRRORED:
        assert row[name] == v2[name], name
    assert (row["created"], row["updated"]) == (v2["created"], v2["updated"])
    assert either.latest("k").json() == v2

    assert either.delete(f"/artifacts/{v2['id']}").status_code == 204
    row = either.collection("k")
    assert row is not None and row["latest_id"] == v1["id"] and row["data"] == "one"
    assert row["description"] == "first" and row["metadata_"] is None


def test_delete_of_the_last_version_removes_the_key(either: Api) -> None:
    v1 = either.create(key="k", data="one")
    either.create(key="other", data="stays")
    assert either.delete(f"/artifacts/{v1['id']}").status_code == 204
    assert either.collection("k") is None
    latest = either.latest("k")
    assert latest.status_code == 404 and latest.json() == {"detail": "Artifact not found."}
    assert either.latest_count() == 1
    # The key can be used again from scratch.
    again = either.create(key="k", data="again")
    assert either.collection("k")["latest_id"] == again["id"]  # type: ignore[index]


def test_delete_of_a_non_latest_version_leaves_the_collection(either: Api) -> None:
    v1 = either.create(key="k", data="one")
    either.create(key="k", data="two")
    before = either.collection("k")
    assert either.delete(f"/artifacts/{v1['id']}").status_code == 204
    assert either.collection("k") == before
    assert either.count() == 1


def test_delete_picks_the_newest_remaining_version_not_the_newest_id(either: Api) -> None:
    # Client ids that sort against creation order: the repoint follows `created`.
    old = either.create(id="ffffffff-ffff-4fff-8fff-ffffffffffff", key="k", data="old")
    mid = either.create(id="00000000-0000-4000-8000-000000000001", key="k", data="mid")
    new = either.create(key="k", data="new")
    either.delete(f"/artifacts/{new['id']}")
    assert either.collection("k")["latest_id"] == mid["id"]  # type: ignore[index]
    either.delete(f"/artifacts/{mid['id']}")
    assert either.collection("k")["latest_id"] == old["id"]  # type: ignore[index]


# -- idempotent create ------------------------------------------------------------


def test_same_id_same_content_stores_one_artifact(either: Api) -> None:
    chosen = str(uuid.uuid4())
    body = {"id": chosen, "key": "k", "type": "progress", "data": 10.0, "metadata_": {"a": "b"}}
    first = either.post("/artifacts/", json=body)
    assert first.status_code == 201 and first.json()["id"] == chosen
    second = either.post("/artifacts/", json=body)
    assert second.status_code == 200
    assert second.json() == first.json()
    assert either.count() == 1 and either.latest_count() == 1
    assert either.collection("k")["latest_id"] == chosen  # type: ignore[index]


def test_a_retry_does_not_move_the_latest_back(either: Api) -> None:
    chosen = str(uuid.uuid4())
    body = {"id": chosen, "key": "k", "data": "v1"}
    assert either.post("/artifacts/", json=body).status_code == 201
    v2 = either.create(key="k", data="v2")
    before = either.collection("k")
    assert either.post("/artifacts/", json=body).status_code == 200
    assert either.collection("k") == before and before["latest_id"] == v2["id"]  # type: ignore[index]
    assert either.count() == 2


def test_same_id_different_content_is_409_and_changes_nothing(either: Api) -> None:
    chosen = str(uuid.uuid4())
    assert (
        either.post("/artifacts/", json={"id": chosen, "key": "k", "data": "a"}).status_code == 201
    )
    before = either.snapshot()
    for changed in (
        {"key": "k", "data": "b"},
        {"key": "other", "data": "a"},
        {"key": "k", "data": "a", "description": "d"},
        {"key": "k", "data": "a", "type": "markdown"},
        {"key": "k", "data": "a", "flow_run_id": str(uuid.uuid4())},
    ):
        r = either.post("/artifacts/", json={"id": chosen, **changed})
        assert r.status_code == 409, changed
        assert isinstance(r.json()["detail"], str) and chosen in r.json()["detail"]
    assert either.snapshot() == before


def test_a_patched_artifact_retried_with_its_original_content_is_a_conflict(either: Api) -> None:
    chosen = str(uuid.uuid4())
    body = {"id": chosen, "key": "k", "type": "progress", "data": 1.0}
    assert either.post("/artifacts/", json=body).status_code == 201
    either.patch(f"/artifacts/{chosen}", json={"data": 2.0})
    assert either.post("/artifacts/", json=body).status_code == 409
    assert either.read(chosen).json()["data"] == 2.0


def test_a_retry_must_match_exactly_not_just_compare_equal(either: Api) -> None:
    chosen = str(uuid.uuid4())
    body = {"id": chosen, "key": "k", "data": {"n": 1, "m": [1.5]}}
    assert either.post("/artifacts/", json=body).status_code == 201
    for data in ({"n": True, "m": [1.5]}, {"n": 1.0, "m": [1.5]}, {"m": [1.5], "n": 1}):
        r = either.post("/artifacts/", json={**body, "data": data})
        assert r.status_code == 409, data
    assert either.post("/artifacts/", json=body).status_code == 200
    assert either.read(chosen).json()["data"] == {"n": 1, "m": [1.5]}
    assert list(either.read(chosen).json()["data"]) == ["n", "m"]


def test_a_late_create_keeps_its_time_and_not_the_latest(arts: Api) -> None:
    """A create delivered late (the client outbox) carries when it was made: it is stored
    with that time, and the key's latest stays the version made last."""
    newer = arts.create(key="late", data="made second")
    made = "2026-01-02T03:04:05.250000Z"
    r = arts.post("/artifacts/", json={"key": "late", "data": "made first", "created": made})
    assert r.status_code == 201, r.text
    assert r.json()["created"] == made and r.json()["updated"] == made
    assert arts.latest("late").json()["id"] == newer["id"]
    collection = arts.collection("late")
    assert collection is not None and collection["latest_id"] == newer["id"]
    # A late version made after the latest does take its place.
    after = arts.post("/artifacts/", json={"key": "late", "data": "third", "created": None})
    assert arts.latest("late").json()["id"] == after.json()["id"]


def test_a_create_from_the_future_is_taken_as_made_now(arts: Api) -> None:
    r = arts.post("/artifacts/", json={"key": "k", "data": "x", "created": "2999-01-01T00:00:00Z"})
    assert r.status_code == 201, r.text
    assert r.json()["created"] < "2999" and r.json()["created"] == r.json()["updated"]
    assert TIMESTAMP.match(r.json()["created"])
    assert arts.latest("k").json()["id"] == r.json()["id"]
