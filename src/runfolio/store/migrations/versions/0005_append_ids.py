"""append ids: each append to a table artifact may carry the client's id, so a
replayed append (a retry, an outbox redelivery) is stored once

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("artifact_row_appends", sa.Column("client_id", sa.Uuid(), nullable=True))
    # Appends stored before this revision have no id: NULLs never clash in a unique index.
    op.create_index(
        op.f("ix_artifact_row_appends__workspace_id_artifact_id_client_id"),
        "artifact_row_appends",
        ["workspace_id", "artifact_id", "client_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_artifact_row_appends__workspace_id_artifact_id_client_id"),
        table_name="artifact_row_appends",
    )
    with op.batch_alter_table("artifact_row_appends") as batch:
        batch.drop_column("client_id")
