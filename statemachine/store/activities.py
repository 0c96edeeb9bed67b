"""Repository functions for activity tasks: ``activity:NAME`` tasks that external workers
take (AWS ``GetActivityTask``) and answer by task token.

An activity task is a callback task whose token is handed out by a poll instead of by a
handler: its deadlines live in ``task_tokens`` like any callback's, and its frame waits
(``WAITING``) exactly as a ``.waitForTaskToken`` frame does. This table only adds the
queue: which activity, the input, and who claimed it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

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
        insert(activity_tasks).values(
            token=token,
            activity=activity,
            execution_id=execution_id,
            frame_id=frame_id,
            input=input_text,
            created_at=now,
        )
    )


def candidates(conn: Connection, activity: str, skip_locked: bool) -> list[Row[Any]]:
    """The oldest unclaimed tasks of ``activity`` whose frame is parked on an unused
    token; on PostgreSQL the rows are locked and rows other pollers hold are skipped, so
    two concurrent polls never see the same task."""
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
            activity_tasks.c.activity == activity,
            activity_tasks.c.claimed_at.is_(None),
            task_tokens.c.used.is_(False),
            frames.c.status == "WAITING",
        )
        .order_by(activity_tasks.c.created_at, activity_tasks.c.token)
        .limit(_BATCH)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True, of=activity_tasks)
    return list(conn.execute(query))


def mark_claimed(conn: Connection, token: str, worker: str, now: int) -> bool:
    result = conn.execute(
        update(activity_tasks)
        .where(activity_tasks.c.token == token, activity_tasks.c.claimed_at.is_(None))
        .values(claimed_by=worker, claimed_at=now)
    )
    return result.rowcount == 1


def restart_heartbeat(
    conn: Connection, token: str, frame_id: int, expires_at: int | None, beat_at: int, now: int
) -> None:
    """The heartbeat clock of a claimed task starts at the claim: move the token's
    heartbeat deadline, and the parked frame's wake-up time with it (only while the frame
    is parked and no worker holds it: a frame being timed out is left alone)."""
    conn.execute(
        update(task_tokens).where(task_tokens.c.token == token).values(heartbeat_at=beat_at)
    )
    wake = beat_at if expires_at is None else min(expires_at, beat_at)
    conn.execute(
        update(frames)
        .where(
            frames.c.id == frame_id,
            frames.c.status == "WAITING",
            frames.c.run_at > now,
            frames.c.lease_expires.is_(None) | (frames.c.lease_expires < now),
        )
        .values(run_at=wake)
    )


def drop_task(conn: Connection, token: str) -> None:
    """Forget a queued task: answered, timed out, or no longer awaited by its frame."""
    conn.execute(delete(activity_tasks).where(activity_tasks.c.token == token))


def get_task(conn: Connection, token: str) -> Row[Any] | None:
    return conn.execute(select(activity_tasks).where(activity_tasks.c.token == token)).first()
