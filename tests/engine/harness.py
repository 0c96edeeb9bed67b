"""A service, a tool registry and embedded workers on one test database."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from statemachine.engine.worker import Worker
from statemachine.handlers.registry import ToolRegistry
from statemachine.service import Service
from statemachine.service_models import ExecutionDescription

WAIT_SECONDS = 60.0  # generous: a loaded 2-core CI machine must never fail on timing


class Harness:
    def __init__(self, url: str) -> None:
        self.url = url
        self.service = Service(url)
        self.registry = ToolRegistry()
        self.workers: list[tuple[Worker, threading.Thread]] = []
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()

    def count(self, key: str) -> int:
        with self.lock:
            self.calls[key] = self.calls.get(key, 0) + 1
            return self.calls[key]

    def tool(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.registry.tool(name)

    def start_worker(self, **options: Any) -> Worker:
        options.setdefault("poll_interval", 0.05)
        options.setdefault("lease_seconds", 10)
        worker = Worker(self.service.db, registry=self.registry, **options)
        thread = worker.start_thread()
        self.workers.append((worker, thread))
        return worker

    def run(
        self, definition: dict[str, Any], input: Any = None, name: str = "e", **start: Any
    ) -> ExecutionDescription:
        self.service.register_state_machine("m", definition)
        execution = self.service.start_execution("m", input, name=name, **start)
        return self.wait(execution.execution_id)

    def wait(self, execution_id: str, timeout: float = WAIT_SECONDS) -> ExecutionDescription:
        result = self.service.wait(execution_id, timeout)
        assert result.status != "RUNNING", f"{execution_id} still running after {timeout}s"
        return result

    def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "condition not reached in time"
            time.sleep(0.02)

    def history(self, execution_id: str) -> list[tuple[int, str, dict[str, Any]]]:
        events = self.service.get_history(execution_id, limit=10_000).events
        return [(e.id, e.type, e.details) for e in events]

    def close(self) -> None:
        for worker, _ in self.workers:
            worker.stop()
        for worker, thread in self.workers:
            thread.join(worker.grace_seconds + 10)
        self.workers.clear()
