"""Driving worker subprocesses for the crash tests, and reading what happened."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select

from statemachine.store.tables import history

ROOT = Path(__file__).resolve().parents[2]
TOOLS = Path(__file__).with_name("crash_tools.py")
STEPS = 50
ITEMS = 200
PATIENCE = 120.0  # seconds; generous on purpose (2-core CI machines)


def definition() -> dict[str, Any]:
    states: dict[str, Any] = {}
    for i in range(STEPS):
        states[f"S{i}"] = {
            "Type": "Task",
            "Resource": "tool:step",
            "Parameters": {"i": i, "v.$": "$.r.v"},
            "ResultPath": "$.r",
            "Next": f"S{i + 1}" if i + 1 < STEPS else "Fan",
        }
    states["Fan"] = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "MaxConcurrency": 10,
        "ItemSelector": {"x.$": "$$.Map.Item.Value", "base.$": "$.r.v"},
        "ItemProcessor": {
            "StartAt": "I",
            "States": {"I": {"Type": "Task", "Resource": "tool:item", "End": True}},
        },
        "ResultPath": "$.mapped",
        "End": True,
    }
    return {"StartAt": "S0", "States": states}


def workflow_input() -> dict[str, Any]:
    return {"r": {"v": 1}, "items": list(range(ITEMS))}


def expected_output() -> dict[str, Any]:
    v = 1
    for i in range(STEPS):
        v = (v * 31 + i) % 1_000_003
    return {
        "r": {"v": v},
        "items": list(range(ITEMS)),
        "mapped": [x * x + v for x in range(ITEMS)],
    }


def environment(tmp: Path) -> dict[str, str]:
    locks = tmp / "locks"
    locks.mkdir(exist_ok=True)
    env = dict(os.environ)
    env["CRASH_LOG"] = str(tmp / "calls.log")
    env["CRASH_LOCKS"] = str(locks)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    # Let restarted workers reuse compiled bytecode: restarts are what these tests time.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def spawn_worker(url: str, worker_id: str, env: dict[str, str], lease: float) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "statemachine", "worker",
        "--db", url,
        "--handlers", str(TOOLS),
        "--worker-id", worker_id,
        "--concurrency", "8",
        "--poll-interval", "0.05",
        "--lease-seconds", str(lease),
        "--log-level", "WARNING",
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    if process.stderr is not None:
        process.stderr.close()


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    return err.decode(errors="replace")


class CallLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self) -> list[str]:
        if not self.path.exists():
            return []
        return self.path.read_text().splitlines()

    def started(self) -> set[str]:
        return {line[6:] for line in self.lines() if line.startswith("start ")}

    def starts(self) -> Counter[str]:
        return Counter(line[6:] for line in self.lines() if line.startswith("start "))

    def concurrent(self) -> list[str]:
        return [line for line in self.lines() if line.startswith("CONCURRENT")]


def committed_keys(service: Any, execution_id: str) -> set[str]:
    """Idempotency keys (execution/frame/entered-event) whose result is committed."""
    with service.db.read() as conn:
        rows = conn.execute(
            select(history.c.frame_id, history.c.id, history.c.type)
            .where(
                history.c.execution_id == execution_id,
                history.c.type.in_(("TaskStateEntered", "TaskSucceeded")),
            )
            .order_by(history.c.id)
        ).all()
    entered: dict[int, int] = {}
    done: set[str] = set()
    for frame_id, event_id, kind in rows:
        if kind == "TaskStateEntered":
            entered[frame_id] = event_id
        elif frame_id in entered:
            done.add(f"{execution_id}/{frame_id}/{entered[frame_id]}")
    return done


def wait_until(predicate: Any, timeout: float = PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def check_history(service: Any, execution_id: str) -> None:
    events = service.get_history(execution_id, limit=10_000).events
    ids = [e.id for e in events]
    assert ids == list(range(1, len(ids) + 1)), "history ids have gaps or duplicates"
    kinds = Counter(e.type for e in events)
    assert kinds["TaskSucceeded"] == STEPS + ITEMS
    assert kinds["TaskScheduled"] == STEPS + ITEMS  # a re-run is not a second schedule
    assert kinds["MapIterationStarted"] == kinds["MapIterationSucceeded"] == ITEMS
    assert kinds["ExecutionSucceeded"] == 1 and events[-1].type == "ExecutionSucceeded"
