"""Execution operations through the service facade, on SQLite and PostgreSQL: callbacks,
stop, redrive; and lease recovery between workers."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from statemachine.errors import InvalidRequest, NotFound, TaskError
from statemachine.store import frames as fr_repo
from statemachine.store.db import now_micros

CALLBACK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "tool:ask.waitForTaskToken",
            "Parameters": {"token.$": "$$.Task.Token", "q.$": "$.q"},
            "Next": "After",
        },
        "After": {"Type": "Pass", "End": True},
    },
}


def _token_tool(harness: Any) -> list[str]:
    tokens: list[str] = []

    @harness.tool("ask")
    def ask(payload: Any, ctx: Any) -> Any:
        assert ctx.task_token == payload["token"]
        tokens.append(payload["token"])
        return None

    return tokens


def test_callback_success_failure_and_bad_tokens(harness: Any) -> None:
    tokens = _token_tool(harness)
    worker = harness.start_worker()
    service = harness.service
    service.register_state_machine("m", CALLBACK)
    first = service.start_execution("m", {"q": 1}, name="ok")
    harness.wait_for(lambda: len(tokens) == 1)
    harness.wait_for(lambda: not worker._held)  # parked: holds no worker
    service.send_task_heartbeat(tokens[0])
    service.send_task_success(tokens[0], {"answer": 42})
    assert harness.wait(first.execution_id).output == {"answer": 42}
    with pytest.raises(InvalidRequest):
        service.send_task_success(tokens[0], {})
    with pytest.raises(NotFound):
        service.send_task_success("no-such-token", {})

    second = service.start_execution("m", {"q": 2}, name="no")
    harness.wait_for(lambda: len(tokens) == 2)
    service.send_task_failure(tokens[1], "Human.Rejected", "nope")
    result = harness.wait(second.execution_id)
    assert (result.status, result.error, result.cause) == ("FAILED", "Human.Rejected", "nope")


@pytest.mark.parametrize("after", ["Pass", "Map"])
def test_callback_answered_while_its_handler_still_runs(harness: Any, after: str) -> None:
    """The token is answered before the handler returns, and the worker that runs the
    handler claims the answered frame again (its lease was given up) before the handler's
    return arrives: the late return must not make the worker forget the frame it now
    holds under a new lease, or the execution would wait forever."""
    service = harness.service
    moved_on = threading.Event()

    @harness.tool("ask")
    def ask(payload: Any, ctx: Any) -> Any:
        service.send_task_success(ctx.task_token, {"answer": 1})
        # Return only once the answer has been taken up (or give up after a while: the
        # test then checks the other order, which must work too).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not moved_on.is_set():
            events = harness.history(ctx.execution_id)
            if any(kind == "TaskSucceeded" for _, kind, _ in events):
                moved_on.set()
            time.sleep(0.01)
        return None

    then = (
        {"Type": "Pass", "End": True}
        if after == "Pass"
        else {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {"StartAt": "One", "States": {"One": {"Type": "Pass", "End": True}}},
            "ResultPath": "$.each",
            "End": True,
        }
    )
    definition = {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "tool:ask.waitForTaskToken",
                "ResultPath": "$.answer",
                "Next": "Then",
            },
            "Then": then,
        },
    }
    worker = harness.start_worker()
    result = harness.run(definition, {"items": [1, 2]})
    harness.wait_for(moved_on.is_set)  # the handler saw it before it returned
    assert result.status == "SUCCEEDED", result
    assert result.output["answer"] == {"answer": 1}
    harness.wait_for(lambda: not worker._held and not worker._running)


def test_callbacks_answered_by_their_own_handlers(harness: Any) -> None:
    """Handlers that answer their own token and return at once, many at a time: the
    answer and the handler's return reach the worker in either order, often in the same
    loop turn as the claim of the answered frame. Every execution must finish."""

    @harness.tool("ask")
    def ask(payload: Any, ctx: Any) -> Any:
        harness.service.send_task_success(ctx.task_token, payload)
        return None

    definition = {
        "StartAt": "Ask",
        "States": {
            "Ask": {"Type": "Task", "Resource": "tool:ask.waitForTaskToken", "Next": "Again"},
            "Again": {"Type": "Task", "Resource": "tool:ask.waitForTaskToken", "End": True},
        },
    }
    worker = harness.start_worker(concurrency=8)
    service = harness.service
    service.register_state_machine("m", definition)
    started = [service.start_execution("m", i, name=f"e{i}") for i in range(40)]
    for i, execution in enumerate(started):
        result = harness.wait(execution.execution_id)
        assert (result.status, result.output) == ("SUCCEEDED", i)
    harness.wait_for(lambda: not worker._held and not worker._running)


def test_callback_timeout(harness: Any) -> None:
    tokens = _token_tool(harness)
    definition = {
        "StartAt": "Ask",
        "States": {"Ask": {**CALLBACK["States"]["Ask"], "TimeoutSeconds": 1, "End": True}},
    }
    del definition["States"]["Ask"]["Next"]
    harness.start_worker()
    result = harness.run(definition, {"q": 1})
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    with pytest.raises(InvalidRequest):
        harness.service.send_task_success(tokens[0], {})


def test_stop_aborts_running_tasks_and_children(harness: Any) -> None:
    started = threading.Event()
    release = threading.Event()

    @harness.tool("block")
    def block(payload: Any, ctx: Any) -> Any:
        started.set()
        release.wait(30)
        return payload

    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "B",
                    "States": {"B": {"Type": "Task", "Resource": "tool:block", "End": True}},
                },
                "End": True,
            }
        },
    }
    worker = harness.start_worker()
    service = harness.service
    service.register_state_machine("m", definition)
    execution = service.start_execution("m", [1, 2, 3], name="s")
    assert started.wait(30)
    stopped = service.stop_execution(execution.execution_id, "Operator.Stop", "enough")
    assert (stopped.status, stopped.error) == ("ABORTED", "Operator.Stop")
    release.set()
    harness.wait_for(lambda: not worker._held)
    history = harness.history(execution.execution_id)
    assert history[-1][1] == "ExecutionAborted"
    assert [i for i, _, _ in history] == list(range(1, len(history) + 1))
    with service.db.read() as conn:
        from sqlalchemy import select

        from statemachine.store.tables import frames

        statuses = {r[0] for r in conn.execute(select(frames.c.status))}
    assert statuses <= {"CANCELLED", "DONE"}
    with pytest.raises(InvalidRequest):
        service.stop_execution(execution.execution_id)


def test_redrive_keeps_completed_steps_and_succeeded_children(harness: Any) -> None:
    broken = {"on": True}

    @harness.tool("step")
    def step(payload: Any, ctx: Any) -> Any:
        harness.count(f"step:{payload}")
        return payload

    @harness.tool("item")
    def item(payload: Any, ctx: Any) -> Any:
        harness.count(f"item:{payload}")
        if broken["on"] and payload % 3 == 0:
            raise TaskError("Broken", str(payload))
        return payload * 10

    definition = {
        "StartAt": "First",
        "States": {
            "First": {"Type": "Task", "Resource": "tool:step", "ResultPath": None, "Next": "Map"},
            "Map": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "I",
                    "States": {"I": {"Type": "Task", "Resource": "tool:item", "End": True}},
                },
                "End": True,
            },
        },
    }
    harness.start_worker()
    data = {"items": list(range(7))}
    failed = harness.run(definition, data)
    assert failed.status == "FAILED" and failed.error == "Broken"
    calls_before = dict(harness.calls)
    succeeded = {
        details["index"]
        for _, kind, details in harness.history(failed.execution_id)
        if kind == "MapIterationSucceeded"
    }
    broken["on"] = False
    redriven = harness.service.redrive_execution(failed.execution_id)
    assert redriven.status == "RUNNING" and redriven.redrive_count == 1
    result = harness.wait(failed.execution_id)
    assert result.status == "SUCCEEDED"
    assert result.output == [i * 10 for i in range(7)]
    assert harness.calls[f"step:{data}"] == 1  # the completed step did not run again
    again = {k: harness.calls[k] - calls_before.get(k, 0) for k in harness.calls}
    for i in succeeded:
        assert again[f"item:{i}"] == 0
    assert again["item:0"] == 1
    history = harness.history(failed.execution_id)
    assert "ExecutionRedriven" in [kind for _, kind, _ in history]
    assert [i for i, _, _ in history] == list(range(1, len(history) + 1))
    with pytest.raises(InvalidRequest):
        harness.service.redrive_execution(failed.execution_id)


def test_redrive_after_stop_resumes_a_wait(harness: Any) -> None:
    definition = {
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 3600, "Next": "P"},
            "P": {"Type": "Pass", "End": True},
        },
    }
    harness.start_worker()
    service = harness.service
    service.register_state_machine("m", definition)
    execution = service.start_execution("m", {"x": 1}, name="w")
    service.stop_execution(execution.execution_id)
    service.redrive_execution(execution.execution_id)
    assert service.describe_execution(execution.execution_id).status == "RUNNING"
    service.stop_execution(execution.execution_id)
    assert service.describe_execution(execution.execution_id).redrive_count == 1


def test_expired_lease_is_taken_over_and_own_id_reclaims_at_once(harness: Any) -> None:
    @harness.tool("echo")
    def echo(payload: Any, ctx: Any) -> Any:
        harness.count(ctx.idempotency_key)
        return {"attempt": ctx.attempt}

    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "tool:echo", "End": True}},
    }
    service = harness.service
    service.register_state_machine("m", definition)
    pg = service.db.is_postgres
    # A "dead" worker claimed the root frame with a long lease.
    dead = service.start_execution("m", {}, name="dead")
    with service.db.write() as conn:
        now = now_micros()
        assert len(fr_repo.claim(conn, "ghost", now, now + 3_600_000_000, 10, pg)) == 1
    # The same worker id restarted takes its frame back at once.
    ghost = harness.start_worker(worker_id="ghost")
    assert harness.wait(dead.execution_id).status == "SUCCEEDED"
    # Stop it (and wait) so it cannot claim the next frame before "vanished" does.
    ghost.stop()
    for worker, thread in harness.workers:
        if worker is ghost:
            thread.join(60)

    # Another worker waits for the lease to expire.
    other = service.start_execution("m", {}, name="other")
    with service.db.write() as conn:
        now = now_micros()
        assert len(fr_repo.claim(conn, "vanished", now, now + 1_000_000, 10, pg)) == 1
    harness.start_worker(worker_id="late")
    assert harness.wait(other.execution_id).status == "SUCCEEDED"


def test_task_in_flight_at_a_crash_runs_again_as_another_attempt(harness: Any) -> None:
    seen: list[tuple[str, int]] = []

    @harness.tool("record")
    def record(payload: Any, ctx: Any) -> Any:
        seen.append((ctx.idempotency_key, ctx.attempt))
        return "done"

    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "tool:record", "End": True}},
    }
    service = harness.service
    service.register_state_machine("m", definition)
    execution = service.start_execution("m", {}, name="c")
    # Simulate a worker that committed TaskScheduled and died while the task ran.
    from statemachine.engine.worker import Worker

    crashed = Worker(service.db, registry=harness.registry, worker_id="crashed")
    crashed._claim()
    (held,) = crashed._held.values()
    crashed._commit(crashed._ready)
    crashed.tasks.shutdown(wait=True)
    crashed.fast.close()  # what the dead process's exit would have done to its connection
    seen.clear()  # the first call may or may not have run before the "crash"
    harness.start_worker(worker_id="crashed")
    assert harness.wait(execution.execution_id).status == "SUCCEEDED"
    assert len(seen) == 1 and seen[0][1] == 2  # counted as the second attempt
    assert seen[0][0].endswith(f"/{held.id}/{held.frame.entered_event_id}")


def test_graceful_stop_lets_running_tasks_finish(harness: Any) -> None:
    started = threading.Event()
    finish = threading.Event()

    @harness.tool("slow")
    def slow(payload: Any, ctx: Any) -> Any:
        started.set()
        finish.wait(30)
        return "finished"

    definition = {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": "tool:slow", "Next": "P"},
            "P": {"Type": "Pass", "End": True},
        },
    }
    service = harness.service
    service.register_state_machine("m", definition)
    execution = service.start_execution("m", {}, name="g")
    worker = harness.start_worker(grace_seconds=30)
    assert started.wait(30)
    worker.stop()
    finish.set()
    harness.workers[-1][1].join(30)
    kinds = [kind for _, kind, _ in harness.history(execution.execution_id)]
    assert kinds[-1] == "TaskStateExited"  # the result was committed, nothing more
    with service.db.read() as conn:
        from sqlalchemy import select

        from statemachine.store.tables import frames

        assert conn.execute(select(frames.c.lease_owner)).scalar() is None
    harness.start_worker()
    assert harness.wait(execution.execution_id).output == "finished"
