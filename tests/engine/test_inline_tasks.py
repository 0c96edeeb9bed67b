"""A pool thread that finishes a sync call commits its result itself when the worker's
loop is asleep, and runs the frame's next sync call on the same thread (see
``Worker._deliver``). These tests pin what must not change with it: deadlines, graceful
shutdown, exactly-once steps, and the loop thread staying in charge of everything else."""

from __future__ import annotations

import threading
import time
from typing import Any

from statemachine.engine.worker import Worker


def chain(length: int, resource: str = "tool:step", **task: Any) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for i in range(length):
        nxt = {"Next": f"T{i + 1}"} if i + 1 < length else {"End": True}
        states[f"T{i}"] = {"Type": "Task", "Resource": resource, "ResultPath": "$.n", **task, **nxt}
    return {"StartAt": "T0", "States": states}


def test_a_task_chain_is_committed_and_continued_by_the_pool_thread(harness: Any) -> None:
    ran: list[tuple[int, str]] = []
    committed_on: list[str] = []

    @harness.tool("step")
    def step(payload: Any, ctx: Any) -> Any:
        # Long enough for the loop thread to be asleep when the call returns.
        time.sleep(0.05)
        ran.append((payload.get("n") or 0, threading.current_thread().name))
        return (payload.get("n") or 0) + 1

    worker = harness.start_worker(poll_interval=5)
    worker.on_commit = lambda _w, _o: committed_on.append(threading.current_thread().name)
    result = harness.run(chain(8), {"n": 0})

    assert result.status == "SUCCEEDED" and result.output == {"n": 8}
    assert [n for n, _ in ran] == list(range(8))  # each step once, in order
    loop = f"worker-{worker.worker_id}"
    assert any(name != loop for name in committed_on), committed_on
    # After the first call, the next ones ran on the thread that committed the result.
    threads = {name for _, name in ran[1:]}
    assert len(threads) == 1 and loop not in threads, ran


def test_timeout_of_a_call_run_by_the_pool_thread_is_enforced(harness: Any) -> None:
    release = threading.Event()

    @harness.tool("quick")
    def quick(payload: Any, ctx: Any) -> Any:
        time.sleep(0.05)
        return 1

    @harness.tool("stuck")
    def stuck(payload: Any, ctx: Any) -> Any:
        release.wait(30)
        return "late"

    definition = {
        "StartAt": "Q",
        "States": {
            "Q": {"Type": "Task", "Resource": "tool:quick", "Next": "S"},
            "S": {"Type": "Task", "Resource": "tool:stuck", "TimeoutSeconds": 1, "End": True},
        },
    }
    # Without a wake-up the loop would sleep a whole poll interval past the deadline.
    harness.start_worker(poll_interval=30, lease_seconds=120)
    started = time.monotonic()
    try:
        result = harness.run(definition, {})
    finally:
        release.set()
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    assert time.monotonic() - started < 20


def test_stopping_while_a_pool_thread_runs_the_next_call(harness: Any) -> None:
    entered = threading.Event()
    release = threading.Event()

    @harness.tool("step")
    def step(payload: Any, ctx: Any) -> Any:
        n = payload.get("n") or 0
        harness.count(f"step-{n}")
        if n == 2:
            entered.set()
            release.wait(30)
        return n + 1

    harness.service.register_state_machine("m", chain(5))
    execution = harness.service.start_execution("m", {"n": 0}, name="stop")
    worker = harness.start_worker(grace_seconds=30)
    assert entered.wait(30)
    worker.stop()
    release.set()
    harness.close()  # the grace period lets the call finish and commits its result
    assert harness.service.describe_execution(execution.execution_id).status == "RUNNING"

    harness.start_worker()  # a new worker carries on from the committed result
    result = harness.wait(execution.execution_id)
    assert result.status == "SUCCEEDED" and result.output == {"n": 5}
    assert [harness.calls[f"step-{n}"] for n in range(5)] == [1, 1, 1, 1, 1]


def test_an_unused_worker_holds_no_reference_cycle(sqlite_db_url: str) -> None:
    worker = Worker(sqlite_db_url)
    assert worker.tasks.deliver == worker.tasks.results_queue
    worker.db.engine.dispose()
