"""The :class:`Observer`: where span records go, where metrics are counted, and the two
driver adapters (the in-memory runner, a durable database)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from statemachine.observability import ids
from statemachine.observability.agent import EVENT_BATCH
from statemachine.observability.spans import (
    _HANDLERS,
    ExecutionTrace,
    Sampler,
    SpanRecord,
    _handler_for,
    always_sample,
)

if TYPE_CHECKING:
    from statemachine.observability.durable import DurableFeed
    from statemachine.observability.rows import RowFeed
    from statemachine.store.db import Database

JSON = Any
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS = timedelta(microseconds=1)


class Observer:
    """Turns history into span records: ``spans`` receives each finished
    :class:`~statemachine.observability.spans.SpanRecord` (an exporter, the span metrics,
    or both through :func:`tee`); ``metrics`` (a
    :class:`~statemachine.observability.metrics.ProcessMetrics`) watches the queues of
    the databases it is attached to.

    Build one with :func:`statemachine.observability.from_env` (the ``OTEL_*`` variables)
    or by hand, e.g. in tests: ``Observer(SdkSink(SimpleSpanProcessor(exporter)))``.
    Give it to ``Runner(observer=...)``, or :meth:`attach` it to a durable database.
    """

    def __init__(
        self,
        spans: Callable[[SpanRecord], None] | None,
        metrics: Any = None,
        *,
        sampler: Sampler = always_sample,
    ) -> None:
        self.spans = spans
        self.metrics = metrics
        self.sampler = sampler

    # -- in-memory runner ------------------------------------------------------------------

    def runner_hook(self, execution: Any) -> RunnerHook | RunnerFeed | None:
        """The per-execution hook of :class:`statemachine.runner.Runner` (its
        ``_Execution`` calls it with every history event it records). With the exporter
        process as the sink, the events themselves go there and the spans are built
        there (:class:`RunnerFeed`), unless the sink sheds this execution to bound the
        engine's overhead (then None: untraced); with any other sink they are built
        here."""
        spans = self.spans
        if isinstance(getattr(spans, "events", None), list):
            admit = getattr(spans, "admit", None)
            if admit is not None and not admit():
                return None
            return RunnerFeed(self, execution)
        return RunnerHook(self, execution)

    # -- durable engine --------------------------------------------------------------------

    def attach(self, db: Database) -> DurableFeed | RowFeed:
        """Observe everything ``db`` commits to the history: with the exporter process as
        the sink, its rows go there and the spans are built there (:class:`RowFeed`);
        with any other sink they are built in this process (:class:`DurableFeed`)."""
        from statemachine.observability.durable import DurableFeed
        from statemachine.observability.rows import RowFeed

        current = getattr(db, "history_listener", None)
        feed = getattr(current, "__self__", None)
        if isinstance(feed, (DurableFeed, RowFeed)):
            return feed
        if isinstance(getattr(self.spans, "rows", None), list):
            feed = RowFeed(db, self.spans, self.sampler)  # type: ignore[arg-type]
        else:
            feed = DurableFeed(db, self.spans, self.sampler)
        db.history_listener = feed.committed
        watch = getattr(self.metrics, "watch_queue", None)
        if watch is not None:
            watch(feed.queue_stats)
        return feed

    def shutdown(self) -> None:
        for part in (self.spans, self.metrics):
            stop = getattr(part, "shutdown", None)
            if stop is not None:
                stop()


class RunnerHook(ExecutionTrace):
    """One in-memory execution's trace, called with each event the runner records.

    Frame topology comes from the runner's own tables: a frame's node names its group,
    the group its parent frame. Event times come from the runner's clock (virtual under
    ``--time-skip``, so such spans carry virtual times). Every event is live (the runner
    commits nothing elsewhere), so the per-event bookkeeping of :meth:`feed` is skipped."""

    def __init__(self, observer: Observer, execution: Any) -> None:
        info = execution.info
        super().__init__(
            info.execution_id,
            info.state_machine_name,
            observer.spans,
            sampler=observer.sampler,
            trace_id=ids.random_trace_id(),  # in-memory ids (e.g. ...:exec) repeat
        )
        self.runner_execution = execution
        self._out = self.emit
        self._topology = self.topology
        self._last: tuple[Any, int] = (None, 0)
        clock = execution.clock
        if type(clock).__name__ == "SystemClock":
            self._now: Callable[[], int] = time.time_ns
        else:
            self._now = lambda: self._clock_ns(clock.now())

    def _clock_ns(self, now: datetime) -> int:
        """A virtual clock returns the same object until it moves: convert it once."""
        last, ns = self._last
        if now is not last:
            ns = (now - _EPOCH) // _NS * 1000
            self._last = (now, ns)
        return ns

    def __call__(
        self, first_id: int, events: Sequence[tuple[str, dict[str, JSON]]], frame: int
    ) -> None:
        now = self._now()
        topology = self._topology
        for event_id, (kind, details) in enumerate(events, first_id):
            self.last_id = event_id
            self._kind = kind
            handler = _HANDLERS.get(kind) or _handler_for(kind)
            handler(self, event_id, now, frame, details, topology)

    def topology(self, frame: int) -> tuple[int, int] | None:
        execution = self.runner_execution
        node = execution.nodes.get(frame)
        if node is None or node.parent_group is None:
            return None
        group = execution.groups.get(node.parent_group)
        return None if group is None else (group.parent, node.index)


class RunnerFeed:
    """One in-memory execution's events, queued raw for the exporter process.

    Building a span costs several microseconds of Python per transition, a large share
    of a transition of the in-memory runner; the span is a pure function of the events
    (ids derived from the trace id and the opening event, see :mod:`.ids`), so this hook
    only appends one ``(stream, first_id, events, time, frame, topology)`` item per step
    (the interpreter's own list of events, not copied) to the
    :class:`~statemachine.observability.agent.AgentSink`'s list. The shipping thread
    spreads them into one item per event, and
    :class:`~statemachine.observability.exporter.EventSpans` in the exporter process runs
    the same :class:`~statemachine.observability.spans.ExecutionTrace` on them. What must
    be known here is decided here, once per execution: the trace id and the sampling
    decision (for ``ctx.traceparent``); and a frame's place (parent frame, index), sent
    with its first step, since only this process has the runner's tables."""

    def __init__(self, observer: Observer, execution: Any) -> None:
        sink = observer.spans
        info = execution.info
        self.sink = sink
        self.sampler = observer.sampler
        self.runner_execution = execution
        self.execution_id = info.execution_id
        self.machine = info.state_machine_name
        self.trace_id = ids.random_trace_id()  # in-memory ids (e.g. ...:exec) repeat
        self.sampled = True
        self._header = ("", "")  # the traceparent around the span id (see _first)
        self.stream = next(sink.streams)
        self._events = sink.events
        self._seen: set[int] = set()
        self._last: tuple[Any, int] = (None, 0)
        clock = execution.clock
        if type(clock).__name__ == "SystemClock":
            self._now: Callable[[], int] = time.time_ns
        else:
            self._now = lambda: self._clock_ns(clock.now())

    _clock_ns = RunnerHook._clock_ns

    def __call__(
        self, first_id: int, events: Sequence[tuple[str, dict[str, JSON]]], frame: int
    ) -> None:
        queue = self._events
        if frame in self._seen:
            queue.append((self.stream, first_id, events, self._now(), frame, None))
        else:
            self._first(first_id, events, frame)
        if not len(queue) % EVENT_BATCH:  # once per batch: Event.set is not cheap
            self.sink.wake()

    def _first(
        self, first_id: int, events: Sequence[tuple[str, dict[str, JSON]]], frame: int
    ) -> None:
        """The first step of a frame (and, for the execution, its header)."""
        kind, details = events[0]
        if kind == "ExecutionStarted":
            parent = ids.parse_traceparent(details.get("traceParent"))
            if parent is not None:
                self.trace_id = parent.trace_id
            self.sampled = self.sampler(parent, self.trace_id)
            trace = f"{self.trace_id:032x}"
            self._header = (f"00-{trace}-", "-01" if self.sampled else "-00")
            self._events.append(
                (self.stream, 0, self.execution_id, self.sampled, self.machine, trace)
            )
            self.sink.started()
        self._seen.add(frame)
        place = RunnerHook.topology(self, frame) if frame else None  # type: ignore[arg-type]
        self._events.append((self.stream, first_id, events, self._now(), frame, place or ()))

    def traceparent(self, entered_id: int, attempt: int) -> str | None:
        """The W3C header of a task attempt's span (as ExecutionTrace computes it)."""
        prefix, suffix = self._header
        return f"{prefix}{ids.span_id(self.trace_id, ids.TASK, entered_id, attempt):016x}{suffix}"


def tee(*sinks: Callable[[SpanRecord], None]) -> Callable[[SpanRecord], None]:
    """One span sink that hands each record to every one of ``sinks``."""

    def send(record: SpanRecord) -> None:
        for sink in sinks:
            sink(record)

    send.shutdown = lambda: [getattr(s, "shutdown", lambda: None)() for s in sinks]  # type: ignore[attr-defined]
    return send


def env_sampler() -> Sampler:
    """The sampler ``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG`` name, decided once
    per execution (every span of an execution is kept or dropped together): the SDK's
    ``always_on``, ``always_off``, ``traceidratio`` and their ``parentbased_`` forms
    (``parentbased_always_on`` is the default). Ratios are computed on the trace id as the
    SDK does, so every process decides the same."""
    name = os.environ.get("OTEL_TRACES_SAMPLER", "parentbased_always_on").strip().lower()
    try:
        ratio = float(os.environ.get("OTEL_TRACES_SAMPLER_ARG", "1.0"))
    except ValueError:
        ratio = 1.0
    parent_based = name.startswith("parentbased_")
    root = name.removeprefix("parentbased_")

    def sample(parent: ids.TraceParent | None, trace_id: int) -> bool:
        if parent is not None and parent_based:
            return parent.sampled
        if root == "always_off":
            return False
        if root == "traceidratio":
            return ids.ratio_sampled(trace_id, ratio)
        return True

    return sample
