"""Helpers of the observability tests: an observer whose spans go to the OpenTelemetry
SDK's in-memory exporter and whose metrics to an in-memory reader, and span-tree views."""

from __future__ import annotations

import io
import itertools
import pickle
from typing import Any

import orjson
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from statemachine.observability.exporter import (
    _ROW_KEYS,
    DatabaseRows,
    EventSpans,
    encode_steps,
    read_messages,
)
from statemachine.observability.metrics import ProcessMetrics, SpanMetrics
from statemachine.observability.observer import Observer, tee
from statemachine.observability.sdk import SdkSink


class Telemetry:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader])
        self.metrics = ProcessMetrics(self.provider)
        self.sink = SdkSink(SimpleSpanProcessor(self.exporter))
        self.observer = Observer(tee(self.sink, SpanMetrics(self.provider)), self.metrics)

    def shipping_observer(self) -> Observer:
        """An observer whose in-memory runs queue raw events, as for the exporter
        process; :meth:`drain` builds their spans as that process does."""
        self.shipping = ShippingSink(self.observer.spans)
        return Observer(self.shipping, self.metrics)

    def drain(self) -> None:
        self.shipping.drain()

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def points(self) -> dict[str, list[tuple[dict[str, Any], Any]]]:
        """Metric name -> [(attributes, value or histogram count)]."""
        out: dict[str, list[tuple[dict[str, Any], Any]]] = {}
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        value = getattr(point, "value", None)
                        if value is None:
                            value = point.count
                        out.setdefault(metric.name, []).append((dict(point.attributes), value))
        return out

    def close(self) -> None:
        self.sink.shutdown()
        self.metrics.shutdown()  # the provider, which SpanMetrics shares


class ShippingSink:
    """AgentSink's event queue without the child process: :meth:`drain` sends the queued
    steps through the pipe's encoding (a pickled frame, read back by the exporter's
    reader) to the exporter process's span builder."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.events: list[tuple[Any, ...]] = []
        self.streams = itertools.count(1)
        self.builder = EventSpans(target)
        # Durable history rows (RowFeed), built by the exporter process's DatabaseRows.
        self.rows: list[tuple[str, list[dict[str, Any]]]] = []
        self.pending_rows = 0
        self.row_builder = DatabaseRows(target)

    def __call__(self, record: Any) -> None:
        self.target(record)

    def wake(self) -> None:
        pass

    def started(self) -> None:
        pass

    def drain(self) -> None:
        encoded = encode_steps(self.events)
        self.events.clear()
        for kind, message in read_messages(io.BytesIO(encoded)):
            assert kind == "pickle"
            self.builder(pickle.loads(message))
        for url, rows in self.rows:
            items = [[r[k] for k in _ROW_KEYS] for r in rows]
            self.row_builder(url, orjson.loads(orjson.dumps(items)))
        self.rows.clear()
        self.pending_rows = 0


def tree(spans: list[ReadableSpan]) -> list[str]:
    """The span tree as indented lines ``name [status]``, siblings by name, index and
    attempt (not by time: a durable run may commit siblings in any order)."""
    children: dict[int, list[ReadableSpan]] = {}
    ids = {s.context.span_id for s in spans}
    for span in spans:
        parent = span.parent.span_id if span.parent is not None else 0
        children.setdefault(parent if parent in ids else 0, []).append(span)
    lines: list[str] = []

    def walk(parent: int, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=_order):
            status = span.status.status_code.name
            lines.append(f"{'  ' * depth}{span.name}{'' if status == 'UNSET' else ' ' + status}")
            walk(span.context.span_id, depth + 1)

    walk(0, 0)
    return lines


def _order(span: ReadableSpan) -> tuple[Any, ...]:
    attrs = span.attributes or {}
    index = attrs.get("statemachine.branch.index", attrs.get("statemachine.map.index", 0))
    return (span.name, index, attrs.get("statemachine.task.attempt", 0), span.start_time)


def by_name(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]
