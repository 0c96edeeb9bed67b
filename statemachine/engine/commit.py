"""One database transaction for a batch of transitions (group commit).

For each item the pure interpreter computes the next snapshot and events *inside* the
transaction, after the execution rows are locked, so history ids are allocated from
``executions.last_event_id`` without gaps even when several workers advance frames of
one execution. Then, per effect:

=================  ==========================================================================
Continue           frame stays leased, inbox ``enter`` (the worker advances it again)
InvokeTask         frame stays leased, inbox ``invoke`` with the absolute deadline; the task
                   runs only after this commit (a crash before it re-runs the task)
Sleep              frame parked: ``SLEEPING``, ``run_at`` = wake-up time, lease released
SpawnChildren      parent parked as ``CHILDREN``; child rows inserted (beyond MaxConcurrency
                   as ``PENDING``), so any worker can claim them
Finish (root)      execution closed, ``ExecutionSucceeded``/``ExecutionFailed`` appended
Finish (child)     result stored; the parent's counters move; a pending sibling is released,
                   or the parent is woken with the results (or the failure)
=================  ==========================================================================

A frame write carries the version the worker read; if it matches no row the worker lost the
frame (lease expired, execution stopped, sibling failed) and :class:`StaleFrame` aborts the
whole transaction so that the caller can drop that frame and retry the others.

The Map/Parallel writes live in :mod:`.group_writes` (a mixin of :class:`BatchWriter`);
the held frame, its inbox and the outcomes in :mod:`.held`; the one-frame fast path's
write in :mod:`statemachine.store.fast`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from statemachine.engine.context import Contexts, ExecutionContext
from statemachine.engine.group_writes import ENTER_INBOX, GroupWrites
from statemachine.engine.held import (
    Held,
    Input,
    LoadChildren,
    Outcome,
    Park,
    io_inbox,
)
from statemachine.engine.lifecycle import CLOSING_EVENTS, time_out
from statemachine.engine.tasks import schedule_activity
from statemachine.interpreter import (
    ChildrenSucceeded,
    Continue,
    Enter,
    Env,
    Finish,
    Frame,
    InvokeTask,
    ReadItems,
    Sleep,
    SpawnChildren,
    TaskFailed,
    TaskSucceeded,
    TimerFired,
    WriteResults,
    advance,
)
from statemachine.store import executions as ex_repo
from statemachine.store import frames as fr_repo
from statemachine.store.db import from_micros, to_micros
from statemachine.store.hot import HotStatements, hot_statements
from statemachine.store.jsontext import dumps

JSON = Any

ENTER = Enter()
TIMER_INBOX = dumps({"k": "timer"})


class StaleCache(Exception):
    """The worker's cached execution row was out of date: retry with a locking read."""

    def __init__(self, execution_id: str) -> None:
        super().__init__(execution_id)
        self.execution_id = execution_id


class NeedsTransaction(Exception):
    """A planned transition (:meth:`BatchWriter.plan`) writes more than its frame, its
    history and ``last_event_id``: run it through the general path."""


class StaleFrame(Exception):
    """A frame write matched no row: someone else owns or cancelled the frame."""

    def __init__(self, frame_id: int) -> None:
        super().__init__(frame_id)
        self.frame_id = frame_id


@dataclass(slots=True)
class BatchWriter(GroupWrites):
    conn: Connection
    contexts: Contexts
    owner: str
    now: int
    lease_until: int
    for_update: bool
    capacity: int  # how many woken parents this worker may take over directly
    outcomes: list[Outcome] = field(default_factory=list)
    history: list[dict[str, JSON]] = field(default_factory=list)
    touched: dict[str, int] = field(default_factory=dict)
    runnable_created: bool = False
    advanced: int = 0
    locked: dict[str, list] = field(default_factory=dict)
    now_dt: datetime | None = None
    #: The worker's execution rows as of its last commits (see :meth:`from_cache`).
    cache: dict[str, list] | None = None
    guard: dict[str, int] = field(default_factory=dict)
    defer: bool = False
    lazy_lock: bool = False
    deferred: dict[str, JSON] | None = None
    hot: HotStatements = field(default_factory=lambda: hot_statements(False))
    #: Leased frame writes held back to be sent together (see flush_leased).
    pending_leased: list[dict[str, JSON]] = field(default_factory=list)
    #: Planning only (see :meth:`plan`): no connection, and nothing may need one.
    dry: bool = False
    #: Commit an outside result with the entry of the next state (False while stopping:
    #: a worker that is shutting down commits results and enters nothing new).
    fold: bool = True

    # -- entry point -----------------------------------------------------------------------

    def plan(self, held: Held, event: Input) -> list[Outcome]:
        """Compute a one-frame transition without a database, from the worker's cached
        execution row, for :class:`~statemachine.store.fast.FastCommit`: the frame write
        is left in ``deferred``, the history in ``history``, the execution's new
        ``last_event_id`` in ``touched`` and the value it must still have in ``guard``.
        Raises :class:`NeedsTransaction` when the transition needs anything more (a lock
        first, a task token, children, a closing execution, a timer...)."""
        self.dry = True
        eid = held.execution_id
        state = None if self.cache is None else self.cache.get(eid)
        if state is None or not self.lazy(held, event):
            raise NeedsTransaction
        ctx = self.contexts.cached(eid)
        if ctx is None or ctx.redrive_count != state[3]:
            raise NeedsTransaction
        self.now_dt = from_micros(self.now)
        self.locked = {eid: list(state)}
        self.guard = {eid: state[0]}
        self.lazy_lock = self.defer = True
        self.apply(ctx, self.locked[eid], held, event)
        if self.deferred is None:  # pragma: no cover - every simple effect defers its write
            raise NeedsTransaction
        return self.outcomes

    def run(self, items: list[tuple[Held, Input]]) -> list[Outcome]:
        self.now_dt = from_micros(self.now)
        ids = sorted({held.execution_id for held, _ in items})
        guarded = self.from_cache(ids)
        if guarded is None and self.for_update and len(items) == 1:
            self.lazy_lock = self.lazy(*items[0])
        if guarded is not None:
            self.locked = guarded
        elif self.lazy_lock:
            self.locked = {ids[0]: list(self.cache[ids[0]])}  # type: ignore[index]
            self.guard = {ids[0]: self.locked[ids[0]][0]}
        elif len(ids) == 1:
            self.locked = self.hot.lock(self.conn, ids[0])
        elif self.for_update:
            self.locked = self.hot.lock_many(self.conn, ids)
        else:
            self.locked = ex_repo.lock_executions(self.conn, ids, self.for_update)
        for eid, state in self.locked.items():
            if state[1] == "RUNNING" and state[2] is not None and state[2] <= self.now:
                time_out(self.conn, eid, state, self.now)
                self.contexts.forget(eid)
        # One frame on PostgreSQL: its leased write is held back and sent together with the
        # history rows (see leased_tail); the only write after it would have been those.
        self.defer = self.for_update and len(items) == 1
        for held, event in sorted(items, key=lambda item: item[0].execution_id):
            state = self.locked.get(held.execution_id)
            if state is None or state[1] != "RUNNING":
                self.outcomes.append(Outcome("dropped", held))
                continue
            ctx = self.contexts.get(self.conn, held.execution_id, state[3])
            assert ctx is not None
            self.apply(ctx, state, held, event)
        if self.deferred is not None:
            # The one-frame PostgreSQL case: frame, history and last_event_id at once.
            ((eid, last),) = self.touched.items()
            frame = self.deferred
            if self.lazy_lock:
                state, written = self.hot.locked_tail(self.conn, frame, eid, last, self.history)
                self.check_cached(eid, state)
            else:
                written = self.hot.leased_tail(self.conn, frame, eid, last, self.history)
            if written != 1:
                raise StaleFrame(frame["fid"])
            return self.outcomes
        self.take_lock()
        self.flush_leased()
        if guarded is not None:
            moves = [
                {"eid": eid, "old": old, "last": self.locked[eid][0]}
                for eid, old in self.guard.items()
            ]
            if not self.hot.move_last_event_ids(self.conn, moves):
                raise StaleCache(moves[0]["eid"])
        else:
            self.hot.set_last_event_ids(self.conn, self.touched)
        self.hot.append_history(self.conn, self.history)
        return self.outcomes

    def from_cache(self, ids: list[str]) -> dict[str, list] | None:
        """The execution rows from the worker's cache instead of a locking read, when that
        is sound: on SQLite, where ``BEGIN IMMEDIATE`` already serialises every writer
        (no row locks whose order could deadlock), and when no execution is due to time out.

        The read is then validated at the end by moving ``last_event_id`` only if it still
        has the cached value (one statement where there were two). Everything that changes
        an execution from elsewhere (a stop, a redrive, a time-out, a sibling frame's
        transition on another worker) appends history and so moves ``last_event_id``: a
        stale cache makes the move match no row, :class:`StaleCache` rolls the whole
        transaction back, and the worker retries it with the locking read.
        """
        cache = self.cache
        if cache is None or self.for_update:
            return None
        locked: dict[str, list] = {}
        for eid in ids:
            state = cache.get(eid)
            if state is None or (state[2] is not None and state[2] <= self.now):
                return None
            locked[eid] = list(state)
        self.guard = {eid: state[0] for eid, state in locked.items()}
        return locked

    def lazy(self, held: Held, event: Input) -> bool:
        """PostgreSQL, one frame: compute the transition from the worker's cached execution
        row and take the row lock in the same round trip as the writes (see
        :meth:`~statemachine.store.hot.HotStatements.locked_tail`), when the cache has
        the execution, it is not due to time out, and the transition is one that writes
        nothing before its frame (no task token to use, no children to read)."""
        state = None if self.cache is None else self.cache.get(held.execution_id)
        if state is None or (state[2] is not None and state[2] <= self.now):
            return False
        if held.inbox.get("token") is not None:
            return False
        return isinstance(event, (Enter, TaskSucceeded, TaskFailed, TimerFired))

    def flush_leased(self) -> None:
        pending = self.pending_leased
        if not pending:
            return
        if len(pending) == 1:
            if self.hot.write_leased(self.conn, pending[0]) != 1:
                raise StaleFrame(pending[0]["fid"])
            return
        if not self.for_update:
            stale = self.hot.write_leased_sqlite(self.conn, pending)
            if stale is not None:
                raise StaleFrame(stale)
            return
        written = self.hot.write_leased_many(self.conn, pending)
        for params in pending:
            if params["fid"] not in written:
                raise StaleFrame(params["fid"])

    def take_lock(self) -> None:
        """Before a write other than the deferred frame write: lock the execution row now,
        first, as every transaction does (the lock order that keeps PostgreSQL free of
        deadlocks), and check the cached row the transition was computed from."""
        if not self.lazy_lock:
            return
        if self.dry:
            raise NeedsTransaction
        self.lazy_lock = False
        ((eid, _),) = self.guard.items()
        self.check_cached(eid, self.hot.lock(self.conn, eid).get(eid))

    def check_cached(self, execution_id: str, state: list | None) -> None:
        cached = self.cache.get(execution_id) if self.cache is not None else None
        if state is None or cached is None or state[0] != self.guard[execution_id]:
            raise StaleCache(execution_id)
        if state[1] != cached[1] or state[3] != cached[3]:  # pragma: no cover - see from_cache
            raise StaleCache(execution_id)

    # -- helpers ---------------------------------------------------------------------------

    def record(self, state: list, execution_id: str, frame_id: int | None, events: Any) -> None:
        for kind, details in events:
            state[0] += 1
            self.history.append(
                ex_repo.history_row(execution_id, state[0], kind, self.now, frame_id, details)
            )
        self.touched[execution_id] = state[0]

    def write(self, stmt: Any, held: Held, params: dict[str, JSON]) -> None:
        params["fid"] = held.id
        params["ver"] = held.version
        if self.conn.execute(stmt, params).rowcount != 1:
            raise StaleFrame(held.id)

    def done(
        self,
        kind: str,
        held: Held,
        frame: Frame | None,
        inbox: dict[str, JSON] | None = None,
        **extra: Any,
    ) -> None:
        self.outcomes.append(
            Outcome(kind, held, version=held.version + 1, frame=frame, inbox=inbox, **extra)
        )

    # -- one transition --------------------------------------------------------------------

    def apply(self, ctx: ExecutionContext, state: list, held: Held, event: Input) -> None:
        if isinstance(event, Park):
            self.park(held)
            return
        if isinstance(event, LoadChildren):
            event = ChildrenSucceeded(self.child_results(held))
        token = held.inbox.get("token") if held.inbox.get("k") in ("invoke", "callback") else None
        if token is not None and isinstance(event, (TaskSucceeded, TaskFailed)):
            fr_repo.use_token(self.conn, token)
        env = Env(
            now=self.now_dt,  # type: ignore[arg-type]
            execution=ctx.info,
            seed=ctx.seed ^ held.id,
            next_event_id=state[0] + 1,
            payload_limit=ctx.payload_limit,
            # Task tokens from the OS CSPRNG: unguessable, and committed with the snapshot
            # that schedules the task, so a retry of this transition may draw a new one.
            token_source=_new_token,
        )
        step = advance(ctx.machine, held.frame, event, env)
        self.advanced += 1
        self.record(state, held.execution_id, held.id, step.events)
        if self.fold and isinstance(step.effect, Continue) and not isinstance(event, Enter):
            # An outside result (a task's, a timer's, the children's) that moves the frame
            # on is committed together with the entry of the state it moves to: one commit
            # per state entered, as AWS counts state transitions. Nothing leaves the
            # process between the two steps, so a crash before the commit loses both and
            # the result is delivered again (a task runs again, as it would have anyway).
            env.next_event_id = state[0] + 1  # (the first step kept no reference to env)
            step = advance(ctx.machine, step.frame, ENTER, env)
            self.advanced += 1
            self.record(state, held.execution_id, held.id, step.events)
        frame = step.frame
        effect = step.effect
        if isinstance(effect, InvokeTask) and "activity:" in effect.resource:
            self.take_lock()  # an activity writes its queue row (and token) before the frame
            effect = schedule_activity(
                self.conn, held.execution_id, held.id, frame, effect, _new_token, self.now
            )
        if self.lazy_lock and not (
            isinstance(effect, Continue)
            or (isinstance(effect, InvokeTask) and effect.task_token is None)
        ):
            self.take_lock()
        snapshot = dumps(frame.to_json())
        if isinstance(effect, Continue):
            self.leased(held, snapshot, ENTER_INBOX)
            self.done("continue", held, frame, {"k": "enter"}, event=Enter())
        elif isinstance(effect, InvokeTask):
            deadline = None
            if effect.timeout_seconds is not None:
                deadline = self.now + int(effect.timeout_seconds * 1_000_000)
            inbox = {
                "k": "invoke",
                "deadline": deadline,
                "hb": effect.heartbeat_seconds,
                "token": effect.task_token,
                "reruns": 0,
            }
            self.leased(held, snapshot, dumps(inbox))
            if effect.task_token is not None:
                hb = effect.heartbeat_seconds
                fr_repo.insert_token(
                    self.conn,
                    effect.task_token,
                    held.execution_id,
                    held.id,
                    deadline,
                    None if hb is None else int(hb),
                    self.now,
                )
            self.done("invoke", held, frame, inbox, task=effect)
        elif isinstance(effect, (ReadItems, WriteResults)):
            inbox = io_inbox(effect)
            self.leased(held, snapshot, dumps(inbox))
            self.done("io", held, frame, inbox, task=effect)
        elif isinstance(effect, Sleep):
            params = {
                "b_snapshot": snapshot,
                "b_status": "SLEEPING",
                "b_inbox": TIMER_INBOX,
                "b_run_at": to_micros(effect.until),
                "b_owner": None,
                "b_expires": None,
            }
            self.write(fr_repo.WRITE_FRAME, held, params)
            self.done("release", held, frame)
        elif isinstance(effect, SpawnChildren):
            self.spawn(ctx, state, held, frame, snapshot, effect)
        elif isinstance(effect, Finish):
            self.finish(ctx, state, held, snapshot, effect)
            self.done("release", held, frame)
        else:  # pragma: no cover
            raise TypeError(f"unknown effect {effect!r}")

    def leased(self, held: Held, snapshot: str, inbox: str) -> None:
        params = {"b_snapshot": snapshot, "b_inbox": inbox, "fid": held.id, "ver": held.version}
        if self.defer:
            self.deferred = params
            return
        # Written together at the end (see flush_leased): on PostgreSQL one round trip for
        # all, on SQLite one executemany; every execution row is already locked by then.
        self.pending_leased.append(params)

    def park(self, held: Held) -> None:
        """The handler of a ``.waitForTaskToken`` task returned: sleep until the callback,
        the task timeout or the heartbeat deadline, holding no worker."""
        token = held.inbox.get("token")
        row = fr_repo.get_token(self.conn, token) if token else None
        if row is None or row.used:
            raise StaleFrame(held.id)
        deadlines = [d for d in (row.expires_at, row.heartbeat_at) if d is not None]
        inbox = {"k": "callback", "token": token, "timeout_at": row.expires_at}
        params = {
            "b_status": "WAITING",
            "b_inbox": dumps(inbox),
            "b_run_at": min(deadlines) if deadlines else None,
        }
        self.write(fr_repo.WRITE_FRAME_PARKED, held, params)
        self.done("release", held, None)

    def finish(
        self, ctx: ExecutionContext, state: list, held: Held, snapshot: str, effect: Finish
    ) -> None:
        ok = effect.status == "SUCCEEDED"
        result = (
            {"ok": True, "output": effect.output}
            if ok
            else {"ok": False, "error": effect.error, "cause": effect.cause}
        )
        self.write(
            fr_repo.WRITE_FRAME_DONE, held, {"b_snapshot": snapshot, "b_result": dumps(result)}
        )
        if held.parent_id is None:
            details = (
                {"output": effect.output} if ok else {"error": effect.error, "cause": effect.cause}
            )
            self.record(
                state, held.execution_id, held.id, [(CLOSING_EVENTS[effect.status], details)]
            )
            ex_repo.close_execution(
                self.conn,
                held.execution_id,
                effect.status,
                output=effect.output,
                error=effect.error,
                cause=effect.cause,
                stop_date=self.now,
            )
            state[1] = effect.status
            self.contexts.forget(held.execution_id)
            return
        self.child_finished(state, held, ok, effect)


def _new_token() -> str:
    return secrets.token_hex(32)
