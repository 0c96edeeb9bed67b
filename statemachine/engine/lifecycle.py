"""Ending an execution from outside its frames: stop (ABORTED) and execution-level
``TimeoutSeconds`` (TIMED_OUT). Both run under the execution row lock, append the closing
history event and cancel every unfinished frame, so a worker still running one of them
finds its next write stale and never records a second ending."""

from __future__ import annotations

from sqlalchemy import Connection

from statemachine.store import executions as ex_repo

CLOSING_EVENTS = {
    "SUCCEEDED": "ExecutionSucceeded",
    "FAILED": "ExecutionFailed",
    "TIMED_OUT": "ExecutionTimedOut",
    "ABORTED": "ExecutionAborted",
}

EXECUTION_TIMEOUT_CAUSE = "The execution timed out (TimeoutSeconds)"


def terminate(
    conn: Connection,
    execution_id: str,
    lock_state: list,
    status: str,
    error: str | None,
    cause: str | None,
    now: int,
    root_frame: int | None = None,
) -> None:
    """Close a RUNNING execution. ``lock_state`` is the row from
    :func:`~statemachine.store.executions.lock_executions`; it is updated in place."""
    event_id = lock_state[0] + 1
    lock_state[0] = event_id
    lock_state[1] = status
    details: dict[str, object] = {"error": error, "cause": cause}
    ex_repo.append_history(
        conn,
        [
            ex_repo.history_row(
                execution_id, event_id, CLOSING_EVENTS[status], now, root_frame, details
            )
        ],
    )
    ex_repo.close_execution(conn, execution_id, status, error=error, cause=cause, stop_date=now)
    ex_repo.set_last_event_ids(conn, {execution_id: event_id})
    ex_repo.cancel_frames(conn, execution_id)


def time_out(conn: Connection, execution_id: str, lock_state: list, now: int) -> None:
    terminate(
        conn, execution_id, lock_state, "TIMED_OUT", "States.Timeout", EXECUTION_TIMEOUT_CAUSE, now
    )
