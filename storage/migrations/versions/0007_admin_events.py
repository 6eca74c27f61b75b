"""admin_events: what admins did to a project (pause, resume, reveal) and who did it

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-03

Append-only like ``item_events``: the database refuses UPDATE and DELETE on it, so the record
of who saw an item's original text cannot be edited away. (0006 is written in parallel on
another branch; whoever merges second points its ``down_revision`` at the other.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_MESSAGE = "admin_events is append-only"


def upgrade() -> None:
    op.create_table(
        "admin_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_admin_events_project", "admin_events", ["project_id", "id"])
    op.create_index("ix_admin_events_item", "admin_events", ["item_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION labelbot_admin_events_append_only() RETURNS trigger AS $$ BEGIN "
            f"RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER admin_events_append_only BEFORE UPDATE OR DELETE ON admin_events "
            "FOR EACH ROW EXECUTE FUNCTION labelbot_admin_events_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER admin_events_no_{verb.lower()} BEFORE {verb} ON admin_events "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS admin_events_append_only ON admin_events")
        op.execute("DROP FUNCTION IF EXISTS labelbot_admin_events_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS admin_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS admin_events_no_delete")
    op.drop_index("ix_admin_events_item", table_name="admin_events")
    op.drop_index("ix_admin_events_project", table_name="admin_events")
    op.drop_table("admin_events")
