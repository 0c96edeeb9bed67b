"""OTLP/protobuf encoding of span records, for the exporter process's hot loop.

The SDK's OTLP exporter turns each span into protobuf message objects field by field
(``encode_spans``): some 19 us per span of this engine, half the exporter process's CPU
under a durable load, and on a machine without a spare core that process competes with
the engine. The request is simple enough to write directly in the wire format
(``ExportTraceServiceRequest`` of opentelemetry-proto: varint tags, length-prefixed
fields, fixed64 times) from a :class:`~statemachine.observability.spans.SpanRecord`,
with the resource and scope encoded once and repeated attribute values remembered (2 to
4 us per span). The message means what the SDK's encoding of the same spans means (the
tests parse both with the opentelemetry-proto classes and compare), and it is sent by
the SDK's own exporter client, with its endpoint, headers, compression, TLS and retries
(see :func:`raw_sender`).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from statemachine.observability.span_types import SpanRecord

_FIXED64 = struct.Struct("<Q").pack
_DOUBLE = struct.Struct("<d").pack
_FIXED32 = struct.Struct("<I").pack
_SMALL = [bytes((n,)) for n in range(128)]
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

# Span.flags (fixed32, field 16): the parent's "is remote" is known (and set when true).
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200
_FLAGS_LOCAL = b"\x85\x01" + _FIXED32(_HAS_IS_REMOTE)
_FLAGS_REMOTE = b"\x85\x01" + _FIXED32(_HAS_IS_REMOTE | _IS_REMOTE)
_STATUS_UNSET = b"\x7a\x00"  # Span.status present and empty, as the SDK sends it
# Span.kind (field 6): the API's kinds (INTERNAL 0 .. CONSUMER 4) are OTLP's minus one.
_KINDS = {kind: b"\x30" + bytes((kind + 1,)) for kind in range(5)}


def varint(value: int) -> bytes:
    """A protobuf varint; negative numbers as 64-bit two's complement (int64)."""
    if 0 <= value < 0x80:
        return _SMALL[value]
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: its tag byte(s), the length, the payload."""
    size = len(payload)
    return tag + (_SMALL[size] if size < 0x80 else varint(size)) + payload


def any_value(value: Any) -> bytes:
    """An ``AnyValue`` message for an attribute value (types as the SDK's encoder)."""
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return field(b"\x0a", utf8(value))
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"integer attribute {value} is outside int64")
        return b"\x18" + varint(value)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE(value)
    if value is None:
        return b""
    if isinstance(value, bytes):
        return field(b"\x3a", value)
    if isinstance(value, Mapping):
        entries = b"".join(field(b"\x0a", key_value(str(k), v)) for k, v in value.items())
        return field(b"\x32", entries)
    if isinstance(value, (list, tuple)):
        return field(b"\x2a", b"".join(field(b"\x0a", any_value(v)) for v in value))
    raise TypeError(f"cannot encode an attribute value of type {type(value).__name__}")


def key_value(key: str, value: Any) -> bytes:
    """A ``KeyValue`` message."""
    return field(b"\x0a", utf8(key)) + field(b"\x12", any_value(value))


def utf8(text: str) -> bytes:
    """UTF-8, with a lone surrogate (which JSON's ``\\ud800`` can carry into a state name
    or a value) replaced rather than failing the whole request."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


class SpanEncoder:
    """Encodes batches of records into ``ExportTraceServiceRequest`` bytes, for one
    resource and one instrumentation scope (the ones :mod:`.sdk` uses)."""

    def __init__(
        self,
        resource_attributes: Mapping[str, Any],
        resource_schema_url: str = "",
        scope_name: str = "statemachine",
        scope_version: str | None = None,
    ) -> None:
        resource = b"".join(field(b"\x0a", key_value(k, v)) for k, v in resource_attributes.items())
        scope = field(b"\x0a", utf8(scope_name))
        if scope_version:
            scope += field(b"\x12", utf8(scope_version))
        self._resource = field(b"\x0a", resource)  # ResourceSpans.resource
        self._scope = field(b"\x0a", scope)  # ScopeSpans.scope
        schema = utf8(resource_schema_url)
        self._schema_url = field(b"\x1a", schema) if schema else b""  # ResourceSpans.schema_url
        self._attributes: dict[tuple[Any, ...], bytes] = {}  # (key, value[, type]) -> field
        self._trace: tuple[str, bytes] = ("", b"")

    def encode(self, records: Iterable[SpanRecord]) -> bytes:
        spans = b"".join([field(b"\x12", self.span(r)) for r in records])  # ScopeSpans.spans
        scope_spans = field(b"\x12", self._scope + spans)  # ResourceSpans.scope_spans
        return field(b"\x0a", self._resource + scope_spans + self._schema_url)

    def span(self, record: SpanRecord) -> bytes:
        """One ``Span`` message."""
        trace_hex, trace_id = self._trace
        if record.trace != trace_hex:  # consecutive spans mostly share their trace
            trace_id = b"\x0a\x10" + int(record.trace, 16).to_bytes(16, "big")
            self._trace = (record.trace, trace_id)
        parts = [trace_id, b"\x12\x08", record.span_id.to_bytes(8, "big")]
        if record.parent_id:
            parts += (b"\x22\x08", record.parent_id.to_bytes(8, "big"))
        parts += (
            field(b"\x2a", utf8(record.name)),
            _KINDS.get(record.kind, b"\x30\x01"),
            b"\x39",
            _FIXED64(record.start),
            b"\x41",
            _FIXED64(record.end),
        )
        cache = self._attributes
        for item in record.attributes.items():
            kind = type(item[1])
            # Scalars only: True == 1 == 1.0 (and (True,) == (1,)) must not share an entry.
            if kind is str:
                cache_key: tuple[Any, ...] | None = item
            elif kind is int or kind is bool or kind is float:
                cache_key = (*item, kind)
            else:
                cache_key = None
            encoded = None if cache_key is None else cache.get(cache_key)
            if encoded is None:
                try:  # Span.attributes (9): a KeyValue
                    encoded = field(b"\x4a", key_value(*item))
                except (TypeError, ValueError):  # as the SDK does: the attribute is left out
                    continue
                if cache_key is not None:
                    if len(cache) >= 50_000:  # attribute values repeat; never let them grow
                        cache.clear()
                    cache[cache_key] = encoded
            parts.append(encoded)
        if record.error is None:
            parts.append(_STATUS_UNSET)
        else:  # Status: message (2), code ERROR (3 = 2)
            parts.append(field(b"\x7a", field(b"\x12", utf8(record.error[:1024])) + b"\x18\x02"))
        parts.append(_FLAGS_REMOTE if record.parent_id and record.remote_parent else _FLAGS_LOCAL)
        return b"".join(parts)


def raw_sender(exporter: Any) -> Callable[[bytes], bool] | None:
    """The SDK OTLP/HTTP span exporter's own client, as a function that sends encoded
    request bytes and says whether they were accepted; None when ``exporter`` is not
    that exporter or its version has no such client (then spans go through its
    ``export`` as ``ReadableSpan``)."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        return None
    client = getattr(exporter, "_client", None)
    if type(exporter) is not OTLPSpanExporter or not callable(getattr(client, "export", None)):
        return None

    def send(data: bytes) -> bool:
        if getattr(exporter, "_shutdown", False):
            return False
        return bool(getattr(client.export(data), "success", False))

    return send
