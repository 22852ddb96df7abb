"""Artifacts whose data does not fit their type, or nests too deep to decode, on every page
and twin (in-process app on a real SQLite file; rows stored as they are, unchecked)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy.exc import DataError, OperationalError

from tests.pg import on_both_databases
from tests.ui.seed import store_as_is

# The pages' data functions run the same SQL on both databases.
pytestmark = on_both_databases

# Any JSON is stored for any type, as the protocol's server does.
MISFITS: list[tuple[str, Any]] = [
    ("table", 1),
    ("markdown", 2),
    ("progress", "x"),
    ("image", {"a": 1, "html": "<img src=x onerror=alert(1)>"}),
]
LISTED = ("markdown", "progress", "image")  # the types whose data the Artifacts list reads
DEEP = "[" * 1000 + "1" + "]" * 1000
DEEP_NOTICE = "This data nests deeper than 200 levels; shown as stored text."


def _ok(response: Any) -> Any:
    assert response.is_success, (response.request.url, response.text[:500])
    return response.json() if "json" in response.headers["content-type"] else response.text


def _run(api: TestClient) -> tuple[str, str]:
    flow_id = _ok(api.post("/api/flows/", json={"name": "odd-data"}))["id"]
    run_id = _ok(api.post("/api/flow_runs/", json={"flow_id": flow_id}))["id"]
    task = api.post("/api/task_runs/", json={"flow_run_id": run_id, "task_key": "t"}).json()
    return run_id, task["id"]


def _notice(type_: str) -> str:
    return f"This data does not fit the type '{type_}'; shown as stored."


def _formatted(data: Any) -> str:
    """How a page shows data as stored: escaped, formatted JSON in a <pre>."""
    return f'<pre class="json" data-renderer="json">{escape(json.dumps(data, indent=2))}</pre>'


def test_data_that_does_not_fit_its_type_is_shown_as_stored(api: TestClient) -> None:
    engine = api.app.state.engine  # type: ignore[attr-defined]
    run_id, _ = _run(api)
    ids = {
        type_: store_as_is(
            engine,
            type=type_,
            data_text=json.dumps(data),
            key=f"misfit-{type_}",
            flow_run_id=run_id,
        )
        for type_, data in MISFITS
    }

    for type_, data in MISFITS:
        for path in (f"/artifacts/{ids[type_]}", f"/artifacts/key/misfit-{type_}"):
            html = _ok(api.get(path))
            assert str(escape(_notice(type_))) in html, path
            assert _formatted(data) in html, path
            assert "<img src=x" not in html
        page = _ok(api.get(f"/api/ui/artifacts/{ids[type_]}"))["artifact"]
        assert (page["kind"], page["notice"]) == ("json", _notice(type_))
        assert page["artifact"]["data"] == data  # the twin returns the data as stored
        key_page = _ok(api.get(f"/api/ui/artifacts/key/misfit-{type_}"))["selected"]
        assert key_page["artifact"]["data"] == data and key_page["notice"] == _notice(type_)

    run_html = _ok(api.get(f"/runs/{run_id}"))
    run_page = _ok(api.get(f"/api/ui/runs/{run_id}"))
    for type_, data in MISFITS:
        assert str(escape(_notice(type_))) in run_html and _formatted(data) in run_html
    assert [(a["kind"], a["artifact"]["data"]) for a in run_page["artifacts"]] == [
        ("json", data) for _, data in MISFITS
    ]

    listing_html = _ok(api.get("/artifacts", params={"q": "misfit"}))
    rows = {r["key"]: r for r in _ok(api.get("/api/ui/artifacts", params={"q": "misfit"}))["items"]}
    assert len(rows) == len(MISFITS)
    for type_, data in MISFITS:
        if type_ in LISTED:
            assert str(escape(_notice(type_))) in listing_html
            row = rows[f"misfit-{type_}"]
            assert (row["kind"], row["notice"], row["data"]) == ("json", _notice(type_), data)
    # The list never reads a table's data (it may be megabytes), so it cannot judge it there.
    assert rows["misfit-table"]["data"] is None
    assert "<img src=x" not in listing_html


def test_the_csv_of_a_table_that_is_no_table_is_not_found(api: TestClient) -> None:
    engine = api.app.state.engine  # type: ignore[attr-defined]
    artifact_id = store_as_is(engine, type="table", data_text="1")
    r = api.get(f"/artifacts/{artifact_id}/table.csv")
    assert r.status_code == 404 and "not a table" in r.text


def test_data_nested_too_deep_to_decode_breaks_no_page(api: TestClient) -> None:
    engine = api.app.state.engine  # type: ignore[attr-defined]
    run_id, task_id = _run(api)
    types = ["markdown", "table", "progress", "image", "custom"]
    ids = {
        type_: store_as_is(
            engine,
            type=type_,
            data_text=DEEP,
            key=f"deep-{type_}",
            flow_run_id=run_id,
            task_run_id=task_id,
        )
        for type_ in types
    }
    keyless = store_as_is(engine, type="markdown", data_text=DEEP, flow_run_id=run_id)
    stored_text = f'<pre class="json" data-renderer="stored">{DEEP}</pre>'

    pages = ["/", "/artifacts?q=deep", "/artifacts?type=link", "/runs", f"/runs/{run_id}"]
    pages += [f"/artifacts/key/deep-{t}" for t in types]
    pages += [f"/artifacts/{i}" for i in [*ids.values(), keyless]]
    for path in pages:
        _ok(api.get(path))
        _ok(api.get(f"/api/ui{path if path != '/' else '/artifacts'}"))

    for type_ in types:
        html = _ok(api.get(f"/artifacts/key/deep-{type_}"))
        assert DEEP_NOTICE in html and stored_text in html
        view = _ok(api.get(f"/api/ui/artifacts/{ids[type_]}"))["artifact"]
        assert (view["kind"], view["notice"]) == ("json", DEEP_NOTICE)
        assert (view["artifact"]["data"], view["data_text"]) == (None, DEEP)

    run_html = _ok(api.get(f"/runs/{run_id}"))
    assert run_html.count(stored_text) == len(types) + 1
    run_page = _ok(api.get(f"/api/ui/runs/{run_id}"))
    assert {a["data_text"] for a in run_page["artifacts"]} == {DEEP}
    assert run_page["graph"]["bars"][0]["progress"] is None  # not a number it can draw

    rows = _ok(api.get("/api/ui/artifacts", params={"q": "deep"}))["items"]
    for row in rows:
        listed = row["type"] in LISTED
        assert row["data_text"] == (DEEP if listed else None), row["key"]
        assert row["notice"] == (DEEP_NOTICE if listed else None), row["key"]
    assert _ok(api.get("/artifacts", params={"q": "deep"})).count(DEEP_NOTICE) == len(LISTED)

    live = _ok(api.get(f"/api/ui/live?runs={run_id}&graph={run_id}&progress={ids['progress']}"))
    assert live["progress"][ids["progress"]] == {"value": None, "label": "–"}
    assert api.get(f"/artifacts/{ids['table']}/table.csv").status_code == 404


@pytest.mark.parametrize(
    ("data_text", "notice"),
    [
        ("<script>alert(1)</script>", "This data is not valid JSON; shown as stored text."),
        ("[" * 300_000 + "]" * 300_000, "This data nests deeper than 200 levels and is too long"),
    ],
)
def test_undecodable_data_is_escaped_text_or_only_a_notice(
    api: TestClient, data_text: str, notice: str
) -> None:
    engine = api.app.state.engine  # type: ignore[attr-defined]
    if engine.dialect.name == "postgresql":
        # Its json column refuses text that is not JSON (or nests past its stack): such
        # data can only be in a SQLite file.
        with pytest.raises((DataError, OperationalError)):
            store_as_is(engine, type="markdown", data_text=data_text, key="odd")
        return
    artifact_id = store_as_is(engine, type="markdown", data_text=data_text, key="odd")
    html = _ok(api.get(f"/artifacts/{artifact_id}"))
    assert notice in html and "<script>alert" not in html
    view = _ok(api.get(f"/api/ui/artifacts/{artifact_id}"))["artifact"]
    assert view["notice"].startswith(notice)
    assert view["data_text"] == (data_text if len(data_text) < 1000 else None)


def test_data_as_deep_as_the_limit_is_served_as_json(api: TestClient) -> None:
    engine = api.app.state.engine  # type: ignore[attr-defined]
    run_id, _ = _run(api)
    data: Any = "bottom"
    for _ in range(200):
        data = [data]
    store_as_is(engine, type=None, data_text=json.dumps(data), key="deep-ok", flow_run_id=run_id)

    for path in ("/artifacts/key/deep-ok", f"/runs/{run_id}"):
        assert _ok(api.get(path)).count("bottom") == 1
    run_page = _ok(api.get(f"/api/ui/runs/{run_id}"))
    assert run_page["artifacts"][0]["artifact"]["data"] == data
    assert run_page["artifacts"][0]["notice"] is None
