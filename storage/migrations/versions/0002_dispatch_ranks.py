"""dispatch ranks: the model's order of a project's items in a table of its own

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

``items.priority`` leaves the dispatch index (re-scoring a million items moved every entry of
it); a scoring run writes its order to ``dispatch_ranks`` instead and ``projects.dispatch_run``
names the run dispatch follows. Scores already stored become run 1 of each project, in the
order the old index gave them (priority descending, then import order).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNRESOLVED = "('queued', 'open', 'escalated')"


def upgrade() -> None:
    op.add_column("projects", sa.Column("score_runs", sa.Integer(), server_default="0", nullable=False))
    op.add_column("projects", sa.Column("dispatch_run", sa.Integer(), nullable=True))
    op.create_table(
        "dispatch_ranks",
        sa.Column("project_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("run", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rank", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "run", "rank"),
        sqlite_with_rowid=False,
    )
    op.drop_index("ix_items_dispatch", table_name="items")
    op.create_index("ix_items_dispatch", "items", ["project_id", "status", "import_seq"], unique=False)
    op.execute(
        "INSERT INTO dispatch_ranks (project_id, run, rank, item_id) "
        "SELECT project_id, 1, ROW_NUMBER() OVER (PARTITION BY project_id ORDER BY priority DESC, import_seq) - 1, id "
        f"FROM items WHERE model_version IS NOT NULL AND status IN {UNRESOLVED}"
    )
    op.execute(
        "UPDATE projects SET score_runs = 1, dispatch_run = 1 "
        "WHERE id IN (SELECT DISTINCT project_id FROM dispatch_ranks)"
    )


def downgrade() -> None:
    op.drop_index("ix_items_dispatch", table_name="items")
    op.create_index(
        "ix_items_dispatch", "items", ["project_id", "status", "priority", "import_seq"], unique=False
    )
    op.drop_table("dispatch_ranks")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("dispatch_run")
        batch_op.drop_column("score_runs")
