"""each user's latest action on an item, by Slack's action time; thread messages unique by ts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

``user_actions`` holds, per (item, user), when the user last acted on the item by Slack's clock
(``action_ts``; an imported label's ``created_at``): an older action that arrives later (a
replayed or delayed request) never overwrites a newer one. ``thread_messages`` becomes unique by
(item, ts): a message Slack delivers again with a new ``event_id`` is the same message; copies
stored before are removed, the first one kept.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_actions",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("acted_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id", "user_id"),
    )
    op.execute(
        "DELETE FROM thread_messages WHERE id NOT IN "
        "(SELECT MIN(id) FROM thread_messages GROUP BY item_id, ts)"
    )
    op.create_index("uq_thread_messages_item_ts", "thread_messages", ["item_id", "ts"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_thread_messages_item_ts", table_name="thread_messages")
    op.drop_table("user_actions")
