"""living artifacts and history: appended table rows, uploaded blobs, a change
cursor for live pages, retention policies, webhooks and their deliveries

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from runfolio.store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"], ["workspaces.id"], name=op.f(f"fk_{table}__workspace_id__workspaces")
    )


def upgrade() -> None:
    op.add_column("artifacts", sa.Column("rows_appended", sa.Integer(), nullable=True))
    op.create_table(
        "artifact_row_appends",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("artifact_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Text(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        _workspace_fk("artifact_row_appends"),
        sa.PrimaryKeyConstraint(
            "workspace_id", "artifact_id", "seq", name=op.f("pk_artifact_row_appends")
        ),
    )
    op.create_table(
        "blobs",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(200), nullable=False),
        sa.Column("filename", sa.String(500), nullable=True),
        sa.Column("created_by", sa.String(300), nullable=True),
        sa.Column("created", UTCDateTime(), nullable=False),
        _workspace_fk("blobs"),
        sa.PrimaryKeyConstraint("workspace_id", "sha256", name=op.f("pk_blobs")),
    )
    op.create_table(
        "changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(40), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(1000), nullable=True),
        sa.Column("flow_run_id", sa.Uuid(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        _workspace_fk("changes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_changes")),
    )
    op.create_index(op.f("ix_changes__workspace_id_id"), "changes", ["workspace_id", "id"])
    op.create_index(op.f("ix_changes__at"), "changes", ["at"])
    op.create_table(
        "retention_policies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("key_pattern", sa.String(1000), nullable=False),
        sa.Column("keep_last", sa.Integer(), nullable=True),
        sa.Column("keep_days", sa.Float(), nullable=True),
        sa.Column("created_by", sa.String(300), nullable=True),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
        _workspace_fk("retention_policies"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_policies")),
        sa.UniqueConstraint(
            "workspace_id",
            "key_pattern",
            name=op.f("uq_retention_policies__workspace_id_key_pattern"),
        ),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("key_pattern", sa.String(1000), nullable=True),
        sa.Column("artifact_types", sa.Text(), nullable=True),
        sa.Column("rule", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(300), nullable=True),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
        _workspace_fk("webhooks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_index(op.f("ix_webhooks__workspace_id"), "webhooks", ["workspace_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt", UTCDateTime(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("delivered", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_deliveries__webhook_id__webhooks"),
        ),
        _workspace_fk("webhook_deliveries"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        op.f("ix_webhook_deliveries__status_next_attempt"),
        "webhook_deliveries",
        ["status", "next_attempt"],
    )
    op.create_index(
        op.f("ix_webhook_deliveries__webhook_id_created"),
        "webhook_deliveries",
        ["webhook_id", "created"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_webhook_deliveries__webhook_id_created"), "webhook_deliveries")
    op.drop_index(op.f("ix_webhook_deliveries__status_next_attempt"), "webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index(op.f("ix_webhooks__workspace_id"), "webhooks")
    op.drop_table("webhooks")
    op.drop_table("retention_policies")
    op.drop_index(op.f("ix_changes__at"), "changes")
    op.drop_index(op.f("ix_changes__workspace_id_id"), "changes")
    op.drop_table("changes")
    op.drop_table("blobs")
    op.drop_table("artifact_row_appends")
    with op.batch_alter_table("artifacts") as batch:
        batch.drop_column("rows_appended")
