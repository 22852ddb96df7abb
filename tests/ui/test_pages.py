"""The pages and their JSON twins over HTTP (in-process app on a real SQLite file)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from fastapi.testclient import TestClient

from runfolio.server.ui import render
from tests.pg import on_both_databases

# The pages' data functions run the same SQL on both databases.
pytestmark = on_both_databases


def _ok(response: Any) -> Any:
    assert response.is_success, response.text
    return response.json() if response.content else None


def _artifact(api: TestClient, **body: Any) -> dict[str, Any]:
    result: dict[str, Any] = _ok(api.post("/api/artifacts/", json=body))
    return result


def _run(api: TestClient, flow: str = "etl", state: str = "RUNNING") -> dict[str, Any]:
    flow_id = _ok(api.post("/api/flows/", json={"name": flow}))["id"]
    run: dict[str, Any] = _ok(api.post("/api/flow_runs/", json={"flow_id": flow_id}))
    _ok(api.post(f"/api/flow_runs/{run['id']}/set_state", json={"state": {"type": state}}))
    return run


def _task(api: TestClient, run_id: str, key: str, state: str = "RUNNING") -> dict[str, Any]:
    task: dict[str, Any] = _ok(
        api.post("/api/task_runs/", json={"flow_run_id": run_id, "task_key": key})
    )
    for step in ["RUNNING", state] if state != "RUNNING" else ["RUNNING"]:
        _ok(api.post(f"/api/task_runs/{task['id']}/set_state", json={"state": {"type": step}}))
    return task


def test_artifacts_twin_searches_filters_sorts_and_pages(api: TestClient) -> None:
    run = _run(api)
    for i in range(55):
        _artifact(api, key=f"alpha-{i:02d}", type="markdown", data=f"# {i}", description="d" * 900)
    _artifact(
        api, key="beta-link", type="markdown", data="[Go](https://x.example)", flow_run_id=run["id"]
    )
    _artifact(api, key="beta-link-ish", type="markdown", data="[a](b) and [c](d)")
    _artifact(api, key="beta-table", type="table", data="[[1]]")
    _artifact(api, type="markdown", data="keyless, not listed")

    first = _ok(api.get("/api/ui/artifacts"))
    assert first["paging"] == {"page": 1, "per_page": 50, "total": 58, "pages": 2}
    assert first["sort"] == "UPDATED_DESC"
    assert [i["key"] for i in first["items"][:3]] == ["beta-table", "beta-link-ish", "beta-link"]
    link = first["items"][2]
    assert (link["kind"], link["type"], link["data"]) == (
        "link",
        "markdown",
        "[Go](https://x.example)",
    )
    assert link["flow_run"]["id"] == run["id"] and link["flow_run"]["flow_name"] == "etl"
    assert len(first["items"][5]["description"]) == 400  # descriptions are cut for the list

    second = _ok(api.get("/api/ui/artifacts", params={"page": 2}))
    assert len(second["items"]) == 8 and second["paging"]["page"] == 2
    by_key = _ok(api.get("/api/ui/artifacts", params={"sort": "KEY_ASC", "q": "ALPHA-0"}))
    assert by_key["paging"]["total"] == 10
    assert [i["key"] for i in by_key["items"]][:2] == ["alpha-00", "alpha-01"]
    links = _ok(api.get("/api/ui/artifacts", params={"type": "link"}))
    assert [i["key"] for i in links["items"]] == ["beta-link"]
    tables = _ok(api.get("/api/ui/artifacts", params={"type": "table"}))
    assert [i["key"] for i in tables["items"]] == ["beta-table"]
    assert tables["items"][0]["data"] is None  # table data never reaches the list
    # Nonsense parameters fall back to the defaults instead of failing.
    odd = _ok(api.get("/api/ui/artifacts", params={"sort": "sideways", "page": "x"}))
    assert odd["sort"] == "UPDATED_DESC" and odd["paging"]["page"] == 1

    html = api.get("/artifacts", params={"type": "link"})
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]
    assert 'data-key="beta-link"' in html.text and 'data-key="beta-link-ish"' not in html.text
    assert "script-src 'self'" in html.headers["content-security-policy"]
    assert api.get("/").text.count("data-key=") == 50


def test_key_twin_versions_and_choosing_one(api: TestClient) -> None:
    run = _run(api, "reports")
    task = _task(api, run["id"], "render")
    ids = [
        _artifact(
            api, key="report", type="markdown", data=f"v{n}", flow_run_id=run["id"],
            task_run_id=task["id"],
        )["id"]
        for n in (1, 2, 3)
    ]  # fmt: skip
    page = _ok(api.get("/api/ui/artifacts/key/report"))
    assert page["latest_id"] == ids[2]
    assert page["selected"]["artifact"]["data"] == "v3"
    assert (page["selected"]["version"], page["selected"]["versions"]) == (3, 3)
    assert [(v["id"], v["number"]) for v in page["versions"]] == [
        (ids[2], 3),
        (ids[1], 2),
        (ids[0], 1),
    ]
    assert page["versions"][0]["flow_run"]["name"] == run["name"]
    assert page["versions"][0]["task_run_name"] == "render-0"

    old = _ok(api.get("/api/ui/artifacts/key/report", params={"version": ids[0]}))
    assert old["selected"]["artifact"]["data"] == "v1" and old["selected"]["version"] == 1
    html = api.get("/artifacts/key/report", params={"version": ids[0]}).text
    assert "Version 1 of 3" in html and "older version" in html

    other = _artifact(api, key="other", type="markdown", data="x")
    assert (
        api.get("/api/ui/artifacts/key/report", params={"version": other["id"]}).status_code == 404
    )
    assert api.get("/api/ui/artifacts/key/nope").json() == {"detail": "Artifact not found."}
    missing = api.get("/artifacts/key/nope")
    assert missing.status_code == 404 and "no artifact with the key" in missing.text


def test_artifact_twin_and_csv(api: TestClient) -> None:
    table = _artifact(
        api, key="t", type="table", data='[{"a": 1, "b": "=SUM(A1)"}, {"a": Infinity, "b": null}]'
    )
    page = _ok(api.get(f"/api/ui/artifacts/{table['id']}"))
    assert page["artifact"]["kind"] == "table" and page["artifact"]["latest_id"] == table["id"]
    assert page["live_url"] is None

    csv = api.get(f"/artifacts/{table['id']}/table.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"] == 'attachment; filename="t.csv"'
    assert csv.text.splitlines() == ["a,b", "1,'=SUM(A1)", "Infinity,"]

    md = _artifact(api, type="markdown", data="# x")
    assert api.get(f"/artifacts/{md['id']}/table.csv").status_code == 404
    assert api.get(f"/api/ui/artifacts/{uuid.uuid4()}").status_code == 404
    assert api.get("/artifacts/not-a-uuid").status_code == 404


def test_runs_and_run_twins(api: TestClient) -> None:
    run = _run(api, "etl")
    done = _run(api, "etl", state="COMPLETED")
    extract = _task(api, run["id"], "extract", "COMPLETED")
    _task(api, run["id"], "load")
    progress = _artifact(
        api, type="progress", data=30.0, flow_run_id=run["id"], task_run_id=extract["id"]
    )
    _artifact(api, key="summary", type="markdown", data="# ok", flow_run_id=run["id"])
    log = {"level": 20, "message": "hello", "timestamp": "2026-01-01T00:00:00Z"}
    _ok(api.post("/api/logs/", json=[{**log, "name": "x", "flow_run_id": run["id"]}]))

    runs = _ok(api.get("/api/ui/runs"))
    assert [r["id"] for r in runs["items"]] == [done["id"], run["id"]]
    mine = runs["items"][1]
    assert (mine["task_run_count"], mine["artifact_count"], mine["flow_name"]) == (2, 2, "etl")
    assert runs["live_url"] == f"/api/ui/live?runs={run['id']}"
    completed = _ok(api.get("/api/ui/runs", params={"state": "completed"}))
    assert [r["id"] for r in completed["items"]] == [done["id"]] and completed["live_url"] is None

    page = _ok(api.get(f"/api/ui/runs/{run['id']}"))
    assert page["finished"] is False
    bars = page["graph"]["bars"]
    assert [b["name"] for b in bars] == ["extract-0", "load-0"]
    assert bars[0]["progress"] == 30.0 and bars[0]["progress_label"] == "30%"
    assert bars[0]["progress_artifact_id"] == progress["id"]
    assert all(0 <= b["left"] <= 100 and 0 < b["width"] <= 100 for b in bars)
    assert page["graph"]["ticks"][0] == {"left": 0.0, "label": "0s"}
    assert [a["kind"] for a in page["artifacts"]] == ["progress", "markdown"]
    assert [log["message"] for log in page["logs"]] == ["hello"]
    assert page["live_url"].startswith(f"/api/ui/live?runs={run['id']}&graph={run['id']}")

    assert api.get(f"/runs/{run['id']}").status_code == 200
    assert api.get(f"/api/ui/runs/{uuid.uuid4()}").json() == {"detail": "Flow run not found."}
    assert api.get(f"/runs/{uuid.uuid4()}").status_code == 404


def test_live_endpoint(api: TestClient) -> None:
    run = _run(api)
    task = _task(api, run["id"], "work")
    progress = _artifact(
        api, type="progress", data=10.0, flow_run_id=run["id"], task_run_id=task["id"]
    )
    loose = _artifact(api, type="progress", data=99.0)
    url = f"/api/ui/live?runs={run['id']}&graph={run['id']}&progress={progress['id']},{loose['id']}"

    live = _ok(api.get(url))
    assert live["finished"] is False
    assert live["runs"][run["id"]]["state_type"] == "RUNNING"
    assert live["progress"][progress["id"]] == {"value": 10.0, "label": "10%"}
    assert live["graph"]["bars"][0]["progress"] == 10.0

    _ok(api.patch(f"/api/artifacts/{progress['id']}", json={"data": 80.0}))
    _ok(api.post(f"/api/flow_runs/{run['id']}/set_state", json={"state": {"type": "COMPLETED"}}))
    live = _ok(api.get(url))
    assert live["progress"][progress["id"]]["label"] == "80%"
    assert live["runs"][run["id"]]["finished"] is True
    assert live["finished"] is False  # the progress artifact outside any run is at 99%
    _ok(api.patch(f"/api/artifacts/{loose['id']}", json={"data": 100.0}))
    assert _ok(api.get(url))["finished"] is True

    assert _ok(api.get("/api/ui/live")) == {
        "finished": True,
        "runs": {},
        "graph": None,
        "progress": {},
    }
    bad = api.get("/api/ui/live", params={"runs": "nope"})
    assert bad.status_code == 422


def test_unknown_ui_paths_are_html_and_api_paths_stay_json(api: TestClient) -> None:
    page = api.get("/no/such/page")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "Not found" in page.text
    assert api.get("/api/no/such/route").json() == {"detail": "Not Found"}
    assert api.get("/api/artifacts/filter").status_code == 405  # the API's own answers stay
    assert api.get("/static/runfolio.css").headers["content-type"].startswith("text/css")


def test_table_cells_are_escaped_in_html(api: TestClient) -> None:
    rows = [{"cell": "<img src=x onerror=alert(1)>", "n": 1}]
    created = _artifact(api, key="esc", type="table", data=json.dumps(rows))
    html = api.get(f"/artifacts/{created['id']}").text
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "\\u003cimg src=x" in html  # the JSON for table.js is escaped for <script> too


def test_every_page_links_its_json_twin(api: TestClient) -> None:
    run = _run(api)
    created = _artifact(api, key="twin", type="markdown", data="# x", flow_run_id=run["id"])
    pages = [
        "/",
        "/artifacts?q=tw&sort=KEY_ASC",
        "/artifacts/key/twin",
        f"/artifacts/key/twin?version={created['id']}",
        f"/artifacts/{created['id']}",
        "/runs?state=RUNNING",
        f"/runs/{run['id']}",
    ]
    for path in pages:
        html = api.get(path).text
        match = re.search(r'<a href="([^"]+)" id="json-twin">', html)
        assert match, path
        twin = match.group(1).replace("&amp;", "&")
        assert twin.startswith("/api/ui/"), twin
        assert api.get(twin).status_code == 200, twin
    assert 'href="/api/ui/artifacts?q=tw&amp;sort=KEY_ASC"' in api.get(pages[1]).text


def test_run_links_logged_by_other_clients_redirect_to_the_run_page(api: TestClient) -> None:
    run = _run(api)
    r = api.get(f"/runs/flow-run/{run['id']}", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"].endswith(f"/runs/{run['id']}")
    assert api.get(f"/runs/flow-run/{run['id']}").status_code == 200


# The filter is a regular expression in SQL: REGEXP (Python's `re`) on SQLite, `~` on
# PostgreSQL; both must pick exactly the links `parse_link` sees.
def test_link_filter_counts_exactly_the_links_it_lists(api: TestClient) -> None:
    shapes = {
        "link-plain": "[Go](https://x.example)",
        "link-padded": " \n[Padded](https://x.example/p)\t",
        "link-parens": "[wiki](https://w.org/Foo_(bar))",
        "link-quoted": '[say "hi"](https://x.example/q?a="b")',
        "link-escapes": "[back\\slash](https://x.example/\\)",
        "not-two-links": "[a](b) and [c](d)",
        "not-adjacent-links": "[a](b)[c](d)",
        "not-heading": "# [a](b)",
        "not-newline-in-url": "[a](b\nc)",
        "not-a-link": "plain",
    }
    for key, data in shapes.items():
        _artifact(api, key=key, type="markdown", data=data)
    _artifact(api, key="not-a-table", type="table", data="[[1]]")

    page = _ok(api.get("/api/ui/artifacts", params={"type": "link"}))
    keys = {i["key"] for i in page["items"]}
    assert keys == {k for k, data in shapes.items() if render.parse_link(data)}
    assert keys == {k for k in shapes if k.startswith("link-")}
    assert page["paging"]["total"] == len(page["items"]) == 5
    assert {i["kind"] for i in page["items"]} == {"link"}
    html = api.get("/artifacts", params={"type": "link"}).text
    assert "5</span> keys match" in html and html.count("data-key=") == 5


def test_pages_name_their_json_twin_in_a_link_header(api: TestClient) -> None:
    run = _run(api)
    created = _artifact(api, key="k", type="markdown", data="x", flow_run_id=run["id"])
    for path, twin in [
        ("/", "/api/ui/artifacts"),
        ("/artifacts?q=k&type=link", "/api/ui/artifacts?q=k&type=link"),
        ("/artifacts/key/k", "/api/ui/artifacts/key/k"),
        (f"/artifacts/{created['id']}", f"/api/ui/artifacts/{created['id']}"),
        (f"/runs/{run['id']}?apage=1", f"/api/ui/runs/{run['id']}?apage=1"),
    ]:
        r = api.get(path)
        assert r.headers["link"] == f'<{twin}>; rel="alternate"; type="application/json"', path
    odd = api.get("/artifacts", params={"q": "<é>"}).headers["link"]
    assert odd.startswith("</api/ui/artifacts?q=%3C%C3%A9%3E>")


def test_one_not_found_answer_json_under_api_and_the_page_elsewhere(api: TestClient) -> None:
    missing = uuid.uuid4()
    for path, detail, message in [
        (f"/artifacts/{missing}", "Artifact not found.", f"no artifact with the id {missing}"),
        ("/artifacts/key/nope?version=not-an-id", "Artifact not found.", "has no version"),
        (f"/runs/{missing}", "Flow run not found.", f"no flow run with the id {missing}"),
        ("/no/such/page", "Not Found", "nothing at this address"),
    ]:
        page = api.get(path)
        assert page.status_code == 404 and "text/html" in page.headers["content-type"], path
        assert message in page.text, path
        twin = api.get("/api/ui" + path)
        assert twin.status_code == 404 and twin.json() == {"detail": detail}, path
    assert api.get(f"/api/artifacts/{missing}").json() == {"detail": "Artifact not found."}


def test_the_run_page_names_the_worker_of_each_task(api: TestClient) -> None:
    run = _run(api, "etl")
    plain = _run(api, "etl")
    for i, worker in enumerate(["worker-a", "worker-b", None]):
        labels = {"dask.worker": worker} if worker else {}
        body = {"flow_run_id": run["id"], "task_key": f"t{i}", "labels": labels}
        _ok(api.post("/api/task_runs/", json=body))
    _task(api, plain["id"], "t")

    page = _ok(api.get(f"/api/ui/runs/{run['id']}"))
    assert [t["labels"].get("dask.worker") for t in page["task_runs"]] == [
        "worker-a",
        "worker-b",
        None,
    ]
    html = api.get(f"/runs/{run['id']}").text
    assert '<th scope="col">Worker</th>' in html
    assert ">worker-a</td>" in html and ">worker-b</td>" in html
    # Runs whose tasks ran in threads of the flow's process have no worker column.
    assert '<th scope="col">Worker</th>' not in api.get(f"/runs/{plain['id']}").text
