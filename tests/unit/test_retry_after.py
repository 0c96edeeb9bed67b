"""A failing service's Retry-After is the minimum back-off of a matching retrier."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from statemachine.clock import VirtualClock
from statemachine.definition import load
from statemachine.errors import TaskError
from statemachine.runner import Runner

DEFINITION = {
    "StartAt": "Call",
    "States": {
        "Call": {
            "Type": "Task",
            "Resource": "tool:model",
            "Retry": [{"ErrorEquals": ["LLM.RateLimited"], "IntervalSeconds": 1}],
            "End": True,
        }
    },
}


def run(retry_after: float | None) -> list[datetime]:
    clock = VirtualClock()
    calls: list[datetime] = []

    def dispatch(resource: str, payload: Any, ctx: Any) -> Any:
        calls.append(clock.now())
        if len(calls) == 1:
            raise TaskError("LLM.RateLimited", "slow down", retry_after=retry_after)
        return {"ok": True}

    result = Runner(load(DEFINITION), dispatcher=dispatch, clock=clock).run({})
    assert result.status == "SUCCEEDED", result
    return calls


def test_retry_after_longer_than_the_interval_wins() -> None:
    first, second = run(30.0)
    assert (second - first).total_seconds() == 30.0


def test_retry_after_shorter_than_the_interval_does_not_shorten_it() -> None:
    first, second = run(0.25)
    assert (second - first).total_seconds() == 1.0


def test_without_retry_after_the_interval_applies() -> None:
    first, second = run(None)
    assert (second - first).total_seconds() == 1.0
