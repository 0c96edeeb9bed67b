"""The durable engine's side when spans are exported by the helper process: committed
history rows are handed over as they are, and the spans are built there.

Building spans in the engine (:class:`~statemachine.observability.durable.DurableFeed`)
costs tens of microseconds of Python per transition: parsing the event's details,
advancing the open spans, encoding the finished ones. With the
:class:`~statemachine.observability.agent.AgentSink` as the sink, :class:`RowFeed` only
appends each commit's rows (their details are already JSON text) to the sink's queue; the
shipping thread writes them to the exporter process, which runs a ``DurableFeed`` of its
own on them, reading the database where the engine would have (history it did not see,
which iteration or branch a frame runs in).

The one thing the engine itself must know is the trace context of a task attempt, which
its handler receives as ``ctx.traceparent``: a pure function of the execution's
``ExecutionStarted`` event (see :mod:`.ids`), learnt from that row when this process
commits it, else read back once per execution.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from statemachine.observability import ids
from statemachine.observability.agent import EVENT_BATCH
from statemachine.observability.spans import Sampler

if TYPE_CHECKING:
    from statemachine.observability.agent import AgentSink
    from statemachine.store.db import Database

log = logging.getLogger("statemachine.observability")
MAX_EXECUTIONS = 10_000  # trace contexts kept (least recently used go)


def execution_trace(
    execution_id: str, details: dict[str, Any], started_ns: int, sampler: Sampler
) -> tuple[int, bool]:
    """(trace id, sampled) of an execution, from its ExecutionStarted event: the trace of
    the request that started it, else one derived from its id and start time (exactly as
    :meth:`~statemachine.observability.spans.ExecutionTrace.execution_started` does)."""
    parent = ids.parse_traceparent(details.get("traceParent"))
    if parent is not None:
        trace_id = parent.trace_id
    else:
        trace_id = ids.derived_trace_id(execution_id, started_ns)
    return trace_id, sampler(parent, trace_id)


class RowFeed:
    """A durable database's history listener that forwards rows to the exporter process."""

    def __init__(self, db: Database, sink: AgentSink, sampler: Sampler) -> None:
        self.db = db
        self.sink = sink
        self.sampler = sampler
        self.key = db.url
        self._traces: OrderedDict[str, tuple[int, bool]] = OrderedDict()

    def committed(self, rows: list[dict[str, Any]]) -> None:
        sink = self.sink
        if sink.pending_rows == 0:
            sink.started()  # the shipping thread (once)
        sink.rows.append((self.key, rows))
        sink.pending_rows += len(rows)
        if sink.pending_rows >= EVENT_BATCH:
            sink.wake()
        for row in rows:
            if row["id"] == 1:  # ExecutionStarted: remember its trace context
                self._learn(row)

    def _learn(self, row: dict[str, Any]) -> tuple[int, bool]:
        from statemachine.store.jsontext import loads

        details = row["details"]
        if isinstance(details, str):
            details = loads(details)
        known = execution_trace(row["execution_id"], details, row["timestamp"] * 1000, self.sampler)
        traces = self._traces
        traces[row["execution_id"]] = known
        if len(traces) > MAX_EXECUTIONS:
            traces.popitem(last=False)
        return known

    def task_traceparent(self, execution_id: str, entered_id: int, attempt: int) -> str | None:
        """The ``traceparent`` of a task attempt's span, handed to its handler."""
        known = self._traces.get(execution_id)
        try:
            if known is None:
                known = self._read(execution_id)
                if known is None:
                    return None
            trace_id, sampled = known
            span = ids.span_id(trace_id, ids.TASK, entered_id, attempt)
            return ids.format_traceparent(trace_id, span, ids.SAMPLED if sampled else 0)
        except Exception:  # observing must never break the engine
            log.exception("could not compute the trace context of a task")
            return None

    def _read(self, execution_id: str) -> tuple[int, bool] | None:
        from statemachine.store import executions as ex_repo

        with self.db.read() as conn:
            rows = ex_repo.history_page(conn, execution_id, 0, 1)
        return self._learn(rows[0]._asdict()) if rows else None

    def queue_stats(self) -> dict[str, tuple[int, float]]:
        from statemachine.observability.durable import queue_stats

        return queue_stats(self.db)
