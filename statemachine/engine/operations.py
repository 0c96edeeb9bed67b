"""Changes to executions that come from outside a worker: start, stop, redrive and the
callback API. Each is one transaction under the execution row lock, the same lock the
workers' transitions take, so none of them can interleave with a transition."""

from __future__ import annotations

import os
import uuid
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from statemachine.engine.context import execution_arn
from statemachine.engine.lifecycle import terminate
from statemachine.errors import ExecutionAlreadyExists, InvalidRequest, NotFound
from statemachine.interpreter import Frame
from statemachine.model import MapState, ParallelState, StateMachine
from statemachine.observability.context import incoming_traceparent
from statemachine.store import activities as act_repo
from statemachine.store import executions as ex_repo
from statemachine.store import frames as fr_repo
from statemachine.store.db import Database, now_micros
from statemachine.store.jsontext import canonical, dumps, loads
from statemachine.store.tables import executions, frames

JSON = Any


def start(
    db: Database,
    state_machine: str,
    version: str,
    machine: StateMachine,
    execution_input: JSON,
    name: str | None,
    payload_limit: int | None,
) -> tuple[str, bool]:
    """Create an execution; returns ``(id, created)``.

    Idempotent by name, as AWS StartExecution is: the same name with the same input while
    the execution runs returns it; a different input, or a closed execution, is
    :class:`~statemachine.errors.ExecutionAlreadyExists`.
    """
    name = name or str(uuid.uuid4())
    execution_id = execution_arn(state_machine, name)
    now = now_micros()
    deadline = None
    if machine.timeout_seconds:
        deadline = now + int(machine.timeout_seconds) * 1_000_000
    new = ex_repo.NewExecution(
        id=execution_id,
        name=name,
        state_machine=state_machine,
        version=version,
        input=execution_input,
        start_date=now,
        seed=int.from_bytes(os.urandom(8), "big") >> 1,  # random jitter only; tokens use secrets
        deadline=deadline,
        payload_limit=payload_limit,
        trace_parent=incoming_traceparent(),
    )
    root = Frame(scope=machine.root.key, state=machine.start_at, input=execution_input)
    try:
        with db.write() as conn:
            if _existing(conn, execution_id, execution_input):
                return execution_id, False
            ex_repo.insert_execution(conn, new, machine.root.key, root.to_json())
    except IntegrityError:
        # Started concurrently under the same name: the other start won.
        with db.read() as conn:
            if _existing(conn, execution_id, execution_input):
                return execution_id, False
        raise ExecutionAlreadyExists(f"Execution already exists: '{execution_id}'") from None
    db.wake_workers()
    return execution_id, True


def _existing(conn: Connection, execution_id: str, execution_input: JSON) -> bool:
    row = ex_repo.get_execution(conn, execution_id)
    if row is None:
        return False
    if row.status == "RUNNING" and canonical(loads(row.input)) == canonical(execution_input):
        return True
    raise ExecutionAlreadyExists(
        f"Execution already exists: '{execution_id}'"
        + (" with a different input" if row.status == "RUNNING" else f" ({row.status})")
    )


def _lock(conn: Connection, db: Database, execution_id: str) -> list:
    state = ex_repo.lock_executions(conn, [execution_id], db.is_postgres).get(execution_id)
    if state is None:
        raise NotFound(f"Execution does not exist: '{execution_id}'")
    return state


def stop(db: Database, execution_id: str, error: str | None, cause: str | None) -> None:
    """ABORTED: the closing event, every unfinished frame cancelled (children included);
    a worker running one of its tasks finds its next write stale and drops it."""
    with db.write() as conn:
        state = _lock(conn, db, execution_id)
        if state[1] != "RUNNING":
            raise InvalidRequest(f"Execution is not running: '{execution_id}' ({state[1]})")
        root = ex_repo.get_execution(conn, execution_id).root_frame  # type: ignore[union-attr]
        terminate(conn, execution_id, state, "ABORTED", error, cause, now_micros(), root)


# -- redrive -------------------------------------------------------------------------------


def redrive(db: Database, machine: StateMachine, execution_id: str) -> None:
    """Restart a FAILED, TIMED_OUT or ABORTED execution from where it stopped.

    Completed steps are kept: the root frame re-enters the state that failed (or was
    interrupted); a Map or Parallel state reopens its children, where succeeded children
    keep their results and only failed or interrupted ones run again, recursively.
    """
    with db.write() as conn:
        state = _lock(conn, db, execution_id)
        if state[1] not in ("FAILED", "TIMED_OUT", "ABORTED"):
            raise InvalidRequest(
                f"Only FAILED, TIMED_OUT or ABORTED executions can be redriven; "
                f"'{execution_id}' is {state[1]}"
            )
        row = ex_repo.get_execution(conn, execution_id)
        assert row is not None
        now = now_micros()
        root = fr_repo.get_frame(conn, row.root_frame)
        if root is None:  # pragma: no cover - every execution has a root frame
            raise InvalidRequest("execution has no root frame")
        _reactivate(conn, machine, root, now)
        count = row.redrive_count + 1
        deadline = None
        if machine.timeout_seconds:
            deadline = now + int(machine.timeout_seconds) * 1_000_000
        conn.execute(
            executions.update()
            .where(executions.c.id == execution_id)
            .values(
                status="RUNNING",
                output=None,
                error=None,
                cause=None,
                stop_date=None,
                redrive_count=count,
                redrive_date=now,
                deadline=deadline,
            )
        )
        state[0] += 1
        ex_repo.append_history(
            conn,
            [
                ex_repo.history_row(
                    execution_id,
                    state[0],
                    "ExecutionRedriven",
                    now,
                    root.id,
                    {"redriveCount": count},
                )
            ],
        )
        ex_repo.set_last_event_ids(conn, {execution_id: state[0]})
    db.wake_workers()


def _reactivate(conn: Connection, machine: StateMachine, row: Any, now: int) -> bool:
    """Make a failed or cancelled frame run again; returns False when it had succeeded."""
    result = loads(row.result) if row.result else None
    if row.status == "DONE" and result and result.get("ok"):
        return False
    snapshot = Frame.from_json(loads(row.snapshot))
    state = machine.scopes[snapshot.scope].states[snapshot.state]
    spec = loads(row.group_spec) if row.group_spec else None
    reopen = (
        isinstance(state, (MapState, ParallelState))
        and spec is not None
        and spec.get("entered") == snapshot.entered_event_id
        and spec.get("name") == snapshot.state
    )
    snapshot.status = "RUNNING"
    snapshot.error = snapshot.cause = None
    snapshot.output = None
    values: dict[str, JSON] = {
        "lease_owner": None,
        "lease_expires": None,
        "result": None,
        "version": frames.c.version + 1,
    }
    if reopen and spec is not None:
        # Wait for the same children again; the succeeded ones count as done already.
        done = 0
        started = 0
        for child in fr_repo.children_of(conn, row.id, int(spec["gen"])):
            if child.status == "PENDING":
                continue
            started += 1
            if not _reactivate(conn, machine, child, now):
                done += 1
        snapshot.phase = "children"
        values.update(
            status="CHILDREN",
            inbox=None,
            run_at=None,
            child_started=started,
            child_done=done,
            child_failed=0,
        )
        if done == row.child_total:
            values.update(status="RUNNABLE", inbox=dumps({"k": "children", "ok": True}), run_at=now)
    else:
        # Enter the state again (a fresh task token, fresh timers); a Map/Parallel state
        # entered this way reuses its earlier successful children.
        snapshot.phase = "enter"
        snapshot.pending = None
        values.update(status="RUNNABLE", inbox=dumps({"k": "enter"}), run_at=now)
        if spec is not None:
            spec["reuse"] = {"parent": row.id, "gen": spec["gen"]}
            values["group_spec"] = dumps(spec)
    values["snapshot"] = dumps(snapshot.to_json())
    conn.execute(frames.update().where(frames.c.id == row.id).values(**values))
    return True


# -- callbacks -----------------------------------------------------------------------------


def _token_frame(conn: Connection, db: Database, token: str) -> tuple[Any, list, Any]:
    row = fr_repo.get_token(conn, token)
    if row is None:
        raise NotFound("Task does not exist (unknown task token)")
    state = _lock(conn, db, row.execution_id)
    row = fr_repo.get_token(conn, token)  # again, now that the execution is locked
    assert row is not None
    if row.used or state[1] != "RUNNING":
        raise InvalidRequest(
            "Task timed out or was already completed (task token is no longer valid)"
        )
    frame = fr_repo.get_frame(conn, row.frame_id)
    if frame is None or frame.status in ("DONE", "CANCELLED"):
        raise InvalidRequest("Task is no longer waiting for this token")
    return row, state, frame


def complete_task(db: Database, token: str, inbox: dict[str, JSON]) -> None:
    """Deliver a callback's success or failure: the frame becomes runnable with it."""
    with db.write() as conn:
        _row, _state, frame = _token_frame(conn, db, token)
        fr_repo.use_token(conn, token)
        conn.execute(
            frames.update()
            .where(frames.c.id == frame.id)
            .values(
                status="RUNNABLE",
                inbox=dumps(inbox),
                run_at=now_micros(),
                lease_owner=None,
                lease_expires=None,
                version=frames.c.version + 1,
            )
        )
    db.wake_workers()


def heartbeat_task(db: Database, token: str) -> None:
    """Push the heartbeat deadline of a callback task forward."""
    with db.write() as conn:
        row, _state, frame = _token_frame(conn, db, token)
        if row.heartbeat_seconds is None:
            return
        beat_at = now_micros() + row.heartbeat_seconds * 1_000_000
        fr_repo.set_token_heartbeat(conn, token, beat_at)
        if frame.status == "WAITING":
            deadlines = [d for d in (row.expires_at, beat_at) if d is not None]
            conn.execute(
                frames.update().where(frames.c.id == frame.id).values(run_at=min(deadlines))
            )


# -- activities ----------------------------------------------------------------------------


def get_activity_task(db: Database, activity: str, worker: str) -> tuple[str, JSON] | None:
    """Claim the oldest waiting task of ``activity`` for ``worker``: ``(token, input)``,
    or None when there is none. Non-blocking; callers long-poll.

    One transaction: SQLite's write lock, or PostgreSQL's ``FOR UPDATE SKIP LOCKED`` on
    the queue rows, makes the claim atomic, so a task goes to exactly one worker. Only a
    parked frame's task is handed out (a just-scheduled one shows up once its frame has
    parked). The heartbeat clock restarts at the claim, as a task's first heartbeat would.
    """
    with db.write() as conn:
        now = now_micros()
        for row in act_repo.candidates(conn, activity, db.is_postgres):
            if row.token not in (row.inbox or ""):
                act_repo.drop_task(conn, row.token)  # the frame waits for another token now
                continue
            if not act_repo.mark_claimed(conn, row.token, worker, now):
                continue  # pragma: no cover - the row lock / write lock prevents this
            if row.heartbeat_seconds is not None:
                beat_at = now + row.heartbeat_seconds * 1_000_000
                act_repo.restart_heartbeat(
                    conn, row.token, row.frame_id, row.expires_at, beat_at, now
                )
            return row.token, loads(row.input)
    return None
