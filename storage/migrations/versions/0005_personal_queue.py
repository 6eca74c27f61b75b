"""personal labeling sessions in direct messages, their item leases, and an admin's project pause

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

``labeling_sessions`` holds a user's personal queue (its direct message and the item it shows);
``leases`` the items given out in those sessions, each counting toward the labels an item still
needs until it expires. ``projects.paused_at``/``paused_by``: an admin paused the project.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("paused_at", storage.models.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("paused_by", sa.String(length=32), nullable=True))
    op.create_table(
        "labeling_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("item_round", sa.Integer(), nullable=True),
        sa.Column("previous_item_id", sa.Integer(), nullable=True),
        sa.Column("labels", sa.Integer(), nullable=False),
        sa.Column("skips", sa.Integer(), nullable=False),
        sa.Column("gold_right", sa.Integer(), nullable=False),
        sa.Column("gold_wrong", sa.Integer(), nullable=False),
        sa.Column("started_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_active_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_labeling_sessions_user", "labeling_sessions", ["user_id", "ended_at"])
    op.create_table(
        "leases",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("granted_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["session_id"], ["labeling_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id", "user_id"),
    )
    op.create_index("ix_leases_user", "leases", ["user_id", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_leases_user", table_name="leases")
    op.drop_table("leases")
    op.drop_index("ix_labeling_sessions_user", table_name="labeling_sessions")
    op.drop_table("labeling_sessions")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("paused_by")
        batch.drop_column("paused_at")
