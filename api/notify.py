"""Waking the API's waiters when an execution changes.

``POST /v1/executions?wait=``, the Server-Sent Events stream and activity long polls all
wait for "something happened to execution X". With a worker in this process (``statemachine
serve``), the worker's ``on_commit`` hook calls :meth:`Notifier.notify` and waiters wake at
once; the API's own writes (stop, redrive, callbacks) notify too. Without one (API
processes in front of separate workers), nothing notifies and waiters fall back to polling
the database at their own interval, so a notification is only ever a shortcut.

Workers commit in their own thread; waiters are coroutines on the server's event loop, so a
notification crosses over with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

if TYPE_CHECKING:
    from statemachine.service import Service
    from statemachine.service_models import ExecutionDescription


class Watch:
    """Interest in one execution, registered *before* the caller reads its state, so that
    a change committed between the read and the wait is not missed."""

    def __init__(self, notifier: Notifier, execution_id: str) -> None:
        self._notifier = notifier
        self.execution_id = execution_id
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def _fire(self) -> None:
        # A closed loop (RuntimeError) means nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self, timeout: float) -> bool:
        """True when notified within ``timeout`` seconds (the flag is then reset)."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._event.clear()

    def close(self) -> None:
        self._notifier._remove(self)

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Notifier:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watches: dict[str, set[Watch]] = {}

    def watch(self, execution_id: str) -> Watch:
        """Call from a coroutine; use as a context manager."""
        watch = Watch(self, execution_id)
        with self._lock:
            self._watches.setdefault(execution_id, set()).add(watch)
        return watch

    def notify(self, execution_id: str) -> None:
        self.notify_many((execution_id,))

    def notify_many(self, execution_ids: Iterable[str]) -> None:
        if not self._watches:
            return
        with self._lock:
            targets = [w for eid in set(execution_ids) for w in self._watches.get(eid, ())]
        for watch in targets:
            watch._fire()

    def on_commit(self, _worker: Any, outcomes: list[Any]) -> None:
        """A worker's ``on_commit`` hook: every execution in the batch changed."""
        self.notify_many(outcome.held.execution_id for outcome in outcomes)

    def _remove(self, watch: Watch) -> None:
        with self._lock:
            watches = self._watches.get(watch.execution_id)
            if watches is not None:
                watches.discard(watch)
                if not watches:
                    del self._watches[watch.execution_id]


async def wait_for_execution(
    service: Service, notifier: Notifier, execution_id: str, timeout: float
) -> ExecutionDescription:
    """The execution once it is no longer RUNNING, or as it is after ``timeout`` seconds.

    Wakes on a notification, else re-reads the database with a growing interval (50 ms up
    to 500 ms), so it also works when the workers run in other processes."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    with notifier.watch(execution_id) as watch:
        while True:
            description = await run_in_threadpool(service.describe_execution, execution_id)
            remaining = deadline - time.monotonic()
            if description.status != "RUNNING" or remaining <= 0:
                return description
            if not await watch.wait(min(delay, remaining)):
                delay = min(delay * 2, 0.5)
