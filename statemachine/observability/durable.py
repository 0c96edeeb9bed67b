"""The durable engine's side: spans from the history rows a database commits.

:meth:`DurableFeed.committed` is the database's history listener: after every write
transaction that appended history rows commits, it receives them (a rolled-back
transaction delivers nothing). That covers every writer: worker transitions, timeouts,
stops and redrives, in whichever process they happen.

A process rarely sees an execution from its first event (the API inserts
``ExecutionStarted``; another worker may have run the frames before). When the rows of
an execution do not follow on from the last one this process handled, the missing ones
are read back from the history table and replayed silently (see :mod:`.spans`), so the
open spans, their ids and their parents are the same as in the process that wrote them.
Which iteration or branch a frame runs in comes from the ``frames`` table, read in one
query per commit for the frames not seen before.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select

from statemachine.observability.spans import ExecutionTrace, Sampler, SpanRecord
from statemachine.store import executions as ex_repo
from statemachine.store.db import Database, now_micros
from statemachine.store.jsontext import loads
from statemachine.store.tables import executions, frames

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger("statemachine.observability")
JSON = Any
MAX_TRACES = 10_000  # executions kept in memory per database (least recently used go)


def machine_of(execution_id: str) -> str:
    """``arn:...:execution:MACHINE:NAME``: names cannot contain ``:`` (AWS rules)."""
    parts = execution_id.rsplit(":", 2)
    return parts[1] if len(parts) == 3 else execution_id


class DurableFeed:
    def __init__(
        self,
        db: Database,
        emit: Callable[[SpanRecord], None] | None,
        sampler: Sampler,
    ) -> None:
        self.db = db
        self.emit = emit
        self.sampler = sampler
        self._traces: OrderedDict[str, ExecutionTrace] = OrderedDict()
        self._parents: dict[int, tuple[int, int] | None] = {}
        self._lock = threading.Lock()

    # -- the listener ----------------------------------------------------------------------

    def committed(self, rows: list[dict[str, Any]]) -> None:
        try:
            with self._lock:
                self._committed(rows)
        except Exception:  # observing must never break the engine
            log.exception("could not turn history into spans")

    def _committed(self, rows: list[dict[str, Any]]) -> None:
        by_execution: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_execution.setdefault(row["execution_id"], []).append(row)
        traces = {execution_id: self._trace(execution_id) for execution_id in by_execution}
        gaps: dict[str, tuple[int, int | None]] = {
            execution_id: (traces[execution_id].last_id, new[0]["id"])
            for execution_id, new in by_execution.items()
            if traces[execution_id].last_id < new[0]["id"] - 1
        }
        missed = self._history(gaps) if gaps else {}
        work: list[tuple[ExecutionTrace, list[tuple[dict[str, Any], bool]]]] = []
        for execution_id, new in by_execution.items():
            trace = traces[execution_id]
            items = [(row, True) for row in missed.get(execution_id, ())]
            items.extend((row, False) for row in new if row["id"] > trace.last_id)
            work.append((trace, items))
        self._learn_parents(work)
        for trace, items in work:
            for row, silent in items:
                self._feed(trace, row, silent)
            if trace.closed:
                self._traces.pop(trace.execution_id, None)

    def _feed(self, trace: ExecutionTrace, row: Any, silent: bool) -> None:
        details = row["details"]
        if isinstance(details, str):
            details = loads(details)
        trace.feed(
            row["id"],
            row["type"],
            row["timestamp"] * 1000,
            row["frame_id"],
            details,
            self._parents.get,  # type: ignore[arg-type]
            silent=silent,
        )

    def _trace(self, execution_id: str) -> ExecutionTrace:
        trace = self._traces.get(execution_id)
        if trace is None:
            trace = ExecutionTrace(
                execution_id,
                machine_of(execution_id),
                self.emit,
                sampler=self.sampler,
            )
            self._traces[execution_id] = trace
            while len(self._traces) > MAX_TRACES:
                self._traces.popitem(last=False)
        else:
            self._traces.move_to_end(execution_id)
        return trace

    # -- reading back ----------------------------------------------------------------------

    def _history(self, gaps: dict[str, tuple[int, int | None]]) -> dict[str, list[Any]]:
        """The rows after ``after`` and before ``before`` of each execution, in one read
        transaction (a commit of many new executions reads them all at once)."""
        out: dict[str, list[Any]] = {}
        with self.db.read() as conn:
            for execution_id, (after, before) in gaps.items():
                limit = 1_000_000 if before is None else before - after - 1
                rows = ex_repo.history_page(conn, execution_id, after, limit)
                out[execution_id] = [row._asdict() for row in rows]
        return out

    def _learn_parents(self, work: list[tuple[ExecutionTrace, list[tuple[Any, bool]]]]) -> None:
        """Look up (parent frame, index) of the frames about to enter their first state."""
        unknown = set()
        for trace, items in work:
            for row, _silent in items:
                frame_id = row["frame_id"]
                if (
                    frame_id
                    and frame_id not in self._parents
                    and frame_id not in trace.frames
                    and row["type"].endswith("StateEntered")
                ):
                    unknown.add(frame_id)
        if not unknown:
            return
        with self.db.read() as conn:
            found = conn.execute(
                select(frames.c.id, frames.c.parent_id, frames.c.group_index).where(
                    frames.c.id.in_(sorted(unknown))
                )
            ).all()
        for frame_id, parent_id, index in found:
            self._parents[frame_id] = None if parent_id is None else (parent_id, index)
        if len(self._parents) > 100 * MAX_TRACES:
            self._parents.clear()  # frames of finished executions; re-read on demand

    # -- for the worker ----------------------------------------------------------------------

    def task_traceparent(self, execution_id: str, entered_id: int, attempt: int) -> str | None:
        """The ``traceparent`` of a task attempt's span, handed to its handler."""
        try:
            with self._lock:
                trace = self._traces.get(execution_id)
                if trace is None or not trace.trace_id:
                    trace = self._trace(execution_id)
                    missed = self._history({execution_id: (trace.last_id, None)})
                    items = [(row, True) for row in missed[execution_id]]
                    self._learn_parents([(trace, items)])
                    for row, silent in items:
                        self._feed(trace, row, silent)
                return trace.traceparent(entered_id, attempt)
        except Exception:
            log.exception("could not compute the trace context of a task")
            return None

    def queue_stats(self) -> dict[str, tuple[int, float]]:
        return queue_stats(self.db)


def queue_stats(db: Database) -> dict[str, tuple[int, float]]:
    """Per state machine: frames due to run that no worker holds, and how long the oldest
    of them has been due (seconds)."""
    now = now_micros()
    with db.read() as conn:
        rows = conn.execute(
            select(executions.c.state_machine, func.count(), func.min(frames.c.run_at))
            .select_from(frames.join(executions, executions.c.id == frames.c.execution_id))
            .where(
                frames.c.status == "RUNNABLE",
                frames.c.run_at <= now,
                or_(frames.c.lease_owner.is_(None), frames.c.lease_expires < now),
            )
            .group_by(executions.c.state_machine)
        ).all()
    return {
        machine: (count, max(0.0, (now - (oldest or now)) / 1e6)) for machine, count, oldest in rows
    }
