"""Downloads in each type's natural format, and a key's history as a zip."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
import zipfile
from typing import Any

import pytest

from runfolio.errors import Invalid
from runfolio.history.export import Numbered, download, formats_for, history_zip
from runfolio.history.values import as_table, cell_text
from runfolio.schemas.artifacts import Artifact

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _artifact(type_: str | None, data: Any, key: str | None = "report/α v1") -> Artifact:
    return Artifact(id=uuid.uuid4(), created=NOW, updated=NOW, key=key, type=type_, data=data)


def _text(a: Artifact, fmt: str | None = None) -> tuple[str, str]:
    d = download(a, fmt)
    return d.filename, "".join(d.chunks)


def test_table_csv_round_trip_and_json() -> None:
    rows = [
        {"n": i, "text": f'"quoted", é, line\nbreak {i}', "x": None, "f": i / 3}
        for i in range(3000)
    ]
    table = _artifact("table", json.dumps(rows))
    filename, text = _text(table)
    assert filename == "report___v1.csv"
    back = list(csv.reader(io.StringIO(text, newline="")))
    original = as_table(table.data)
    assert original is not None
    assert back[0] == original.columns
    assert back[1:] == [[cell_text(v) for v in row] for row in original.rows]
    filename, text = _text(table, "json")
    assert filename.endswith(".json") and json.loads(text) == rows


def test_csv_neutralises_formulas() -> None:
    _, text = _text(_artifact("table", [["=HYPERLINK(1)", "-3", "@x", "+1", "ok"]]))
    assert list(csv.reader(io.StringIO(text)))[1] == ["'=HYPERLINK(1)", "-3", "'@x", "+1", "ok"]


def test_natural_formats() -> None:
    assert _text(_artifact("markdown", "# Hi\n"))[1] == "# Hi\n"
    link = json.loads(_text(_artifact("markdown", "[docs](https://x.org/d)"))[1])
    assert (link["url"], link["link_text"]) == ("https://x.org/d", "docs")
    image = json.loads(_text(_artifact("image", "https://x.org/i.png"))[1])
    assert image["url"] == "https://x.org/i.png"
    assert json.loads(_text(_artifact("progress", 42.5))[1])["data"] == 42.5
    assert json.loads(_text(_artifact("chart", {"a": [1]}, key=None))[1])["data"] == {"a": [1]}
    assert formats_for(_artifact("progress", 1)) == ("json",)


def test_bad_format_is_refused() -> None:
    with pytest.raises(Invalid) as caught:
        download(_artifact("markdown", "x"), "csv")
    assert caught.value.errors[0]["loc"] == ["format"]
    with pytest.raises(Invalid):
        download(_artifact("table", [[1]]), "zip")


def test_history_zip_lists_every_version() -> None:
    versions = [
        Numbered(1, _artifact("markdown", "# one")),
        Numbered(2, _artifact("table", json.dumps([{"a": 1}] * 50_000))),
        Numbered(3, _artifact("progress", 10.0)),
    ]
    chunks = list(history_zip("report", iter(versions)))
    assert len(chunks) > 3  # produced as it goes, not in one piece
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["key"] == "report"
    assert [v["version"] for v in manifest["versions"]] == [1, 2, 3]
    assert [v["id"] for v in manifest["versions"]] == [str(v.artifact.id) for v in versions]
    for entry in manifest["versions"]:
        assert entry["file"] in archive.namelist()
    assert archive.read(manifest["versions"][0]["file"]) == b"# one"
    assert archive.getinfo(manifest["versions"][0]["file"]).date_time[0] == 2026  # its created
    assert archive.read(manifest["versions"][1]["file"]).count(b"\n") == 50_001


def test_table_json_keeps_lists_and_names_columns() -> None:
    lists = _artifact("table", json.dumps([["a", 1], ["b", None]]))
    assert json.loads(_text(lists, "json")[1]) == [["a", 1], ["b", None]]
    columns = _artifact("table", {"x": [1, 2], "y": ["p", "q"]})
    assert json.loads(_text(columns, "json")[1]) == [{"x": 1, "y": "p"}, {"x": 2, "y": "q"}]
