"""Time, injected: the system clock for real runs, a virtual one for tests and --time-skip."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep_until(self, when: datetime) -> None:
        """Block until ``when`` (a virtual clock jumps there at once)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep_until(self, when: datetime) -> None:
        delay = (when - self.now()).total_seconds()
        if delay > 0:
            time.sleep(delay)


class VirtualClock:
    """A clock that only moves when told to, or when a sleeper asks to skip ahead."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    def sleep_until(self, when: datetime) -> None:
        if when > self._now:
            self._now = when
