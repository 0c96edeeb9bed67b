"""The database tables as plain SQLAlchemy Core ``Table`` objects: what every query uses.

Times are integers (microseconds since the Unix epoch, UTC) so that SQLite and PostgreSQL
compare and index them the same way; JSON values are text (see :mod:`.jsontext`).

These are Core tables, not SQLModel classes, so that a worker starting up never imports
SQLModel and pydantic (about half of its start-up time): a worker restarted after a crash
is back at work sooner. :mod:`.models` keeps the same schema as typed SQLModel classes for
code that wants row models; the two must describe the same columns, and the migrations
under ``migrations/`` must produce exactly these tables (``tests/store`` compares them).
Any change here needs a new Alembic revision.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

#: BIGINT on PostgreSQL; INTEGER on SQLite so that it aliases the rowid (autoincrement).
BigId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()


def _micros(name: str, *, nullable: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(name, BigInteger(), nullable=nullable)


def _count(name: str) -> Column:  # type: ignore[type-arg]
    return Column(name, Integer(), nullable=False, default=0)


#: A named state machine; ``latest_version`` is the hash new executions pin to.
state_machines = Table(
    "state_machines",
    metadata,
    Column("name", String(80), primary_key=True),
    Column("latest_version", String(64), nullable=False),
    _micros("created_at"),
    _micros("updated_at"),
    Column("deleted", Boolean(), nullable=False, default=False),
)

#: An immutable definition, keyed by the sha256 of its canonical JSON text.
definition_versions = Table(
    "definition_versions",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("name", String(80), nullable=False, index=True),
    Column("definition", Text(), nullable=False),
    _micros("created_at"),
)

#: One execution. ``last_event_id`` allocates history ids: every transaction that appends
#: events bumps it while holding the row lock, so ids stay gapless. On SQLite the one-frame
#: fast path (whose ``BEGIN IMMEDIATE`` already excludes every other writer) appends
#: without writing this row, so there the column is a lower bound and readers take the
#: larger of it and the newest history id (``store.hot.SQLITE_LAST_EVENT``).
executions = Table(
    "executions",
    metadata,
    Column("id", String(300), primary_key=True),
    Column("name", String(80), nullable=False),
    Column("state_machine", String(80), nullable=False),
    Column("version", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("input", Text(), nullable=False),
    Column("output", Text(), nullable=True),
    Column("error", Text(), nullable=True),
    Column("cause", Text(), nullable=True),
    _micros("start_date"),
    _micros("stop_date", nullable=True),
    _micros("deadline", nullable=True),
    Column("seed", BigInteger(), nullable=False),
    Column("payload_limit", Integer(), nullable=True),
    _count("redrive_count"),
    _micros("redrive_date", nullable=True),
    _count("last_event_id"),
    Column("root_frame", BigInteger(), nullable=True),
    UniqueConstraint("state_machine", "name", name="uq_executions_machine_name"),
    Index("ix_executions_machine_start", "state_machine", "start_date"),
    Index("ix_executions_start", "start_date"),
    Index("ix_executions_status_deadline", "status", "deadline"),
)

#: A frame: the root of an execution, a Parallel branch or a Map iteration.
#:
#: ``run_at`` is set exactly when the frame has something to do at that time (its ``inbox``
#: holds what); a worker owns a frame while ``lease_expires`` is in the future. ``version``
#: is bumped by every write, so a stale writer's update matches no row. A Map/Parallel
#: parent keeps its children's progress in the ``child_*`` counters.
frames = Table(
    "frames",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("execution_id", String(300), nullable=False),
    Column("parent_id", BigInteger(), nullable=True),
    _count("generation"),
    _count("group_index"),
    Column("scope", Text(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("snapshot", Text(), nullable=False),
    Column("inbox", Text(), nullable=True),
    _micros("run_at", nullable=True),
    Column("lease_owner", String(200), nullable=True),
    _micros("lease_expires", nullable=True),
    _count("version"),
    Column("result", Text(), nullable=True),
    Column("group_spec", Text(), nullable=True),
    _count("child_total"),
    _count("child_started"),
    _count("child_done"),
    _count("child_failed"),
    Index("ix_frames_run_at", "run_at"),
    Index("ix_frames_parent", "parent_id", "generation", "group_index"),
    Index("ix_frames_execution", "execution_id"),
    Index("ix_frames_lease_owner", "lease_owner"),
)

#: One typed history event. The (execution_id, id) primary key is what turns a duplicate
#: or stale write into a conflict instead of a second effect. On SQLite the rows are stored
#: in primary-key order (no separate rowid tree to update).
history = Table(
    "history",
    metadata,
    Column("execution_id", String(300), primary_key=True),
    Column("id", Integer(), primary_key=True, autoincrement=False),
    Column("type", String(64), nullable=False),
    _micros("timestamp"),
    Column("frame_id", BigInteger(), nullable=True),
    Column("details", Text(), nullable=False),
    sqlite_with_rowid=False,
)

#: A callback token handed to a ``.waitForTaskToken`` task.
task_tokens = Table(
    "task_tokens",
    metadata,
    Column("token", String(128), primary_key=True),
    Column("execution_id", String(300), nullable=False, index=True),
    Column("frame_id", BigInteger(), nullable=False),
    _micros("expires_at", nullable=True),
    Column("heartbeat_seconds", Integer(), nullable=True),
    _micros("heartbeat_at", nullable=True),
    Column("used", Boolean(), nullable=False, default=False),
    _micros("created_at"),
)

#: An ``activity:NAME`` task waiting for an external worker: the task token (also a row
#: of ``task_tokens``, which carries its deadlines) and the task input. ``claimed_by`` and
#: ``claimed_at`` are set once, atomically, when a worker takes it (GetActivityTask).
activity_tasks = Table(
    "activity_tasks",
    metadata,
    Column("token", String(128), primary_key=True),
    Column("activity", String(80), nullable=False),
    Column("execution_id", String(300), nullable=False),
    Column("frame_id", BigInteger(), nullable=False),
    Column("input", Text(), nullable=False),
    _micros("created_at"),
    Column("claimed_by", String(80), nullable=True),
    _micros("claimed_at", nullable=True),
    Index("ix_activity_tasks_queue", "activity", "claimed_at", "created_at"),
    Index("ix_activity_tasks_execution", "execution_id"),
)
