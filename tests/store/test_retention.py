"""Retention policies and the pass that applies them (on SQLite and PostgreSQL; the
100,000-version store and the vacuum on the SQLite file)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, select

from runfolio.errors import NotFound
from runfolio.schemas.common import utcnow
from runfolio.schemas.retention import RetentionPolicySet, most_specific_first
from runfolio.settings import Settings
from runfolio.store import artifacts as artifact_store
from runfolio.store import retention
from runfolio.store.engine import connect, read, write
from runfolio.store.retention_pass import (
    MAX_BATCH,
    MIN_BATCH,
    TARGET_HOLD,
    _next_batch,
    run_pass,
)
from runfolio.store.space import file_bytes, sqlite_file, vacuum
from runfolio.store.tables import DEFAULT_WORKSPACE_ID, artifact_collections, artifacts
from tests.retention_data import add_many, add_versions, version_count

WS = DEFAULT_WORKSPACE_ID
DAY = dt.timedelta(days=1)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    made = connect(settings.resolved_database_url())
    yield made
    made.dispose()


def _policy(engine: Engine, pattern: str, keep_last: int | None, keep_days: float | None) -> None:
    action = RetentionPolicySet(key_pattern=pattern, keep_last=keep_last, keep_days=keep_days)
    with write(engine) as conn:
        retention.set_policy(conn, WS, action)


def _remaining(engine: Engine, key: str) -> list[uuid.UUID]:
    with read(engine) as conn:
        rows = conn.execute(
            select(artifacts.c.id)
            .where(artifacts.c.workspace_id == WS, artifacts.c.key == key)
            .order_by(artifacts.c.created, artifacts.c.id)
        )
        return [row.id for row in rows]


def _latest_id(engine: Engine, key: str) -> uuid.UUID:
    with read(engine) as conn:
        return artifact_store.read_collection(conn, WS, key).latest_id


def _latest_ids(engine: Engine) -> dict[str, uuid.UUID]:
    with read(engine) as conn:
        table = artifact_collections
        return {
            row.key: row.latest_id for row in conn.execute(select(table.c.key, table.c.latest_id))
        }


def test_keep_last_keeps_the_newest_versions(engine: Engine) -> None:
    now = utcnow()
    ids = add_versions(engine, "daily", [n * DAY for n in range(8)], now=now)
    _policy(engine, "daily", keep_last=3, keep_days=None)
    report = run_pass(engine, now=now)
    assert _remaining(engine, "daily") == ids[-3:]
    assert report.versions_deleted == 5 and report.keys_touched == 1
    assert report.keys[0].listed == []  # listed in dry runs only
    assert _latest_id(engine, "daily") == ids[-1]
    # A second pass finds nothing more to do.
    assert run_pass(engine, now=now).versions_deleted == 0


def test_a_version_is_kept_when_either_rule_keeps_it(engine: Engine) -> None:
    now = utcnow()
    ages = [0.1, 0.2, 0.3, 2.5, 4, 5]
    ids = add_versions(engine, "both", [a * DAY for a in ages], now=now)
    # Oldest first: 5, 4, 2.5, 0.3, 0.2, 0.1 days old.
    _policy(engine, "both", keep_last=2, keep_days=3)
    run_pass(engine, now=now)
    # The last two by count, and 0.3 and 2.5 days by age: only 4 and 5 days old go.
    assert _remaining(engine, "both") == ids[2:]
    _policy(engine, "both", keep_last=5, keep_days=0.25)
    run_pass(engine, now=now)
    assert _remaining(engine, "both") == ids[2:]  # five kept by count
    _policy(engine, "both", keep_last=1, keep_days=0.25)
    run_pass(engine, now=now)
    assert _remaining(engine, "both") == ids[-2:]  # 0.1 by both, 0.2 by age


def test_the_latest_version_is_never_deleted(engine: Engine) -> None:
    now = utcnow()
    # Every version is far older than keep_days, the latest too.
    ids = add_versions(engine, "stale", [(30 + n) * DAY for n in range(5)], now=now)
    _policy(engine, "*", keep_last=None, keep_days=1)
    run_pass(engine, now=now)
    assert _remaining(engine, "stale") == [ids[-1]]
    assert _latest_id(engine, "stale") == ids[-1]
    # A key's only version is kept too.
    single = add_versions(engine, "single", [90 * DAY], now=now)
    run_pass(engine, now=now)
    assert _remaining(engine, "single") == single


def test_the_most_specific_pattern_wins(engine: Engine) -> None:
    now = utcnow()
    keys = ["report-daily", "report-weekly", "other", "report-doily"]
    made = {key: add_versions(engine, key, [n * DAY for n in range(10)], now=now) for key in keys}
    _policy(engine, "*", keep_last=1, keep_days=None)
    _policy(engine, "report-*", keep_last=3, keep_days=None)
    _policy(engine, "report-d?ily", keep_last=4, keep_days=None)
    _policy(engine, "report-daily", keep_last=5, keep_days=None)
    run_pass(engine, now=now)
    kept = {key: len(_remaining(engine, key)) for key in keys}
    assert kept == {"report-daily": 5, "report-weekly": 3, "other": 1, "report-doily": 4}
    for key, ids in made.items():
        assert _latest_id(engine, key) == ids[-1]
    assert most_specific_first(["*", "report-*", "*-daily", "report-d?ily", "report-daily"]) == [
        "report-daily",
        "report-d?ily",
        "report-*",
        "*-daily",
        "*",
    ]


def test_keys_without_a_matching_policy_are_untouched(engine: Engine) -> None:
    now = utcnow()
    add_versions(engine, "keep-all", [n * DAY for n in range(5)], now=now)
    add_versions(engine, "trim-me", [n * DAY for n in range(5)], now=now)
    _policy(engine, "trim-*", keep_last=1, keep_days=None)
    run_pass(engine, now=now)
    assert len(_remaining(engine, "keep-all")) == 5
    assert len(_remaining(engine, "trim-me")) == 1


def test_a_dry_run_lists_and_changes_nothing(engine: Engine) -> None:
    now = utcnow()
    ids = add_versions(engine, "dry", [n * DAY for n in range(6)], now=now)
    _policy(engine, "dry", keep_last=2, keep_days=None)
    report = run_pass(engine, now=now, dry_run=True, batch_size=2)  # several batches
    assert report.dry_run and report.versions_deleted == 4
    outcome = report.keys[0]
    assert (outcome.key, outcome.pattern, outcome.versions) == ("dry", "dry", 6)
    assert [version_id for version_id, _ in outcome.listed] == ids[:4]  # oldest first
    assert _remaining(engine, "dry") == ids


def test_policies_are_set_listed_and_removed(engine: Engine) -> None:
    _policy(engine, "*", keep_last=10, keep_days=None)
    _policy(engine, "nightly-*", keep_last=None, keep_days=7.5)
    _policy(engine, "*", keep_last=20, keep_days=30)  # replaces
    with read(engine) as conn:
        found = retention.list_policies(conn, WS)
    assert [(p.key_pattern, p.keep_last, p.keep_days) for p in found] == [
        ("nightly-*", None, 7.5),
        ("*", 20, 30.0),
    ]
    with write(engine) as conn:
        retention.remove_policy(conn, WS, "*")
    with write(engine) as conn, pytest.raises(NotFound):
        retention.remove_policy(conn, WS, "*")
    with read(engine) as conn:
        assert [p.key_pattern for p in retention.list_policies(conn, WS)] == ["nightly-*"]


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"key_pattern": "x"}, "keep_last, keep_days or both"),
        ({"key_pattern": "x", "keep_last": 0}, "keep_last"),
        ({"key_pattern": "x", "keep_last": True}, "keep_last"),
        ({"key_pattern": "x", "keep_days": 0}, "keep_days"),
        ({"key_pattern": "x", "keep_days": -1}, "keep_days"),
        ({"key_pattern": "x", "keep_days": float("nan")}, "keep_days"),
        ({"key_pattern": "X*", "keep_last": 1}, "key_pattern"),
        ({"key_pattern": "a/b", "keep_last": 1}, "key_pattern"),
        ({"key_pattern": "", "keep_last": 1}, "key_pattern"),
        ({"key_pattern": "a" * 201, "keep_last": 1}, "key_pattern"),
        ({"key_pattern": "x", "keep_last": 1, "keep_forever": True}, "keep_forever"),
    ],
)
def test_bad_policies_are_refused(fields: dict[str, object], where: str) -> None:
    with pytest.raises(ValidationError) as refused:
        RetentionPolicySet.model_validate(fields)
    assert where in str(refused.value)


def test_a_pass_over_100000_versions(tmp_path: Path) -> None:
    """100 keys of 1,000 versions; keep the last 10 of each: 99,000 versions go, in
    batches, and every key's collection row still names its newest version."""
    engine = connect(f"sqlite:///{tmp_path / 'big.db'}")
    try:
        now = utcnow()
        made = time.perf_counter()
        add_many(engine, keys=100, versions=1000, now=now)
        print(f"made 100,000 versions in {time.perf_counter() - made:.2f} s")
        assert version_count(engine) == 100_000
        latest_before = _latest_ids(engine)
        _policy(engine, "bulk-*", keep_last=10, keep_days=None)
        started = time.perf_counter()
        report = run_pass(engine, now=now, pause=0)
        elapsed = time.perf_counter() - started
        assert report.versions_deleted == 99_000 and report.keys_touched == 100
        assert version_count(engine) == 1000
        latest_after = _latest_ids(engine)
        with read(engine) as conn:
            newest: dict[str, tuple[dt.datetime, uuid.UUID]] = {}
            for row in conn.execute(select(artifacts.c.key, artifacts.c.created, artifacts.c.id)):
                newest[row.key] = max(
                    newest.get(row.key, (row.created, row.id)), (row.created, row.id)
                )
        assert latest_after == latest_before
        assert all(newest[key][1] == latest for key, latest in latest_after.items())
        print(
            f"pass over 100,000 versions: {elapsed:.2f} s, longest batch "
            f"{report.longest_batch * 1000:.0f} ms"
        )
    finally:
        engine.dispose()


def test_vacuum_shrinks_the_file(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'shrink.db'}")
    try:
        now = utcnow()
        add_many(engine, keys=5, versions=2000, now=now, prefix="fat")
        _policy(engine, "*", keep_last=1, keep_days=None)
        run_pass(engine, now=now, pause=0)
        path = sqlite_file(engine)
        assert path is not None
        before = file_bytes(path)
        done = vacuum(engine)
        assert done is not None
        assert done.bytes_before == before
        assert done.bytes_after < before / 2, (before, done.bytes_after)
        assert file_bytes(path) == done.bytes_after
        assert version_count(engine) == 5  # and the database still works
        add_versions(engine, "after-vacuum", [DAY], now=now)
        assert version_count(engine, "after-vacuum") == 1
    finally:
        engine.dispose()


def test_batches_are_sized_to_hold_the_lock_briefly() -> None:
    """A batch that held the lock 10x too long is cut to a tenth; a quick one grows, at
    most doubling; a key's short, quick last batch changes nothing; the bounds hold."""
    hold = TARGET_HOLD
    assert 99 <= _next_batch(1000, 1000, 10 * hold) <= 100
    assert _next_batch(1000, 1000, hold / 5) == 2000
    assert 1240 <= _next_batch(1000, 1000, hold * 0.8) <= 1250
    assert _next_batch(1000, 10, hold / 50) == 1000
    assert _next_batch(1000, 990, 0.99) == MIN_BATCH
    assert _next_batch(100, 100, 60.0) == MIN_BATCH
    assert _next_batch(MAX_BATCH, MAX_BATCH, 0.001) == MAX_BATCH
