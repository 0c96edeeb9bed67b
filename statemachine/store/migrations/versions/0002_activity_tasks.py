"""Activity tasks: ``activity:NAME`` tasks waiting for external workers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activity_tasks",
        sa.Column("token", sa.String(128), primary_key=True),
        sa.Column("activity", sa.String(80), nullable=False),
        sa.Column("execution_id", sa.String(300), nullable=False),
        sa.Column("frame_id", sa.BigInteger(), nullable=False),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("claimed_by", sa.String(80), nullable=True),
        sa.Column("claimed_at", sa.BigInteger(), nullable=True),
    )
    op.create_index(
        "ix_activity_tasks_queue", "activity_tasks", ["activity", "claimed_at", "created_at"]
    )
    op.create_index("ix_activity_tasks_execution", "activity_tasks", ["execution_id"])


def downgrade() -> None:
    op.drop_table("activity_tasks")
