"""OpenTelemetry metrics per state machine.

Most figures are computed from the span records (:class:`SpanMetrics`), wherever the
records are consumed: in the exporter process (:mod:`.exporter`) in production, so the
engine's thread spends nothing on them, or in-process next to an SDK span processor. A
record is emitted once, by the process that committed the event that ended it, so each
execution, transition and task counts once however many workers took part. Executions
the sampler dropped still produce records (``sampled=False``) for the metrics.

The rest are read when the SDK collects (:class:`ProcessMetrics`, in the engine's
process): queue depth and the age of the oldest runnable frame, from each attached
database like ``GET /metrics`` (every process reports the cluster-wide figure), and lease
losses, the worker's "lost the lease" warnings.

=================================  =========  ===============================================
instrument                         unit       attributes
=================================  =========  ===============================================
statemachine.executions            execution  state machine, final status
statemachine.execution.duration    s          state machine, status
statemachine.transitions           1          state machine (one per state entered)
statemachine.task.duration         s          state machine, resource, outcome
statemachine.task.retries          1          state machine, resource
statemachine.llm.tokens            token      state machine, model, ``gen_ai.token.type``
gen_ai.client.token.usage          token      GenAI conventions: operation, provider, model,
                                              token type
statemachine.queue.depth           frame      state machine (runnable, due, unleased)
statemachine.queue.oldest_age      s          state machine
statemachine.lease.losses          1          none
=================================  =========  ===============================================
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from statemachine.observability.spans import SpanRecord

MACHINE = "statemachine.state_machine.name"
STATUS = "statemachine.execution.status"
RESOURCE = "statemachine.task.resource"
QueueReader = Callable[[], dict[str, tuple[int, float]]]
log = logging.getLogger("statemachine.observability")


class SpanMetrics:
    """Counts executions, transitions, tasks, retries and tokens from span records."""

    def __init__(self, meter_provider: Any) -> None:
        meter = meter_provider.get_meter("statemachine")
        self.provider = meter_provider
        self.executions = meter.create_counter(
            "statemachine.executions",
            unit="{execution}",
            description="Executions that ended, by final status",
        )
        self.execution_duration = meter.create_histogram(
            "statemachine.execution.duration", unit="s", description="Execution duration"
        )
        # The commonest record by far: counted here (an int per machine) and reported at
        # each collection, instead of a Counter.add per state span (whose attribute
        # hashing and aggregation were 6% of the exporter process's CPU).
        self._entered: dict[str, int] = {}
        self.transitions = meter.create_observable_counter(
            "statemachine.transitions",
            callbacks=[self._observe_transitions],
            unit="{transition}",
            description="States entered",
        )
        self.task_duration = meter.create_histogram(
            "statemachine.task.duration",
            unit="s",
            description="From scheduling a task to its result, by resource",
        )
        self.retries = meter.create_counter(
            "statemachine.task.retries",
            unit="{retry}",
            description="Task attempts after the first (Retry)",
        )
        self.tokens = meter.create_counter(
            "statemachine.llm.tokens", unit="{token}", description="LLM tokens by model"
        )
        self.token_usage = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Tokens per LLM call"
        )

    def __call__(self, record: SpanRecord) -> None:
        attrs = record.attributes
        if "statemachine.state.type" in attrs:
            entered = self._entered
            entered[record.machine] = entered.get(record.machine, 0) + 1
            return
        machine = {MACHINE: record.machine}
        if RESOURCE in attrs:
            self._task(record, attrs, machine)
        elif STATUS in attrs:
            labels = {**machine, STATUS: attrs[STATUS]}
            self.executions.add(1, labels)
            self.execution_duration.record((record.end - record.start) / 1e9, labels)

    def _observe_transitions(self, _options: Any) -> Iterable[Any]:
        from opentelemetry.metrics import Observation

        return [Observation(n, {MACHINE: m}) for m, n in list(self._entered.items())]

    def _task(self, record: SpanRecord, attrs: dict[str, Any], machine: dict[str, str]) -> None:
        resource = attrs[RESOURCE]
        if record.error is None:
            outcome = "succeeded"
        elif attrs.get("statemachine.interrupted"):
            outcome = "interrupted"
        elif attrs.get("error.type") in ("States.Timeout", "States.HeartbeatTimeout"):
            outcome = "timed_out"
        else:
            outcome = "failed"
        labels = {**machine, RESOURCE: resource}
        self.task_duration.record((record.end - record.start) / 1e9, {**labels, "outcome": outcome})
        if attrs.get("statemachine.task.attempt", 1) > 1:
            self.retries.add(1, labels)
        if "gen_ai.usage.input_tokens" in attrs or "gen_ai.usage.output_tokens" in attrs:
            model = str(attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model"))
            genai = {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": attrs.get("gen_ai.provider.name", "openai"),
                "gen_ai.response.model": model,
            }
            for kind, key in (
                ("input", "gen_ai.usage.input_tokens"),
                ("output", "gen_ai.usage.output_tokens"),
            ):
                count = attrs.get(key)
                if isinstance(count, int):
                    self.tokens.add(
                        count,
                        {**machine, "gen_ai.response.model": model, "gen_ai.token.type": kind},
                    )
                    self.token_usage.record(count, {**genai, "gen_ai.token.type": kind})

    def shutdown(self) -> None:
        provider, self.provider = self.provider, None
        if provider is not None:
            provider.shutdown()


class _LeaseLosses(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("lost the lease"):
            self.count += 1
        return True


class ProcessMetrics:
    """Queue depth and age from the attached databases, and lease losses."""

    def __init__(self, meter_provider: Any) -> None:
        from opentelemetry.metrics import Observation

        self.provider = meter_provider
        self.queues: list[QueueReader] = []
        self.leases = _LeaseLosses()
        logging.getLogger("statemachine.worker").addFilter(self.leases)
        meter = meter_provider.get_meter("statemachine")
        meter.create_observable_counter(
            "statemachine.lease.losses",
            [lambda _options: [Observation(self.leases.count)]],
            unit="{frame}",
            description="Frames a worker of this process lost to an expired lease",
        )
        meter.create_observable_gauge(
            "statemachine.queue.depth",
            [self._queue_callback(0)],
            unit="{frame}",
            description="Frames due to run that no worker holds (whole database)",
        )
        meter.create_observable_gauge(
            "statemachine.queue.oldest_age",
            [self._queue_callback(1)],
            unit="s",
            description="How long the oldest runnable frame has been due",
        )

    def _queue_callback(self, which: int) -> Callable[[Any], Iterable[Any]]:
        from opentelemetry.metrics import Observation

        def callback(_options: Any) -> Iterable[Observation]:
            seen: set[str] = set()
            for read in list(self.queues):
                try:
                    stats = read()
                except Exception:  # a database that is gone or busy: skip this round
                    log.debug("queue metrics unavailable", exc_info=True)
                    continue
                for machine, values in stats.items():
                    if machine not in seen:
                        seen.add(machine)
                        yield Observation(values[which], {MACHINE: machine})

        return callback

    def watch_queue(self, reader: QueueReader) -> None:
        self.queues.append(reader)

    def shutdown(self) -> None:
        """Stop counting lease losses and flush the provider (once)."""
        logging.getLogger("statemachine.worker").removeFilter(self.leases)
        provider, self.provider = self.provider, None
        if provider is not None:
            provider.shutdown()


def provider_from_env() -> Any | None:
    """A MeterProvider exporting as ``OTEL_METRICS_EXPORTER`` says (``otlp`` over HTTP by
    default, every ``OTEL_METRIC_EXPORT_INTERVAL`` ms; ``console``), or None for ``none``."""
    choice = os.environ.get("OTEL_METRICS_EXPORTER", "otlp").split(",")[0].strip().lower()
    if choice == "none":
        return None
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    from statemachine.observability.sdk import default_resource

    if choice == "console":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        exporter: Any = ConsoleMetricExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        exporter = OTLPMetricExporter()
    reader = PeriodicExportingMetricReader(exporter)
    return MeterProvider(metric_readers=[reader], resource=default_resource())
