"""`runfolio artifact diff` and `runfolio artifact export`: output, files, exit codes and
bad input, on the local store (both databases) and once against a real server."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest

from runfolio.client import RunfolioClient, client_for
from runfolio.settings import Settings
from tests.cli.helpers import Invoke, add, assert_failed, make_invoke
from tests.servers import ServerProcess, running_server

BEFORE = [
    {"name": "alpha", "score": 1},
    {"name": "beta", "score": 2},
    {"name": "gamma", "score": 3},
]
AFTER = [
    {"name": "gamma", "score": 3},
    {"name": "beta", "score": 20},
    {"name": "delta", "score": 4},
]


def _scores(store: RunfolioClient) -> list[str]:
    return [
        str(add(store, "scores", type="table", data=json.dumps(rows)).id)
        for rows in (BEFORE, AFTER, AFTER)
    ]


def test_diff_defaults_numbers_ids_and_json(cli: Invoke, store: RunfolioClient) -> None:
    ids = _scores(store)
    latest = cli("artifact", "diff", "scores", "-o", "json")
    assert latest.exit_code == 0, latest.output
    body = json.loads(latest.stdout)
    assert (body["from"]["number"], body["to"]["number"]) == (2, 3)
    assert body["diff"]["identical"] is True

    by_number = json.loads(
        cli("artifact", "diff", "scores", "--from", "1", "--to", "2", "-o", "json").stdout
    )
    by_id = json.loads(
        cli("artifact", "diff", "scores", "--from", ids[0], "--to", ids[1], "-o", "json").stdout
    )
    assert by_number["diff"] == by_id["diff"]
    assert by_id["from"]["number"] == 1
    counts = by_number["diff"]["table"]["counts"]
    assert counts == {"added": 1, "removed": 1, "changed": 1, "unchanged": 1}

    shown = cli("artifact", "diff", "scores", "--from", "1", "--to", "2")
    assert shown.exit_code == 0, shown.output
    assert "scores: v1 → v2" in shown.stdout and "1 added, 1 removed, 1 changed" in shown.stdout
    assert "2 → 20" in shown.stdout and "delta" in shown.stdout and "alpha" in shown.stdout


def test_diff_markdown_and_bad_input(cli: Invoke, store: RunfolioClient) -> None:
    add(store, "notes", data="# Notes\nthe old line\nkept")
    add(store, "notes", data="# Notes\nthe new line\nkept")
    shown = cli("artifact", "diff", "notes")
    assert shown.exit_code == 0, shown.output
    assert "- the old line" in shown.stdout and "+ the new line" in shown.stdout

    for args, message in [
        (("nope",), "Artifact 'nope' not found."),
        (("notes", "--to", "3"), "has no version 3"),
        (("notes", "--from", "0"), "has no version 0"),
        (("notes", "--from", "abc"), "neither a version number nor an id"),
        (("notes", "--key-column", "x"), "only tables are matched on a key column"),
    ]:
        result = cli("artifact", "diff", *args)
        assert_failed(result)
        assert message in result.stderr, (args, result.stderr)
    other = add(store, "elsewhere")
    wrong_key = cli("artifact", "diff", "notes", "--from", str(other.id))
    assert_failed(wrong_key)
    assert "is not a version of 'notes'" in wrong_key.stderr


def test_diff_unknown_key_column(cli: Invoke, store: RunfolioClient) -> None:
    _scores(store)
    result = cli("artifact", "diff", "scores", "--key-column", "nope")
    assert_failed(result)
    assert "no column 'nope'" in result.stderr


def test_export_formats_and_files(
    cli: Invoke, store: RunfolioClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _scores(store)
    monkeypatch.chdir(tmp_path)
    default = cli("artifact", "export", "scores")
    assert default.exit_code == 0, default.output
    rows = list(csv.DictReader(io.StringIO((tmp_path / "scores.csv").read_text(), newline="")))
    assert rows == [{k: str(v) for k, v in row.items()} for row in AFTER]  # CSV back = the table

    as_json = cli("artifact", "export", "--id", ids[0], "--format", "json", "-o", "-")
    assert as_json.exit_code == 0 and json.loads(as_json.stdout) == BEFORE

    (tmp_path / "out").mkdir()
    archive = cli("artifact", "export", "scores", "--format", "zip", "-o", "out")
    assert archive.exit_code == 0, archive.output
    with zipfile.ZipFile(tmp_path / "out" / "scores-history.zip") as z:
        manifest = json.loads(z.read("manifest.json"))
        assert [v["id"] for v in manifest["versions"]] == ids
        assert all(v["file"] in z.namelist() for v in manifest["versions"])

    add(store, "readme", data="# Read me\n")
    cli("artifact", "export", "readme", "-o", "r.md")
    assert (tmp_path / "r.md").read_text() == "# Read me\n"
    for args, message in [
        (("readme", "--format", "csv"), "downloads as md, json"),
        (("readme", "--format", "pdf"), "Invalid value for --format"),
        (("--id", ids[0], "--format", "zip"), "give a KEY"),
        (("nope",), "Artifact 'nope' not found."),
        (("nope", "--format", "zip"), "Artifact 'nope' not found."),
        (("--id", "not-a-uuid"), "not a UUID"),
        ((), "either a key or an artifact id"),
        (("readme", "-o", str(tmp_path / "missing" / "x.md")), "Cannot write"),
    ]:
        result = cli("artifact", "export", *args)
        assert_failed(result)
        assert message in result.stderr, (args, result.stderr)
    assert not list(tmp_path.glob("*.part")) and not (tmp_path / "nope-history.zip").exists()


@pytest.mark.server
def test_diff_and_export_against_a_server(tmp_path: Path) -> None:
    # Once, on SQLite: the transport is what differs here, not the database.
    with running_server(tmp_path / "server-home") as server:
        _against(server, tmp_path)


def _against(server: ServerProcess, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "unused", database_url=None, api_url=server.api_url)
    remote = client_for(settings)
    cli = make_invoke(settings)
    try:
        add(remote, "progress-key", type="progress", data=40.0)
        add(remote, "progress-key", type="progress", data=62.5)
        shown = cli("artifact", "diff", "progress-key")
        assert shown.exit_code == 0, shown.output
        assert "40 → 62.5 (+22.5)" in shown.stdout
        out = tmp_path / "p.zip"
        assert cli("artifact", "export", "progress-key", "-f", "zip", "-o", str(out)).exit_code == 0
        with zipfile.ZipFile(out) as z:
            data = [
                json.loads(z.read(v["file"]))["data"]
                for v in json.loads(z.read("manifest.json"))["versions"]
            ]
        assert data == [40, 62.5]
    finally:
        remote.close()
