"""A key's history over HTTP (the app in-process on a real SQLite file): the compare
page and its JSON twin, the trends chart, downloads and the history zip, and bad input."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import httpx
from fastapi.testclient import TestClient

from runfolio.history.values import as_table, cell_text
from tests.pg import on_both_databases


def _post(api: TestClient, key: str, type_: str, data: Any, **more: Any) -> str:
    r = api.post("/api/artifacts/", json={"key": key, "type": type_, "data": data, **more})
    assert r.status_code == 201, r.text[:300]
    artifact_id: str = r.json()["id"]
    return artifact_id


def _loc(response: httpx.Response) -> list[str]:
    """Where a 422 says the fault is."""
    loc: list[str] = response.json()["exception_detail"][0]["loc"]
    return loc


def _metrics(api: TestClient, key: str) -> list[str]:
    rows = [
        [{"model": "a", "acc": 0.5, "loss": 1.5}],
        [{"model": "a", "acc": 0.6}],  # no loss: a gap in that series
        [{"model": "a", "acc": 0.8, "loss": 0.7}],
    ]
    return [_post(api, key, "table", json.dumps(r)) for r in rows]


def test_compare_defaults_to_latest_against_previous(api: TestClient) -> None:
    _post(api, "cmp-table", "table", json.dumps([{"id": 1, "v": "x"}, {"id": 2, "v": "y"}]))
    _post(api, "cmp-table", "table", json.dumps([{"id": 2, "v": "Y"}, {"id": 3, "v": "z"}]))
    twin = api.get("/api/ui/artifacts/key/cmp-table/compare")
    assert twin.status_code == 200, twin.text
    body = twin.json()
    assert (body["before"]["number"], body["after"]["number"]) == (1, 2)
    counts = body["diff"]["table"]["counts"]
    assert counts == {"added": 1, "removed": 1, "changed": 1, "unchanged": 0}
    page = api.get("/artifacts/key/cmp-table/compare")
    assert page.status_code == 200
    assert 'class="row-changed"' in page.text and "<del>y</del> <ins>Y</ins>" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


# Its SQL (version numbers, trend reads, appended rows) runs on both databases.
@on_both_databases
def test_compare_by_number_or_id_and_bad_input(api: TestClient) -> None:
    texts = ("# A\nold word", "# A\nnew word", "x")
    ids = [_post(api, "cmp-md", "markdown", text) for text in texts]
    by_number = api.get("/api/ui/artifacts/key/cmp-md/compare?from=1&to=2").json()
    by_id = api.get(f"/api/ui/artifacts/key/cmp-md/compare?from={ids[0]}&to={ids[1]}").json()
    assert by_number["diff"] == by_id["diff"]
    line = by_number["diff"]["text"]["lines"][1]
    assert line["op"] == "changed" and line["after"][0] == {"text": "new", "changed": True}
    page = api.get("/artifacts/key/cmp-md/compare?from=1&to=2")
    assert '<mark class="word-added">new</mark>' in page.text

    bad = api.get("/api/ui/artifacts/key/cmp-md/compare?from=abc")
    assert bad.status_code == 422
    assert _loc(bad) == ["query", "from"]
    assert api.get("/api/ui/artifacts/key/cmp-md/compare?to=9").status_code == 404
    assert api.get("/api/ui/artifacts/key/cmp-md/compare?to=" + "9" * 40).status_code == 404
    assert api.get("/api/ui/artifacts/key/cmp-md/compare?from=²").status_code == 422
    assert api.get("/artifacts/key/cmp-md/compare?to=9").status_code == 404
    assert api.get("/api/ui/artifacts/key/no-such-key/compare").status_code == 404
    column = api.get("/api/ui/artifacts/key/cmp-md/compare?key_column=id")
    assert column.status_code == 422 and _loc(column) == ["query", "key_column"]
    other = _post(api, "cmp-other", "markdown", "elsewhere")
    assert api.get(f"/api/ui/artifacts/key/cmp-md/compare?from={other}").status_code == 404


# Its SQL (version numbers, trend reads, appended rows) runs on both databases.
@on_both_databases
def test_key_page_shows_trends_chart_with_gaps(api: TestClient) -> None:
    ids = _metrics(api, "metrics-key")
    twin = api.get("/api/ui/artifacts/key/metrics-key/trends").json()
    series = {s["name"]: s for s in twin["series"]}
    assert [p["value"] for p in series["acc"]["points"]] == [0.5, 0.6, 0.8]
    assert [p["number"] for p in series["loss"]["points"]] == [1, 3]
    panels = {p["name"]: p for p in twin["chart"]["panels"]}
    assert panels["loss"]["segments"] == []  # v1 and v3 are not joined across the gap
    assert len(panels["acc"]["segments"]) == 1
    page = api.get("/artifacts/key/metrics-key").text
    assert 'id="trends"' in page and "<svg" in page and "<title>acc · v2: 0.6" in page
    assert f'href="/artifacts/key/metrics-key?version={ids[0]}"' in page
    assert api.get("/api/ui/artifacts/key/metrics-key").json()["trends"]["panels"]
    assert f"/artifacts/{ids[2]}/download?format=json" in page  # the other format


def test_downloads(api: TestClient) -> None:
    rows = [{"n": i, "name": f"r{i}, é", "f": "=1+1" if i == 3 else i / 7} for i in range(500)]
    table_id = _post(api, "dl-table", "table", json.dumps(rows))
    r = api.get(f"/artifacts/{table_id}/download")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="dl-table.csv"'
    back = list(csv.reader(io.StringIO(r.text, newline="")))
    table = as_table(json.dumps(rows))
    assert table is not None
    expected = [[cell_text(v) for v in row] for row in table.rows]
    expected[3][2] = "'=1+1"  # a formula is neutralised
    assert back == [table.columns, *expected]
    as_json = api.get(f"/artifacts/{table_id}/download?format=json")
    assert as_json.json() == rows
    md = _post(api, "dl-md", "markdown", "# Title\n")
    assert api.get(f"/artifacts/{md}/download").text == "# Title\n"
    bad = api.get(f"/artifacts/{md}/download?format=csv")
    assert bad.status_code == 422 and _loc(bad) == ["query", "format"]
    link = _post(api, "dl-link", "markdown", "[docs](https://example.com/d)")
    assert api.get(f"/artifacts/{link}/download").json()["url"] == "https://example.com/d"
    missing = "/artifacts/0190c5e2-7b1c-7d3e-8f00-5a1b2c3d4e5f/download"
    assert api.get(missing).status_code == 404


# Its SQL (version numbers, trend reads, appended rows) runs on both databases.
@on_both_databases
def test_history_zip(api: TestClient) -> None:
    ids = [
        _post(api, "zipped", "markdown", "# one"),
        _post(api, "zipped", "progress", 50.0),
        _post(api, "zipped", "table", json.dumps([{"a": 1}])),
    ]
    r = api.get("/artifacts/key/zipped/history.zip")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert r.headers["content-disposition"] == 'attachment; filename="zipped-history.zip"'
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    manifest = json.loads(archive.read("manifest.json"))
    assert [v["id"] for v in manifest["versions"]] == ids
    assert archive.read(manifest["versions"][0]["file"]) == b"# one"
    assert json.loads(archive.read(manifest["versions"][1]["file"]))["data"] == 50
    assert archive.read(manifest["versions"][2]["file"]).decode() == "a\r\n1\r\n"
    assert api.get("/artifacts/key/not-a-key/history.zip").status_code == 404


# Its SQL (version numbers, trend reads, appended rows) runs on both databases.
@on_both_databases
def test_trends_and_compare_read_rows_appended_in_place(api: TestClient) -> None:
    first = _post(api, "grown", "table", json.dumps([{"epoch": 1, "acc": 0.1}]))
    second = _post(api, "grown", "table", json.dumps([{"epoch": 1, "acc": 0.2}]))
    r = api.post(f"/api/artifacts/{second}/rows", json={"rows": [{"epoch": 2, "acc": 0.9}]})
    assert r.status_code == 200, r.text
    series = {s["name"]: s for s in api.get("/api/ui/artifacts/key/grown/trends").json()["series"]}
    assert [p["value"] for p in series["acc"]["points"]] == [0.1, 0.9]  # v2's last row
    diff = api.get(f"/api/ui/artifacts/key/grown/compare?from={first}").json()["diff"]
    assert diff["table"]["counts"] == {"added": 1, "removed": 0, "changed": 1, "unchanged": 0}
    assert diff["table"]["added"] == [["2", "0.9"]]  # the appended row


def test_other_types_compare_as_json_without_failing(api: TestClient) -> None:
    spec = {"mark": "bar", "data": {"values": [{"x": 1}]}}
    _post(api, "chart-key", "chart", spec)
    _post(api, "chart-key", "chart", {**spec, "mark": "line"})
    twin = api.get("/api/ui/artifacts/key/chart-key/compare").json()
    assert twin["diff"]["kind"] == "json"
    assert twin["diff"]["structure"]["changes"][0]["path"] == "$.mark"
    assert api.get("/artifacts/key/chart-key/compare").status_code == 200
    _post(api, "html-key", "html", "<p>one</p>")
    _post(api, "html-key", "html", "<p>two</p>")
    assert api.get("/api/ui/artifacts/key/html-key/compare").json()["diff"]["kind"] == "text"
    page = api.get("/artifacts/key/html-key/compare")
    assert page.status_code == 200 and "<p>two</p>" not in page.text  # never inlined raw


def test_compared_data_is_escaped(api: TestClient) -> None:
    evil = "<script>alert(1)</script>"
    _post(api, "xss-table", "table", json.dumps([{"k": "a", "v": "safe"}]))
    _post(api, "xss-table", "table", json.dumps([{"k": "a", "v": evil}, {evil: 1}]))
    page = api.get("/artifacts/key/xss-table/compare").text
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    _post(api, "xss-md", "markdown", "# Title")
    _post(api, "xss-md", "markdown", '# Title\n<img src=x onerror="alert(1)"> ' + evil)
    page = api.get("/artifacts/key/xss-md/compare").text
    assert "onerror=" not in page.replace("onerror=&#34;", "").replace("onerror=&quot;", "")
    assert evil not in page


def test_each_kind_renders_and_a_single_version_compares_with_itself(api: TestClient) -> None:
    _post(api, "cmp-progress", "progress", 40.0)
    _post(api, "cmp-progress", "progress", 62.5)
    page = api.get("/artifacts/key/cmp-progress/compare").text
    assert 'class="value-after">62.5<' in page and ">+22.5<" in page
    _post(api, "cmp-link", "markdown", "[old](https://example.com/old)")
    _post(api, "cmp-link", "markdown", "[new](https://example.com/new)")
    page = api.get("/artifacts/key/cmp-link/compare").text
    assert "<code>https://example.com/old</code>" in page
    assert 'href="https://example.com/new"' in page
    _post(api, "cmp-image", "image", "https://example.com/a.png")
    _post(api, "cmp-image", "image", "javascript:alert(1)")
    page = api.get("/artifacts/key/cmp-image/compare").text
    assert 'src="https://example.com/a.png"' in page and 'src="javascript:' not in page
    _post(api, "cmp-single", "markdown", "# only")
    twin = api.get("/api/ui/artifacts/key/cmp-single/compare").json()
    assert twin["diff"]["identical"] and twin["before"]["number"] == twin["after"]["number"] == 1
    assert "These versions do not differ." in api.get("/artifacts/key/cmp-single/compare").text
    key_page = api.get("/artifacts/key/cmp-single").text
    assert 'id="compare-form"' not in key_page and 'id="download-history"' in key_page
