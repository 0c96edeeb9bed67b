"""Running async handlers from synchronous drivers, cancellably.

Both drivers call handlers synchronously. An ``async def`` handler therefore gets its own
event loop for the duration of the call. When the call happens under
:func:`statemachine.handlers.timeouts.run_with_timeout`, the watchdog thread holds a
:class:`CancelScope`; the coroutine registers itself in it, so an expired
``TimeoutSeconds`` or ``HeartbeatSeconds`` cancels the coroutine instead of merely
abandoning it. The scope travels in a thread-local, which is why a dispatcher (or any
sync wrapper) sitting between the watchdog and the coroutine does not break the chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

_local = threading.local()


class CancelScope:
    """Tasks a watchdog may cancel from another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]] = []
        self.cancelled = False

    def attach(self, loop: asyncio.AbstractEventLoop, task: asyncio.Future[Any]) -> None:
        """Called inside ``loop``'s thread; a scope already cancelled cancels at once."""
        with self._lock:
            if not self.cancelled:
                self._tasks.append((loop, task))
                return
        task.cancel()

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            tasks, self._tasks = self._tasks, []
        for loop, task in tasks:
            # a loop that already finished has nothing left to cancel
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)


def current_scope() -> CancelScope | None:
    return getattr(_local, "scope", None)


@contextmanager
def active_scope(scope: CancelScope | None) -> Iterator[None]:
    previous = current_scope()
    _local.scope = scope
    try:
        yield
    finally:
        _local.scope = previous


def run_awaitable(awaitable: Awaitable[T]) -> T:
    """Run ``awaitable`` to completion on a fresh event loop and return its result.

    Called from inside a running loop (an async driver that calls the sync dispatcher),
    it runs the coroutine on a helper thread instead, because a thread can hold only
    one running loop.
    """
    scope = current_scope()

    async def main() -> T:
        task = asyncio.ensure_future(awaitable)
        if scope is not None:
            scope.attach(asyncio.get_running_loop(), task)
        return await task

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())

    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(main())
        except BaseException as exc:  # re-raised in the calling thread
            box["error"] = exc

    helper = threading.Thread(target=target, name="statemachine-async-handler", daemon=True)
    helper.start()
    helper.join()
    if "error" in box:
        raise box["error"]
    return box["result"]
