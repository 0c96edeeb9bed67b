"""Repository functions for definitions, executions and history.

Every function takes an open :class:`~sqlalchemy.Connection` inside a transaction the
caller owns (so a caller can make several of them one atomic change). Statements are
module-level SQLAlchemy Core objects with bind parameters: compiled once, cached by
SQLAlchemy, prepared by psycopg.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)

from statemachine.store.db import appended
from statemachine.store.frames import CANCELLED, INSERT_FRAME
from statemachine.store.hot import SQLITE_LAST_EVENT
from statemachine.store.jsontext import canonical, content_hash, dumps, dumps_or_none, loads
from statemachine.store.tables import (
    definition_versions,
    executions,
    frames,
    history,
    state_machines,
    task_tokens,
)

JSON = Any
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})

# -- definitions ---------------------------------------------------------------------------


def put_definition(conn: Connection, name: str, definition: JSON, now: int) -> str:
    """Store ``definition`` as an immutable version (if new) and make it the latest
    version of ``name``. Returns the version hash."""
    digest = content_hash(definition)
    exists = conn.execute(
        select(definition_versions.c.hash).where(definition_versions.c.hash == digest)
    ).first()
    if exists is None:
        conn.execute(
            insert(definition_versions).values(
                hash=digest, name=name, definition=canonical(definition), created_at=now
            )
        )
    updated = conn.execute(
        update(state_machines)
        .where(state_machines.c.name == name)
        .values(latest_version=digest, updated_at=now, deleted=False)
    )
    if updated.rowcount == 0:
        conn.execute(
            insert(state_machines).values(
                name=name, latest_version=digest, created_at=now, updated_at=now, deleted=False
            )
        )
    return digest


_GET_STATE_MACHINE = select(state_machines).where(
    state_machines.c.name == bindparam("name"), ~state_machines.c.deleted
)
_GET_DEFINITION = select(definition_versions.c.definition).where(
    definition_versions.c.hash == bindparam("hash")
)


def get_state_machine(conn: Connection, name: str) -> Row[Any] | None:
    return conn.execute(_GET_STATE_MACHINE, {"name": name}).first()


def get_definition(conn: Connection, digest: str) -> JSON | None:
    text = conn.execute(_GET_DEFINITION, {"hash": digest}).scalar()
    return None if text is None else loads(text)


# -- executions ----------------------------------------------------------------------------


@dataclass(slots=True)
class NewExecution:
    id: str
    name: str
    state_machine: str
    version: str
    input: JSON
    start_date: int
    seed: int
    deadline: int | None
    payload_limit: int | None
    trace_parent: str | None = None  # W3C traceparent of the start request, if any


_GET_EXECUTION = select(executions).where(executions.c.id == bindparam("eid"))
_INSERT_EXECUTION = insert(executions)
_INSERT_FRAME = INSERT_FRAME.returning(frames.c.id)
_SET_ROOT_FRAME = (
    update(executions)
    .where(executions.c.id == bindparam("eid"))
    .values(root_frame=bindparam("root"))
)


def get_execution(conn: Connection, execution_id: str) -> Row[Any] | None:
    return conn.execute(_GET_EXECUTION, {"eid": execution_id}).first()


def insert_execution(conn: Connection, new: NewExecution, root_scope: str, snapshot: JSON) -> int:
    """Create the execution, its root frame (runnable now) and ExecutionStarted (event 1)."""
    conn.execute(
        _INSERT_EXECUTION,
        {
            "id": new.id,
            "name": new.name,
            "state_machine": new.state_machine,
            "version": new.version,
            "status": "RUNNING",
            "input": dumps(new.input),
            "start_date": new.start_date,
            "deadline": new.deadline,
            "seed": new.seed,
            "payload_limit": new.payload_limit,
            "redrive_count": 0,
            "last_event_id": 1,
        },
    )
    frame_id = conn.execute(
        _INSERT_FRAME,
        {
            "execution_id": new.id,
            "scope": root_scope,
            "status": "RUNNABLE",
            "snapshot": dumps(snapshot),
            "inbox": dumps({"k": "enter"}),
            "run_at": new.start_date,
            "version": 0,
            "generation": 0,
            "group_index": 0,
            "child_total": 0,
            "child_started": 0,
            "child_done": 0,
            "child_failed": 0,
        },
    ).scalar_one()
    conn.execute(_SET_ROOT_FRAME, {"eid": new.id, "root": frame_id})
    details = {"input": new.input}
    if new.trace_parent is not None:
        details["traceParent"] = new.trace_parent
    started = history_row(new.id, 1, "ExecutionStarted", new.start_date, frame_id, details)
    append_history(conn, [started])
    return frame_id


_LOCK_COLUMNS = (
    executions.c.id,
    executions.c.last_event_id,
    executions.c.status,
    executions.c.deadline,
    executions.c.redrive_count,
)
_LOCK_ONE = select(*_LOCK_COLUMNS).where(executions.c.id == bindparam("eid"))
_LOCK_MANY = (
    select(*_LOCK_COLUMNS)
    .where(executions.c.id.in_(bindparam("eids", expanding=True)))
    .order_by(executions.c.id)
)


#: SQLite: the last event id is the larger of the column and the newest history row (the
#: fast path appends history without writing the execution row, see ``hot``).
_SQLITE_LAST = literal_column(SQLITE_LAST_EVENT)
_SQLITE_COLUMNS = (executions.c.id, _SQLITE_LAST, *_LOCK_COLUMNS[2:])
_SQLITE_ONE = select(*_SQLITE_COLUMNS).where(executions.c.id == bindparam("eid"))
_SQLITE_MANY = (
    select(*_SQLITE_COLUMNS)
    .where(executions.c.id.in_(bindparam("eids", expanding=True)))
    .order_by(executions.c.id)
)


def lock_executions(conn: Connection, ids: Sequence[str], for_update: bool) -> dict[str, list]:
    """Lock execution rows (in id order, so two workers never deadlock) and return
    ``id -> [last_event_id, status, deadline, redrive_count]``.

    Every change to an execution's frames or history happens under this lock, which is
    what keeps history ids gapless when several workers run one execution's children.
    """
    sqlite = conn.dialect.name == "sqlite"
    if len(ids) == 1:
        stmt = _SQLITE_ONE if sqlite else _LOCK_ONE
        rows = conn.execute(stmt.with_for_update() if for_update else stmt, {"eid": ids[0]})
    else:
        stmt = _SQLITE_MANY if sqlite else _LOCK_MANY
        rows = conn.execute(stmt.with_for_update() if for_update else stmt, {"eids": list(ids)})
    return {r[0]: [r[1], r[2], r[3], r[4]] for r in rows}


_SET_LAST_EVENT = (
    update(executions)
    .where(executions.c.id == bindparam("eid"))
    .values(last_event_id=bindparam("last"))
)


def set_last_event_ids(conn: Connection, values: dict[str, int]) -> None:
    if values:
        conn.execute(_SET_LAST_EVENT, [{"eid": k, "last": v} for k, v in values.items()])


def close_execution(
    conn: Connection,
    execution_id: str,
    status: str,
    *,
    output: JSON = None,
    error: str | None = None,
    cause: str | None = None,
    stop_date: int,
) -> None:
    conn.execute(
        _CLOSE_EXECUTION,
        {
            "eid": execution_id,
            "b_status": status,
            "b_output": dumps_or_none(output) if status == "SUCCEEDED" else None,
            "b_error": error,
            "b_cause": cause,
            "b_stop": stop_date,
        },
    )


_CLOSE_EXECUTION = (
    update(executions)
    .where(executions.c.id == bindparam("eid"))
    .values(
        status=bindparam("b_status"),
        output=bindparam("b_output"),
        error=bindparam("b_error"),
        cause=bindparam("b_cause"),
        stop_date=bindparam("b_stop"),
    )
)


def list_executions(
    conn: Connection,
    *,
    state_machine: str | None,
    status: str | None,
    started_after: int | None,
    started_before: int | None,
    after: tuple[int, str] | None,
    limit: int,
) -> list[Row[Any]]:
    """Newest first; ``after`` is the (start_date, id) of the last row of the previous page."""
    cols = [c for c in executions.c if c.name not in {"input", "output", "seed"}]
    stmt = select(*cols)
    if state_machine is not None:
        stmt = stmt.where(executions.c.state_machine == state_machine)
    if status is not None:
        stmt = stmt.where(executions.c.status == status)
    if started_after is not None:
        stmt = stmt.where(executions.c.start_date >= started_after)
    if started_before is not None:
        stmt = stmt.where(executions.c.start_date < started_before)
    if after is not None:
        stmt = stmt.where(
            or_(
                executions.c.start_date < after[0],
                and_(executions.c.start_date == after[0], executions.c.id < after[1]),
            )
        )
    stmt = stmt.order_by(executions.c.start_date.desc(), executions.c.id.desc()).limit(limit)
    return list(conn.execute(stmt))


# -- history -------------------------------------------------------------------------------

_INSERT_HISTORY = insert(history)


def append_history(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert prepared rows (``execution_id, id, type, timestamp, frame_id, details``)."""
    if rows:
        conn.execute(_INSERT_HISTORY, rows)
        appended(rows)


_HISTORY_OF = select(history).where(history.c.execution_id == bindparam("eid"))
_HISTORY_FORWARD = (
    _HISTORY_OF.where(history.c.id > bindparam("after"))
    .order_by(history.c.id)
    .limit(bindparam("n"))
)
_HISTORY_NEWEST = _HISTORY_OF.order_by(history.c.id.desc()).limit(bindparam("n"))
_HISTORY_BACKWARD = (
    _HISTORY_OF.where(history.c.id < bindparam("after"))
    .order_by(history.c.id.desc())
    .limit(bindparam("n"))
)
_COUNT_HISTORY = (
    select(func.count()).select_from(history).where(history.c.execution_id == bindparam("eid"))
)


def history_page(
    conn: Connection, execution_id: str, after_id: int, limit: int, reverse: bool = False
) -> list[Row[Any]]:
    params = {"eid": execution_id, "after": after_id, "n": limit}
    if not reverse:
        return list(conn.execute(_HISTORY_FORWARD, params))
    if not after_id:
        return list(conn.execute(_HISTORY_NEWEST, {"eid": execution_id, "n": limit}))
    return list(conn.execute(_HISTORY_BACKWARD, params))


def count_history(conn: Connection, execution_id: str) -> int:
    return conn.execute(_COUNT_HISTORY, {"eid": execution_id}).scalar_one()


# -- termination ---------------------------------------------------------------------------


def cancel_frames(conn: Connection, execution_id: str) -> None:
    """Cancel every frame that is not finished; a worker still holding one of them finds
    its next write stale (the version moved) and drops it."""
    conn.execute(_CANCEL_FRAMES, {"eid": execution_id})
    conn.execute(_SPEND_TOKENS, {"eid": execution_id})


_CANCEL_FRAMES = (
    update(frames)
    .where(frames.c.execution_id == bindparam("eid"), frames.c.status.notin_(("DONE", "CANCELLED")))
    .values(**CANCELLED)
)
_SPEND_TOKENS = (
    update(task_tokens).where(task_tokens.c.execution_id == bindparam("eid")).values(used=True)
)


def history_row(
    execution_id: str, event_id: int, kind: str, timestamp: int, frame_id: int | None, details: JSON
) -> dict[str, Any]:
    return {
        "execution_id": execution_id,
        "id": event_id,
        "type": kind,
        "timestamp": timestamp,
        "frame_id": frame_id,
        "details": dumps(details),
    }


def iter_json(values: Iterable[str | None]) -> list[JSON]:
    return [None if v is None else loads(v) for v in values]
