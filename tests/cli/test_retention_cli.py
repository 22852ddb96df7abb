"""`runfolio retention set | ls | rm` and `runfolio gc` on the store itself (SQLite and
PostgreSQL): policies round-trip, bad input changes nothing, a dry run lists and keeps,
a pass deletes and reports, --vacuum shrinks the SQLite file."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from runfolio.client import RunfolioClient
from runfolio.schemas.artifacts import ArtifactCreate
from runfolio.schemas.common import utcnow
from runfolio.settings import Settings
from runfolio.store.blobfiles import BlobFiles
from runfolio.store.engine import connect, read, write
from runfolio.store.retention import list_policies
from runfolio.store.tables import DEFAULT_WORKSPACE_ID, artifacts, blobs
from tests.cli.helpers import Invoke, assert_failed
from tests.retention_data import add_many, add_versions, version_count


@pytest.fixture
def engine(settings: Settings, cli: Invoke) -> Iterator[Engine]:
    assert cli("retention", "ls").exit_code == 0  # creates and migrates the store
    made = connect(settings.resolved_database_url())
    yield made
    made.dispose()


def _policies(engine: Engine) -> list[tuple[str, int | None, float | None]]:
    with read(engine) as conn:
        found = list_policies(conn, DEFAULT_WORKSPACE_ID)
    return [(p.key_pattern, p.keep_last, p.keep_days) for p in found]


def test_policies_are_set_listed_and_removed(cli: Invoke, engine: Engine) -> None:
    assert "No retention policies" in cli("retention", "ls").output
    done = cli("retention", "set", "*", "--keep-last", "100")
    assert done.exit_code == 0, done.output
    assert "Set the policy of '*'" in done.output
    done = cli("retention", "set", "nightly-*", "--keep-last", "3", "--keep-days", "7.5")
    assert done.exit_code == 0, done.output
    changed = cli("retention", "set", "*", "--keep-days", "30")
    assert "Changed the policy of '*'" in changed.output
    assert _policies(engine) == [("nightly-*", 3, 7.5), ("*", None, 30.0)]
    listed = cli("retention", "ls", "-o", "json")
    assert [p["key_pattern"] for p in json.loads(listed.output)] == ["nightly-*", "*"]
    table = cli("retention", "ls").output
    assert "nightly-*" in table and "7.5" in table
    assert cli("retention", "rm", "*").exit_code == 0
    assert _policies(engine) == [("nightly-*", 3, 7.5)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x"], "give --keep-last N, --keep-days D or both"),
        (["x", "--keep-last", "0"], "--keep-last: Input should be greater than or equal to 1"),
        (["x", "--keep-days", "0"], "--keep-days: Input should be greater than 0"),
        (["x", "--keep-days", "-2"], "--keep-days: Input should be greater than 0"),
        (["x", "--keep-days", "nan"], "--keep-days"),
        (["Reports/*", "--keep-last", "1"], "PATTERN: 1 to 200 lowercase letters"),
        (["a" * 201, "--keep-last", "1"], "PATTERN: 1 to 200 lowercase letters"),
        (["x", "--keep-last", "1", "--workspace", "acme/nope"], "no workspace acme/nope"),
        (["x", "--keep-last", "1", "--workspace", "Not A Path"], "is not ACCOUNT/NAME"),
    ],
)
def test_bad_policies_change_nothing(
    cli: Invoke, engine: Engine, args: list[str], message: str
) -> None:
    assert cli("retention", "set", "*", "--keep-last", "5").exit_code == 0
    result = cli("retention", "set", *args)
    assert_failed(result)
    assert message in result.output
    assert _policies(engine) == [("*", 5, None)]


def test_removing_an_unknown_pattern_fails(cli: Invoke, engine: Engine) -> None:
    result = cli("retention", "rm", "nope-*")
    assert_failed(result)
    assert "No retention policy for the key pattern 'nope-*'" in result.output


def test_gc_dry_run_lists_and_changes_nothing(cli: Invoke, engine: Engine) -> None:
    now = utcnow()
    ids = add_versions(engine, "report", [dt.timedelta(days=n) for n in range(6)], now=now)
    add_versions(engine, "other", [dt.timedelta(days=n) for n in range(3)], now=now)
    assert cli("retention", "set", "report", "--keep-last", "2").exit_code == 0
    result = cli("gc", "--dry-run", "-o", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["dry_run"] is True and report["versions_deleted"] == 4
    (key,) = report["keys"]
    assert (key["key"], key["policy"], key["versions"], key["deleted"]) == (
        "report",
        "report",
        6,
        4,
    )
    assert [v["id"] for v in key["deleted_versions"]] == [str(i) for i in ids[:4]]
    table = cli("gc", "--dry-run").output
    assert "v1–v4" in table and "would be deleted" in table
    assert version_count(engine) == 9


def test_gc_deletes_reports_and_vacuums(cli: Invoke, engine: Engine, settings: Settings) -> None:
    add_many(engine, keys=3, versions=600, now=utcnow(), prefix="fat")
    assert cli("retention", "set", "fat-*", "--keep-last", "10").exit_code == 0
    result = cli("gc", "--vacuum", "-o", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["versions_deleted"] == 3 * 590 and report["keys_touched"] == 3
    assert report["blobs_deleted"] == 0
    assert version_count(engine) == 30
    if settings.database_url is None:  # the SQLite file
        assert report["bytes_after"] < report["bytes_before"] / 2, report
    else:
        assert "bytes_after" not in report
    again = cli("gc")
    assert again.exit_code == 0 and "Nothing to delete" in again.output


def test_gc_dry_run_and_vacuum_together_are_refused(cli: Invoke, engine: Engine) -> None:
    result = cli("gc", "--dry-run", "--vacuum")
    assert_failed(result)
    assert "--dry-run changes nothing" in result.output


def test_gc_deletes_the_blobs_only_deleted_versions_referred_to(
    cli: Invoke, engine: Engine, settings: Settings, store: RunfolioClient
) -> None:
    """A blob referred to by an old version only goes with it (once past its grace
    time); one the kept version refers to stays."""
    doomed = store.upload_blob(io.BytesIO(b"old bytes " * 100), "text/plain", "old.txt")
    kept = store.upload_blob(io.BytesIO(b"new bytes"), "text/plain", "new.txt")
    now = utcnow()
    add_versions(engine, "with-files", [dt.timedelta(days=2)], now=now)
    with write(engine) as conn:
        # The old version names the old blob; the latest names the kept one.
        conn.execute(
            artifacts.update()
            .where(artifacts.c.key == "with-files")
            .values(data=f"runfolio-blob:{doomed.sha256}")
        )
        hour_ago = now - dt.timedelta(hours=2)
        conn.execute(blobs.update().values(created=hour_ago))
    store.create_artifact(
        ArtifactCreate(key="with-files", type="markdown", data=f"runfolio-blob:{kept.sha256}")
    )
    files = BlobFiles(settings.resolved_blob_dir(), settings.blob_max_bytes)
    old = time.time() - 7200
    for sha in (doomed.sha256, kept.sha256):
        os.utime(files.path_of(sha), (old, old))
    assert cli("retention", "set", "with-files", "--keep-last", "1").exit_code == 0
    result = cli("gc", "-o", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["versions_deleted"] == 1
    assert report["blobs_deleted"] == 1 and report["blob_bytes_freed"] == 1000
    assert not files.path_of(doomed.sha256).exists()
    assert files.path_of(kept.sha256).exists()
