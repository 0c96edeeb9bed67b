"""Time skipping: callbacks, timeouts, heartbeats and Waits on the virtual clock, and the
small runner additions the test framework relies on (map_index, variables, late answers)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from statemachine.clock import VirtualClock
from statemachine.definition import load
from statemachine.handlers.registry import TaskContext
from statemachine.runner import Runner
from statemachine.testing import CaseResult, run_file

# The write_case fixture (conftest.py): (definition, cases, name=..., **fields) -> file.
WriteCase = Callable[..., Path]

START = datetime(2026, 1, 1, tzinfo=UTC)
DAY = 86_400


def approval(timeout: int = DAY, heartbeat: int | None = None) -> dict[str, Any]:
    task: dict[str, Any] = {
        "Type": "Task",
        "Resource": "tool:ask.waitForTaskToken",
        "Parameters": {"token.$": "$$.Task.Token"},
        "TimeoutSeconds": timeout,
        "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.late", "Next": "Late"}],
        "ResultPath": "$.answer",
        "End": True,
    }
    if heartbeat is not None:
        task["HeartbeatSeconds"] = heartbeat
    return {
        "StartAt": "Ask",
        "States": {"Ask": task, "Late": {"Type": "Pass", "End": True}},
    }


def one(path: Path) -> CaseResult:
    [result] = run_file(path)
    assert result.outcome == "passed", result.details()
    return result


def test_a_callback_answer_arrives_after_a_virtual_delay(write_case: WriteCase) -> None:
    case = {
        "name": "answered in an hour",
        "mocks": {"Ask": {"result": {"ok": True}, "after": 3600}},
        "expect": {"status": "SUCCEEDED", "output": {"answer": {"ok": True}}, "duration": 3600},
    }
    result = one(write_case(approval(), [case]))
    assert result.execution is not None
    stamps = {e["type"]: e["timestamp"] for e in result.execution.history}
    assert stamps["TaskScheduled"].startswith("2026-01-01T00:00:00")
    assert stamps["TaskSucceeded"].startswith("2026-01-01T01:00:00")


def test_an_answer_later_than_the_timeout_loses_the_race(write_case: WriteCase) -> None:
    case = {
        "name": "too late",
        "mocks": {"Ask": {"result": {"ok": True}, "after": 2 * DAY}},
        "expect": {
            "status": "SUCCEEDED",
            "output": {"late": {"Error": "States.Timeout"}},
            "path": ["Ask", "Late"],
            "duration": DAY,
        },
    }
    one(write_case(approval(), [case]))


def test_a_failure_answer(write_case: WriteCase) -> None:
    case = {
        "name": "refused",
        "mocks": {"Ask": {"error": "Approval.Refused", "cause": "no", "after": 60}},
        "expect": {"status": "FAILED", "error": "Approval.Refused", "cause": "no", "duration": 60},
    }
    one(write_case(approval(), [case]))


def test_a_silent_worker_misses_its_heartbeat(write_case: WriteCase) -> None:
    cases = [
        {
            "name": "no answer, no heartbeat",
            "mocks": {"Ask": {"no_answer": True}},
            "expect": {
                "status": "SUCCEEDED",  # States.Timeout catchers also catch heartbeat timeouts
                "output": {"late": {"Error": "States.HeartbeatTimeout"}},
                "duration": 600,
            },
        },
        {
            "name": "slow but beating",
            "mocks": {"Ask": {"result": 1, "after": 3000}},
            "expect": {"status": "SUCCEEDED", "output": {"answer": 1}, "duration": 3000},
        },
        {
            "name": "slow and silent",
            "mocks": {"Ask": {"result": 1, "after": 3000, "heartbeats": False}},
            "expect": {"status": "SUCCEEDED", "path": ["Ask", "Late"], "duration": 600},
        },
    ]
    results = run_file(write_case(approval(heartbeat=600), cases))
    assert [r.outcome for r in results] == ["passed"] * 3, [r.details() for r in results]


def test_a_synchronous_task_that_runs_too_long_times_out(write_case: WriteCase) -> None:
    definition = {
        "StartAt": "Slow",
        "States": {
            "Slow": {
                "Type": "Task",
                "Resource": "tool:slow",
                "TimeoutSeconds": 30,
                "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 5}],
                "End": True,
            }
        },
    }
    cases = [
        {
            "name": "slow once",
            "mocks": {
                "Slow": {"sequence": [{"result": 1, "after": 45}, {"result": 2, "after": 10}]}
            },
            "expect": {"status": "SUCCEEDED", "output": 2, "calls": {"Slow": 2}, "duration": 45},
        },
        {
            "name": "always slow",
            "mocks": {"Slow": {"result": 1, "after": 31}},
            "expect": {"status": "FAILED", "error": "States.Timeout", "calls": {"Slow": 4}},
        },
    ]
    results = run_file(write_case(definition, cases))
    assert [r.outcome for r in results] == ["passed", "passed"], [r.details() for r in results]


def test_one_week_wait_then_one_day_callback_timeout(write_case: WriteCase) -> None:
    """The issue's example: a week of waiting and a day of unanswered approval, tested
    at once; the history carries the virtual timestamps."""
    definition = {
        "StartAt": "CoolingOff",
        "States": {
            "CoolingOff": {"Type": "Wait", "Seconds": 7 * DAY, "Next": "Ask"},
            **approval()["States"],
        },
    }
    case = {
        "name": "nobody answers",
        "mocks": {"Ask": {"no_answer": True}},
        "expect": {
            "status": "SUCCEEDED",
            "path": ["CoolingOff", "Ask", "Late"],
            "duration": 8 * DAY,
        },
    }
    result = one(write_case(definition, [case]))
    assert result.execution is not None
    stamps = {e["type"]: e["timestamp"] for e in result.execution.history}
    assert stamps["WaitStateExited"].startswith("2026-01-08T00:00:00")
    assert stamps["TaskTimedOut"].startswith("2026-01-09T00:00:00")


def test_an_answered_callback_leaves_no_stale_timeout(write_case: WriteCase) -> None:
    """The answered token's timeout timer must not fire into a later state."""
    ask = {k: v for k, v in approval()["States"]["Ask"].items() if k != "End"}
    definition = {
        "StartAt": "Ask",
        "States": {
            "Ask": {**ask, "Next": "Week"},
            "Week": {"Type": "Wait", "Seconds": 7 * DAY, "End": True},
            "Late": {"Type": "Pass", "End": True},
        },
    }
    case = {
        "name": "answered, then a week",
        "mocks": {"Ask": {"result": "yes"}},
        "expect": {"status": "SUCCEEDED", "path": ["Ask", "Week"], "duration": 7 * DAY},
    }
    one(write_case(definition, [case]))


def test_the_runner_reports_variables_and_map_indexes() -> None:
    machine = load(
        {
            "StartAt": "Set",
            "States": {
                "Set": {"Type": "Pass", "Assign": {"n": 1}, "Next": "Each"},
                "Each": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "StartAt": "Both",
                        "States": {
                            "Both": {
                                "Type": "Parallel",
                                "Branches": [
                                    {
                                        "StartAt": "T",
                                        "States": {
                                            "T": {"Type": "Task", "Resource": "tool:t", "End": True}
                                        },
                                    }
                                ],
                                "End": True,
                            }
                        },
                    },
                    "Assign": {"done.$": "States.ArrayLength($)"},
                    "Next": "Top",
                },
                "Top": {"Type": "Task", "Resource": "tool:t", "End": True},
            },
        }
    )
    seen: list[tuple[str, int | None]] = []

    def dispatch(resource: str, payload: Any, ctx: TaskContext) -> Any:
        seen.append((ctx.state_name, ctx.map_index))
        return payload

    result = Runner(machine, dispatcher=dispatch, clock=VirtualClock(START)).run(["a", "b"])
    assert result.status == "SUCCEEDED", result.to_json()
    assert sorted(seen) == [("T", 0), ("T", 1), ("Top", None)]
    assert result.variables == {"n": 1, "done": 2}
