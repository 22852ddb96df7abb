"""artifact_collections.latest_created: when the key's latest version was made

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

A create points its key at the new version only if that version is newer, by
(created, id), than the latest the row names. With the latest's time on the row, that
is one conditional upsert, which PostgreSQL checks against the row as it is once
locked: concurrent writers of one key need no lock of their own.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "artifact_collections",
        sa.Column("latest_created", sa.DateTime(timezone=True), nullable=True),
    )
    op.execute(
        "UPDATE artifact_collections SET latest_created = ("
        " SELECT artifacts.created FROM artifacts"
        " WHERE artifacts.workspace_id = artifact_collections.workspace_id"
        " AND artifacts.id = artifact_collections.latest_id)"
    )
    # A row whose latest is gone (never written so): its own time, so a create still
    # moves it on.
    op.execute(
        "UPDATE artifact_collections SET latest_created = updated WHERE latest_created IS NULL"
    )
    with op.batch_alter_table("artifact_collections") as batch:
        batch.alter_column(
            "latest_created", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("artifact_collections") as batch:
        batch.drop_column("latest_created")
