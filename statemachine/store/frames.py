"""Repository functions for frames (leases, transitions, children) and task tokens.

A frame is claimable when ``run_at <= now`` and no live lease covers it. Claiming bumps
``version``; every later write by the claimer carries the version it read
(``WHERE version = :v``), so a write from a worker that lost its lease matches no row and
is reported as stale instead of taking effect twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, insert, or_, select, update

from statemachine.store.tables import activity_tasks, frames, task_tokens

JSON = Any

CLAIM_COLUMNS = (
    frames.c.id,
    frames.c.execution_id,
    frames.c.parent_id,
    frames.c.generation,
    frames.c.group_index,
    frames.c.snapshot,
    frames.c.inbox,
    frames.c.version,
    frames.c.status,
    frames.c.group_spec,
)


def _claim_statement(skip_locked: bool) -> Any:
    candidates = (
        select(frames.c.id)
        .where(
            frames.c.run_at <= bindparam("now"),
            or_(frames.c.lease_expires.is_(None), frames.c.lease_expires < bindparam("now")),
        )
        .order_by(frames.c.run_at)
        .limit(bindparam("n"))
    )
    if skip_locked:
        candidates = candidates.with_for_update(skip_locked=True)
    return (
        update(frames)
        .where(frames.c.id.in_(candidates.scalar_subquery()))
        .values(
            lease_owner=bindparam("owner"),
            lease_expires=bindparam("until"),
            version=frames.c.version + 1,
        )
        .returning(*CLAIM_COLUMNS)
    )


_CLAIM = {True: _claim_statement(True), False: _claim_statement(False)}
_ANY_RUNNABLE = (
    select(frames.c.id)
    .where(
        frames.c.run_at <= bindparam("now"),
        or_(frames.c.lease_expires.is_(None), frames.c.lease_expires < bindparam("now")),
    )
    .limit(1)
)


def any_runnable(conn: Connection, now: int) -> bool:
    return conn.execute(_ANY_RUNNABLE, {"now": now}).first() is not None


def claim(
    conn: Connection, owner: str, now: int, until: int, limit: int, skip_locked: bool
) -> list[Row[Any]]:
    """Lease up to ``limit`` runnable frames, oldest wake-up time first."""
    return list(
        conn.execute(_CLAIM[skip_locked], {"now": now, "n": limit, "owner": owner, "until": until})
    )


def _renew_statement(skip_locked: bool) -> Any:
    mine = select(frames.c.id).where(frames.c.lease_owner == bindparam("owner"))
    if skip_locked:
        mine = mine.with_for_update(skip_locked=True)
    return (
        update(frames)
        .where(frames.c.id.in_(mine.scalar_subquery()))
        .values(lease_expires=bindparam("until"))
        .returning(frames.c.id)
    )


_RENEW = {True: _renew_statement(True), False: _renew_statement(False)}


def renew_leases(conn: Connection, owner: str, until: int, skip_locked: bool) -> set[int]:
    """Extend every lease ``owner`` holds; returns the ids renewed.

    On PostgreSQL rows locked by another transaction (a stop or a callback changing the
    frame right now) are skipped instead of waited for, so renewal never takes part in a
    deadlock; :func:`still_leased` tells whether a skipped frame is still ours.
    """
    return {r[0] for r in conn.execute(_RENEW[skip_locked], {"owner": owner, "until": until})}


_STILL_LEASED = select(frames.c.id).where(
    frames.c.id.in_(bindparam("ids", expanding=True)), frames.c.lease_owner == bindparam("owner")
)
_EXPIRE_OWN = (
    update(frames)
    .where(frames.c.lease_owner == bindparam("owner"))
    .values(lease_expires=bindparam("until"))
)
_RELEASE_ALL = (
    update(frames)
    .where(frames.c.lease_owner == bindparam("owner"))
    .values(lease_owner=None, lease_expires=None)
)
_RELEASE_SOME = _RELEASE_ALL.where(frames.c.id.in_(bindparam("ids", expanding=True)))


def still_leased(conn: Connection, owner: str, ids: list[int]) -> set[int]:
    rows = conn.execute(_STILL_LEASED, {"ids": list(ids), "owner": owner})
    return {r[0] for r in rows}


def expire_own_leases(conn: Connection, owner: str, now: int) -> int:
    """A worker restarted under the same id takes its frames back at once."""
    return conn.execute(_EXPIRE_OWN, {"owner": owner, "until": now - 1}).rowcount


def release_leases(conn: Connection, owner: str, ids: list[int] | None = None) -> None:
    if ids is None:
        conn.execute(_RELEASE_ALL, {"owner": owner})
    elif ids:
        conn.execute(_RELEASE_SOME, {"owner": owner, "ids": list(ids)})


def _versioned_write(**values: Any) -> Any:
    """An UPDATE of one frame guarded by its optimistic version: a stale or duplicate
    write matches no row (the caller checks rowcount) and bumps nothing."""
    return (
        update(frames)
        .where(frames.c.id == bindparam("fid"), frames.c.version == bindparam("ver"))
        .values(**values, version=frames.c.version + 1)
    )


#: The one write of a transition. Bind names differ from column names (SQLAlchemy
#: reserves those for its own parameters).
WRITE_FRAME = _versioned_write(
    snapshot=bindparam("b_snapshot"),
    status=bindparam("b_status"),
    inbox=bindparam("b_inbox"),
    run_at=bindparam("b_run_at"),
    lease_owner=bindparam("b_owner"),
    lease_expires=bindparam("b_expires"),
)

#: A transition after which the worker keeps the frame (Continue, a task started): the lease
#: and ``run_at`` stay as they are, so no index is touched on the hot path.
WRITE_FRAME_LEASED = _versioned_write(
    snapshot=bindparam("b_snapshot"),
    status="RUNNABLE",
    inbox=bindparam("b_inbox"),
)

WRITE_FRAME_DONE = _versioned_write(
    snapshot=bindparam("b_snapshot"),
    status="DONE",
    inbox=None,
    run_at=None,
    lease_owner=None,
    lease_expires=None,
    result=bindparam("b_result"),
)

WRITE_FRAME_PARKED = _versioned_write(
    status=bindparam("b_status"),
    inbox=bindparam("b_inbox"),
    run_at=bindparam("b_run_at"),
    lease_owner=None,
    lease_expires=None,
)

WRITE_FRAME_GROUP = _versioned_write(
    snapshot=bindparam("b_snapshot"),
    status="CHILDREN",
    inbox=None,
    run_at=None,
    lease_owner=None,
    lease_expires=None,
    group_spec=bindparam("b_spec"),
    child_total=bindparam("b_total"),
    child_started=bindparam("b_started"),
    child_done=bindparam("b_done"),
    child_failed=0,
)

INSERT_FRAME = insert(frames)


_GET_FRAME = select(frames).where(frames.c.id == bindparam("fid"))


def get_frame(conn: Connection, frame_id: int) -> Row[Any] | None:
    return conn.execute(_GET_FRAME, {"fid": frame_id}).first()


_GROUP_OF = select(
    frames.c.status,
    frames.c.group_spec,
    frames.c.child_total,
    frames.c.child_started,
    frames.c.child_done,
    frames.c.child_failed,
).where(frames.c.id == bindparam("pid"))


def group_of(conn: Connection, parent_id: int) -> Row[Any] | None:
    return conn.execute(_GROUP_OF, {"pid": parent_id}).first()


_SET_COUNTERS = (
    update(frames)
    .where(frames.c.id == bindparam("pid"))
    .values(
        child_started=bindparam("b_started"),
        child_done=bindparam("b_done"),
        child_failed=bindparam("b_failed"),
    )
)


def set_counters(conn: Connection, parent_id: int, started: int, done: int, failed: int) -> None:
    conn.execute(
        _SET_COUNTERS, {"pid": parent_id, "b_started": started, "b_done": done, "b_failed": failed}
    )


_RELEASE_CHILD = (
    update(frames)
    .where(
        frames.c.parent_id == bindparam("pid"),
        frames.c.generation == bindparam("gen"),
        frames.c.group_index == bindparam("idx"),
        frames.c.status == "PENDING",
    )
    .values(status="RUNNABLE", run_at=bindparam("now"), version=frames.c.version + 1)
)


def release_child(conn: Connection, parent_id: int, generation: int, index: int, now: int) -> bool:
    """Make a child that waited for a MaxConcurrency slot runnable."""
    result = conn.execute(
        _RELEASE_CHILD, {"pid": parent_id, "gen": generation, "idx": index, "now": now}
    )
    return result.rowcount > 0


_RESUME_PARENT = (
    update(frames)
    .where(frames.c.id == bindparam("pid"))
    .values(
        status="RUNNABLE",
        inbox=bindparam("b_inbox"),
        run_at=bindparam("now"),
        lease_owner=bindparam("b_owner"),
        lease_expires=bindparam("b_expires"),
        child_started=bindparam("b_started"),
        child_done=bindparam("b_done"),
        child_failed=bindparam("b_failed"),
        version=frames.c.version + 1,
    )
    .returning(*CLAIM_COLUMNS)
)


def resume_parent(conn: Connection, parent_id: int, params: dict[str, Any]) -> Row[Any]:
    return conn.execute(_RESUME_PARENT, {"pid": parent_id, **params}).one()


_CHILD_RESULTS = (
    select(frames.c.group_index, frames.c.result)
    .where(frames.c.parent_id == bindparam("pid"), frames.c.generation == bindparam("gen"))
    .order_by(frames.c.group_index)
)


def child_results(conn: Connection, parent_id: int, generation: int) -> list[Row[Any]]:
    return list(conn.execute(_CHILD_RESULTS, {"pid": parent_id, "gen": generation}))


_CHILDREN_OF = (
    select(frames)
    .where(frames.c.parent_id == bindparam("pid"), frames.c.generation == bindparam("gen"))
    .order_by(frames.c.group_index)
)


def children_of(conn: Connection, parent_id: int, generation: int) -> list[Row[Any]]:
    return list(conn.execute(_CHILDREN_OF, {"pid": parent_id, "gen": generation}))


_UNFINISHED = frames.c.status.notin_(("DONE", "CANCELLED"))
_OPEN_CHILDREN = select(frames.c.id).where(
    frames.c.parent_id == bindparam("pid"), frames.c.generation == bindparam("gen"), _UNFINISHED
)
_OPEN_GRANDCHILDREN = select(frames.c.id).where(
    frames.c.parent_id.in_(bindparam("ids", expanding=True)), _UNFINISHED
)
#: What cancelling a frame writes: no wake-up, no lease, and a new version, so that a
#: worker still holding the frame finds its next write stale and drops it.
CANCELLED = {
    "status": "CANCELLED",
    "run_at": None,
    "lease_owner": None,
    "lease_expires": None,
    "version": frames.c.version + 1,
}
_CANCEL_FRAMES = (
    update(frames).where(frames.c.id.in_(bindparam("ids", expanding=True))).values(**CANCELLED)
)
_SPEND_TOKENS_OF = (
    update(task_tokens)
    .where(task_tokens.c.frame_id.in_(bindparam("ids", expanding=True)))
    .values(used=True)
)


def cancel_subtree(conn: Connection, parent_id: int, generation: int) -> None:
    """Cancel the unfinished frames under a closed group, however deep."""
    level = [r[0] for r in conn.execute(_OPEN_CHILDREN, {"pid": parent_id, "gen": generation})]
    while level:
        conn.execute(_CANCEL_FRAMES, {"ids": level})
        conn.execute(_SPEND_TOKENS_OF, {"ids": level})
        level = [r[0] for r in conn.execute(_OPEN_GRANDCHILDREN, {"ids": level})]


# -- task tokens ---------------------------------------------------------------------------


_INSERT_TOKEN = insert(task_tokens)
_GET_TOKEN = select(task_tokens).where(task_tokens.c.token == bindparam("b_token"))
_DELETE_ACTIVITY = delete(activity_tasks).where(activity_tasks.c.token == bindparam("b_token"))
_SPEND_TOKEN = (
    update(task_tokens).where(task_tokens.c.token == bindparam("b_token")).values(used=True)
)
_SET_HEARTBEAT = (
    update(task_tokens)
    .where(task_tokens.c.token == bindparam("b_token"))
    .values(heartbeat_at=bindparam("beat"))
)


def insert_token(
    conn: Connection,
    token: str,
    execution_id: str,
    frame_id: int,
    expires_at: int | None,
    heartbeat_seconds: int | None,
    now: int,
) -> None:
    conn.execute(
        _INSERT_TOKEN,
        {
            "token": token,
            "execution_id": execution_id,
            "frame_id": frame_id,
            "expires_at": expires_at,
            "heartbeat_seconds": heartbeat_seconds,
            "heartbeat_at": (
                None if heartbeat_seconds is None else now + heartbeat_seconds * 1_000_000
            ),
            "used": False,
            "created_at": now,
        },
    )


def get_token(conn: Connection, token: str) -> Row[Any] | None:
    return conn.execute(_GET_TOKEN, {"b_token": token}).first()


def use_token(conn: Connection, token: str) -> None:
    """Spend a task token. An activity task queued under it goes too; its row is deleted
    first so that every transaction touches ``activity_tasks`` before ``task_tokens`` (the
    order a poll takes them in), which keeps PostgreSQL free of deadlocks."""
    conn.execute(_DELETE_ACTIVITY, {"b_token": token})
    conn.execute(_SPEND_TOKEN, {"b_token": token})


def set_token_heartbeat(conn: Connection, token: str, heartbeat_at: int) -> None:
    conn.execute(_SET_HEARTBEAT, {"b_token": token, "beat": heartbeat_at})
