"""Running handlers outside the worker's transactions: sync handlers on a thread pool,
``async def`` handlers on one event loop in a background thread.

A finished call posts ``(frame_id, run_id, event)`` to a queue the worker loop waits on;
``run_id`` lets the worker ignore the late answer of a call it already gave up on (task
timeout, lost lease). A sync handler cannot be interrupted: it is abandoned, and its
result discarded. An async handler is cancelled.

A sync call's result goes through :attr:`TaskRunner.deliver` instead when the worker
sets it: the pool thread that ran the call then commits the result itself when the
worker's loop is idle (see :meth:`~statemachine.engine.worker.Worker._deliver`), and may
be handed the next sync call of the same frame to run inline (:class:`Inline`), so a
chain of tasks pays no thread wake-up per step.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection

from statemachine.errors import StatesError
from statemachine.handlers.registry import Handler, TaskContext, ToolRegistry, to_json
from statemachine.handlers.resources import activity_name, is_activity
from statemachine.interpreter import Frame, InvokeTask, TaskFailed, TaskSucceeded
from statemachine.store import activities as act_repo
from statemachine.store.jsontext import dumps

JSON = Any
Result = TaskSucceeded | TaskFailed


@dataclass(slots=True)
class Running:
    """A call in flight. Deadlines are absolute (microseconds since the epoch)."""

    frame_id: int
    run_id: int
    future: Future[Any] | None
    deadline: int | None
    heartbeat_us: int | None
    last_beat: int
    token: str | None = None
    extra: dict[str, JSON] = field(default_factory=dict)


def _outcome(call: Any, payload: JSON, ctx: TaskContext) -> Result:
    try:
        result = call(payload, ctx)
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
        return TaskSucceeded(to_json(result))
    except StatesError as exc:
        return TaskFailed(exc.error, exc.cause, getattr(exc, "retry_after", None))
    except Exception as exc:  # a handler's failure is data for Retry/Catch
        return TaskFailed(type(exc).__name__, str(exc))


async def _await(value: Any) -> Any:
    return await value


async def _outcome_async(handler: Handler, payload: JSON, ctx: TaskContext) -> Result:
    try:
        result = await handler(payload, ctx)  # type: ignore[misc]
        return TaskSucceeded(to_json(result))
    except StatesError as exc:
        return TaskFailed(exc.error, exc.cause, getattr(exc, "retry_after", None))
    except Exception as exc:
        return TaskFailed(type(exc).__name__, str(exc))


def schedule_activity(
    conn: Connection,
    execution_id: str,
    frame_id: int,
    frame: Frame,
    effect: InvokeTask,
    new_token: Any,
    now: int,
) -> InvokeTask:
    """Queue an ``activity:NAME`` task for external workers, in the transaction that
    schedules it; any other task is returned unchanged (a substring test, cheap enough for
    the hot path).

    An activity is run the way a ``.waitForTaskToken`` task is: it gets a task token
    (kept in the frame's snapshot, so a restarted worker finds it), its frame parks until
    a worker answers with that token or TimeoutSeconds/HeartbeatSeconds expire, and
    :meth:`TaskRunner.start` has nothing to run locally. As in Step Functions, the worker
    receives the token from its poll (GetActivityTask) rather than in the task input.
    """
    if "activity:" not in effect.resource:
        return effect
    name = activity_name(effect.resource)
    if name is None:
        return effect
    token = effect.task_token
    if token is None:
        token = new_token()
        frame.pending = {**(frame.pending or {}), "token": token}
        effect = replace(effect, task_token=token)
    act_repo.insert_task(conn, token, name, execution_id, frame_id, dumps(effect.payload), now)
    return effect


@dataclass(slots=True)
class Inline:
    """A sync call to run on the current pool thread instead of the pool's queue."""

    frame_id: int
    run_id: int
    handler: Any
    payload: JSON
    ctx: TaskContext

    def run(self) -> Result:
        try:
            return _outcome(self.handler, self.payload, self.ctx)
        except BaseException as exc:  # pragma: no cover - _outcome catches Exception
            return TaskFailed(type(exc).__name__, str(exc))


class TaskRunner:
    def __init__(self, registry: ToolRegistry, threads: int) -> None:
        self.registry = registry
        self._dispatcher: Any = None
        self.results: queue.SimpleQueue[tuple[int, int, Result]] = queue.SimpleQueue()
        #: Where a sync call's result goes, on the pool thread that ran it (default: the
        #: results queue).
        self.deliver: Callable[[int, int, Result], None] = self.results_queue
        self._pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="sm-task")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._ids = itertools.count(1)

    def _handler_for(self, resource: str) -> Any:
        """Every resource scheme (tool:, llm:chat, python:, Lambda ARNs) through the
        handlers' Dispatcher, configured from the environment like the in-memory runner."""
        if self._dispatcher is None:
            from statemachine.handlers.dispatch import default_dispatcher

            self._dispatcher = default_dispatcher(registry=self.registry)
        return self._dispatcher.handler_for(resource)

    def next_run_id(self) -> int:
        return next(self._ids)

    def start(
        self,
        frame_id: int,
        run_id: int,
        resource: str,
        payload: JSON,
        ctx: TaskContext,
        inline: list[Inline] | None = None,
    ) -> Future[Any] | None:
        """Start a call. With ``inline`` (a list with no call in it yet) a sync handler's
        call is appended there for the caller to run, and None returned."""
        if is_activity(resource):
            # Queued by schedule_activity; "succeeding" here parks the frame on its token
            # until an external worker answers. Without a token nothing could answer.
            outcome: Result = (
                TaskSucceeded(None)
                if ctx.task_token is not None
                else TaskFailed("States.Runtime", f"Activity task '{resource}' has no token")
            )
            self.results.put((frame_id, run_id, outcome))
            return None
        try:
            handler = self._handler_for(resource)
        except StatesError as exc:
            self.results.put((frame_id, run_id, TaskFailed(exc.error, exc.cause)))
            return None
        if handler is None:
            failure = TaskFailed(
                "States.Runtime", f"No handler is registered for resource '{resource}'"
            )
            self.results.put((frame_id, run_id, failure))
            return None
        if inspect.iscoroutinefunction(handler):
            future: Future[Any] = asyncio.run_coroutine_threadsafe(
                _outcome_async(handler, payload, ctx), self._event_loop()
            )
            future.add_done_callback(lambda f: self._done(frame_id, run_id, f))
            return future
        if inline is not None and not inline:
            inline.append(Inline(frame_id, run_id, handler, payload, ctx))
            return None
        return self._pool.submit(self._run_sync, Inline(frame_id, run_id, handler, payload, ctx))

    def _run_sync(self, call: Inline) -> None:
        self.deliver(call.frame_id, call.run_id, call.run())

    def results_queue(self, frame_id: int, run_id: int, result: Result) -> None:
        """The default :attr:`deliver`: post to :attr:`results`."""
        self.results.put((frame_id, run_id, result))

    def call(self, frame_id: int, run_id: int, fn: Any) -> Future[Any]:
        """Run ``fn() -> event`` on the pool (a Map's ItemReader/ResultWriter I/O)."""
        future = self._pool.submit(fn)
        future.add_done_callback(lambda f: self._done(frame_id, run_id, f))
        return future

    def _done(self, frame_id: int, run_id: int, future: Future[Any]) -> None:
        if future.cancelled():
            return
        try:
            result = future.result()
        except BaseException as exc:  # pragma: no cover - _outcome catches everything
            result = TaskFailed(type(exc).__name__, str(exc))
        self.results.put((frame_id, run_id, result))

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()

            def serve() -> None:
                try:
                    loop.run_forever()
                finally:
                    loop.close()

            thread = threading.Thread(target=serve, name="sm-task-loop", daemon=True)
            thread.start()
            self._loop, self._loop_thread = loop, thread
        return self._loop

    def shutdown(self, wait: bool) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)
        if self._loop is not None and self._loop_thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop_thread.join(5)
            self._loop = self._loop_thread = None
