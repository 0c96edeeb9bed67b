"""Task ``TimeoutSeconds`` and ``HeartbeatSeconds`` for handlers that run in-process.

:func:`run_with_timeout` runs the handler on a worker thread and watches it:

* ``TimeoutSeconds`` passed: the Task fails with ``States.Timeout``.
* ``HeartbeatSeconds`` passed since the start or the last ``ctx.heartbeat()``: the
  Task fails with ``States.HeartbeatTimeout``. (The ASL spec lets ``States.Timeout``
  cover heartbeats too; the interpreter's matching makes a ``States.Timeout`` retrier or
  catcher also match it, as DESIGN.md decides.)

On expiry an ``async`` handler is cancelled (``CancelledError`` is raised at its current
``await``). A sync handler cannot be interrupted in Python: its thread is abandoned and
whatever it returns later is discarded, so long-running sync tools should heartbeat and
bound their own I/O (``ctx.timeout_seconds`` says by how much).

Time here is real (monotonic) time, also under a virtual clock (``--time-skip``): that
clock skips waits between states, never the time a handler takes.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

from statemachine.errors import StatesError
from statemachine.handlers._aio import CancelScope, active_scope
from statemachine.handlers.registry import (
    Handler,
    TaskContext,
    call_handler,
    error_from_exception,
)

JSON = Any


class _Watch:
    """Shared between the watchdog (caller) and the worker thread."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.scope = CancelScope()
        self.last_beat = time.monotonic()
        self.result: JSON = None
        self.error: BaseException | None = None


def run_with_timeout(
    handler: Handler,
    payload: JSON,
    ctx: TaskContext,
    timeout_seconds: float | None = None,
    heartbeat_seconds: float | None = None,
) -> JSON:
    """Call ``handler(payload, ctx)`` (sync or async) under the Task's time limits.

    Returns the handler's JSON result or raises :class:`StatesError`: the handler's own
    named error, ``States.Timeout`` or ``States.HeartbeatTimeout``. Without either limit
    the handler simply runs in the calling thread.
    """
    if not timeout_seconds and not heartbeat_seconds:
        return call_handler(handler, payload, ctx)

    watch = _Watch()
    start = watch.last_beat
    forward = ctx.heartbeat

    def beat() -> None:
        if watch.scope.cancelled:  # a late beat from an abandoned handler is ignored
            return
        watch.last_beat = time.monotonic()
        forward()

    inner = dataclasses.replace(
        ctx,
        heartbeat=beat,
        timeout_seconds=timeout_seconds or ctx.timeout_seconds,
        heartbeat_seconds=heartbeat_seconds or ctx.heartbeat_seconds,
    )

    def work() -> None:
        try:
            with active_scope(watch.scope):
                watch.result = call_handler(handler, payload, inner)
        except BaseException as exc:  # handed to the watchdog; CancelledError included
            watch.error = exc
        finally:
            watch.done.set()

    worker = threading.Thread(target=work, name=f"statemachine-task:{ctx.state_name}", daemon=True)
    worker.start()

    deadline = start + timeout_seconds if timeout_seconds else None
    while not watch.done.is_set():
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            _expire(watch)
            raise StatesError(
                "States.Timeout",
                f"The task did not finish within TimeoutSeconds ({timeout_seconds:g} s)",
            )
        beat_due = watch.last_beat + heartbeat_seconds if heartbeat_seconds else None
        if beat_due is not None and now >= beat_due:
            _expire(watch)
            raise StatesError(
                "States.HeartbeatTimeout",
                f"The task sent no heartbeat for HeartbeatSeconds ({heartbeat_seconds:g} s)",
            )
        wake = min(t for t in (deadline, beat_due) if t is not None)
        watch.done.wait(max(0.0, wake - now))
    if watch.error is not None:
        if isinstance(watch.error, StatesError):
            raise watch.error
        # SystemExit and the like on the worker thread must not end the driver's thread
        raise error_from_exception(watch.error) from watch.error
    return watch.result


def _expire(watch: _Watch) -> None:
    """Cancel what can be cancelled; the rest runs on, abandoned."""
    watch.scope.cancel()
