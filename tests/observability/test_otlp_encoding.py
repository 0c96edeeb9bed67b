"""The exporter process's own OTLP encoding means what the SDK's encoding means."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import ConsoleSpanExporter
from otel_collector import Collector

from statemachine.observability import otlp
from statemachine.observability.exporter import span_export
from statemachine.observability.sdk import SCOPE, default_resource, to_readable
from statemachine.observability.span_types import SpanRecord

TRACE = "0af7651916cd43dd8448eb211c80319c"
START = 1_764_000_000_123_456_789


def record(name: str = "S", **changes: Any) -> SpanRecord:
    base = SpanRecord(name, TRACE, 0x1234_5678_9ABC_DEF0, 0, START, START + 5_000, {})
    return base._replace(**changes)


RECORDS = [
    record(),  # a root: no parent
    record("Task", parent_id=7, kind=2, attributes={"statemachine.state.type": "Task"}),
    record("remote", parent_id=2**64 - 1, remote_parent=True, kind=1),
    record("failed", parent_id=3, error="States.TaskFailed: boom " + "x" * 2000),
    record("empty error", parent_id=3, error=""),
    record("ünïcødé ✓", trace="f" * 32, span_id=2**64 - 1, kind=4),
    record("odd kind", kind=9),
    record(
        "values",
        trace="00000000000000000000000000000001",
        attributes={
            "str": "a",
            "empty": "",
            "true": True,
            "false": False,
            "zero": 0,
            "int": 300,
            "negative": -5,
            "big": 2**63 - 1,
            "min": -(2**63),
            "float": 1.5,
            "nan-free": -0.0,
            "tuple": ("a", "b"),
            "ints": (1, -2, 3),
            "empty tuple": (),
            "list": [True, False],
            "none": None,
            "bytes": b"\x00\xff",
            "mapping": {"k": "v", "n": 1},
            "long": "y" * 300,
            "gen_ai.usage.input_tokens": 12,
            "beyond int64": 2**70,  # left out, by both
            "not a value": object(),  # left out, by both
            "nested bad": (1, object()),  # left out, by both
        },
    ),
]


def sdk_request(records: list[SpanRecord], resource: Resource) -> ExportTraceServiceRequest:
    data = encode_spans([to_readable(r, resource) for r in records]).SerializePartialToString()
    return parse(data)


def parse(data: bytes) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    request.ParseFromString(data)
    return request


@pytest.mark.parametrize("resource", [default_resource(), Resource({}, "https://x/schema")])
def test_encoding_equals_the_sdks(resource: Resource) -> None:
    encoder = otlp.SpanEncoder(
        resource.attributes, resource.schema_url or "", SCOPE.name, SCOPE.version
    )
    ours = parse(encoder.encode(RECORDS))
    assert ours == sdk_request(RECORDS, resource)
    # one span at a time too (the trace id cache is per encoder, across batches)
    for r in RECORDS:
        assert parse(encoder.encode([r])) == sdk_request([r], resource)
    (empty,) = parse(encoder.encode([])).resource_spans  # a batch without spans
    assert not empty.scope_spans[0].spans


def test_the_fields_that_matter_read_back() -> None:
    encoder = otlp.SpanEncoder({"service.name": "svc"})
    request = parse(encoder.encode(RECORDS[:4]))
    (resource_spans,) = request.resource_spans
    assert resource_spans.resource.attributes[0].value.string_value == "svc"
    (scope_spans,) = resource_spans.scope_spans
    assert scope_spans.scope.name == "statemachine"
    root, task, remote, failed = scope_spans.spans
    assert root.trace_id.hex() == TRACE and root.parent_span_id == b""
    assert task.parent_span_id == (7).to_bytes(8, "big") and task.kind == 3  # CLIENT
    assert remote.flags == 0x300 and task.flags == 0x100
    assert failed.status.code == 2 and len(failed.status.message) == 1024
    assert root.start_time_unix_nano == START and root.end_time_unix_nano == START + 5_000


def test_varint_and_bad_values() -> None:
    assert otlp.varint(0) == b"\x00"
    assert otlp.varint(300) == b"\xac\x02"
    assert otlp.varint(-1) == b"\xff" * 9 + b"\x01"
    with pytest.raises(TypeError, match="object"):
        otlp.any_value(object())


def test_span_export_uses_the_raw_client_only_for_the_otlp_exporter(monkeypatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    assert otlp.raw_sender(OTLPSpanExporter()) is not None
    assert otlp.raw_sender(ConsoleSpanExporter()) is None
    assert otlp.raw_sender(object()) is None
    assert span_export(None, default_resource()) is None


def test_span_export_reaches_a_collector(monkeypatch) -> None:
    collector = Collector()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
        monkeypatch.setenv("OTEL_SERVICE_NAME", "encoded")
        exporter = OTLPSpanExporter()
        export = span_export(exporter, default_resource())
        assert export is not None and export(RECORDS) is True
        spans = collector.wait_for(lambda spans: len(spans) >= len(RECORDS))
        assert [span["name"] for span in spans] == [r.name for r in RECORDS]
        assert {span["service"] for span in spans} == {"encoded"}
        exporter.shutdown()
        assert export(RECORDS) is False  # after shutdown nothing is sent
    finally:
        collector.close()


def test_a_lone_surrogate_does_not_fail_the_batch() -> None:
    encoder = otlp.SpanEncoder({"service.name": "svc"})
    bad = record("\ud800name", attributes={"k\udfff": "v\ud800"}, error="\udc00")
    (span,) = parse(encoder.encode([bad, record()])).resource_spans[0].scope_spans[0].spans[:1]
    assert span.name == "?name" and span.status.message == "?"
    assert (span.attributes[0].key, span.attributes[0].value.string_value) == ("k?", "v?")


def test_an_encoding_failure_fails_the_batch_not_the_process(monkeypatch, capsys) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    export = span_export(OTLPSpanExporter(), default_resource())
    assert export is not None
    assert export([record(name=None)]) is False  # type: ignore[arg-type]
    assert "cannot encode spans" in capsys.readouterr().err


def test_equal_values_of_other_types_are_not_confused() -> None:
    """The encoder remembers encoded attributes; True == 1 == 1.0 must stay apart."""
    encoder = otlp.SpanEncoder({})
    values = [True, 1, 1.0, (True,), (1,), "1", False, 0, 0.0, None, [1], {"a": 1}]
    records = [record(attributes={"a": value}) for value in values * 2]
    resource = Resource({})
    assert parse(encoder.encode(records)) == sdk_request(records, resource)
