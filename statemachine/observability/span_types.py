"""The plain data of :mod:`.spans`: finished records, the sampler, open spans and frames."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from statemachine.observability import ids

JSON = Any
Topology = Callable[[int], "tuple[int, int] | None"]


class SpanRecord(NamedTuple):
    """A finished span, as plain data (times in nanoseconds since the Unix epoch).

    ``trace`` is the trace id in hex; ``parent_id`` 0 means a root span;
    ``remote_parent`` marks a parent in another service (the ``traceparent`` of the start
    request). ``error`` set means status ERROR with that description; None leaves the
    status unset, as OpenTelemetry asks instrumentations to do for success. Metrics are
    computed from records (:mod:`.metrics`), so an execution the sampler drops still
    produces records, marked ``sampled=False``, that exporters skip.
    """

    name: str
    trace: str
    span_id: int
    parent_id: int
    start: int
    end: int
    attributes: dict[str, JSON]
    kind: int = ids.INTERNAL
    error: str | None = None
    remote_parent: bool = False
    sampled: bool = True  # False: for metrics only (the execution was not sampled)
    machine: str = ""  # the state machine (for metrics; not an attribute)


class Sized(NamedTuple):
    """A payload that was measured where it was recorded and sent as its size only
    (see :mod:`.agent`): stands in for the value wherever only its size is used."""

    size: int


_new_record = tuple.__new__  # SpanRecord(...) without the Python-level __new__


Sampler = Callable[["ids.TraceParent | None", int], bool]


def always_sample(parent: ids.TraceParent | None, trace_id: int) -> bool:
    return True if parent is None else parent.sampled


@dataclass(slots=True)
class _Open:
    """A span in progress: the execution, a task attempt, an iteration or a branch."""

    name: str
    span_id: int
    parent_id: int
    start: int
    attributes: dict[str, JSON]
    kind: int = ids.INTERNAL
    last: int = 0  # the time of the latest event under it (a branch ends there)
    frame: int | None = None  # the frame an iteration or branch runs in


@dataclass(slots=True)
class _Frame:
    """A frame (the root, a branch, an iteration) and the state visit open in it.

    The visit is kept in flat fields rather than its own object: it is the span of
    every transition, so it is the one place where the cost of tracing shows."""

    parent_span: int
    owner: _Open | None = None  # the iteration or branch span this frame runs in
    name: str | None = None  # the open state's name; None: no state open
    type: str = ""
    entered_id: int = 0
    span_id: int = 0  # of the open state, computed when first needed
    start: int = 0
    input_size: int = 0
    attempts: int = 0
    error: str | None = None  # a failure the visit recorded itself (Task*, *StateFailed)
    cause: str | None = None
    extra: dict[str, JSON] | None = None
    task: _Open | None = None
    group_key: int = 0  # the MapStateStarted / ParallelStateStarted event id
    children: dict[int, _Open] = field(default_factory=dict)


def failure_error(d: dict[str, JSON]) -> str:
    """The error a failure event names (``States.TaskFailed`` when it names none)."""
    return str(d.get("error") or "States.TaskFailed")
