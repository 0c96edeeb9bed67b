"""Span records into the OpenTelemetry SDK: the only module (with :mod:`.agent` and
:mod:`.metrics`) that imports ``opentelemetry``, and only once tracing is switched on.

A record is already finished when it arrives, with its ids and times decided (see
:mod:`.spans`), so it becomes a ``ReadableSpan``, the finished-span type every SDK span
processor and exporter consumes, rather than going through a ``Tracer`` that would draw
fresh ids and read the clock.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace as api
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace.status import Status, StatusCode

from statemachine.observability.spans import SpanRecord

SCOPE = InstrumentationScope("statemachine", None)
_KINDS = {
    0: api.SpanKind.INTERNAL,
    1: api.SpanKind.SERVER,
    2: api.SpanKind.CLIENT,
    3: api.SpanKind.PRODUCER,
    4: api.SpanKind.CONSUMER,
}
_SAMPLED = api.TraceFlags(api.TraceFlags.SAMPLED)
_UNSET = Status(StatusCode.UNSET)


class _Resource(Resource):
    """A resource whose hash is computed once. The OTLP encoder groups spans by resource,
    hashing the resource of every span, and ``Resource.__hash__`` JSON-encodes the
    attributes each time: 7% of the exporter process's CPU under a durable load. The
    attributes of a resource cannot change, so neither can its hash."""

    def __init__(self, attributes: Any, schema_url: str | None = None) -> None:
        super().__init__(attributes, schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash


def default_resource() -> Resource:
    """``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES``, with ``service.name``
    ``statemachine`` when neither names the service."""
    resource = Resource.create()
    name = str(resource.attributes.get("service.name", ""))
    if name.startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "statemachine"}))
    return _Resource(resource.attributes, resource.schema_url)


def to_readable(record: SpanRecord, resource: Resource) -> ReadableSpan:
    trace_id = int(record.trace, 16)
    context = api.SpanContext(trace_id, record.span_id, False, _SAMPLED)
    parent = None
    if record.parent_id:
        parent = api.SpanContext(trace_id, record.parent_id, record.remote_parent, _SAMPLED)
    status = _UNSET if record.error is None else Status(StatusCode.ERROR, record.error[:1024])
    return ReadableSpan(
        record.name,
        context,
        parent,
        resource,
        record.attributes,
        kind=_KINDS.get(record.kind, api.SpanKind.INTERNAL),
        status=status,
        start_time=record.start,
        end_time=record.end,
        instrumentation_scope=SCOPE,
    )


class SdkSink:
    """Hands each span to SDK span processors in this process, as soon as it ends.

    The choice for tests (``SimpleSpanProcessor(InMemorySpanExporter())``) and for an
    application that builds its own pipeline. Exporting in-process costs the engine's
    thread the encoding of every span; :class:`~statemachine.observability.agent.AgentSink`
    moves that to a helper process.
    """

    def __init__(
        self, processors: SpanProcessor | Sequence[SpanProcessor], resource: Resource | None = None
    ) -> None:
        if isinstance(processors, SpanProcessor):
            processors = [processors]
        self.processors = list(processors)
        self.resource = resource or default_resource()

    def __call__(self, record: SpanRecord) -> None:
        if not record.sampled:
            return
        span = to_readable(record, self.resource)
        for processor in self.processors:
            processor.on_end(span)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return all(p.force_flush(timeout_millis) for p in self.processors)

    def shutdown(self) -> None:
        for processor in self.processors:
            processor.shutdown()


def exporter_from_env() -> SpanExporter | None:
    """The span exporter ``OTEL_TRACES_EXPORTER`` names: ``otlp`` (the default; OTLP over
    HTTP with protobuf, configured by the ``OTEL_EXPORTER_OTLP_*`` variables), ``console``
    or ``none``."""
    choice = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")[0].strip().lower()
    if choice == "none":
        return None
    if choice == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def decode(row: list[Any]) -> SpanRecord:
    """A record as :mod:`.agent` ships it: the tuple as a JSON array."""
    record = SpanRecord(*row)
    attributes = record.attributes
    for key, value in attributes.items():
        if isinstance(value, list):
            attributes[key] = tuple(value)
    return record
