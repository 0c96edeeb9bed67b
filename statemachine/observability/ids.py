"""Trace and span ids, derived instead of drawn, and the W3C ``traceparent`` header.

A durable execution is observed by whichever process commits its events: the API that
started it, a worker that is later killed, the worker that resumes it. None of them keeps
a span object open across that, so every id is a pure function of facts in the history:

* the trace id comes from the ``traceparent`` of the start request (recorded in the
  ``ExecutionStarted`` event), else from the execution id and its start time;
* a span id is a hash of the trace id and the event that opened the span (a state's
  ``*StateEntered`` event id, a Map's ``MapStateStarted`` id and the iteration index, ...).

So a process that reads the history from the start computes the same ids as the one that
wrote it, and the spans of a resumed execution land in the same trace under the right
parents. W3C Trace Context: ``version-traceid-parentid-flags``, lowercase hex, all-zero
ids invalid; only version ``00`` is parsed strictly (later versions may append fields).
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from statemachine.procrandom import ProcessRandom

SAMPLED = 0x01
_M64 = (1 << 64) - 1

# Span kinds by the numbers OpenTelemetry uses (opentelemetry.trace.SpanKind).
INTERNAL = 0
SERVER = 1
CLIENT = 2

# What each kind of span id is derived from (the first byte of the hashed key).
EXECUTION = 1
STATE = 2
TASK = 3
ITERATION = 4
BRANCH = 5


class TraceParent(NamedTuple):
    trace_id: int
    span_id: int
    flags: int

    @property
    def sampled(self) -> bool:
        return bool(self.flags & SAMPLED)

    def header(self) -> str:
        return format_traceparent(self.trace_id, self.span_id, self.flags)


def parse_traceparent(value: str | None) -> TraceParent | None:
    """The W3C header as numbers, or None when it is absent or malformed."""
    if not value:
        return None
    parts = value.strip().split("-")
    if len(parts) < 4 or len(parts[0]) != 2 or parts[0] == "ff":
        return None
    if parts[0] == "00" and len(parts) != 4:
        return None
    version, trace, span, flags = parts[:4]
    if len(trace) != 32 or len(span) != 16 or len(flags) != 2:
        return None
    try:
        int(version, 16)
        parsed = TraceParent(int(trace, 16), int(span, 16), int(flags, 16))
    except ValueError:
        return None
    if not parsed.trace_id or not parsed.span_id or trace != trace.lower():
        return None
    return parsed


def format_traceparent(trace_id: int, span_id: int, flags: int = SAMPLED) -> str:
    return f"00-{trace_id:032x}-{span_id:016x}-{flags:02x}"


def derived_trace_id(execution_id: str, start: int) -> int:
    """The trace id of an execution started without a ``traceparent``."""
    digest = hashlib.blake2b(f"{execution_id}|{start}".encode(), digest_size=16).digest()
    return int.from_bytes(digest, "big") or 1


_RANDOM = ProcessRandom()


def random_trace_id() -> int:
    return _RANDOM.getrandbits(128) or 1


def span_id(trace_id: int, kind: int, a: int, b: int = 0) -> int:
    """A span id for (kind, a, b) inside one trace; never 0 (invalid in W3C).

    It runs for every span, so it is a few integer operations rather than a hash call:
    (kind, b, a) packed into 64 bits (a below 2**32, b below 2**24), mixed with the trace
    id, times an odd constant, then an xor-shift. Every step is one-to-one on 64-bit
    numbers, so two spans of one trace never get the same id."""
    packed = (kind << 56) | ((b & 0xFF_FFFF) << 32) | (a & 0xFFFF_FFFF)
    x = ((packed ^ trace_id ^ (trace_id >> 64)) * 0x9E3779B97F4A7C15) & _M64
    return (x ^ (x >> 29)) or 1


def ratio_sampled(trace_id: int, ratio: float) -> bool:
    """The decision of OpenTelemetry's TraceIdRatioBased sampler: the low 64 bits of the
    trace id below ``ratio`` of their range. Deterministic, so every process agrees."""
    bound = round(ratio * (1 << 64))
    return (trace_id & 0xFFFF_FFFF_FFFF_FFFF) < bound
