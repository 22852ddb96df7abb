"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import datetime as dt
import uuid

import sqlalchemy as sa
from alembic import op

# Tables are created from explicit definitions here (not from runfolio.store.tables),
# so this revision stays what it was when later revisions change the tables.
DEFAULT_WORKSPACE_ID = uuid.UUID("00000000-0000-7000-8000-000000000000")


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint("account", "name", name=op.f("uq_workspaces__account_name")),
    )
    workspaces = sa.table(
        "workspaces",
        sa.column("id", sa.Uuid()),
        sa.column("account", sa.String()),
        sa.column("name", sa.String()),
        sa.column("created", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        workspaces,
        [
            {
                "id": DEFAULT_WORKSPACE_ID,
                "account": "default",
                "name": "default",
                "created": dt.datetime.now(dt.UTC).replace(tzinfo=None),
            }
        ],
    )
    op.create_table(
        "artifact_collections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=1000), nullable=False),
        sa.Column("latest_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("metadata_", sa.Text(), nullable=True),
        sa.Column("flow_run_id", sa.Uuid(), nullable=True),
        sa.Column("task_run_id", sa.Uuid(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_artifact_collections__workspace_id__workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifact_collections")),
        sa.UniqueConstraint(
            "workspace_id", "key", name=op.f("uq_artifact_collections__workspace_id_key")
        ),
    )
    with op.batch_alter_table("artifact_collections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_artifact_collections__latest_id"), ["latest_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_artifact_collections__workspace_id_created_id"),
            ["workspace_id", "created", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_artifact_collections__workspace_id_id"),
            ["workspace_id", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_artifact_collections__workspace_id_updated_id"),
            ["workspace_id", "updated", "id"],
            unique=False,
        )

    op.create_table(
        "artifacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=1000), nullable=True),
        sa.Column("type", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("metadata_", sa.Text(), nullable=True),
        sa.Column("flow_run_id", sa.Uuid(), nullable=True),
        sa.Column("task_run_id", sa.Uuid(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_artifacts__workspace_id__workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifacts")),
    )
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_artifacts__flow_run_id"), ["flow_run_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_artifacts__task_run_id"), ["task_run_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_artifacts__workspace_id_created_id"),
            ["workspace_id", "created", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_artifacts__workspace_id_id"), ["workspace_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_artifacts__workspace_id_key_created_id"),
            ["workspace_id", "key", "created", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_artifacts__workspace_id_updated_id"),
            ["workspace_id", "updated", "id"],
            unique=False,
        )

    op.create_table(
        "flows",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("labels", sa.Text(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_flows__workspace_id__workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flows")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_flows__workspace_id_name")),
    )
    op.create_table(
        "logs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("flow_run_id", sa.Uuid(), nullable=True),
        sa.Column("task_run_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_logs__workspace_id__workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logs")),
    )
    with op.batch_alter_table("logs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_logs__workspace_id_flow_run_id_timestamp"),
            ["workspace_id", "flow_run_id", "timestamp"],
            unique=False,
        )

    op.create_table(
        "run_states",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("flow_run_id", sa.Uuid(), nullable=True),
        sa.Column("task_run_id", sa.Uuid(), nullable=True),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_run_states__workspace_id__workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_states")),
    )
    with op.batch_alter_table("run_states", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_run_states__flow_run_id_timestamp"),
            ["flow_run_id", "timestamp"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_run_states__task_run_id_timestamp"),
            ["task_run_id", "timestamp"],
            unique=False,
        )

    op.create_table(
        "task_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("flow_run_id", sa.Uuid(), nullable=True),
        sa.Column("task_key", sa.String(length=500), nullable=False),
        sa.Column("dynamic_key", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("cache_key", sa.String(length=500), nullable=True),
        sa.Column("task_version", sa.String(length=200), nullable=True),
        sa.Column("task_inputs", sa.Text(), nullable=True),
        sa.Column("flow_run_run_count", sa.Integer(), nullable=False),
        sa.Column("state_id", sa.Uuid(), nullable=True),
        sa.Column("state_type", sa.String(length=20), nullable=True),
        sa.Column("state_name", sa.String(length=100), nullable=True),
        sa.Column("state_message", sa.Text(), nullable=True),
        sa.Column("state_timestamp", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state_details", sa.Text(), nullable=True),
        sa.Column("run_count", sa.Integer(), nullable=False),
        sa.Column("expected_start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_scheduled_start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("total_run_time", sa.Float(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("labels", sa.Text(), nullable=True),
        sa.Column("empirical_policy", sa.Text(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_task_runs__workspace_id__workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_runs")),
    )
    with op.batch_alter_table("task_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_task_runs__workspace_id_flow_run_id"),
            ["workspace_id", "flow_run_id"],
            unique=False,
        )

    op.create_table(
        "flow_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("flow_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("flow_version", sa.String(length=200), nullable=True),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("context", sa.Text(), nullable=True),
        sa.Column("parent_task_run_id", sa.Uuid(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=500), nullable=True),
        sa.Column("work_queue_name", sa.String(length=200), nullable=True),
        sa.Column("deployment_id", sa.Uuid(), nullable=True),
        sa.Column("state_id", sa.Uuid(), nullable=True),
        sa.Column("state_type", sa.String(length=20), nullable=True),
        sa.Column("state_name", sa.String(length=100), nullable=True),
        sa.Column("state_message", sa.Text(), nullable=True),
        sa.Column("state_timestamp", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state_details", sa.Text(), nullable=True),
        sa.Column("run_count", sa.Integer(), nullable=False),
        sa.Column("expected_start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_scheduled_start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("total_run_time", sa.Float(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("labels", sa.Text(), nullable=True),
        sa.Column("empirical_policy", sa.Text(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["flow_id"], ["flows.id"], name=op.f("fk_flow_runs__flow_id__flows")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_flow_runs__workspace_id__workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_runs")),
    )
    with op.batch_alter_table("flow_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_flow_runs__parent_task_run_id"), ["parent_task_run_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_flow_runs__workspace_id_flow_id"),
            ["workspace_id", "flow_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_flow_runs__workspace_id_id"), ["workspace_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_flow_runs__workspace_id_start_time"),
            ["workspace_id", "start_time"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("flow_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flow_runs__workspace_id_start_time"))
        batch_op.drop_index(batch_op.f("ix_flow_runs__workspace_id_id"))
        batch_op.drop_index(batch_op.f("ix_flow_runs__workspace_id_flow_id"))
        batch_op.drop_index(batch_op.f("ix_flow_runs__parent_task_run_id"))

    op.drop_table("flow_runs")
    with op.batch_alter_table("task_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_runs__workspace_id_flow_run_id"))

    op.drop_table("task_runs")
    with op.batch_alter_table("run_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_states__task_run_id_timestamp"))
        batch_op.drop_index(batch_op.f("ix_run_states__flow_run_id_timestamp"))

    op.drop_table("run_states")
    with op.batch_alter_table("logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_logs__workspace_id_flow_run_id_timestamp"))

    op.drop_table("logs")
    op.drop_table("flows")
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_artifacts__workspace_id_updated_id"))
        batch_op.drop_index(batch_op.f("ix_artifacts__workspace_id_key_created_id"))
        batch_op.drop_index(batch_op.f("ix_artifacts__workspace_id_id"))
        batch_op.drop_index(batch_op.f("ix_artifacts__workspace_id_created_id"))
        batch_op.drop_index(batch_op.f("ix_artifacts__task_run_id"))
        batch_op.drop_index(batch_op.f("ix_artifacts__flow_run_id"))

    op.drop_table("artifacts")
    with op.batch_alter_table("artifact_collections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_artifact_collections__workspace_id_updated_id"))
        batch_op.drop_index(batch_op.f("ix_artifact_collections__workspace_id_id"))
        batch_op.drop_index(batch_op.f("ix_artifact_collections__workspace_id_created_id"))
        batch_op.drop_index(batch_op.f("ix_artifact_collections__latest_id"))

    op.drop_table("artifact_collections")
    op.drop_table("workspaces")
