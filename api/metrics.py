"""``GET /metrics`` in the Prometheus text format (version 0.0.4), without a client library.

Two kinds of figures, named so that nobody mistakes one for the other:

* read from the database at scrape time, so the same on every API process and true for the
  whole cluster: ``statemachine_executions{status}`` (executions by status) and
  ``statemachine_queue_depth`` (frames due to run that no worker holds);
* counted by this process: executions started through this API, executions finished by
  the embedded worker or stopped through this API, transitions and commits of the embedded
  worker, its task latency (from the commit that scheduled a task to the commit of its
  result, so it includes queueing for a handler thread) and its lease losses.
"""

from __future__ import annotations

import logging
import threading
import time
from bisect import bisect_left
from collections import Counter
from typing import TYPE_CHECKING, Any

from api import facade_ext

if TYPE_CHECKING:
    from statemachine.engine.worker import Worker
    from statemachine.service import Service

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
_MAX_TRACKED_TASKS = 100_000


class Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def lines(self, name: str) -> list[str]:
        out = []
        cumulative = 0
        for bound, count in zip(self.buckets, self.counts, strict=False):
            cumulative += count
            out.append(f'{name}_bucket{{le="{_number(bound)}"}} {cumulative}')
        out.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        out.append(f"{name}_sum {_number(self.sum)}")
        out.append(f"{name}_count {self.count}")
        return out


class _LeaseLossCounter(logging.Filter):
    """Counts the worker's "lost the lease" warnings, for workers that keep no counter."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("lost the lease"):
            self.count += 1
        return True


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = 0
        self.finished: Counter[str] = Counter()
        self.task_latency = Histogram(LATENCY_BUCKETS)
        self._task_started: dict[int, float] = {}
        self.workers: list[Worker] = []
        self._lease_filter: _LeaseLossCounter | None = None

    # -- recording -------------------------------------------------------------------------

    def execution_started(self) -> None:
        with self._lock:
            self.started += 1

    def execution_finished(self, status: str) -> None:
        with self._lock:
            self.finished[status] += 1

    def attach_worker(self, worker: Worker) -> None:
        self.workers.append(worker)
        if not hasattr(worker, "lease_losses") and self._lease_filter is None:
            self._lease_filter = _LeaseLossCounter()
            logging.getLogger("statemachine.worker").addFilter(self._lease_filter)

    def on_commit(self, _worker: Any, outcomes: list[Any]) -> None:
        """A worker's ``on_commit`` hook (runs after the commit, in whichever thread holds
        the worker's loop: its own, or a pool thread committing a task's result)."""
        now = time.monotonic()
        with self._lock:
            started = self._task_started
            for outcome in outcomes:
                held = outcome.held
                begun = started.pop(held.id, None)
                if begun is not None:
                    self.task_latency.observe(now - begun)
                if outcome.kind == "invoke":
                    if len(started) >= _MAX_TRACKED_TASKS:
                        started.clear()
                    started[held.id] = now
                frame = outcome.frame
                if held.parent_id is None and frame is not None and frame.status != "RUNNING":
                    self.finished[frame.status] += 1

    # -- rendering -------------------------------------------------------------------------

    def render(self, service: Service) -> str:
        lines: list[str] = []

        def metric(name: str, kind: str, help_text: str, samples: list[str]) -> None:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            lines.extend(samples)

        counts = facade_ext.execution_counts(service)
        metric(
            "statemachine_executions",
            "gauge",
            "Executions by status, read from the database (the whole cluster).",
            [f'statemachine_executions{{status="{s}"}} {counts.get(s, 0)}' for s in STATUSES],
        )
        metric(
            "statemachine_queue_depth",
            "gauge",
            "Frames due to run that no worker holds, read from the database.",
            [f"statemachine_queue_depth {facade_ext.queue_depth(service)}"],
        )
        with self._lock:
            started = self.started
            finished = dict(self.finished)
            histogram = self.task_latency.lines("statemachine_task_latency_seconds")
        metric(
            "statemachine_executions_started_total",
            "counter",
            "Executions started through this API process.",
            [f"statemachine_executions_started_total {started}"],
        )
        metric(
            "statemachine_executions_finished_total",
            "counter",
            "Executions finished by this process's worker or stopped through its API.",
            [
                f'statemachine_executions_finished_total{{status="{s}"}} {finished.get(s, 0)}'
                for s in STATUSES[1:]
            ],
        )
        transitions = sum(w.transitions for w in self.workers)
        commits = sum(w.commits for w in self.workers)
        losses = sum(int(getattr(w, "lease_losses", 0)) for w in self.workers)
        if self._lease_filter is not None:
            losses += self._lease_filter.count
        metric(
            "statemachine_transitions_total",
            "counter",
            "State transitions committed by this process's worker.",
            [f"statemachine_transitions_total {transitions}"],
        )
        metric(
            "statemachine_commits_total",
            "counter",
            "Transactions committed by this process's worker (group commit).",
            [f"statemachine_commits_total {commits}"],
        )
        metric(
            "statemachine_task_latency_seconds",
            "histogram",
            "From scheduling a task to committing its result, in this process's worker.",
            histogram,
        )
        metric(
            "statemachine_lease_losses_total",
            "counter",
            "Frames this process's worker lost to an expired lease.",
            [f"statemachine_lease_losses_total {losses}"],
        )
        metric(
            "statemachine_workers",
            "gauge",
            "Workers embedded in this process.",
            [f"statemachine_workers {len(self.workers)}"],
        )
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return repr(float(value))
