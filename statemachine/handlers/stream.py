"""Live events of running executions: a small in-process publish/subscribe.

Handlers publish what is only worth seeing live (LLM token deltas, progress) with
``publish(execution_id, event)``; watchers (the REST layer's Server-Sent Events, a test,
a CLI) ``subscribe(execution_id)`` and iterate, synchronously or with ``async for``.
Nothing here is persisted: the durable record is the task result, which carries the
final message only.

Publishing never blocks the worker: each subscription holds a bounded buffer and, when a
slow consumer lets it fill, the oldest events are dropped (``Subscription.dropped``
counts them). Events published before a subscription exists are not replayed.

The broker is per process. With workers and the API in separate processes, live events
reach only subscribers in the worker's process.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

JSON = Any

DEFAULT_BUFFER = 1000


class Subscription:
    """The events of one execution, from the moment of subscribing until closed.

    Iterate it (``for event in sub`` blocks; ``async for event in sub`` awaits); the
    iteration ends when the subscription is closed, by ``close()``, by leaving its
    ``with`` block, or by :func:`close_execution` when the execution ends.
    """

    def __init__(self, broker: Broker, execution_id: str, buffer: int) -> None:
        self._broker = broker
        self.execution_id = execution_id
        self._buffer = max(1, buffer)
        self._items: deque[JSON] = deque()
        self._cond = threading.Condition()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self.closed = False
        self.dropped = 0

    # -- producer side ---------------------------------------------------------------------

    def _put(self, event: JSON) -> None:
        with self._cond:
            if self.closed:
                return
            if len(self._items) >= self._buffer:
                self._items.popleft()
                self.dropped += 1
            self._items.append(event)
            self._cond.notify_all()
            waiters, self._waiters = self._waiters, []
        _wake(waiters)

    def close(self) -> None:
        with self._cond:
            if self.closed:
                return
            self.closed = True
            self._cond.notify_all()
            waiters, self._waiters = self._waiters, []
        self._broker._remove(self)
        _wake(waiters)

    # -- consumer side ---------------------------------------------------------------------

    def get(self, timeout: float | None = None) -> JSON:
        """The next event. Raises ``TimeoutError`` when none arrives in ``timeout``
        seconds and ``EOFError`` once the subscription is closed and drained."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self.closed, timeout):
                raise TimeoutError(f"no event for {self.execution_id} within {timeout} s")
            if self._items:
                return self._items.popleft()
            raise EOFError(f"subscription to {self.execution_id} is closed")

    def drain(self) -> list[JSON]:
        """Every event buffered now, without waiting."""
        with self._cond:
            items = list(self._items)
            self._items.clear()
        return items

    def __iter__(self) -> Iterator[JSON]:
        while True:
            try:
                yield self.get()
            except EOFError:
                return

    def __aiter__(self) -> AsyncIterator[JSON]:
        return self._aiter()

    async def _aiter(self) -> AsyncIterator[JSON]:
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                if self._items:
                    item = self._items.popleft()
                elif self.closed:
                    return
                else:
                    waiter: asyncio.Future[None] = loop.create_future()
                    self._waiters.append((loop, waiter))
                    item = _WAIT
            if item is _WAIT:
                await waiter
                continue
            yield item

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_WAIT: Any = object()


def _wake(waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]) -> None:
    for loop, waiter in waiters:
        with contextlib.suppress(RuntimeError):  # that consumer's loop may be gone
            loop.call_soon_threadsafe(_resolve, waiter)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Broker:
    """Subscriptions by execution id. Thread-safe; publishing is cheap when nobody
    listens (one dict lookup)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[str, list[Subscription]] = {}

    def subscribe(self, execution_id: str, *, buffer: int = DEFAULT_BUFFER) -> Subscription:
        sub = Subscription(self, execution_id, buffer)
        with self._lock:
            self._subs.setdefault(execution_id, []).append(sub)
        return sub

    def publish(self, execution_id: str, event: Mapping[str, JSON]) -> int:
        subs = self._subs.get(execution_id)
        if not subs:
            return 0
        with self._lock:
            targets = list(self._subs.get(execution_id, ()))
        payload = dict(event)
        for sub in targets:
            sub._put(payload)
        return len(targets)

    def has_subscribers(self, execution_id: str) -> bool:
        return bool(self._subs.get(execution_id))

    def close_execution(self, execution_id: str) -> None:
        """End every subscription to ``execution_id`` (its iterators stop)."""
        with self._lock:
            subs = self._subs.pop(execution_id, [])
        for sub in subs:
            sub.close()

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.execution_id)
            if subs and sub in subs:
                subs.remove(sub)
                if not subs:
                    del self._subs[sub.execution_id]


default_broker = Broker()


def publish(execution_id: str, event: Mapping[str, JSON]) -> int:
    """Deliver ``event`` to the current subscribers of ``execution_id``; returns how many."""
    return default_broker.publish(execution_id, event)


def subscribe(execution_id: str, *, buffer: int = DEFAULT_BUFFER) -> Subscription:
    """Watch ``execution_id`` from now on: iterate the result (sync or async)."""
    return default_broker.subscribe(execution_id, buffer=buffer)


def has_subscribers(execution_id: str) -> bool:
    return default_broker.has_subscribers(execution_id)


def close_execution(execution_id: str) -> None:
    """Call when an execution ends, so its watchers' iterators finish."""
    default_broker.close_execution(execution_id)
