"""Helpers shared by the API tests: test tools, definitions and polling with generous
timeouts (never a fixed sleep)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from statemachine.errors import TaskError
from statemachine.handlers import stream
from statemachine.handlers.registry import TaskContext, ToolRegistry

JSON = Any
#: Generous: the machine has two cores and runs tests in parallel.
TIMEOUT = 30.0


def make_registry() -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("echo")
    def echo(payload: JSON) -> JSON:
        return payload

    @registry.tool("fail")
    def fail(payload: JSON) -> JSON:
        raise TaskError("Test.Failed", str(payload.get("why", "asked to fail")))

    @registry.tool("notify")
    def notify(payload: JSON, ctx: TaskContext) -> JSON:
        return None  # a callback task: the token is answered over REST

    @registry.tool("talk")
    def talk(payload: JSON, ctx: TaskContext) -> JSON:
        """Publish live token deltas once somebody watches (or give up after a while)."""
        deadline = time.monotonic() + TIMEOUT
        while not stream.has_subscribers(ctx.execution_id) and time.monotonic() < deadline:
            time.sleep(0.01)
        words = payload.get("words", ["Hello", ", ", "world"])
        for word in words:
            ctx.publish({"type": "delta", "text": word})
        return {"text": "".join(words)}

    return registry


def unique(prefix: str = "sm") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_until(check: Callable[[], Any], timeout: float = TIMEOUT, interval: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


PASS_MACHINE = "StartAt: A\nStates:\n  A:\n    Type: Pass\n    End: true\n"
ECHO_MACHINE = "StartAt: A\nStates:\n  A:\n    Type: Task\n    Resource: tool:echo\n    End: true\n"
CALLBACK_MACHINE = {
    "StartAt": "Wait",
    "States": {
        "Wait": {
            "Type": "Task",
            "Resource": "tool:notify.waitForTaskToken",
            "Parameters": {"token.$": "$$.Task.Token", "input.$": "$"},
            "End": True,
        }
    },
}


def token_of(client: TestClient, execution_id: str) -> str:
    """The callback token, read from the TaskScheduled event's parameters."""

    def find() -> str | None:
        events = client.get(f"/v1/executions/{execution_id}/history").json()["events"]
        for event in events:
            if event["type"] == "TaskScheduled":
                return event["details"]["parameters"]["token"]
        return None

    return wait_until(find)


def finished(client: TestClient, execution_id: str) -> JSON:
    def done() -> JSON:
        body = client.get(f"/v1/executions/{execution_id}").json()
        return body if body["status"] != "RUNNING" else None

    return wait_until(done)
