"""Repository functions for activity tasks: ``activity:NAME`` tasks that external workers
take (AWS ``GetActivityTask``) and answer by task token.

An activity task is a callback task whose token is handed out by a poll instead of by a
handler: its deadlines live in ``task_tokens`` like any callback's, and its frame waits
(``WAITING``) exactly as a ``.waitForTaskToken`` frame does. This table only adds the
queue: which activity, the input, and who claimed it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, insert, select, update

from statemachine.store.frames import set_token_heartbeat
from statemachine.store.tables import activity_tasks, frames, task_tokens

#: How many queued tasks one claim looks at before giving up (stale rows are dropped).
_BATCH = 16


def insert_task(
    conn: Connection,
    token: str,
    activity: str,
    execution_id: str,
    frame_id: int,
    input_text: str,
    now: int,
) -> None:
    conn.execute(
        _INSERT_TASK,
        {
            "token": token,
            "activity": activity,
            "execution_id": execution_id,
            "frame_id": frame_id,
            "input": input_text,
            "created_at": now,
        },
    )


def _candidates_statement(skip_locked: bool) -> Any:
    query = (
        select(
            activity_tasks.c.token,
            activity_tasks.c.input,
            activity_tasks.c.frame_id,
            task_tokens.c.expires_at,
            task_tokens.c.heartbeat_seconds,
            frames.c.inbox,
        )
        .join(task_tokens, task_tokens.c.token == activity_tasks.c.token)
        .join(frames, frames.c.id == activity_tasks.c.frame_id)
        .where(
            activity_tasks.c.activity == bindparam("activity"),
            activity_tasks.c.claimed_at.is_(None),
            task_tokens.c.used.is_(False),
            frames.c.status == "WAITING",
        )
        .order_by(activity_tasks.c.created_at, activity_tasks.c.token)
        .limit(_BATCH)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True, of=activity_tasks)
    return query


_INSERT_TASK = insert(activity_tasks)
_CANDIDATES = {True: _candidates_statement(True), False: _candidates_statement(False)}
_MARK_CLAIMED = (
    update(activity_tasks)
    .where(activity_tasks.c.token == bindparam("b_token"), activity_tasks.c.claimed_at.is_(None))
    .values(claimed_by=bindparam("worker"), claimed_at=bindparam("now"))
)
_MOVE_WAKE_UP = (
    update(frames)
    .where(
        frames.c.id == bindparam("fid"),
        frames.c.status == "WAITING",
        frames.c.run_at > bindparam("now"),
        frames.c.lease_expires.is_(None) | (frames.c.lease_expires < bindparam("now")),
    )
    .values(run_at=bindparam("wake"))
)
_DROP_TASK = delete(activity_tasks).where(activity_tasks.c.token == bindparam("b_token"))
_GET_TASK = select(activity_tasks).where(activity_tasks.c.token == bindparam("b_token"))


def candidates(conn: Connection, activity: str, skip_locked: bool) -> list[Row[Any]]:
    """The oldest unclaimed tasks of ``activity`` whose frame is parked on an unused
    token; on PostgreSQL the rows are locked and rows other pollers hold are skipped, so
    two concurrent polls never see the same task."""
    return list(conn.execute(_CANDIDATES[skip_locked], {"activity": activity}))


def mark_claimed(conn: Connection, token: str, worker: str, now: int) -> bool:
    result = conn.execute(_MARK_CLAIMED, {"b_token": token, "worker": worker, "now": now})
    return result.rowcount == 1


def restart_heartbeat(
    conn: Connection, token: str, frame_id: int, expires_at: int | None, beat_at: int, now: int
) -> None:
    """The heartbeat clock of a claimed task starts at the claim: move the token's
    heartbeat deadline, and the parked frame's wake-up time with it (only while the frame
    is parked and no worker holds it: a frame being timed out is left alone)."""
    set_token_heartbeat(conn, token, beat_at)
    wake = beat_at if expires_at is None else min(expires_at, beat_at)
    conn.execute(_MOVE_WAKE_UP, {"fid": frame_id, "now": now, "wake": wake})


def drop_task(conn: Connection, token: str) -> None:
    """Forget a queued task: answered, timed out, or no longer awaited by its frame."""
    conn.execute(_DROP_TASK, {"b_token": token})


def get_task(conn: Connection, token: str) -> Row[Any] | None:
    return conn.execute(_GET_TASK, {"b_token": token}).first()
