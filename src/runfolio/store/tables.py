"""The table definitions: the single source the migrations are checked against."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)

from runfolio.store.types import JSONText, UTCDateTime

if TYPE_CHECKING:
    from sqlalchemy import Connection, Dialect
    from sqlalchemy.schema import SchemaItem
    from sqlalchemy.sql.compiler import DDLCompiler
    from sqlalchemy.sql.ddl import BaseDDLElement

# The workspace `/api/...` addresses; created by the first migration.
DEFAULT_WORKSPACE_ID = uuid.UUID("00000000-0000-7000-8000-000000000000")
DEFAULT_ACCOUNT = "default"
DEFAULT_WORKSPACE = "default"

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s__%(column_0_N_name)s",
        "uq": "uq_%(table_name)s__%(column_0_N_name)s",
        "fk": "fk_%(table_name)s__%(column_0_name)s__%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


# The pg_trgm extension's name: its GIN operator class lets PostgreSQL answer a key
# `like_` (a substring match, ILIKE '%...%') from an index instead of reading every row.
TRIGRAM_EXTENSION = "pg_trgm"


def _trigram_ops_installed(
    ddl: BaseDDLElement,
    target: SchemaItem | str,
    bind: Connection | None,
    tables: list[Table] | None = None,
    state: Any = None,
    *,
    dialect: Dialect,
    compiler: DDLCompiler | None = None,
    checkfirst: bool = False,
) -> bool:
    # A server may lack the extension or refuse it (runfolio then searches without the
    # index); without a connection (DDL printed, not run) the index is written out.
    if bind is None:
        return True
    found = bind.execute(
        text("SELECT 1 FROM pg_extension WHERE extname = :name"), {"name": TRIGRAM_EXTENSION}
    )
    return found.first() is not None


def _key_trigram_index(table_name: str) -> Index:
    """A GIN trigram index on `key`, on PostgreSQL only (SQLite's LIKE scans either way)."""
    index = Index(
        f"ix_{table_name}__key_trgm",
        "key",
        postgresql_using="gin",
        postgresql_ops={"key": "gin_trgm_ops"},
    )
    index.ddl_if(dialect="postgresql", callable_=_trigram_ops_installed)
    return index


# Indexes the tables have on PostgreSQL only.
POSTGRESQL_ONLY_INDEXES = frozenset({"ix_artifacts__key_trgm", "ix_artifact_collections__key_trgm"})


def _workspace() -> Column[uuid.UUID]:
    return Column("workspace_id", Uuid, ForeignKey("workspaces.id"), nullable=False)


def _times() -> list[Column[object]]:
    return [
        Column("created", UTCDateTime, nullable=False),
        Column("updated", UTCDateTime, nullable=False),
    ]


def _created_by() -> Column[str]:
    # Who made the row: "alice", or "alice (key ci-bot)"; null for local and open callers.
    return Column("created_by", String(300))


def _state_columns() -> list[Column[object]]:
    return [
        Column("state_id", Uuid),
        Column("state_type", String(20)),
        Column("state_name", String(100)),
        Column("state_message", Text),
        Column("state_timestamp", UTCDateTime),
        Column("state_details", JSONText),
        Column("run_count", Integer, nullable=False, default=0),
        Column("expected_start_time", UTCDateTime),
        Column("next_scheduled_start_time", UTCDateTime),
        Column("start_time", UTCDateTime),
        Column("end_time", UTCDateTime),
        Column("total_run_time", Float, nullable=False, default=0.0),
        Column("tags", JSONText, nullable=False),
        Column("labels", JSONText),
        Column("empirical_policy", JSONText),
    ]


workspaces = Table(
    "workspaces",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created", UTCDateTime, nullable=False),
    UniqueConstraint("account", "name"),
)

flows = Table(
    "flows",
    metadata,
    Column("id", Uuid, primary_key=True),
    _workspace(),
    Column("name", String(500), nullable=False),
    Column("tags", JSONText, nullable=False),
    Column("labels", JSONText),
    *_times(),
    UniqueConstraint("workspace_id", "name"),
)

flow_runs = Table(
    "flow_runs",
    metadata,
    Column("id", Uuid, primary_key=True),
    _workspace(),
    Column("flow_id", Uuid, ForeignKey("flows.id"), nullable=False),
    Column("name", String(500), nullable=False),
    Column("flow_version", String(200)),
    Column("parameters", JSONText, nullable=False),
    Column("context", JSONText),
    Column("parent_task_run_id", Uuid),
    Column("idempotency_key", String(500)),
    Column("work_queue_name", String(200)),
    Column("deployment_id", Uuid),
    _created_by(),
    *_state_columns(),
    *_times(),
    Index(None, "workspace_id", "flow_id"),
    Index(None, "workspace_id", "start_time"),
    Index(None, "workspace_id", "id"),
    # The runs page filtered by state: its count and its listing, newest first.
    Index(None, "workspace_id", "state_type", "id"),
    Index(None, "parent_task_run_id"),
)

task_runs = Table(
    "task_runs",
    metadata,
    Column("id", Uuid, primary_key=True),
    _workspace(),
    Column("flow_run_id", Uuid),
    Column("task_key", String(500), nullable=False),
    Column("dynamic_key", String(200), nullable=False),
    Column("name", String(500), nullable=False),
    Column("cache_key", String(500)),
    Column("task_version", String(200)),
    Column("task_inputs", JSONText),
    Column("flow_run_run_count", Integer, nullable=False, default=0),
    *_state_columns(),
    *_times(),
    Index(None, "workspace_id", "flow_run_id"),
)

run_states = Table(
    "run_states",
    metadata,
    Column("id", Uuid, primary_key=True),
    _workspace(),
    Column("flow_run_id", Uuid),
    Column("task_run_id", Uuid),
    Column("type", String(20), nullable=False),
    Column("name", String(100), nullable=False),
    Column("message", Text),
    Column("timestamp", UTCDateTime, nullable=False),
    Column("data", JSONText),
    Column("details", JSONText),
    Index(None, "flow_run_id", "timestamp"),
    Index(None, "task_run_id", "timestamp"),
)

logs = Table(
    "logs",
    metadata,
    Column("id", Uuid, primary_key=True),
    _workspace(),
    Column("flow_run_id", Uuid),
    Column("task_run_id", Uuid),
    Column("name", String(500), nullable=False),
    Column("level", Integer, nullable=False),
    Column("message", Text, nullable=False),
    Column("timestamp", UTCDateTime, nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Index(None, "workspace_id", "flow_run_id", "timestamp"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", Uuid, nullable=False),
    _workspace(),
    Column("key", String(1000)),
    Column("type", String(200)),
    Column("description", Text),
    Column("data", JSONText),
    Column("metadata_", JSONText),
    Column("flow_run_id", Uuid),
    Column("task_run_id", Uuid),
    _created_by(),
    # How many table rows were appended in place (POST .../rows) since the artifact was
    # made; null when none. The rows themselves are in artifact_row_appends.
    Column("rows_appended", Integer),
    *_times(),
    # Sorted listings order by (time, id): the id breaks ties, so it is in the index.
    # Ids are unique per workspace: one workspace's ids say nothing about another's.
    PrimaryKeyConstraint("workspace_id", "id"),
    Index(None, "workspace_id", "key", "created", "id"),
    Index(None, "workspace_id", "created", "id"),
    Index(None, "workspace_id", "updated", "id"),
    Index(None, "flow_run_id"),
    Index(None, "task_run_id"),
    _key_trigram_index("artifacts"),
)

artifact_collections = Table(
    "artifact_collections",
    metadata,
    Column("id", Uuid, primary_key=True),
    _workspace(),
    Column("key", String(1000), nullable=False),
    Column("latest_id", Uuid, nullable=False),
    Column("type", String(200)),
    Column("description", Text),
    Column("data", JSONText),
    Column("metadata_", JSONText),
    Column("flow_run_id", Uuid),
    Column("task_run_id", Uuid),
    *_times(),
    # When the latest version was made: a create moves the row only to a newer version.
    Column("latest_created", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "key"),
    Index(None, "workspace_id", "updated", "id"),
    Index(None, "workspace_id", "created", "id"),
    Index(None, "workspace_id", "id"),
    Index(None, "latest_id"),
    _key_trigram_index("artifact_collections"),
)

# Accounts: users, their roles per workspace, API keys, signed-in UI sessions.

users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("username", String(100), nullable=False, unique=True),
    # An argon2id hash (its own salt and parameters inside); never the password.
    Column("password_hash", String(300), nullable=False),
    # A server admin: admin of every workspace, manages users and workspaces.
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created", UTCDateTime, nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("workspace_id", Uuid, ForeignKey("workspaces.id"), nullable=False),
    Column("role", String(10), nullable=False),
    PrimaryKeyConstraint("user_id", "workspace_id"),
    Index(None, "workspace_id"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Uuid, primary_key=True),
    # The key's public part ("rfk_" and 12 characters), shown in listings and used to
    # find the row; the secret part is stored only as a SHA-256 of the whole key.
    Column("prefix", String(40), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False),
    _workspace(),
    Column("role", String(10), nullable=False),
    _created_by(),
    Column("created", UTCDateTime, nullable=False),
    Column("last_used", UTCDateTime),
    Column("expires", UTCDateTime),
    Column("revoked", UTCDateTime),
    Index(None, "user_id"),
)

# Short-lived rows: `runfolio db copy` does not carry them to another store.
TRANSIENT = {"transient": True}

ui_sessions = Table(
    "ui_sessions",
    metadata,
    # SHA-256 of the session cookie's token: the table holds nothing a browser could send.
    Column("id", String(64), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("expires", UTCDateTime, nullable=False),
    Index(None, "user_id"),
    info=TRANSIENT,
)

sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # "user:<name>" or "address:<ip>": failures are counted for both.
    Column("subject", String(400), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index(None, "subject", "at"),
    info=TRANSIENT,
)


# Living artifacts, history and notifications.

artifact_row_appends = Table(
    "artifact_row_appends",
    metadata,
    # Rows appended to a table artifact, one row per append, in order: an append writes
    # only its own rows, never the whole table again.
    _workspace(),
    Column("artifact_id", Uuid, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("rows", JSONText, nullable=False),
    Column("row_count", Integer, nullable=False),
    Column("created", UTCDateTime, nullable=False),
    # The id the client chose for the append: a replay of it (a retry, an outbox
    # redelivery) is answered from here and stores nothing. Null for appends without one.
    Column("client_id", Uuid),
    PrimaryKeyConstraint("workspace_id", "artifact_id", "seq"),
    Index(None, "workspace_id", "artifact_id", "client_id", unique=True),
)

blobs = Table(
    "blobs",
    metadata,
    # An uploaded file a workspace may read. The bytes live once, content-addressed, in
    # the blob store; this row is what makes them visible to one workspace.
    _workspace(),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content_type", String(200), nullable=False),
    Column("filename", String(500)),
    _created_by(),
    Column("created", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("workspace_id", "sha256"),
)

changes = Table(
    "changes",
    metadata,
    # A cursor of what changed, for pages that listen: every worker reads the rows after
    # the last id it saw, so a change made by any worker reaches every open page.
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    _workspace(),
    # "artifact", "flow_run" or "task_run".
    Column("topic", String(40), nullable=False),
    # "created", "updated", "deleted", "state".
    Column("action", String(40), nullable=False),
    Column("subject_id", Uuid, nullable=False),
    Column("key", String(1000)),
    Column("flow_run_id", Uuid),
    Column("at", UTCDateTime, nullable=False),
    Index(None, "workspace_id", "id"),
    Index(None, "at"),
    info=TRANSIENT,
)

retention_policies = Table(
    "retention_policies",
    metadata,
    Column("id", Uuid, primary_key=True),
    _workspace(),
    # A glob over artifact keys ("*" for all); the most specific matching pattern wins.
    Column("key_pattern", String(1000), nullable=False),
    Column("keep_last", Integer),
    Column("keep_days", Float),
    _created_by(),
    Column("created", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "key_pattern"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Uuid, primary_key=True),
    _workspace(),
    Column("name", String(200), nullable=False),
    Column("url", String(2000), nullable=False),
    # The HMAC-SHA256 signing secret, shown once when the webhook is made.
    Column("secret", String(200), nullable=False),
    # ["artifact.created", "artifact.updated", "artifact.deleted"] or a subset.
    Column("events", JSONText, nullable=False),
    Column("key_pattern", String(1000)),
    Column("artifact_types", JSONText),
    # A rule on the content, e.g. {"kind": "progress_at_least", "value": 100}.
    Column("rule", JSONText),
    Column("active", Boolean, nullable=False, default=True),
    _created_by(),
    *_times(),
    Index(None, "workspace_id"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    # The outbox of webhook calls: written with the change that triggers it, sent by the
    # server in the background, so a delivery survives a restart and never slows a write.
    Column("id", Uuid, primary_key=True),
    Column("webhook_id", Uuid, ForeignKey("webhooks.id"), nullable=False),
    _workspace(),
    Column("event", String(40), nullable=False),
    Column("payload", JSONText, nullable=False),
    # "pending", "delivered" or "failed" (gave up after the retry window).
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt", UTCDateTime),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created", UTCDateTime, nullable=False),
    Column("delivered", UTCDateTime),
    Index(None, "status", "next_attempt"),
    Index(None, "webhook_id", "created"),
)


def columns_in(table: Table, names: Collection[str]) -> list[Column[Any]]:
    """The columns of `table` among `names` (a schema's fields), in table order: what a
    model reads from its table follows from the two definitions."""
    return [column for column in table.columns if column.name in names]
