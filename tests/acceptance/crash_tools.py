"""Tools for the crash tests. Every call is logged (``start KEY`` / ``end KEY``) to
``$CRASH_LOG``, and holds an exclusive ``flock`` on a file named after its idempotency key:
a second call of the same step while the first runs (in any process) logs ``CONCURRENT``.
Results depend only on the input, so an interrupted run must give the same output."""

from __future__ import annotations

import fcntl
import hashlib
import os
import random
import time
from collections.abc import Callable
from typing import Any

from statemachine import tool


def _log(line: str) -> None:
    fd = os.open(os.environ["CRASH_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def _guarded(key: str, compute: Callable[[], Any]) -> Any:
    name = hashlib.sha1(key.encode()).hexdigest()
    fd = os.open(os.path.join(os.environ["CRASH_LOCKS"], name), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _log(f"CONCURRENT {key}")
        _log(f"start {key}")
        time.sleep(random.uniform(0.01, float(os.environ.get("CRASH_MAX_SLEEP", "0.05"))))
        result = compute()
        _log(f"end {key}")
        return result
    finally:
        os.close(fd)


@tool("step")
def step(payload: Any, ctx: Any) -> Any:
    return _guarded(
        ctx.idempotency_key, lambda: {"v": (payload["v"] * 31 + payload["i"]) % 1_000_003}
    )


@tool("item")
def item(payload: Any, ctx: Any) -> Any:
    return _guarded(ctx.idempotency_key, lambda: payload["x"] * payload["x"] + payload["base"])
