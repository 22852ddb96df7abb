"""accounts: users, roles per workspace, API keys, UI sessions; who created what;
flow runs indexed by state

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

Workspaces are now created by an admin; a user has a role (read, write, admin)
in each workspace they belong to; API keys act for a user in one workspace with
at most that user's role. Artifacts and flow runs record who created them.
"""

import sqlalchemy as sa
from alembic import op

from runfolio.store.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users__username")),
    )
    op.create_table(
        "memberships",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships__user_id__users")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_memberships__workspace_id__workspaces"),
        ),
        sa.PrimaryKeyConstraint("user_id", "workspace_id", name=op.f("pk_memberships")),
    )
    op.create_index(op.f("ix_memberships__workspace_id"), "memberships", ["workspace_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("prefix", sa.String(40), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("created_by", sa.String(300), nullable=True),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("last_used", UTCDateTime(), nullable=True),
        sa.Column("expires", UTCDateTime(), nullable=True),
        sa.Column("revoked", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_keys__user_id__users")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_api_keys__workspace_id__workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys__prefix")),
    )
    op.create_index(op.f("ix_api_keys__user_id"), "api_keys", ["user_id"])
    op.create_table(
        "ui_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("expires", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ui_sessions__user_id__users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ui_sessions")),
    )
    op.create_index(op.f("ix_ui_sessions__user_id"), "ui_sessions", ["user_id"])
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(400), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
    )
    op.create_index(op.f("ix_sign_in_failures__subject_at"), "sign_in_failures", ["subject", "at"])
    op.add_column("artifacts", sa.Column("created_by", sa.String(300), nullable=True))
    op.add_column("flow_runs", sa.Column("created_by", sa.String(300), nullable=True))
    op.create_index(
        op.f("ix_flow_runs__workspace_id_state_type_id"),
        "flow_runs",
        ["workspace_id", "state_type", "id"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_flow_runs__workspace_id_state_type_id"), table_name="flow_runs")
    op.drop_column("flow_runs", "created_by")
    op.drop_column("artifacts", "created_by")
    op.drop_index(op.f("ix_sign_in_failures__subject_at"), table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
    op.drop_index(op.f("ix_ui_sessions__user_id"), table_name="ui_sessions")
    op.drop_table("ui_sessions")
    op.drop_index(op.f("ix_api_keys__user_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index(op.f("ix_memberships__workspace_id"), table_name="memberships")
    op.drop_table("memberships")
    op.drop_table("users")
