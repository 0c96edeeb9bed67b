"""Activities: a Task on ``activity:NAME`` parks its frame and queues a task that external
workers claim (``get_activity_task``) and answer by token, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from statemachine.errors import InvalidRequest
from statemachine.store.db import Database
from statemachine.store.tables import activity_tasks

ACTIVITY: dict[str, Any] = {
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": "activity:resize",
            "Parameters": {"size.$": "$.size"},
            "ResultPath": "$.result",
            "Next": "Done",
        },
        "Done": {"Type": "Pass", "End": True},
    },
}


def _with(**fields: Any) -> dict[str, Any]:
    definition = {**ACTIVITY, "States": {**ACTIVITY["States"]}}
    definition["States"]["Work"] = {**ACTIVITY["States"]["Work"], **fields}
    return definition


def _poll(harness: Any, name: str = "resize", worker: str = "w1") -> Any:
    """Poll until a task arrives (it shows up once its frame has parked)."""
    found: list[Any] = []

    def ready() -> bool:
        task = harness.service.get_activity_task(name, worker)
        if task is not None:
            found.append(task)
        return bool(found)

    harness.wait_for(ready)
    return found[0]


def _queued(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(activity_tasks)).scalar_one())


def test_a_worker_claims_the_task_and_answers_it(harness: Any) -> None:
    harness.start_worker()
    service = harness.service
    assert service.get_activity_task("resize", "w1") is None
    service.register_state_machine("m", ACTIVITY)
    execution = service.start_execution("m", {"size": 3}, name="a")
    task = _poll(harness)
    assert task.input == {"size": 3}
    assert service.get_activity_task("resize", "w2") is None  # claimed once only
    assert service.get_activity_task("other", "w2") is None
    service.send_task_heartbeat(task.task_token)
    service.send_task_success(task.task_token, {"ok": True})
    done = harness.wait(execution.execution_id)
    assert done.status == "SUCCEEDED", done
    assert done.output == {"size": 3, "result": {"ok": True}}
    assert _queued(service.db) == 0  # answered tasks leave the queue
    with pytest.raises(InvalidRequest):
        service.send_task_success(task.task_token, {"again": True})


def test_failure_goes_through_catch(harness: Any) -> None:
    harness.start_worker()
    definition = _with(
        Catch=[{"ErrorEquals": ["Resize.Failed"], "ResultPath": "$.error", "Next": "Done"}]
    )
    harness.service.register_state_machine("m", definition)
    execution = harness.service.start_execution("m", {"size": 1}, name="f")
    task = _poll(harness)
    harness.service.send_task_failure(task.task_token, "Resize.Failed", "too big")
    done = harness.wait(execution.execution_id)
    assert done.status == "SUCCEEDED"
    assert done.output["error"] == {"Error": "Resize.Failed", "Cause": "too big"}


def test_tasks_are_handed_out_oldest_first_each_to_one_worker(harness: Any) -> None:
    worker = harness.start_worker()
    service = harness.service
    service.register_state_machine("m", ACTIVITY)
    ids = [service.start_execution("m", {"size": i}, name=f"e{i}").execution_id for i in range(3)]
    harness.wait_for(lambda: _queued(service.db) == 3)
    harness.wait_for(lambda: not worker._held)  # all three frames parked
    with service.db.read() as conn:
        order = conn.execute(
            select(activity_tasks.c.input).order_by(
                activity_tasks.c.created_at, activity_tasks.c.token
            )
        ).scalars()
        oldest, *rest = (json.loads(text)["size"] for text in order)
    first = _poll(harness)
    assert first.input == {"size": oldest}
    # Pollers race for the rest: every task goes to exactly one of them.
    claimed: list[Any] = []
    lock = threading.Lock()

    def poller(name: str) -> None:
        for _ in range(400):
            task = service.get_activity_task("resize", name)
            if task is not None:
                with lock:
                    claimed.append(task)
            with lock:
                if len(claimed) >= 2:
                    return
            threading.Event().wait(0.02)

    threads = [threading.Thread(target=poller, args=(f"p{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(t.input["size"] for t in claimed) == sorted(rest)
    assert len({t.task_token for t in [first, *claimed]}) == 3
    for task in [first, *claimed]:
        service.send_task_success(task.task_token, task.input["size"] * 10)
    outputs = sorted(harness.wait(i).output["result"] for i in ids)
    assert outputs == [0, 10, 20]


def test_an_unanswered_claimed_task_times_out(harness: Any) -> None:
    harness.start_worker()
    harness.service.register_state_machine("m", _with(TimeoutSeconds=1))
    execution = harness.service.start_execution("m", {"size": 1}, name="t")
    task = _poll(harness)
    done = harness.wait(execution.execution_id)
    assert (done.status, done.error) == ("FAILED", "States.Timeout")
    with pytest.raises(InvalidRequest):
        harness.service.send_task_success(task.task_token, {})


def test_a_claimed_task_without_heartbeats_fails_with_heartbeat_timeout(harness: Any) -> None:
    harness.start_worker()
    harness.service.register_state_machine("m", _with(TimeoutSeconds=600, HeartbeatSeconds=1))
    execution = harness.service.start_execution("m", {"size": 1}, name="h")
    _poll(harness)
    done = harness.wait(execution.execution_id)
    assert (done.status, done.error) == ("FAILED", "States.HeartbeatTimeout")


def test_an_unclaimed_task_times_out_and_leaves_the_queue(harness: Any) -> None:
    harness.start_worker()
    harness.service.register_state_machine("m", _with(TimeoutSeconds=1))
    execution = harness.service.start_execution("m", {"size": 1}, name="u")
    done = harness.wait(execution.execution_id)
    assert (done.status, done.error) == ("FAILED", "States.Timeout")
    assert harness.service.get_activity_task("resize", "late") is None
    assert _queued(harness.service.db) == 0


def test_the_task_survives_a_worker_restart(harness: Any) -> None:
    """The queue is durable: the engine worker can go away while the task waits."""
    worker = harness.start_worker()
    harness.service.register_state_machine("m", ACTIVITY)
    execution = harness.service.start_execution("m", {"size": 5}, name="r")
    harness.wait_for(lambda: _queued(harness.service.db) == 1)
    harness.wait_for(lambda: not worker._held)  # parked
    harness.close()
    task = _poll(harness)
    harness.service.send_task_success(task.task_token, "later")
    harness.start_worker()
    assert harness.wait(execution.execution_id).output["result"] == "later"


def test_stopping_the_execution_withdraws_the_task(harness: Any) -> None:
    worker = harness.start_worker()
    harness.service.register_state_machine("m", ACTIVITY)
    execution = harness.service.start_execution("m", {"size": 1}, name="s")
    harness.wait_for(lambda: _queued(harness.service.db) == 1)
    harness.wait_for(lambda: not worker._held)
    harness.service.stop_execution(execution.execution_id, "Stopped", None)
    assert harness.service.get_activity_task("resize", "w") is None
