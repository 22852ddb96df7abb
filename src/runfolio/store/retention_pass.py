"""One retention pass: delete the versions that fall outside their key's policy.

A version is deleted when no rule of its key's policy keeps it: not among the last
`keep_last` versions (when set), and not younger than `keep_days` days (when set).
A key's latest version (its collection row's `latest_id`) is never deleted, so the
collection rows need no repair and stay correct throughout.

Work is planned with reads (in WAL mode they wait for no writer) and done in small
write transactions of at most `batch_size` versions, with a pause between them, so a
pass over 100,000 versions never holds the write lock long enough to stall the API.
The pass is idempotent: run twice, or by two server workers at once, it deletes
each version once and the second finds nothing left to do.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, ScalarSelect, func, select, tuple_

from runfolio.schemas.common import utcnow
from runfolio.store import changes as change_feed
from runfolio.store.artifacts import lock_key
from runfolio.store.blobfiles import BlobFiles
from runfolio.store.blobs import delete_unreferenced
from runfolio.store.engine import read, write
from runfolio.store.retention import PolicyMatcher, list_policies
from runfolio.store.tables import (
    artifact_collections,
    artifact_row_appends,
    artifacts,
    retention_policies,
    workspaces,
)

#: Versions deleted by the pass's first write transaction; later ones are sized to hold
#: the lock about TARGET_HOLD seconds (bench/retention_pass.py). Deleting a whole key
#: (`ops.deletes`) uses it as is.
BATCH_SIZE = 500
#: How long one write transaction of the pass should hold the write lock: the longest a
#: writer of the API waits for it. A loaded machine deletes fewer versions in that time,
#: so the batches shrink rather than the waits grow.
TARGET_HOLD = 0.025
MIN_BATCH = 50
MAX_BATCH = 5000
#: Least seconds between two write transactions, for other writers to take the lock.
PAUSE = 0.01


@dataclass(frozen=True, slots=True)
class KeyPlan:
    """What the pass deletes of one key: versions older than both cutoffs, not the latest."""

    workspace_id: uuid.UUID
    workspace: str
    key: str
    pattern: str
    versions: int
    # Delete only versions (created, id) before this one: the oldest of the last keep_last.
    before_rank: tuple[dt.datetime, uuid.UUID] | None
    # Delete only versions created before this (now - keep_days).
    before_time: dt.datetime | None


@dataclass(slots=True)
class KeyOutcome:
    workspace: str
    key: str
    pattern: str
    versions: int
    deleted: int = 0
    # The versions deleted (a dry run: that would be), oldest first: (id, created).
    listed: list[tuple[uuid.UUID, dt.datetime]] = field(default_factory=list)


@dataclass(slots=True)
class PassReport:
    dry_run: bool
    keys: list[KeyOutcome] = field(default_factory=list)
    blobs_deleted: int | None = None  # None: no blob clean-up was run
    blob_bytes_freed: int | None = None
    seconds: float = 0.0
    # The longest a write transaction of the pass held the lock, seconds; how many ran.
    longest_batch: float = 0.0
    transactions: int = 0

    @property
    def versions_deleted(self) -> int:
        return sum(outcome.deleted for outcome in self.keys)

    @property
    def keys_touched(self) -> int:
        return sum(1 for outcome in self.keys if outcome.deleted)


def _workspaces_with_policies(conn: Connection) -> list[tuple[uuid.UUID, str]]:
    having = select(retention_policies.c.workspace_id).distinct().subquery()
    rows = conn.execute(
        select(workspaces.c.id, workspaces.c.account, workspaces.c.name)
        .where(workspaces.c.id.in_(select(having.c.workspace_id)))
        .order_by(workspaces.c.account, workspaces.c.name)
    )
    return [(row.id, f"{row.account}/{row.name}") for row in rows]


def _nth_newest(
    conn: Connection, workspace_id: uuid.UUID, key: str, n: int
) -> tuple[dt.datetime, uuid.UUID] | None:
    row = conn.execute(
        select(artifacts.c.created, artifacts.c.id)
        .where(artifacts.c.workspace_id == workspace_id, artifacts.c.key == key)
        .order_by(artifacts.c.created.desc(), artifacts.c.id.desc())
        .offset(n - 1)
        .limit(1)
    ).first()
    return None if row is None else (row.created, row.id)


def plan_workspace(
    conn: Connection, workspace_id: uuid.UUID, workspace: str, now: dt.datetime
) -> list[KeyPlan]:
    """The keys of the workspace that have versions to delete, and their cutoffs.

    One grouped read finds every key with more than one version; only those a policy
    could trim (more versions than keep_last, a version older than keep_days) cost a
    query of their own.
    """
    matcher = PolicyMatcher(list_policies(conn, workspace_id))
    if not matcher:
        return []
    counted = conn.execute(
        select(artifacts.c.key, func.count(), func.min(artifacts.c.created))
        .where(artifacts.c.workspace_id == workspace_id, artifacts.c.key.is_not(None))
        .group_by(artifacts.c.key)
        .having(func.count() > 1)
        .order_by(artifacts.c.key)
    ).all()
    plans = []
    for key, versions, oldest in counted:
        policy = matcher.policy_for(key)
        if policy is None:
            continue
        if policy.keep_last is not None and versions <= policy.keep_last:
            continue
        before_time = None
        if policy.keep_days is not None:
            before_time = now - dt.timedelta(days=policy.keep_days)
            if oldest >= before_time:
                continue
        before_rank = None
        if policy.keep_last is not None:
            before_rank = _nth_newest(conn, workspace_id, key, policy.keep_last)
            if before_rank is None:  # trimmed since the count
                continue
        plans.append(
            KeyPlan(
                workspace_id, workspace, key, policy.key_pattern, versions, before_rank, before_time
            )
        )
    return plans


def _latest_of(workspace_id: uuid.UUID, key: str) -> ScalarSelect[Any]:
    # Always part of the same statement, so "never the latest" holds at that instant.
    return (
        select(artifact_collections.c.latest_id)
        .where(
            artifact_collections.c.workspace_id == workspace_id,
            artifact_collections.c.key == key,
        )
        .scalar_subquery()
    )


def _doomed(plan: KeyPlan) -> list[ColumnElement[bool]]:
    """What makes a version of the planned key go: outside both rules, not the latest."""
    rank = tuple_(artifacts.c.created, artifacts.c.id)
    where = [
        artifacts.c.workspace_id == plan.workspace_id,
        artifacts.c.key == plan.key,
        artifacts.c.id != _latest_of(plan.workspace_id, plan.key),
    ]
    if plan.before_rank is not None:
        where.append(rank < tuple_(*plan.before_rank))
    if plan.before_time is not None:
        where.append(artifacts.c.created < plan.before_time)
    return where


def _listed(
    conn: Connection, plan: KeyPlan, after: tuple[dt.datetime, uuid.UUID] | None, limit: int
) -> list[tuple[uuid.UUID, dt.datetime]]:
    """Up to `limit` versions the key would lose, oldest first, after `after`."""
    stmt = select(artifacts.c.id, artifacts.c.created).where(*_doomed(plan))
    if after is not None:
        stmt = stmt.where(tuple_(artifacts.c.created, artifacts.c.id) > tuple_(*after))
    stmt = stmt.order_by(artifacts.c.created, artifacts.c.id).limit(limit)
    return [(row.id, row.created) for row in conn.execute(stmt)]


def delete_batch(conn: Connection, plan: KeyPlan, batch_size: int = BATCH_SIZE) -> int:
    """Delete the oldest `batch_size` versions the key loses (with their appended table
    rows); returns how many went (fewer than `batch_size`: the key is done).

    The batch is a range of the (key, created, id) index, bounded by its last version:
    no ids travel to Python and back, which keeps the write transaction short.
    """
    # Hold the key's row (PostgreSQL runs writers side by side): a delete of its latest
    # that repoints the collection must not pick a version going here.
    lock_key(conn, plan.workspace_id, plan.key)
    where = _doomed(plan)
    rank = tuple_(artifacts.c.created, artifacts.c.id)
    bound = conn.execute(
        select(artifacts.c.created, artifacts.c.id)
        .where(*where)
        .order_by(artifacts.c.created, artifacts.c.id)
        .offset(batch_size - 1)
        .limit(1)
    ).first()
    if bound is not None:
        where.append(rank <= tuple_(bound.created, bound.id))
    change_feed.record_deleted_artifacts(conn, where)  # open pages of these versions listen
    appended = artifact_row_appends
    conn.execute(
        appended.delete().where(
            appended.c.workspace_id == plan.workspace_id,
            appended.c.artifact_id.in_(select(artifacts.c.id).where(*where)),
        )
    )
    return int(conn.execute(artifacts.delete().where(*where)).rowcount)


def _run_dry(engine: Engine, report: PassReport, now: dt.datetime, batch_size: int) -> None:
    for plan, outcome in _planned(engine, report, now):
        after = None
        while True:
            with read(engine) as conn:
                found = _listed(conn, plan, after, batch_size)
            outcome.listed.extend(found)
            outcome.deleted += len(found)
            if len(found) < batch_size:
                break
            after = (found[-1][1], found[-1][0])


def _planned(
    engine: Engine, report: PassReport, now: dt.datetime
) -> Iterator[tuple[KeyPlan, KeyOutcome]]:
    """Every workspace's planned keys, each with its outcome (added to `report`)."""
    with read(engine) as conn:
        spaces = _workspaces_with_policies(conn)
    for workspace_id, path in spaces:
        with read(engine) as conn:
            plans = plan_workspace(conn, workspace_id, path, now)
        for plan in plans:
            outcome = KeyOutcome(path, plan.key, plan.pattern, plan.versions)
            report.keys.append(outcome)
            yield plan, outcome


def _next_batch(batch: int, went: int, took: float) -> int:
    """The size that would have held the lock about TARGET_HOLD (at most double the last).

    A key's short last batch that was quick says nothing about a full one: kept as is.
    """
    if went < batch and took <= TARGET_HOLD:
        return batch
    wanted = int(max(went, 1) * TARGET_HOLD / max(took, 1e-4))
    return max(MIN_BATCH, min(MAX_BATCH, 2 * batch, wanted))


def run_pass(
    engine: Engine,
    *,
    dry_run: bool = False,
    now: dt.datetime | None = None,
    batch_size: int = BATCH_SIZE,
    pause: float = PAUSE,
    stopping: Callable[[], bool] = lambda: False,
    blob_files: BlobFiles | None = None,
) -> PassReport:
    """Apply every workspace's policies (a dry run: only list what would go), then
    delete the uploaded blobs no version refers to any more (given the blob store).

    `stopping()` is asked between batches: a server shutting down ends the pass early
    (what was deleted stays deleted; the next pass does the rest).
    """
    started = time.perf_counter()
    report = PassReport(dry_run=dry_run)
    if dry_run:
        _run_dry(engine, report, now or utcnow(), batch_size)
    else:
        batch = batch_size
        for plan, outcome in _planned(engine, report, now or utcnow()):
            if stopping():
                break
            while not stopping():
                with write(engine) as conn:
                    held = time.perf_counter()  # from when the lock is ours, to the commit
                    went = delete_batch(conn, plan, batch)
                took = time.perf_counter() - held
                report.longest_batch = max(report.longest_batch, took)
                report.transactions += 1
                outcome.deleted += went
                # Let the API's writers in between two batches: at least as long as the
                # batch held the lock, so the pass takes at most half of the writing time.
                time.sleep(max(pause, took))
                done, batch = went < batch, _next_batch(batch, went, took)
                if done:
                    break
        if blob_files is not None and not stopping():
            with write(engine) as conn:
                report.blobs_deleted, report.blob_bytes_freed = delete_unreferenced(
                    conn, blob_files
                )
    report.keys = [outcome for outcome in report.keys if outcome.deleted]
    report.seconds = time.perf_counter() - started
    return report
