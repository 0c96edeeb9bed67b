"""The worker's side of leases: claiming runnable frames, renewing their leases,
giving frames back, and timing out executions past their TimeoutSeconds.

:class:`Leases` is a mixin of :class:`~statemachine.engine.worker.Worker`, whose loop
state (held frames, ready transitions, calls in flight) it reads and changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DBAPIError

from statemachine.engine.context import Contexts
from statemachine.engine.held import Held, Input, held_from_row
from statemachine.engine.lifecycle import terminate, time_out
from statemachine.engine.tasks import Running
from statemachine.errors import StatesError
from statemachine.store import executions as ex_repo
from statemachine.store import frames as fr_repo
from statemachine.store.db import Database
from statemachine.store.jsontext import dumps
from statemachine.store.tables import executions, frames

log = logging.getLogger("statemachine.worker")


_SET_INBOX = (
    update(frames).where(frames.c.id == bindparam("fid")).values(inbox=bindparam("b_inbox"))
)
_PAST_DEADLINE = (
    select(executions.c.id)
    .where(
        executions.c.status == "RUNNING",
        executions.c.deadline.is_not(None),
        executions.c.deadline <= bindparam("now"),
    )
    .limit(50)
)


class Leases:
    """Claims, lease renewal and execution time-outs (needs the attributes of ``Worker``)."""

    db: Database
    worker_id: str
    concurrency: int
    lease_us: int
    contexts: Contexts
    now: Callable[[], int]
    _held: dict[int, Held]
    _ready: list[tuple[Held, Input]]
    _running: dict[int, Running]
    _executions: dict[str, list]
    _claim_soon: bool

    def _dispatch_inbox(self, held: Held, now: int) -> None:
        raise NotImplementedError  # pragma: no cover - Worker's

    def _claim(self) -> None:
        room = self.concurrency - len(self._held)
        now = self.now()
        if not self.db.is_postgres:
            with self.db.read() as conn:
                if not fr_repo.any_runnable(conn, now):
                    return
        try:
            with self.db.write() as conn:
                rows = fr_repo.claim(
                    conn, self.worker_id, now, now + self.lease_us, room, self.db.is_postgres
                )
                claimed = []
                for row in rows:
                    try:
                        held = held_from_row(row)
                        self.contexts.get(conn, row.execution_id)
                    except (ValueError, KeyError, TypeError, StatesError) as exc:
                        self._fail_unreadable(conn, row, exc, now)
                        continue
                    if held.inbox.get("k") == "invoke":
                        # The call was in flight when its worker stopped: run it again,
                        # and count it as another attempt.
                        held.inbox["reruns"] = int(held.inbox.get("reruns") or 0) + 1
                        conn.execute(_SET_INBOX, {"fid": held.id, "b_inbox": dumps(held.inbox)})
                    claimed.append(held)
                self._remember_executions(conn, claimed)
        except DBAPIError:
            log.exception("claim failed; retrying later")
            return
        if rows and len(rows) == room:
            self._claim_soon = True
        for held in claimed:
            if held.id in self._held or held.id in self._running:
                # Claimed again while this worker still held it under the old lease (a
                # callback answered the token while its handler ran, giving the lease
                # up): what was running or queued for the old lease is obsolete now, and
                # left queued it would go stale in the new one's batch and take it along.
                self._drop(held.id)
            self._held[held.id] = held
            self._dispatch_inbox(held, now)

    def _remember_executions(self, conn: Any, claimed: list[Held]) -> None:
        """Cache the execution rows of newly claimed frames (a plain read: no lock, and so
        no lock-order question), so that their first transition can take the fast path
        too. The fast path validates what it was computed from (``last_event_id``), so a
        row that changes before then only sends that transition down the general path."""
        new = sorted({h.execution_id for h in claimed} - self._executions.keys())
        if not new:
            return
        for eid, state in ex_repo.lock_executions(conn, new, for_update=False).items():
            if state[1] == "RUNNING":
                self._executions[eid] = state

    def _fail_unreadable(self, conn: Any, row: Any, exc: Exception, now: int) -> None:
        """A claimed frame whose snapshot, inbox or definition cannot be read (a damaged
        row, a definition this version cannot parse) fails its execution with a cause that
        says which frame and why, instead of stopping the worker or looping on it."""
        log.error("frame %s of %s cannot be read: %r", row.id, row.execution_id, exc)
        state = ex_repo.lock_executions(conn, [row.execution_id], self.db.is_postgres)
        current = state.get(row.execution_id)
        if current is not None and current[1] == "RUNNING":
            cause = f"frame {row.id} cannot be read: {type(exc).__name__}: {exc}"
            terminate(conn, row.execution_id, current, "FAILED", "States.Runtime", cause, now)
        self.contexts.forget(row.execution_id)

    # -- leases ------------------------------------------------------------------------

    def _drop(self, frame_id: int) -> None:
        """Forget a frame someone else now owns (or that was cancelled), and whatever
        was running or queued for it."""
        self._held.pop(frame_id, None)
        running = self._running.pop(frame_id, None)
        if running is not None and running.future is not None:
            running.future.cancel()
        if any(item[0].id == frame_id for item in self._ready):
            self._ready = [item for item in self._ready if item[0].id != frame_id]

    def _give_back(self, held: list[Held]) -> None:
        ids = [h.id for h in held]
        for frame_id in ids:
            self._drop(frame_id)
        self._give_back_ids(ids)

    def _give_back_ids(self, ids: list[int]) -> None:
        try:
            with self.db.write() as conn:
                fr_repo.release_leases(conn, self.worker_id, ids)
        except DBAPIError:  # pragma: no cover - the leases expire on their own
            log.exception("could not release leases")

    def _renew(self) -> None:
        now = self.now()
        pg = self.db.is_postgres
        try:
            with self.db.write() as conn:
                mine = fr_repo.renew_leases(conn, self.worker_id, now + self.lease_us, pg)
            missing = [f for f in self._held if f not in mine]
            if missing:
                with self.db.read() as conn:
                    mine |= fr_repo.still_leased(conn, self.worker_id, missing)
        except DBAPIError:
            log.exception("lease renewal failed")
            return
        for frame_id in [f for f in self._held if f not in mine]:
            log.warning("lost the lease of frame %s", frame_id)
            self._drop(frame_id)
        unknown = [f for f in mine if f not in self._held]
        if unknown:
            # Leased to this worker, yet it holds no such frame: a bug, and renewing the
            # lease forever would hang the execution. Give the frames back to be claimed.
            log.error("frames %s were leased to this worker but not held; releasing", unknown)
            self._give_back_ids(unknown)

    def _time_out_executions(self) -> None:
        now = self.now()
        with self.db.read() as conn:
            due = [row[0] for row in conn.execute(_PAST_DEADLINE, {"now": now})]
        for execution_id in due:
            try:
                with self.db.write() as conn:
                    state = ex_repo.lock_executions(conn, [execution_id], self.db.is_postgres)
                    row = state.get(execution_id)
                    if row is not None and row[1] == "RUNNING":
                        time_out(conn, execution_id, row, now)
            except DBAPIError:  # pragma: no cover - another worker will try again
                log.exception("could not time out %s", execution_id)
            self.contexts.forget(execution_id)
