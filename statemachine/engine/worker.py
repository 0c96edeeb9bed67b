"""The durable worker: claims runnable frames, advances them with the pure interpreter,
commits every transition before acting on it, runs tasks, and gives frames back.

One thread drives the database and the interpreter; handlers run on a thread pool (or an
event loop for ``async def``). The loop, roughly::

    claim runnable frames (lease)         -> their inbox says what to do next
    collect finished task calls           -> TaskSucceeded / TaskFailed
    enforce TimeoutSeconds / HeartbeatSeconds of calls in flight
    commit all ready transitions in ONE transaction (group commit)
    act on the effects: advance again, start a task, or let the frame go
    renew leases; time out executions past their TimeoutSeconds

Claiming, lease renewal and execution time-outs are in :mod:`.leases`.

A frame never advances past a transition that is not committed, and a task never starts
before the transition that scheduled it is committed: a crash at any instant leaves the
database at a transition boundary, from which any worker carries on.

The loop's state belongs to whichever thread holds ``_loop_lock``: the loop thread,
except while it sleeps. A pool thread that finishes a sync call when the loop sleeps
takes the lock and commits the result itself (:meth:`Worker._deliver`), then runs the
frame's next sync call, if the commit started one, on the same thread. Waking the loop
thread, and a pool thread for the next call, costs tens of microseconds of scheduler
latency each: in a chain of tasks that was a third of each step.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import DBAPIError

from statemachine import observability
from statemachine.clock import Clock, SystemClock
from statemachine.engine.commit import BatchWriter, NeedsTransaction, StaleCache, StaleFrame
from statemachine.engine.context import Contexts, ExecutionContext
from statemachine.engine.held import (
    PARK,
    Held,
    Input,
    Outcome,
    inbox_event,
    io_effect,
)
from statemachine.engine.leases import Leases
from statemachine.engine.tasks import Inline, Running, TaskRunner
from statemachine.errors import StatesError
from statemachine.handlers.registry import TaskContext, ToolRegistry, default_registry
from statemachine.interpreter import (
    Enter,
    InvokeTask,
    ItemsRead,
    ReadItems,
    ResultsWritten,
    TaskFailed,
    TaskSucceeded,
    WriteResults,
)
from statemachine.store import frames as fr_repo
from statemachine.store.db import Database, to_micros
from statemachine.store.fast import FastCommit
from statemachine.store.hot import hot_statements

log = logging.getLogger("statemachine.worker")

#: The shortest claim interval of a worker that holds frames (seconds).
BUSY_POLL = 0.1
#: Commits a pool thread makes while it holds the loop, before it hands back.
DELIVER_ROUNDS = 4
_WAKE = (0, 0, TaskFailed("", None))  # a results-queue item that only wakes the loop


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Worker(Leases):
    """Run frames from ``db`` until :meth:`stop` (or a signal, see
    :meth:`install_signal_handlers`).

    ``concurrency`` bounds the frames held at once (each may be running a task);
    ``lease_seconds`` is how long a dead worker's frames stay unclaimable by others;
    ``poll_interval`` is how often an idle worker looks for work (and timers fire).
    """

    def __init__(
        self,
        db: Database | str,
        *,
        registry: ToolRegistry | None = None,
        worker_id: str | None = None,
        concurrency: int = 16,
        lease_seconds: float = 30.0,
        poll_interval: float = 0.25,
        batch_size: int = 128,
        grace_seconds: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        self.db = db if isinstance(db, Database) else Database(db)
        self.registry = registry or default_registry
        self.worker_id = worker_id or default_worker_id()
        self.concurrency = max(1, concurrency)
        self.lease_us = int(lease_seconds * 1_000_000)
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.grace_seconds = grace_seconds
        self.clock = clock or SystemClock()
        self.contexts = Contexts()
        self.tasks = TaskRunner(self.registry, self.concurrency)
        self.transitions = 0
        self.commits = 0
        self._held: dict[int, Held] = {}
        #: Execution rows (last_event_id, status, deadline, redrive_count) as this worker
        #: last committed them: on SQLite a transition validates them instead of re-reading
        #: them (see BatchWriter.from_cache).
        self._executions: dict[str, list] = {}
        self.hot = hot_statements(self.db.is_postgres)
        self.fast = FastCommit(self.db)
        self._ready: list[tuple[Held, Input]] = []
        self._running: dict[int, Running] = {}
        self._stop = threading.Event()
        self._started = threading.Event()
        self._claim_soon = True
        self.on_commit: Callable[[Worker, list[Outcome]], None] | None = None
        self._loop_lock = threading.Lock()
        # While a pool thread holds the loop: where its one inline call goes.
        self._inline: list[Inline] | None = None
        self._wake_loop = False  # that pool thread's step needs the loop thread
        self._failure: BaseException | None = None  # raised in a pool thread's step
        # Spans and metrics from committed history (statemachine.observability), or None.
        self.observer = observability.attach_from_env(self.db)

    # -- control ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Graceful stop: claim nothing more, let running tasks finish (up to
        ``grace_seconds``), commit their results, release every lease."""
        self._stop.set()
        self._wake()

    def _wake(self) -> None:
        """Claim at once (called from other threads: a start or callback in this process)."""
        self._claim_soon = True
        self.tasks.results.put(_WAKE)

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop())

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name=f"worker-{self.worker_id}", daemon=True)
        thread.start()
        self._started.wait(10)
        return thread

    def now(self) -> int:
        """Microseconds since the epoch, by :attr:`clock` (the system clock read directly:
        a datetime and its conversion cost several microseconds a transition)."""
        if type(self.clock) is SystemClock:
            return time.time_ns() // 1000
        return to_micros(self.clock.now())

    # -- main loop -------------------------------------------------------------------------

    def run(self) -> bool:
        """Run until stopped. Returns False when a task had to be abandoned at shutdown."""
        with self.db.write() as conn:
            fr_repo.expire_own_leases(conn, self.worker_id, self.now())
        self._loop_lock.acquire()
        self.tasks.deliver = self._deliver  # until _shutdown (a reference cycle till then)
        self.db.wakers.append(self._wake)
        self._started.set()
        mono = time.monotonic
        next_renew = mono() + self.lease_us / 3_000_000
        last_claim = -1e9
        next_maintenance = 0.0
        stop_at: float | None = None
        try:
            while True:
                if self._failure is not None:
                    raise self._failure
                if self._stop.is_set() and stop_at is None:
                    stop_at = mono() + self.grace_seconds
                self._collect_results()
                self._check_deadlines()
                if stop_at is not None:
                    if (not self._running and not self._ready) or mono() >= stop_at:
                        break
                elif len(self._held) < self.concurrency and (
                    self._claim_soon or mono() >= self._next_claim(last_claim)
                ):
                    self._claim_soon = False
                    last_claim = mono()
                    self._claim()
                if self._ready:
                    self._commit_ready(stopping=stop_at is not None)
                if mono() >= next_renew:
                    next_renew = mono() + self.lease_us / 3_000_000
                    self._renew()
                if stop_at is None and mono() >= next_maintenance:
                    next_maintenance = mono() + max(self.poll_interval, 0.2)
                    self._time_out_executions()
                if not self._ready:
                    self._wait(self._next_claim(last_claim), next_renew, stop_at)
        finally:
            clean = not self._running
            try:
                self._shutdown()
            finally:
                self._loop_lock.release()
        return clean

    def _next_claim(self, last_claim: float) -> float:
        """When to look for work next. An idle worker polls every ``poll_interval``; one
        busy with frames of its own at most every BUSY_POLL seconds (on PostgreSQL a claim
        is a write transaction, and a tight ``poll_interval`` would otherwise add one to
        nearly every transition). Computed from the last claim each time, so a worker whose
        last frame just finished polls at the idle rate at once instead of waiting out the
        busy interval. Work this worker makes runnable (child frames, a woken parent) is
        claimed at once through ``_claim_soon``."""
        if self._held:
            return last_claim + max(self.poll_interval, BUSY_POLL)
        return last_claim + self.poll_interval

    def _wait(self, next_claim: float, next_renew: float, stop_at: float | None) -> None:
        wake = min(next_renew, next_claim if len(self._held) < self.concurrency else next_renew)
        if stop_at is not None:
            wake = min(wake, stop_at)
        for running in self._running.values():
            for deadline in (running.deadline, self._beat_deadline(running)):
                if deadline is not None:
                    wake = min(wake, time.monotonic() + (deadline - self.now()) / 1_000_000)
        timeout = max(0.0, wake - time.monotonic())
        if timeout <= 0:
            return
        self._loop_lock.release()  # pool threads may commit their results meanwhile
        try:
            item = self.tasks.results.get(timeout=timeout)
        except queue.Empty:
            return
        finally:
            self._loop_lock.acquire()
        self._on_result(*item)

    def _deliver(self, frame_id: int, run_id: int, result: Any) -> None:
        """A sync call's result, on the pool thread that ran it.

        When the loop thread is asleep this thread takes the loop and does what the loop
        would: commit the result (and whatever else is ready, up to DELIVER_ROUNDS
        batches). If that starts a sync call, the call runs here next, and its result is
        delivered the same way. Otherwise (the loop is busy, or stopping) the result goes
        to the loop's queue, as from any other call. The loop thread is woken only when
        it has something to do: work left over, frames to claim, a new deadline to watch,
        or a failure of this step to raise."""
        lock = self._loop_lock
        while True:
            if self._stop.is_set() or not lock.acquire(blocking=False):
                self.tasks.results.put((frame_id, run_id, result))
                return
            if self._stop.is_set():  # stopped (or shut down) since: the loop decides
                lock.release()
                self.tasks.results.put((frame_id, run_id, result))
                return
            inline: list[Inline] = []
            self._inline = inline
            self._wake_loop = False
            try:
                self._on_result(frame_id, run_id, result)
                self._collect_results()
                for _ in range(DELIVER_ROUNDS):
                    if not self._ready:
                        break
                    self._commit_ready()
                wake = self._wake_loop or bool(self._ready) or self._claim_soon
            except BaseException as exc:  # the loop thread raises it, as if its own
                self._failure = exc
                inline.clear()
                wake = True
            finally:
                self._inline = None
                lock.release()
            if wake:
                self.tasks.results.put(_WAKE)
            if not inline:
                return
            call = inline[0]
            frame_id, run_id, result = call.frame_id, call.run_id, call.run()

    def _shutdown(self) -> None:
        self._stop.set()  # also when the loop failed: pool threads stay out of it now
        self.tasks.deliver = self.tasks.results_queue  # and the worker is no longer theirs
        if self._wake in self.db.wakers:
            self.db.wakers.remove(self._wake)
        for running in self._running.values():
            if running.future is not None:
                running.future.cancel()
        self._running.clear()
        try:
            with self.db.write() as conn:
                fr_repo.release_leases(conn, self.worker_id)
        except DBAPIError:  # pragma: no cover - the leases then simply expire
            log.exception("could not release leases")
        self._held.clear()
        self.fast.close()
        self.tasks.shutdown(wait=False)

    # -- claimed frames ------------------------------------------------------------------

    def _dispatch_inbox(self, held: Held, now: int) -> None:
        inbox = held.inbox
        kind = inbox.get("k")
        if kind == "invoke":
            self._start_task(held, self._task_of(held))
        elif kind == "io":
            self._start_io(held, io_effect(inbox))
        elif kind == "callback":
            timeout_at = inbox.get("timeout_at")
            error = (
                "States.Timeout"
                if timeout_at is not None and now >= timeout_at
                else "States.HeartbeatTimeout"
            )
            self._ready.append((held, TaskFailed(error, None)))
        else:
            event = inbox_event(inbox)
            if event is None:  # pragma: no cover - unknown inbox: give the frame back
                log.error("frame %s has an unknown inbox %r", held.id, inbox)
                self._held.pop(held.id, None)
                return
            self._ready.append((held, event))

    def _context(self, execution_id: str) -> ExecutionContext:
        ctx = self.contexts.cached(execution_id)
        if ctx is None:
            with self.db.read() as conn:
                ctx = self.contexts.get(conn, execution_id)
        assert ctx is not None
        return ctx

    def _task_of(self, held: Held) -> InvokeTask:
        ctx = self._context(held.execution_id)
        state = ctx.machine.scopes[held.frame.scope].states[held.frame.state]
        pending = held.frame.pending or {}
        return InvokeTask(
            resource=getattr(state, "resource", ""),
            payload=pending.get("payload"),
            timeout_seconds=pending.get("timeout"),
            heartbeat_seconds=pending.get("heartbeat"),
            task_token=pending.get("token"),
        )

    # -- tasks -----------------------------------------------------------------------------

    def _start_task(self, held: Held, task: InvokeTask) -> None:
        ctx = self._context(held.execution_id)
        now = self.now()
        deadline = held.inbox.get("deadline")
        if deadline is not None and now >= deadline:
            self._ready.append((held, TaskFailed("States.Timeout", None)))
            return
        run_id = self.tasks.next_run_id()
        heartbeat = task.heartbeat_seconds
        running = Running(
            frame_id=held.id,
            run_id=run_id,
            future=None,
            deadline=deadline,
            heartbeat_us=None if heartbeat is None else int(heartbeat * 1_000_000),
            last_beat=now,
            token=task.task_token,
        )

        def beat() -> None:
            running.last_beat = self.now()

        frame = held.frame
        task_ctx = TaskContext(
            execution_id=ctx.info.execution_id,
            state_name=frame.state,
            resource=task.resource,
            attempt=frame.retry_count + 1 + int(held.inbox.get("reruns") or 0),
            idempotency_key=f"{ctx.info.execution_id}/{held.id}/{frame.entered_event_id}",
            task_token=task.task_token,
            heartbeat=beat,
            traceparent=None
            if self.observer is None
            else self.observer.task_traceparent(
                ctx.info.execution_id, frame.entered_event_id, frame.retry_count + 1
            ),
        )
        self._running[held.id] = running
        if self._inline is not None and (deadline is not None or heartbeat is not None):
            self._wake_loop = True  # the loop thread watches the deadlines
        running.future = self.tasks.start(
            held.id, run_id, task.resource, task.payload, task_ctx, self._inline
        )

    def _start_io(self, held: Held, effect: ReadItems | WriteResults) -> None:
        """Read a Map's ItemReader dataset or write its ResultWriter output off the loop."""
        run_id = self.tasks.next_run_id()
        self._running[held.id] = Running(held.id, run_id, None, None, None, self.now())
        self._running[held.id].future = self.tasks.call(held.id, run_id, lambda: _io(effect))

    def _collect_results(self) -> None:
        while True:
            try:
                item = self.tasks.results.get_nowait()
            except queue.Empty:
                return
            self._on_result(*item)

    def _on_result(self, frame_id: int, run_id: int, result: Any) -> None:
        running = self._running.get(frame_id)
        if running is None or running.run_id != run_id:
            return  # a call given up on (timeout, lost frame) or the stop wake-up
        del self._running[frame_id]
        held = self._held.get(frame_id)
        if held is None:
            return
        if running.token is not None and isinstance(result, TaskSucceeded):
            self._ready.append((held, PARK))  # the callback delivers the result
        else:
            self._ready.append((held, result))

    def _beat_deadline(self, running: Running) -> int | None:
        if running.heartbeat_us is None:
            return None
        return running.last_beat + running.heartbeat_us

    def _check_deadlines(self) -> None:
        if not self._running:
            return
        now = self.now()
        for frame_id, running in list(self._running.items()):
            error = None
            if running.deadline is not None and now >= running.deadline:
                error = "States.Timeout"
            else:
                beat = self._beat_deadline(running)
                if beat is not None and now >= beat:
                    error = "States.HeartbeatTimeout"
            if error is None:
                continue
            del self._running[frame_id]
            if running.future is not None:
                running.future.cancel()
            held = self._held.get(frame_id)
            if held is not None:
                self._ready.append((held, TaskFailed(error, None)))

    # -- committing ------------------------------------------------------------------------

    def _commit_ready(self, stopping: bool = False) -> None:
        """Commit the next batch (up to ``batch_size``) of ready transitions."""
        batch = self._ready[: self.batch_size]
        del self._ready[: self.batch_size]
        self._commit(batch, stopping=stopping)

    def _commit(self, batch: list[tuple[Held, Input]], *, stopping: bool = False) -> None:
        if stopping:
            # Shutting down: commit what came back from outside (task results), enter no
            # new state (its frame's inbox already says "enter" for the next worker).
            batch = [item for item in batch if not isinstance(item[1], Enter)]
            if not batch:
                return
        elif len(batch) == 1 and self._commit_fast(*batch[0], stopping=stopping):
            return
        attempts = 0
        while batch:
            now = self.now()
            try:
                with self.db.write() as conn:
                    writer = BatchWriter(
                        conn=conn,
                        contexts=self.contexts,
                        owner=self.worker_id,
                        now=now,
                        lease_until=now + self.lease_us,
                        for_update=self.db.is_postgres,
                        capacity=0 if stopping else self.concurrency - len(self._held),
                        cache=self._executions,
                        hot=self.hot,
                        fold=not stopping,
                    )
                    outcomes = writer.run(batch)
            except StaleCache:
                for held, _ in batch:
                    self._executions.pop(held.execution_id, None)
                continue
            except StaleFrame as exc:
                self._drop(exc.frame_id)
                batch = [item for item in batch if item[0].id != exc.frame_id]
                continue
            except DBAPIError as exc:
                for held, _ in batch:  # the cached rows may be what made it fail
                    self._executions.pop(held.execution_id, None)
                attempts += 1
                if attempts > 5 or stopping:
                    log.error("commit failed %d times (%s); giving the frames back", attempts, exc)
                    self._give_back([held for held, _ in batch])
                    return
                log.warning("commit failed (%s); retrying", exc)
                time.sleep(min(0.05 * 2**attempts, 1.0))
                continue
            break
        else:
            return
        self._committed(writer, outcomes, stopping)

    def _commit_fast(self, held: Held, event: Input, *, stopping: bool) -> bool:
        """The commonest transition (one frame that stays with this worker, see
        :class:`~statemachine.store.fast.FastCommit`) planned from the cached execution row
        and committed without a general transaction; False: take the general path."""
        if held.execution_id not in self._executions:
            return False
        now = self.now()
        writer = BatchWriter(
            conn=None,  # type: ignore[arg-type]
            contexts=self.contexts,
            owner=self.worker_id,
            now=now,
            lease_until=now + self.lease_us,
            for_update=self.db.is_postgres,
            capacity=0,
            cache=self._executions,
            hot=self.hot,
        )
        try:
            outcomes = writer.plan(held, event)
        except NeedsTransaction:
            return False
        assert writer.deferred is not None
        ((eid, last),) = writer.touched.items()
        try:
            ok = self.fast.commit(writer.deferred, eid, writer.guard[eid], last, writer.history)
        except DBAPIError as exc:
            log.warning("transition commit failed (%s); retrying", exc)
            ok = False
        if not ok:  # stale cache or frame: the general path locks, re-reads and decides
            self._executions.pop(eid, None)
            return False
        self._committed(writer, outcomes, stopping)
        return True

    def _committed(self, writer: BatchWriter, outcomes: list[Outcome], stopping: bool) -> None:
        self.commits += 1
        self.transitions += writer.advanced
        cache = self._executions
        if len(cache) > 10_000:
            cache.clear()
        for eid, state in writer.locked.items():
            if state[1] == "RUNNING":
                cache[eid] = state
            else:
                cache.pop(eid, None)
        if writer.runnable_created:
            self._claim_soon = True
        for outcome in outcomes:
            self._after(outcome, stopping)
        if self.on_commit is not None:
            self.on_commit(self, outcomes)

    def _after(self, outcome: Outcome, stopping: bool) -> None:
        held = outcome.apply()
        kind = outcome.kind
        if kind == "continue":
            if not stopping:
                self._ready.append((held, outcome.event))  # type: ignore[arg-type]
        elif kind == "invoke":
            if not stopping:
                assert isinstance(outcome.task, InvokeTask)
                self._start_task(held, outcome.task)
        elif kind == "io":
            if not stopping:
                assert isinstance(outcome.task, (ReadItems, WriteResults))
                self._start_io(held, outcome.task)
        elif kind == "resumed":
            self._held[held.id] = held
            if outcome.event is not None and not stopping:
                self._ready.append((held, outcome.event))
        else:  # release, dropped
            if self._held.get(held.id) is held:
                del self._held[held.id]
            if kind == "dropped":
                self.contexts.forget(held.execution_id)


def _io(effect: ReadItems | WriteResults) -> ItemsRead | ResultsWritten | TaskFailed:
    from statemachine.itemio import read_items, write_results

    try:
        if isinstance(effect, ReadItems):
            return ItemsRead(read_items(effect.reader, effect.max_items))
        return ResultsWritten(write_results(effect.writer, effect.results, effect.map_run_arn))
    except StatesError as exc:
        return TaskFailed(exc.error, exc.cause)


def run_worker(db_url: str, **options: Any) -> bool:
    """Run a worker in this thread with signal handling (the CLI's entry point)."""
    worker = Worker(db_url, **options)
    worker.install_signal_handlers()
    return worker.run()
