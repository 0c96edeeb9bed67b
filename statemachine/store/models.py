"""The database tables as typed SQLModel classes: the only SQLModel classes in the project.

They describe the same schema as the Core tables of :mod:`.tables`, on their own metadata
(``SQLModel.metadata``), for code that wants typed row models. Nothing on a worker's path
imports this module (SQLModel and pydantic cost about half of a worker's start-up time);
queries use :mod:`.tables`. A schema change goes into both modules and a new Alembic
revision under ``migrations/``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

#: BIGINT on PostgreSQL; INTEGER on SQLite so that it aliases the rowid (autoincrement).
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _micros(*, nullable: bool = False, index: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(BigInteger(), nullable=nullable, index=index)


class StateMachineRow(SQLModel, table=True):
    """A named state machine; ``latest_version`` is the hash new executions pin to."""

    __tablename__ = "state_machines"

    name: str = Field(primary_key=True, max_length=80)
    latest_version: str = Field(max_length=64)
    created_at: int = Field(sa_column=_micros())
    updated_at: int = Field(sa_column=_micros())
    deleted: bool = Field(default=False)


class DefinitionVersionRow(SQLModel, table=True):
    """An immutable definition, keyed by the sha256 of its canonical JSON text."""

    __tablename__ = "definition_versions"

    hash: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=80, index=True)
    definition: str = Field(sa_column=Column(Text(), nullable=False))
    created_at: int = Field(sa_column=_micros())


class ExecutionRow(SQLModel, table=True):
    """One execution. ``last_event_id`` allocates history ids: every transaction that
    appends events bumps it while holding the row lock, so ids stay gapless (on SQLite a
    lower bound: see ``tables.executions``)."""

    __tablename__ = "executions"
    __table_args__ = (
        UniqueConstraint("state_machine", "name", name="uq_executions_machine_name"),
        Index("ix_executions_machine_start", "state_machine", "start_date"),
        Index("ix_executions_start", "start_date"),
        Index("ix_executions_status_deadline", "status", "deadline"),
    )

    id: str = Field(primary_key=True, max_length=300)
    name: str = Field(max_length=80)
    state_machine: str = Field(max_length=80)
    version: str = Field(max_length=64)
    status: str = Field(max_length=16)
    input: str = Field(sa_column=Column(Text(), nullable=False))
    output: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    error: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    cause: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    start_date: int = Field(sa_column=_micros())
    stop_date: int | None = Field(default=None, sa_column=_micros(nullable=True))
    deadline: int | None = Field(default=None, sa_column=_micros(nullable=True))
    seed: int = Field(sa_column=Column(BigInteger(), nullable=False))
    payload_limit: int | None = Field(default=None)
    redrive_count: int = Field(default=0)
    redrive_date: int | None = Field(default=None, sa_column=_micros(nullable=True))
    last_event_id: int = Field(default=0)
    root_frame: int | None = Field(default=None, sa_column=Column(BigInteger(), nullable=True))


class FrameRow(SQLModel, table=True):
    """A frame: the root of an execution, a Parallel branch or a Map iteration.

    ``run_at`` is set exactly when the frame has something to do at that time (its
    ``inbox`` holds what); a worker owns a frame while ``lease_expires`` is in the future.
    ``version`` is bumped by every write, so a stale writer's update matches no row.
    A Map/Parallel parent keeps its children's progress in the ``child_*`` counters.
    """

    __tablename__ = "frames"
    __table_args__ = (
        Index("ix_frames_run_at", "run_at"),
        Index("ix_frames_parent", "parent_id", "generation", "group_index"),
        Index("ix_frames_execution", "execution_id"),
        Index("ix_frames_lease_owner", "lease_owner"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    execution_id: str = Field(max_length=300)
    parent_id: int | None = Field(default=None, sa_column=Column(BigInteger(), nullable=True))
    generation: int = Field(default=0)
    group_index: int = Field(default=0)
    scope: str = Field(sa_column=Column(Text(), nullable=False))
    status: str = Field(max_length=16)
    snapshot: str = Field(sa_column=Column(Text(), nullable=False))
    inbox: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    run_at: int | None = Field(default=None, sa_column=_micros(nullable=True))
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_expires: int | None = Field(default=None, sa_column=_micros(nullable=True))
    version: int = Field(default=0)
    result: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    group_spec: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    child_total: int = Field(default=0)
    child_started: int = Field(default=0)
    child_done: int = Field(default=0)
    child_failed: int = Field(default=0)


class HistoryRow(SQLModel, table=True):
    """One typed history event. The (execution_id, id) primary key is what turns a
    duplicate or stale write into a conflict instead of a second effect."""

    __tablename__ = "history"
    # On SQLite, store rows in primary-key order (no separate rowid tree to update).
    __table_args__ = {"sqlite_with_rowid": False}

    execution_id: str = Field(primary_key=True, max_length=300)
    id: int = Field(primary_key=True, sa_type=Integer, sa_column_kwargs={"autoincrement": False})
    type: str = Field(max_length=64)
    timestamp: int = Field(sa_column=_micros())
    frame_id: int | None = Field(default=None, sa_column=Column(BigInteger(), nullable=True))
    details: str = Field(sa_column=Column(Text(), nullable=False))


class TaskTokenRow(SQLModel, table=True):
    """A callback token handed to a ``.waitForTaskToken`` task."""

    __tablename__ = "task_tokens"

    token: str = Field(primary_key=True, max_length=128)
    execution_id: str = Field(max_length=300, index=True)
    frame_id: int = Field(sa_column=Column(BigInteger(), nullable=False))
    expires_at: int | None = Field(default=None, sa_column=_micros(nullable=True))
    heartbeat_seconds: int | None = Field(default=None)
    heartbeat_at: int | None = Field(default=None, sa_column=_micros(nullable=True))
    used: bool = Field(default=False)
    created_at: int = Field(sa_column=_micros())


class ActivityTaskRow(SQLModel, table=True):
    """An ``activity:NAME`` task waiting for (or claimed by) an external worker."""

    __tablename__ = "activity_tasks"
    __table_args__ = (
        Index("ix_activity_tasks_queue", "activity", "claimed_at", "created_at"),
        Index("ix_activity_tasks_execution", "execution_id"),
    )

    token: str = Field(primary_key=True, max_length=128)
    activity: str = Field(max_length=80)
    execution_id: str = Field(max_length=300)
    frame_id: int = Field(sa_column=Column(BigInteger(), nullable=False))
    input: str = Field(sa_column=Column(Text(), nullable=False))
    created_at: int = Field(sa_column=_micros())
    claimed_by: str | None = Field(default=None, max_length=80)
    claimed_at: int | None = Field(default=None, sa_column=_micros(nullable=True))


metadata = SQLModel.metadata
