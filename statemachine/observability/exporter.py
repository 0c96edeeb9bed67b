"""The exporter process, ``python -m statemachine.observability.exporter``: it reads
what :class:`~statemachine.observability.agent.AgentSink` ships down its pipe, builds the
spans and the span metrics, and exports them with the exporter ``OTEL_TRACES_EXPORTER``
names (OTLP over HTTP by default, with the standard ``OTEL_EXPORTER_OTLP_*`` settings,
inherited from the engine's environment). At end of input (the engine exited, even by
``kill -9``) it flushes both and stops.

The pipe carries two kinds of message: JSON lines (span records, and history rows of
durable databases) and binary frames of pickled steps of in-memory executions
(:func:`frame`, :func:`encode_steps`).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import IO, Any

import orjson

from statemachine.observability.spans import ExecutionTrace, SpanRecord

MAX_STREAMS = 10_000  # open executions this process keeps (least recent go)


def encode_steps(steps: list[tuple[Any, ...]]) -> bytes:
    """The pipe message carrying queued steps: pickled, in a :func:`frame`."""
    return frame(pickle.dumps(steps, pickle.HIGHEST_PROTOCOL))


def frame(data: bytes) -> bytes:
    """A binary message on the exporter's pipe: a zero byte, the length (4 bytes, big
    endian), the pickled data. JSON messages are lines starting with ``{`` or ``[``."""
    return b"\x00" + len(data).to_bytes(4, "big") + data


class EventSpans:
    """The exporter process's side of :class:`RunnerFeed`: one
    :class:`~statemachine.observability.spans.ExecutionTrace` per in-memory execution,
    fed the shipped events, so the spans are exactly those the engine would have built.

    A step is ``(stream, first_id, events, ts, frame, topology)``, ``events`` a list of
    ``(kind, details)`` numbered from ``first_id``; a header (``first_id`` 0) opens a
    stream: ``(stream, 0, execution_id, sampled, machine, trace_id_hex)``. ``topology``
    (parent frame, index) is sent with a frame's first step (``()``: none), else None."""

    def __init__(self, emit: Callable[[SpanRecord], None]) -> None:
        self.emit = emit
        self.traces: OrderedDict[int, tuple[ExecutionTrace, dict[int, Any]]] = OrderedDict()

    def __call__(self, steps: list[Any]) -> None:
        traces = self.traces
        for step in steps:
            stream, first_id, events, ts, frame, topology = step
            if first_id == 0:
                sampled = bool(ts)
                trace = ExecutionTrace(
                    events,
                    frame,
                    self.emit,
                    sampler=lambda _p, _t, s=sampled: s,
                    trace_id=int(topology, 16),
                )
                traces[stream] = (trace, {})
                while len(traces) > MAX_STREAMS:
                    traces.popitem(last=False)
                continue
            entry = traces.get(stream)
            if entry is None:
                continue
            trace, parents = entry
            if topology is not None:
                parents[frame] = tuple(topology) if topology else None
            for event_id, (kind, details) in enumerate(events, first_id):
                trace.feed(event_id, kind, ts, frame, details, parents.get)
            if trace.closed:
                del traces[stream]


_ROW_KEYS = ("execution_id", "id", "type", "timestamp", "frame_id", "details")


class DatabaseRows:
    """The exporter process's side of :class:`~statemachine.observability.rows.RowFeed`:
    one :class:`~statemachine.observability.durable.DurableFeed` per database URL, fed
    the shipped rows; it reads that database itself for what the rows do not say."""

    def __init__(self, emit: Callable[[SpanRecord], None]) -> None:
        self.emit = emit
        self.feeds: dict[str, Any] = {}

    def __call__(self, url: str, items: list[list[Any]]) -> None:
        feed = self.feeds.get(url)
        if feed is None:
            from statemachine.observability.durable import DurableFeed
            from statemachine.observability.observer import env_sampler
            from statemachine.store.db import Database

            database = Database(url, pool_size=1, migrate=False)
            feed = self.feeds[url] = DurableFeed(database, self.emit, env_sampler())
        feed.committed([dict(zip(_ROW_KEYS, item, strict=True)) for item in items])


def read_messages(source: IO[bytes]) -> Iterator[tuple[str, bytes]]:
    """The messages on the pipe: ``("pickle", data)`` for a binary frame (see
    :func:`frame`), ``("json", line)`` for a line. A frame cut short by the engine's
    death ends the input."""
    read, readline = source.read, source.readline
    while True:
        first = read(1)
        if not first:
            return
        if first == b"\x00":
            size = int.from_bytes(read(4), "big")
            data = read(size)
            if len(data) < size:
                return
            yield "pickle", data
            continue
        line = first + readline()
        if line.strip():
            yield "json", line


def span_export(exporter: Any, resource: Any) -> Callable[[list[SpanRecord]], Any] | None:
    """How the process exports a batch of sampled records: encoded by
    :class:`~statemachine.observability.otlp.SpanEncoder` and sent by the OTLP exporter's
    own client when the exporter is the SDK's OTLP/HTTP one (five times less CPU than its
    ``export``), else as ``ReadableSpan`` through ``exporter.export``."""
    if exporter is None:
        return None
    from statemachine.observability.otlp import SpanEncoder, raw_sender
    from statemachine.observability.sdk import SCOPE, to_readable

    send = raw_sender(exporter)
    if send is None:
        return lambda records: exporter.export([to_readable(r, resource) for r in records])
    encoder = SpanEncoder(resource.attributes, resource.schema_url or "", SCOPE.name, SCOPE.version)

    def export(records: list[SpanRecord]) -> bool:
        try:
            data = encoder.encode(records)
        except Exception as exc:  # as the SDK's exporter: the batch fails, the process goes on
            print(f"statemachine otel exporter: cannot encode spans: {exc!r}", file=sys.stderr)
            return False
        return send(data)

    return export


def main(stream: IO[bytes] | None = None) -> int:
    """The child: read JSON lines of span records or of history events (built into
    records here), count the span metrics, export the sampled spans; at end of input
    flush both and stop."""
    from statemachine.observability.metrics import SpanMetrics, provider_from_env
    from statemachine.observability.sdk import decode, default_resource, exporter_from_env

    # Background work: on a machine without a spare core, the engine's transitions go
    # first and the spans follow when it idles (STATEMACHINE_OTEL_NICE=0 to turn off).
    try:
        niceness = int(os.environ.get("STATEMACHINE_OTEL_NICE", 19))
    except ValueError:
        niceness = 19
    if niceness > 0 and hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(niceness)
    exporter = exporter_from_env()
    provider = provider_from_env()
    metrics = SpanMetrics(provider) if provider is not None else None
    resource = default_resource()
    export = span_export(exporter, resource)
    source = stream if stream is not None else sys.stdin.buffer
    built: list[SpanRecord] = []
    events = EventSpans(built.append)
    rows = DatabaseRows(built.append)
    try:
        for kind, message in read_messages(source):
            try:
                data = pickle.loads(message) if kind == "pickle" else orjson.loads(message)
                if kind == "pickle":
                    events(data)
                    records = built[:]
                    built.clear()
                elif isinstance(data, dict):
                    if "r" in data:
                        rows(data["db"], data["r"])
                    else:
                        events(data["e"])
                    records = built[:]
                    built.clear()
                else:
                    records = [decode(row) for row in data]
            except (ValueError, TypeError, KeyError) as exc:
                print(f"statemachine otel exporter: bad record: {exc}", file=sys.stderr)
                built.clear()
                continue
            except Exception as exc:  # e.g. the database of the rows cannot be opened
                print(f"statemachine otel exporter: {type(exc).__name__}: {exc}", file=sys.stderr)
                built.clear()
                continue
            if metrics is not None:
                for record in records:
                    metrics(record)
            if export is not None:
                sampled = [r for r in records if r.sampled]
                if sampled:
                    export(sampled)
    finally:
        if exporter is not None:
            exporter.shutdown()
        if metrics is not None:
            metrics.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
