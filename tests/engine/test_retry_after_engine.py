"""The durable engine honours a failing service's Retry-After as the minimum back-off."""

from __future__ import annotations

import time
from typing import Any

from statemachine.errors import TaskError


def test_retry_after_is_the_minimum_back_off(harness: Any) -> None:
    calls: list[float] = []

    @harness.tool("model")
    def model(payload: Any, ctx: Any) -> Any:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise TaskError("LLM.RateLimited", "slow down", retry_after=2.0)
        return {"ok": True}

    definition = {
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
    harness.start_worker()
    result = harness.run(definition, {})
    assert result.status == "SUCCEEDED", result
    assert len(calls) == 2
    # a lower bound only: the retry never comes before the provider's 2 s
    assert calls[1] - calls[0] >= 2.0
