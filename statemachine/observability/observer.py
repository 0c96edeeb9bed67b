"""The :class:`Observer`: where span records go, where metrics are counted, and the two
driver adapters (the in-memory runner, a durable database)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from statemachine.observability import ids
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

    def runner_hook(self, execution: Any) -> RunnerHook:
        """The per-execution hook of :class:`statemachine.runner.Runner` (its
        ``_Execution`` calls it with every history event it records)."""
        return RunnerHook(self, execution)

    # -- durable engine --------------------------------------------------------------------

    def attach(self, db: Database) -> DurableFeed:
        """Observe everything ``db`` commits to the history, in this process."""
        from statemachine.observability.durable import DurableFeed

        current = getattr(db, "history_listener", None)
        feed = getattr(current, "__self__", None)
        if isinstance(feed, DurableFeed):
            return feed
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

    def __call__(self, event_id: int, kind: str, details: dict[str, JSON], frame: int) -> None:
        self.last_id = event_id
        self._kind = kind
        handler = _HANDLERS.get(kind) or _handler_for(kind)
        handler(self, event_id, self._now(), frame, details, self._topology)

    def topology(self, frame: int) -> tuple[int, int] | None:
        execution = self.runner_execution
        node = execution.nodes.get(frame)
        if node is None or node.parent_group is None:
            return None
        group = execution.groups.get(node.parent_group)
        return None if group is None else (group.parent, node.index)


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
