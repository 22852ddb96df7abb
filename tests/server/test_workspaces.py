"""Workspaces: `/api/...` is the default one, `/api/accounts/A/workspaces/W/...` a named
one, and nothing (id, key, filter, count, latest, runs) ever crosses between them."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from runfolio.store.engine import write
from runfolio.store.tables import artifacts
from tests.server.conftest import Api

OTHER_BASE = "/api/accounts/abc/workspaces/other"
OTHER_ACCOUNT_BASE = "/api/accounts/def/workspaces/xyz"


def test_ids_do_not_cross_workspaces(arts: Api, ws: Api) -> None:
    mine = ws.create(key="k", type="progress", data=1.0)
    theirs = arts.create(key="k", type="progress", data=2.0)
    before = (arts.snapshot(), ws.snapshot())
    for api, foreign in ((arts, mine), (ws, theirs)):
        assert api.read(foreign["id"]).status_code == 404
        r = api.patch(f"/artifacts/{foreign['id']}", json={"data": 50.0})
        assert r.status_code == 404 and r.json() == {"detail": "Artifact not found."}
        r = api.delete(f"/artifacts/{foreign['id']}")
        assert r.status_code == 404 and r.json() == {"detail": "Artifact not found."}
        assert api.filter(artifacts={"id": {"any_": [foreign["id"]]}}) == []
        assert api.latest_filter(artifacts={"latest_id": {"any_": [foreign["id"]]}}) == []
    assert (arts.snapshot(), ws.snapshot()) == before
    assert ws.read(mine["id"]).json() == mine and arts.read(theirs["id"]).json() == theirs


def test_same_key_in_two_workspaces_is_independent(arts: Api, ws: Api) -> None:
    d1 = arts.create(key="shared", data="default v1")
    w1 = ws.create(key="shared", data="named v1")
    d2 = arts.create(key="shared", data="default v2")
    assert arts.latest("shared").json() == d2
    assert ws.latest("shared").json() == w1
    assert ws.collection("shared")["latest_id"] == w1["id"]  # type: ignore[index]

    # Deleting the named workspace's only version removes only its key.
    assert ws.delete(f"/artifacts/{w1['id']}").status_code == 204
    assert ws.latest("shared").status_code == 404
    assert arts.latest("shared").json() == d2
    # Repointing in one workspace never picks a version of the other.
    w2 = ws.create(key="shared", data="named v2")
    assert arts.delete(f"/artifacts/{d2['id']}").status_code == 204
    assert arts.collection("shared")["latest_id"] == d1["id"]  # type: ignore[index]
    assert ws.collection("shared")["latest_id"] == w2["id"]  # type: ignore[index]


def test_patching_the_latest_only_touches_its_own_workspace(arts: Api, ws: Api) -> None:
    arts.create(key="k", type="progress", data=1.0)
    w = ws.create(key="k", type="progress", data=1.0)
    ws.patch(f"/artifacts/{w['id']}", json={"data": 99.0})
    assert ws.collection("k")["data"] == 99.0  # type: ignore[index]
    assert arts.collection("k")["data"] == 1.0  # type: ignore[index]


def test_filters_counts_and_latest_never_see_the_other_workspace(api: TestClient) -> None:
    spaces = {base: Api(api, base) for base in ("/api", OTHER_BASE, OTHER_ACCOUNT_BASE)}
    for n, space in enumerate(spaces.values(), start=1):
        for i in range(n):
            space.create(key=f"k{i}", type="markdown", data=space.base)
        space.create(type="markdown", data=space.base)
    for n, space in enumerate(spaces.values(), start=1):
        rows = space.filter()
        assert len(rows) == n + 1 and {r["data"] for r in rows} == {space.base}
        assert space.count() == n + 1
        assert space.count({"artifacts": {"key": {"exists_": True}}}) == n
        assert len(space.latest_filter()) == space.latest_count() == n
        assert {r["data"] for r in space.latest_filter()} == {space.base}
        assert space.latest("k0").json()["data"] == space.base
        if n == 1:
            assert space.latest("k1").status_code == 404
        for sort in ("KEY_ASC", "CREATED_DESC"):
            assert {r["data"] for r in space.filter(sort=sort, limit=200)} == {space.base}


def test_an_id_used_in_another_workspace_reveals_nothing(arts: Api, ws: Api) -> None:
    """Ids are per workspace: reusing another workspace's id answers as if it were free
    (the same as for an id nobody uses), and each workspace keeps its own artifact."""
    mine = ws.create(key="k", data="named")
    r = arts.post("/artifacts/", json={"id": mine["id"], "key": "k", "data": "other"})
    assert r.status_code == 201, r.text
    assert "named" not in r.text
    assert r.json()["id"] == mine["id"] and r.json()["data"] == "other"
    # A retry in either workspace is idempotent there; other content conflicts there.
    again = arts.post("/artifacts/", json={"id": mine["id"], "key": "k", "data": "other"})
    assert again.status_code == 200
    clash = arts.post("/artifacts/", json={"id": mine["id"], "key": "k", "data": "third"})
    assert clash.status_code == 409
    assert ws.read(mine["id"]).json()["data"] == "named"
    assert arts.read(mine["id"]).json()["data"] == "other"
    # Deleting one leaves the other, and each key's latest, in place.
    assert arts.delete(f"/artifacts/{mine['id']}").status_code == 204
    assert ws.read(mine["id"]).json()["data"] == "named"
    assert ws.latest("k").json()["id"] == mine["id"]
    assert arts.latest("k").status_code == 404
    assert arts.patch(f"/artifacts/{mine['id']}", json={"data": "x"}).status_code == 404


def test_runs_do_not_cross_workspaces(arts: Api, ws: Api, engine: Engine) -> None:
    flow = ws.flow("f")
    run = ws.flow_run(flow["id"], name="named-run")
    task = ws.task_run(run["id"], name="named-task")
    assert arts.get(f"/flows/{flow['id']}").status_code == 404
    assert arts.get(f"/flow_runs/{run['id']}").status_code == 404
    assert arts.get(f"/task_runs/{task['id']}").status_code == 404
    assert arts.get(f"/flow_runs/{run['id']}/states").status_code == 404
    assert arts.set_state("flow_runs", run["id"], "RUNNING").status_code == 404
    assert arts.set_state("task_runs", task["id"], "RUNNING").status_code == 404
    assert arts.post("/flow_runs/", json={"flow_id": flow["id"]}).status_code == 404
    assert arts.post("/flows/filter").json() == []
    assert arts.post("/flow_runs/filter").json() == []
    assert arts.post("/task_runs/filter").json() == []
    assert ws.get(f"/flow_runs/{run['id']}").json()["state_type"] == "PENDING"
    # A flow of the same name is a different flow in each workspace.
    assert arts.post("/flows/", json={"name": "f"}).status_code == 201
    assert arts.flow("f")["id"] != flow["id"]

    # An artifact cannot name another workspace's runs ...
    refused = arts.post("/artifacts/", json={"key": "a", "flow_run_id": run["id"]})
    assert refused.status_code == 422
    # ... and where a row does (written before that rule), sub-filters only look at runs
    # of the artifact's own workspace.
    legacy = arts.create(key="a")
    with write(engine) as conn:
        conn.execute(
            artifacts.update()
            .where(artifacts.c.id == uuid.UUID(legacy["id"]))
            .values(flow_run_id=uuid.UUID(run["id"]), task_run_id=uuid.UUID(task["id"]))
        )
    ws.create(key="a", flow_run_id=run["id"], task_run_id=task["id"])
    assert arts.filter(flow_runs={"name": {"any_": ["named-run"]}}) == []
    assert arts.filter(task_runs={"name": {"any_": ["named-task"]}}) == []
    assert arts.filter(flows={"name": {"any_": ["f"]}}) == []
    assert len(ws.filter(flow_runs={"name": {"any_": ["named-run"]}})) == 1
    assert len(ws.filter(task_runs={"name": {"any_": ["named-task"]}})) == 1


def test_logs_do_not_cross_workspaces(arts: Api, ws: Api) -> None:
    run = ws.flow_run(ws.flow()["id"])
    line = {"level": 20, "message": "hi", "timestamp": "2026-01-01T00:00:00Z"}
    assert ws.post("/logs/", json=[{**line, "flow_run_id": run["id"]}]).status_code == 201
    body = {"logs": {"flow_run_id": {"any_": [run["id"]]}}}
    assert len(ws.post("/logs/filter", json=body).json()) == 1
    assert arts.post("/logs/filter", json=body).json() == []


def test_the_default_workspace_by_name_is_the_same_as_api(api: TestClient) -> None:
    plain = Api(api, "/api")
    named = Api(api, "/api/accounts/default/workspaces/default")
    created = named.create(key="k", data="x")
    assert plain.read(created["id"]).json() == created
    assert plain.latest("k").json() == created


def test_workspace_routes_share_the_contract_routes(ws: Api) -> None:
    # POST without the slash redirects within the workspace.
    r = ws.client.post(ws.url("/artifacts"), json={}, follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"].endswith("/api/accounts/abc/workspaces/xyz/artifacts/")
    for path in ("/health", "/version", "/admin/version"):
        assert ws.get(path).status_code == 200
