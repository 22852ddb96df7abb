"""PostgreSQL: artifact creates and updates as one statement on the event loop.

Creating artifacts and updating them in place (progress) are the most frequent writes,
and on PostgreSQL each is one statement (`store.artifacts.create_in_autocommit`,
`update_in_autocommit`). Run like every other write (a writer thread, a transaction on a
pooled connection), it also pays a thread hop and the BEGIN and COMMIT round trips:
together more of the server's CPU than the statement. Here it runs on the event loop
through an async psycopg connection in autocommit mode, from a small pool of its own: the
statement is its own transaction, and waiting for the database (a row lock of the key,
the network) never blocks the loop.

Only the plain case is taken here: a caller whose workspace needs no query, a workspace
seen to have no active webhook, a statement that wrote what it should. Anything else (an
id already taken, a run of another workspace, no such artifact, a table's data replaced,
data checked against its type, a database error or outage, no free connection soon)
wrote nothing, so the write goes the usual way (`ops.create_artifact`,
`ops.update_artifact` on a writer thread), which answers it as it always has.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from runfolio.ops.access import Role
from runfolio.ops.context import Context
from runfolio.schemas.artifacts import Artifact, ArtifactCreate, ArtifactUpdate
from runfolio.store import artifacts as store
from runfolio.store import webhooks
from runfolio.store.engine import CONNECT_TIMEOUT

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

APPLICATION_NAME = "runfolio quick writes"
#: How long a create waits for a free connection of this pool before going the usual way.
POOL_WAIT_S = 0.5

log = logging.getLogger(__name__)


def conninfo(engine: Engine) -> str:
    """The engine's database as a libpq URL (SQLAlchemy's driver name taken out)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresQuickWrites:
    """Artifact creates and updates on the event loop, for one server process (see the
    module)."""

    def __init__(self, engine: Engine, pool_size: int, write_timeout: float) -> None:
        self._engine = engine
        self._pool_size = pool_size
        self._write_timeout = write_timeout
        self._pool: AsyncConnectionPool[Any] | None = None

    async def open(self) -> None:
        """Start the pool (connections are made in the background: a database that is
        down does not hold up the server's start)."""
        from psycopg_pool import AsyncConnectionPool

        lock_timeout_ms = int(self._write_timeout * 1000)
        connect: dict[str, Any] = {
            "autocommit": True,
            # As the engine's connections: a lock held longer than the write timeout fails.
            "options": f"-c lock_timeout={lock_timeout_ms}",
            "application_name": APPLICATION_NAME,  # what operators see in pg_stat_activity
        }
        if "connect_timeout" not in self._engine.url.query:
            connect["connect_timeout"] = CONNECT_TIMEOUT
        self._pool = AsyncConnectionPool(
            conninfo(self._engine),
            min_size=1,
            max_size=self._pool_size,
            kwargs=connect,
            open=False,
            name="runfolio-creates",
        )
        await self._pool.open(wait=False)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def _workspace(self, ctx: Context) -> uuid.UUID | None:
        """The caller's workspace if a write there may be taken here."""
        workspace_id = ctx.workspace_without_query(Role.WRITE)
        if (
            self._pool is None
            or workspace_id is None
            or not webhooks.known_inactive(ctx.db, workspace_id)
        ):
            return None
        return workspace_id

    async def _run(self, write: Callable[[Any], Awaitable[bool]]) -> bool:
        """`write(connection)`; False if it wrote nothing, or failed (one statement:
        nothing was written then either) or found no free connection in time."""
        pool = self._pool
        if pool is None:
            return False
        from psycopg import Error
        from psycopg_pool import PoolTimeout

        try:
            async with pool.connection(timeout=POOL_WAIT_S) as aconn:
                return await write(aconn)
        except (Error, PoolTimeout) as exc:
            # The usual path answers (503 in an outage).
            log.debug("write on the event loop failed (%s): the usual path answers", exc)
            return False

    async def create(self, ctx: Context, action: ArtifactCreate) -> Artifact | None:
        """The created artifact, or None: nothing written, the usual path must answer.

        Raises what `ops.create_artifact` raises before writing (Invalid data).
        """
        workspace_id = self._workspace(ctx)
        if workspace_id is None:
            return None
        plan = store.plan_create(
            workspace_id,
            action,
            strict=ctx.strict_artifact_data,
            created_by=ctx.caller.principal.name,
        )
        dialect = self._engine.dialect
        written = await self._run(lambda aconn: store.create_in_autocommit(aconn, dialect, plan))
        return plan.artifact if written else None

    async def update(self, ctx: Context, artifact_id: uuid.UUID, action: ArtifactUpdate) -> bool:
        """Whether the update was written; False: the usual path must answer."""
        workspace_id = self._workspace(ctx)
        if workspace_id is None or (ctx.strict_artifact_data and "data" in action.model_fields_set):
            return False
        dialect = self._engine.dialect
        return await self._run(
            lambda aconn: store.update_in_autocommit(
                aconn, dialect, workspace_id, artifact_id, action
            )
        )
