"""The first schema: definitions, executions, frames, history, task tokens.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "state_machines",
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("latest_version", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "definition_versions",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_definition_versions_name", "definition_versions", ["name"])
    op.create_table(
        "executions",
        sa.Column("id", sa.String(300), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("state_machine", sa.String(80), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cause", sa.Text(), nullable=True),
        sa.Column("start_date", sa.BigInteger(), nullable=False),
        sa.Column("stop_date", sa.BigInteger(), nullable=True),
        sa.Column("deadline", sa.BigInteger(), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("payload_limit", sa.Integer(), nullable=True),
        sa.Column("redrive_count", sa.Integer(), nullable=False),
        sa.Column("redrive_date", sa.BigInteger(), nullable=True),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("root_frame", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("state_machine", "name", name="uq_executions_machine_name"),
    )
    op.create_index("ix_executions_machine_start", "executions", ["state_machine", "start_date"])
    op.create_index("ix_executions_start", "executions", ["start_date"])
    op.create_index("ix_executions_status_deadline", "executions", ["status", "deadline"])
    op.create_table(
        "frames",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("execution_id", sa.String(300), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("group_index", sa.Integer(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("inbox", sa.Text(), nullable=True),
        sa.Column("run_at", sa.BigInteger(), nullable=True),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_expires", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("group_spec", sa.Text(), nullable=True),
        sa.Column("child_total", sa.Integer(), nullable=False),
        sa.Column("child_started", sa.Integer(), nullable=False),
        sa.Column("child_done", sa.Integer(), nullable=False),
        sa.Column("child_failed", sa.Integer(), nullable=False),
    )
    op.create_index("ix_frames_run_at", "frames", ["run_at"])
    op.create_index("ix_frames_parent", "frames", ["parent_id", "generation", "group_index"])
    op.create_index("ix_frames_execution", "frames", ["execution_id"])
    op.create_index("ix_frames_lease_owner", "frames", ["lease_owner"])
    op.create_table(
        "history",
        sa.Column("execution_id", sa.String(300), primary_key=True),
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("frame_id", sa.BigInteger(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "task_tokens",
        sa.Column("token", sa.String(128), primary_key=True),
        sa.Column("execution_id", sa.String(300), nullable=False),
        sa.Column("frame_id", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("heartbeat_seconds", sa.Integer(), nullable=True),
        sa.Column("heartbeat_at", sa.BigInteger(), nullable=True),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_task_tokens_execution_id", "task_tokens", ["execution_id"])


def downgrade() -> None:
    for table in ("task_tokens", "history", "frames", "executions", "definition_versions"):
        op.drop_table(table)
    op.drop_table("state_machines")
