"""The durable worker on real SQLite and PostgreSQL: same results and history as the
in-memory runner, durable timers, Map/Parallel children as rows, task semantics."""

from __future__ import annotations

import threading
import time
from typing import Any

from statemachine.errors import TaskError
from statemachine.model.build import build
from statemachine.runner import Runner

PIPELINE = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": {"n": 3}, "ResultPath": "$.cfg", "Next": "Double"},
        "Double": {
            "Type": "Task",
            "Resource": "tool:double",
            "Parameters": {"value.$": "$.value"},
            "ResultPath": "$.doubled",
            "Next": "Fan",
        },
        "Fan": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 1,
            "ItemProcessor": {
                "StartAt": "Square",
                "States": {"Square": {"Type": "Task", "Resource": "tool:square", "End": True}},
            },
            "ResultPath": "$.squares",
            "Next": "Both",
        },
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "L", "States": {"L": {"Type": "Pass", "Result": "left", "End": True}}},
                {
                    "StartAt": "R",
                    "States": {
                        "R": {
                            "Type": "Task",
                            "Resource": "tool:double",
                            "Parameters": {"value": 21},
                            "End": True,
                        }
                    },
                },
            ],
            "ResultPath": "$.both",
            "Next": "Check",
        },
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.doubled", "NumericEquals": 10, "Next": "Done"}],
            "Default": "Bad",
        },
        "Bad": {"Type": "Fail", "Error": "Bad"},
        "Done": {"Type": "Succeed"},
    },
}


def _tools(registry: Any) -> None:
    @registry.tool("double")
    def double(payload: Any, ctx: Any) -> Any:
        return payload["value"] * 2

    @registry.tool("square")
    def square(payload: Any, ctx: Any) -> Any:
        return payload * payload


def _strip(history: list[tuple[int, str, dict[str, Any]]]) -> list[tuple[int, str, Any]]:
    return [(i, kind, details) for i, kind, details in history]


def test_same_output_and_history_as_the_in_memory_runner(harness: Any) -> None:
    _tools(harness.registry)
    harness.start_worker()
    data = {"value": 5, "items": [1, 2, 3]}
    result = harness.run(PIPELINE, data)
    reference = Runner(build(PIPELINE), registry=harness.registry).run(data, name="e")
    assert result.status == reference.status == "SUCCEEDED"
    assert result.output == reference.output
    durable = harness.history(result.execution_id)
    expected = [(ev["id"], ev["type"]) for ev in reference.history]
    assert [(i, kind) for i, kind, _ in durable] == expected
    strip = {"key"}  # nothing time- or id-dependent in this workflow's details
    for (_, _, got), ref in zip(durable, reference.history, strict=True):
        assert {k: v for k, v in got.items() if k not in strip} == {
            k: v for k, v in ref.items() if k not in {"id", "type", "timestamp", *strip}
        }


def test_failure_is_recorded_like_the_runner(harness: Any) -> None:
    @harness.tool("fail")
    def fail(payload: Any, ctx: Any) -> Any:
        raise TaskError("Custom.Error", "it broke")

    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "tool:fail", "End": True}},
    }
    harness.start_worker()
    result = harness.run(definition, {})
    assert (result.status, result.error, result.cause) == ("FAILED", "Custom.Error", "it broke")
    kinds = [kind for _, kind, _ in harness.history(result.execution_id)]
    assert kinds == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskFailed",
        "ExecutionFailed",
    ]


def test_retry_backoff_is_a_durable_timer_and_the_key_is_stable(harness: Any) -> None:
    keys: list[tuple[str, int]] = []

    @harness.tool("flaky")
    def flaky(payload: Any, ctx: Any) -> Any:
        keys.append((ctx.idempotency_key, ctx.attempt))
        if len(keys) < 3:
            raise TaskError("Flaky", "try again")
        return "ok"

    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "tool:flaky",
                "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "BackoffRate": 1}],
                "End": True,
            }
        },
    }
    worker = harness.start_worker()
    result = harness.run(definition, {})
    assert result.status == "SUCCEEDED" and result.output == "ok"
    assert len({key for key, _ in keys}) == 1
    assert [attempt for _, attempt in keys] == [1, 2, 3]
    assert not worker._held  # sleeping frames hold no worker


def test_sleeping_executions_hold_no_worker(harness: Any) -> None:
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    worker = harness.start_worker(concurrency=2)
    harness.service.register_state_machine("m", definition)
    ids = [harness.service.start_execution("m", {}, name=f"s{i}").execution_id for i in range(30)]

    def all_asleep() -> bool:
        with harness.service.db.read() as conn:
            from sqlalchemy import func, select

            from statemachine.store.tables import frames

            query = select(func.count()).where(frames.c.status == "SLEEPING")
            return conn.execute(query).scalar() == 30

    harness.wait_for(all_asleep)
    assert not worker._held
    assert all(harness.service.describe_execution(i).status == "RUNNING" for i in ids)


def test_a_frame_leased_to_a_worker_that_does_not_hold_it_is_given_back(harness: Any) -> None:
    """A safety net: a frame whose lease names this worker while the worker holds no such
    frame (a bug, or a row edited by hand) must not be renewed forever; the worker gives
    it back at its next renewal and the execution carries on."""
    from sqlalchemy import update

    from statemachine.store.db import now_micros
    from statemachine.store.tables import frames

    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}
    worker = harness.start_worker(lease_seconds=0.6)
    harness.service.register_state_machine("m", definition)
    execution = harness.service.start_execution("m", {"a": 1}, name="orphan")
    harness.wait_for(lambda: _frame_status(harness) == "SLEEPING")
    with harness.service.db.write() as conn:
        conn.execute(
            update(frames).values(
                lease_owner=worker.worker_id, lease_expires=now_micros() + 3_600_000_000
            )
        )
    result = harness.wait(execution.execution_id)
    assert (result.status, result.output) == ("SUCCEEDED", {"a": 1})


def _frame_status(harness: Any) -> str | None:
    from sqlalchemy import select

    from statemachine.store.tables import frames

    with harness.service.db.read() as conn:
        return conn.execute(select(frames.c.status)).scalar()


def test_wait_state_wakes_up(harness: Any) -> None:
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}
    harness.start_worker()
    result = harness.run(definition, {"a": 1})
    assert result.status == "SUCCEEDED" and result.output == {"a": 1}
    assert (result.stop_date - result.start_date).total_seconds() >= 1


def test_map_max_concurrency_and_many_children(harness: Any) -> None:
    active = [0]
    peak = [0]
    lock = threading.Lock()

    @harness.tool("work")
    def work(payload: Any, ctx: Any) -> Any:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.005)
        with lock:
            active[0] -= 1
        return payload + 1

    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "MaxConcurrency": 3,
                "ItemProcessor": {
                    "StartAt": "W",
                    "States": {"W": {"Type": "Task", "Resource": "tool:work", "End": True}},
                },
                "End": True,
            }
        },
    }
    harness.start_worker(concurrency=8)
    harness.start_worker(concurrency=8)
    result = harness.run(definition, list(range(40)))
    assert result.status == "SUCCEEDED" and result.output == list(range(1, 41))
    assert peak[0] <= 3
    history = harness.history(result.execution_id)
    assert [i for i, _, _ in history] == list(range(1, len(history) + 1))
    kinds = [kind for _, kind, _ in history]
    assert kinds.count("MapIterationStarted") == kinds.count("MapIterationSucceeded") == 40


def test_map_tolerated_failures_and_parallel_failure(harness: Any) -> None:
    @harness.tool("odd")
    def odd(payload: Any, ctx: Any) -> Any:
        if payload % 2:
            raise TaskError("Odd", str(payload))
        return payload

    tolerant = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ToleratedFailureCount": 5,
                "ItemProcessor": {
                    "StartAt": "T",
                    "States": {"T": {"Type": "Task", "Resource": "tool:odd", "End": True}},
                },
                "End": True,
            }
        },
    }
    harness.start_worker()
    result = harness.run(tolerant, [0, 1, 2, 3], name="tolerant")
    assert result.status == "SUCCEEDED"
    assert result.output == [0, {"Error": "Odd", "Cause": "1"}, 2, {"Error": "Odd", "Cause": "3"}]
    reference = Runner(build(tolerant), registry=harness.registry).run([0, 1, 2, 3])
    assert reference.output == result.output

    strict = {**tolerant, "States": {"M": {**tolerant["States"]["M"], "ToleratedFailureCount": 0}}}
    failed = harness.run(strict, [0, 1, 2, 3], name="strict")
    assert failed.status == "FAILED" and failed.error == "States.ExceedToleratedFailureThreshold"


def test_task_timeout_and_heartbeat_are_enforced(harness: Any) -> None:
    release = threading.Event()

    @harness.tool("slow")
    def slow(payload: Any, ctx: Any) -> Any:
        release.wait(30)
        return "late"

    @harness.tool("silent")
    def silent(payload: Any, ctx: Any) -> Any:
        release.wait(30)
        return "late"

    timeout = {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": "tool:slow", "TimeoutSeconds": 1, "End": True}
        },
    }
    heartbeat = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "tool:silent",
                "TimeoutSeconds": 60,
                "HeartbeatSeconds": 1,
                "End": True,
            }
        },
    }
    harness.start_worker()
    try:
        first = harness.run(timeout, {}, name="timeout")
        second = harness.run(heartbeat, {}, name="heartbeat")
    finally:
        release.set()
    assert (first.status, first.error) == ("FAILED", "States.Timeout")
    assert (second.status, second.error) == ("FAILED", "States.HeartbeatTimeout")
    assert "TaskTimedOut" in [kind for _, kind, _ in harness.history(first.execution_id)]


def test_async_handlers_run_on_the_event_loop(harness: Any) -> None:
    import asyncio

    @harness.tool("async_add")
    async def async_add(payload: Any, ctx: Any) -> Any:
        await asyncio.sleep(0.01)
        return payload["a"] + payload["b"]

    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "tool:async_add", "End": True}},
    }
    harness.start_worker()
    assert harness.run(definition, {"a": 2, "b": 3}).output == 5


def test_execution_timeout(harness: Any) -> None:
    definition = {
        "TimeoutSeconds": 1,
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}},
    }
    harness.start_worker()
    result = harness.run(definition, {})
    assert (result.status, result.error) == ("TIMED_OUT", "States.Timeout")
    assert harness.history(result.execution_id)[-1][1] == "ExecutionTimedOut"


def test_group_commit_batches_many_executions(harness: Any) -> None:
    states = {f"P{i}": {"Type": "Pass", "Next": f"P{i + 1}"} for i in range(20)}
    states["P20"] = {"Type": "Pass", "End": True}
    definition = {"StartAt": "P0", "States": states}
    harness.service.register_state_machine("m", definition)
    ids = [harness.service.start_execution("m", {}, name=f"g{i}").execution_id for i in range(30)]
    worker = harness.start_worker(concurrency=64)
    for execution_id in ids:
        assert harness.wait(execution_id).status == "SUCCEEDED"
    assert worker.transitions >= 30 * 21
    assert worker.commits < worker.transitions  # several transitions per transaction
