"""The deliveries outbox in the store: queued with the write, claimed once per lease,
pruned when old; nothing queued by a write that fails."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from runfolio import ops
from runfolio.errors import Invalid
from runfolio.ops import Caller, Context
from runfolio.ops import webhooks as webhook_ops
from runfolio.schemas.artifacts import ArtifactCreate
from runfolio.schemas.common import utcnow
from runfolio.schemas.webhooks import WebhookCreate
from runfolio.store import webhooks
from runfolio.store.engine import connect, read, write
from runfolio.store.tables import DEFAULT_WORKSPACE_ID, webhook_deliveries

URL = "https://example.com/h"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = connect(f"sqlite:///{tmp_path / 'runfolio.db'}")
    yield made
    made.dispose()


def _count(engine: Engine) -> int:
    with read(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(webhook_deliveries)).scalar_one())


def test_claims_are_exclusive_until_the_lease_ends(engine: Engine) -> None:
    ctx = Context(engine)
    webhook_ops.create_webhook(ctx, WebhookCreate(name="h", url="https://example.com/h"))
    ops.create_artifact(ctx, ArtifactCreate(type="markdown", data="x"))
    now = utcnow()
    lease = dt.timedelta(seconds=30)
    with write(engine) as conn:
        (first,) = webhooks.claim(conn, now, lease, 10)
    with write(engine) as conn:
        assert webhooks.claim(conn, now, lease, 10) == []  # another worker gets nothing
    with write(engine) as conn:
        (again,) = webhooks.claim(conn, now + lease, lease, 10)  # the claimer died
    assert again.id == first.id and again.url == "https://example.com/h"
    with write(engine) as conn:
        webhooks.record_outcome(
            conn, first.id, status="delivered", attempts=1, next_attempt=None,
            status_code=204, error=None,
        )  # fmt: skip
        assert webhooks.claim(conn, now + 2 * lease, lease, 10) == []


def test_prune_drops_old_finished_deliveries_only(engine: Engine) -> None:
    ctx = Context(engine)
    webhook_ops.create_webhook(ctx, WebhookCreate(name="h", url="https://example.com/h"))
    for n in range(3):
        ops.create_artifact(ctx, ArtifactCreate(type="markdown", data=str(n)))
    with write(engine) as conn:
        claimed = webhooks.claim(conn, utcnow(), dt.timedelta(seconds=30), 2)
        for row in claimed:
            webhooks.record_outcome(
                conn, row.id, status="failed", attempts=3, next_attempt=None,
                status_code=500, error="HTTP 500",
            )  # fmt: skip
    with write(engine) as conn:
        assert webhooks.prune(conn, utcnow() - dt.timedelta(days=1)) == 0
        assert webhooks.prune(conn, utcnow() + dt.timedelta(seconds=1)) == 2
    assert _count(engine) == 1  # the pending one stays


def test_a_refused_write_queues_nothing(engine: Engine) -> None:
    ctx = Context(engine, strict_artifact_data=True)
    webhook_ops.create_webhook(ctx, WebhookCreate(name="h", url="https://example.com/h"))
    with pytest.raises(Invalid):
        ops.create_artifact(ctx, ArtifactCreate(type="progress", data=250))
    assert _count(engine) == 0


def test_no_webhooks_is_remembered_for_a_second_at_most(engine: Engine) -> None:
    ctx = Context(engine)
    ops.create_artifact(ctx, ArtifactCreate(type="markdown", data="none yet"))
    # Made by another process (not through this one's operations): seen within a second.
    with write(engine) as conn:
        webhooks.create(conn, DEFAULT_WORKSPACE_ID, WebhookCreate(name="h", url=URL), None)
    ops.create_artifact(ctx, ArtifactCreate(type="markdown", data="too soon"))
    time.sleep(webhooks.NO_WEBHOOKS_SECONDS + 0.05)
    ops.create_artifact(ctx, ArtifactCreate(type="markdown", data="seen"))
    assert _count(engine) == 1
    # Made through this process's operations: seen at once.
    other = Context(engine, Caller(account="default", workspace="default"))
    webhook_ops.create_webhook(other, WebhookCreate(name="h2", url=URL))
    ops.create_artifact(ctx, ArtifactCreate(type="markdown", data="both"))
    assert _count(engine) == 3
