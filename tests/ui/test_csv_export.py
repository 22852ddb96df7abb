"""The CSV download of a table artifact over HTTP (in-process app on a real SQLite file)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from fastapi.testclient import TestClient

from runfolio.server.ui import tables
from tests.pg import on_both_databases

# The pages' data functions run the same SQL on both databases.
pytestmark = on_both_databases

ROWS = 3_000


def _table(api: TestClient, data: Any, **body: Any) -> str:
    r = api.post("/api/artifacts/", json={"type": "table", "data": data, **body})
    assert r.status_code == 201, r.text
    artifact_id: str = r.json()["id"]
    return artifact_id


def _cells(i: int) -> dict[str, Any]:
    return {
        "n": i,
        "text": f'row {i}, with "quotes" and\na newline, é',
        "formula": "=SUM(A1:A9)" if i % 500 == 0 else "@cmd" if i % 500 == 1 else "-3",
        "maybe": None if i % 2 else "+1",
    }


def _parsed(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_large_table_exports_every_row_with_formulas_neutralised(api: TestClient) -> None:
    artifact_id = _table(api, json.dumps([_cells(i) for i in range(ROWS)]), key="big-table")

    r = api.get(f"/artifacts/{artifact_id}/table.csv")

    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="big-table.csv"'
    # The body spans several chunks, so rows cut at chunk edges would show here.
    assert len(r.text) > 2 * tables.CSV_CHUNK_CHARS
    rows = _parsed(r.text)
    assert rows[0] == ["n", "text", "formula", "maybe"]
    assert len(rows) == ROWS + 1
    for i, row in enumerate(rows[1:]):
        cells = _cells(i)
        formula = {"=SUM(A1:A9)": "'=SUM(A1:A9)", "@cmd": "'@cmd"}.get(cells["formula"], "-3")
        assert row == [str(i), cells["text"], formula, "" if i % 2 else "+1"], i


def test_small_and_keyless_tables(api: TestClient) -> None:
    artifact_id = _table(api, [["=1+1", "x"]])

    r = api.get(f"/artifacts/{artifact_id}/table.csv")

    assert r.headers["content-disposition"] == f'attachment; filename="{artifact_id}.csv"'
    assert _parsed(r.text) == [["1", "2"], ["'=1+1", "x"]]


def test_empty_table_is_its_header(api: TestClient) -> None:
    artifact_id = _table(api, {"a": [], "b": []})

    r = api.get(f"/artifacts/{artifact_id}/table.csv")

    assert r.status_code == 200 and _parsed(r.text) == [["a", "b"]]
