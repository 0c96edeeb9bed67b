"""TimeoutSeconds and HeartbeatSeconds for in-process handlers.

Handlers that must time out block on an Event the test releases afterwards, so the
outcome never depends on how fast the machine is; waits are generous upper bounds and no
assertion is about a duration.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from handler_context import context

from statemachine.clock import VirtualClock
from statemachine.definition import load
from statemachine.errors import StatesError
from statemachine.handlers.dispatch import Dispatcher
from statemachine.handlers.registry import ToolRegistry
from statemachine.handlers.timeouts import run_with_timeout
from statemachine.runner import Runner

PATIENCE = 30.0  # seconds a test waits for something that must happen


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown, so abandoned handler threads always finish."""
    event = threading.Event()
    yield event
    event.set()


def test_fast_handler_returns_its_result() -> None:
    assert run_with_timeout(lambda p, ctx: {"got": p}, 1, context(), 30, 30) == {"got": 1}


def test_without_limits_the_handler_runs_in_the_calling_thread() -> None:
    caller = threading.current_thread()
    seen: list[threading.Thread] = []
    run_with_timeout(lambda p, ctx: seen.append(threading.current_thread()), None, context())
    assert seen == [caller]


def test_handler_errors_pass_through() -> None:
    def fail(payload: Any, ctx: Any) -> Any:
        raise ValueError("bad input")

    with pytest.raises(StatesError) as info:
        run_with_timeout(fail, {}, context(), timeout_seconds=30)
    assert (info.value.error, info.value.cause) == ("ValueError", "bad input")


def test_a_sync_handler_past_timeout_is_abandoned(release: threading.Event) -> None:
    finished = threading.Event()

    def stuck(payload: Any, ctx: Any) -> Any:
        release.wait(PATIENCE)
        finished.set()
        return "late"

    with pytest.raises(StatesError) as info:
        run_with_timeout(stuck, {}, context(), timeout_seconds=0.2)
    assert info.value.error == "States.Timeout"
    release.set()
    assert finished.wait(PATIENCE)  # it ran on, and its late result went nowhere


class AsyncProbe:
    """An async handler that records whether it started and whether it was cancelled.

    On a loaded machine the deadline may pass before the coroutine's first step; the task
    is then cancelled before it starts, which is just as correct. Either way it must never
    run to its end.
    """

    def __init__(self) -> None:
        self.started = threading.Event()
        self.cancelled = threading.Event()
        self.finished = threading.Event()

    async def __call__(self, payload: Any, ctx: Any = None) -> Any:
        self.started.set()
        try:
            await asyncio.sleep(PATIENCE)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        self.finished.set()
        return "late"

    def check(self) -> None:
        if self.started.wait(1.0):
            assert self.cancelled.wait(PATIENCE)
        assert not self.finished.is_set()


def test_an_async_handler_past_timeout_is_cancelled() -> None:
    probe = AsyncProbe()
    with pytest.raises(StatesError) as info:
        run_with_timeout(probe, {}, context(), timeout_seconds=0.5)
    assert info.value.error == "States.Timeout"
    probe.check()


def test_async_handler_behind_a_dispatcher_is_cancelled(registry: ToolRegistry) -> None:
    probe = AsyncProbe()

    @registry.tool("stuck")
    async def stuck(payload: Any) -> Any:
        return await probe(payload)

    dispatcher = Dispatcher(registry)
    with pytest.raises(StatesError, match=r"States\.Timeout"):
        run_with_timeout(
            lambda p, ctx: dispatcher("tool:stuck", p, ctx), {}, context(), timeout_seconds=0.5
        )
    probe.check()


def test_missed_heartbeats_fail_with_heartbeat_timeout(release: threading.Event) -> None:
    def silent(payload: Any, ctx: Any) -> Any:
        release.wait(PATIENCE)

    with pytest.raises(StatesError) as info:
        run_with_timeout(silent, {}, context(), timeout_seconds=PATIENCE, heartbeat_seconds=0.2)
    assert info.value.error == "States.HeartbeatTimeout"


def test_heartbeats_are_forwarded_and_keep_the_task_alive() -> None:
    beats: list[int] = []
    seen: dict[str, Any] = {}

    def busy(payload: Any, ctx: Any) -> Any:
        seen["limits"] = (ctx.timeout_seconds, ctx.heartbeat_seconds)
        for _ in range(5):
            ctx.heartbeat()
        return "done"

    ctx = context(heartbeat=lambda: beats.append(1))
    assert run_with_timeout(busy, {}, ctx, timeout_seconds=60, heartbeat_seconds=30) == "done"
    assert len(beats) == 5
    assert seen["limits"] == (60, 30)


def test_heartbeats_do_not_extend_timeout_seconds(release: threading.Event) -> None:
    def chatty(payload: Any, ctx: Any) -> Any:
        while not release.wait(0.01):
            ctx.heartbeat()

    with pytest.raises(StatesError) as info:
        run_with_timeout(chatty, {}, context(), timeout_seconds=0.3, heartbeat_seconds=PATIENCE)
    assert info.value.error == "States.Timeout"


# --- through the in-memory runner ----------------------------------------------------------------


def machine(**limits: Any) -> Any:
    return load(
        {
            "StartAt": "Work",
            "States": {
                "Work": {"Type": "Task", "Resource": "tool:work", "End": True, **limits},
            },
        }
    )


@pytest.fixture
def stuck_tool(registry: ToolRegistry, release: threading.Event) -> ToolRegistry:
    @registry.tool("work")
    def work(payload: Any) -> Any:
        release.wait(PATIENCE)
        return "late"

    return registry


def test_runner_applies_timeout_seconds(stuck_tool: ToolRegistry) -> None:
    result = Runner(machine(TimeoutSeconds=1), registry=stuck_tool).run({})
    assert (result.status, result.error) == ("FAILED", "States.Timeout")


def test_runner_applies_heartbeat_seconds(stuck_tool: ToolRegistry) -> None:
    limits = {"TimeoutSeconds": 600, "HeartbeatSeconds": 1}
    result = Runner(machine(**limits), registry=stuck_tool).run({})
    assert (result.status, result.error) == ("FAILED", "States.HeartbeatTimeout")


def test_a_timeout_is_retried_like_any_error(
    registry: ToolRegistry, release: threading.Event
) -> None:
    calls: list[int] = []

    @registry.tool("work")
    def work(payload: Any, ctx: Any) -> Any:
        calls.append(ctx.attempt)
        if ctx.attempt == 1:
            release.wait(PATIENCE)  # the first attempt hangs and is abandoned
        return {"attempt": ctx.attempt}

    definition = machine(
        TimeoutSeconds=1, Retry=[{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 5}]
    )
    # the virtual clock skips the retry interval; the handlers still run in real time
    result = Runner(definition, registry=registry, clock=VirtualClock()).run({})
    assert result.status == "SUCCEEDED", result.to_json()
    assert result.output == {"attempt": 2}
