"""Spans from history events: the one place that decides what a trace looks like.

Both drivers already write a typed history (AWS event names) with a timestamp per event.
:class:`ExecutionTrace` folds that stream into finished spans, with no OpenTelemetry
import and no clock of its own:

==========================  ====================================================  ========
span                        from                                                  parent
==========================  ====================================================  ========
execution                   ``ExecutionStarted`` (or ``ExecutionRedriven``) to    the
                            ``ExecutionSucceeded/Failed/TimedOut/Aborted``        request
state visit (state name)    ``*StateEntered`` to ``*StateExited``, or to the      its frame
                            failure that ended the frame
task invocation             ``TaskScheduled`` to ``TaskSucceeded/Failed/TimedOut``  state
Map iteration               ``MapIterationStarted`` to ``...Succeeded/Failed``    Map state
Parallel branch             the branch's first event to its last (closed when     Parallel
                            the Parallel state ends)                              state
==========================  ====================================================  ========

A frame is a branch or an iteration: the driver tells which (``topology``) the first time
a frame shows up. A span is exported by the process that commits the event closing it;
events written by other processes are *replayed* (``silent``) only to rebuild what is
open, so every span is exported once even when a worker dies between two events.
Span ids come from :mod:`.ids`, so a replaying process names the same spans the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from statemachine.interpreter.dataflow import payload_size
from statemachine.observability import ids
from statemachine.observability.group_spans import _GroupSpans
from statemachine.observability.span_types import (
    JSON,
    Sampler,
    Sized,
    SpanRecord,
    Topology,
    _Frame,
    _new_record,
    _Open,
    always_sample,
)
from statemachine.observability.task_spans import _TaskSpans

_ENTERED = "StateEntered"
_EXITED = "StateExited"
_CLOSING = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}


class ExecutionTrace(_TaskSpans, _GroupSpans):
    """The open spans of one execution, advanced one history event at a time."""

    def __init__(
        self,
        execution_id: str,
        state_machine: str,
        emit: Callable[[SpanRecord], None] | None,
        *,
        sampler: Sampler = always_sample,
        trace_id: int | None = None,
    ) -> None:
        self.execution_id = execution_id
        self.machine = state_machine
        self.emit = emit
        self.sampler = sampler
        self.trace_id = trace_id or 0
        self.trace = f"{self.trace_id:032x}"
        self.remote_parent = 0
        self.sampled = True
        self.first_span = 0
        self.execution: _Open | None = None
        self.started = 0
        self.frames: dict[int, _Frame] = {}
        self.last_id = 0
        self.closed = False
        self._out: Callable[[SpanRecord], None] | None = None
        self._kind = ""  # the event being handled (one handler serves related kinds)
        self._sized: tuple[JSON, int] = (None, 4)

    # -- entry point -----------------------------------------------------------------------

    def feed(
        self,
        event_id: int,
        kind: str,
        ts: int,
        frame: int | None,
        details: dict[str, JSON],
        topology: Topology,
        *,
        silent: bool = False,
    ) -> None:
        """Advance by one event. ``silent`` replays an event another process committed
        (and exported the spans of): state only, no spans."""
        self.last_id = event_id
        self._out = None if silent else self.emit
        self._kind = kind
        (_HANDLERS.get(kind) or _handler_for(kind))(self, event_id, ts, frame, details, topology)

    def traceparent(self, entered_id: int, attempt: int) -> str | None:
        """The W3C header of a task attempt's span, for handlers to hand on."""
        if not self.trace_id:
            return None
        span = ids.span_id(self.trace_id, ids.TASK, entered_id, attempt)
        return ids.format_traceparent(self.trace_id, span, ids.SAMPLED if self.sampled else 0)

    # -- plumbing --------------------------------------------------------------------------

    def _size(self, value: JSON) -> int:
        """Bytes of ``value`` as JSON. A state's input is usually the object the previous
        state output (values are never changed in place), so one remembered size saves
        serialising most payloads twice."""
        last, size = self._sized
        if value is last:
            return size
        if value.__class__ is Sized:
            return value.size
        size = payload_size(value)
        self._sized = (value, size)
        return size

    def _finish(self, span: _Open, end: int, error: str | None = None) -> None:
        out = self._out
        if out is not None:
            remote = span.parent_id == self.remote_parent and span.parent_id != 0
            out(
                SpanRecord(
                    span.name,
                    self.trace,
                    span.span_id,
                    span.parent_id,
                    span.start,
                    max(end, span.start),
                    span.attributes,
                    span.kind,
                    error,
                    remote,
                    self.sampled,
                    self.machine,
                )
            )

    def _state_span(self, frame: _Frame) -> int:
        if not frame.span_id:
            frame.span_id = ids.span_id(self.trace_id, ids.STATE, frame.entered_id)
        return frame.span_id

    def _frame(self, key: int, ts: int, topology: Topology) -> _Frame:
        """A frame seen for the first time: under the execution, or in the iteration or
        branch that ``topology`` says it runs in (a branch span opens here)."""
        root = self.execution.span_id if self.execution is not None else 0
        frame = _Frame(parent_span=root)
        where = topology(key) if key else None
        parent = self.frames.get(where[0]) if where is not None else None
        if where is not None and parent is not None and parent.name is not None:
            index = where[1]
            child = parent.children.get(index)
            if child is None:  # a Parallel branch: its span opens with its first event
                child = _Open(
                    f"{parent.name} branch",
                    ids.span_id(self.trace_id, ids.BRANCH, parent.group_key, index),
                    self._state_span(parent),
                    ts,
                    {"statemachine.branch.index": index},
                )
                parent.children[index] = child
            child.frame = key
            frame.parent_span = child.span_id
            frame.owner = child
        self.frames[key] = frame
        return frame

    # -- execution -------------------------------------------------------------------------

    def execution_started(
        self, event_id: int, ts: int, fid: int | None, d: dict[str, JSON], topology: Topology
    ) -> None:
        parent = ids.parse_traceparent(d.get("traceParent"))
        if parent is not None:
            self.trace_id = parent.trace_id
            self.remote_parent = parent.span_id
        elif not self.trace_id:
            self.trace_id = ids.derived_trace_id(self.execution_id, ts)
        self.trace = f"{self.trace_id:032x}"
        self.sampled = self.sampler(parent, self.trace_id)
        span = _Open(
            f"execution {self.machine}",
            ids.span_id(self.trace_id, ids.EXECUTION, event_id),
            self.remote_parent,
            ts,
            {
                "statemachine.execution.id": self.execution_id,
                "statemachine.state_machine.name": self.machine,
                "statemachine.execution.input_size": self._size(d.get("input")),
            },
        )
        self.first_span = span.span_id
        self.execution = span
        self.started = ts
        self.closed = False
        if fid:
            self.frames[fid] = _Frame(parent_span=span.span_id)

    def execution_redriven(
        self, event_id: int, ts: int, fid: int | None, d: dict[str, JSON], topology: Topology
    ) -> None:
        """A redrive runs on in the same trace, as a new span under the first one."""
        if not self.trace_id:
            return
        self.execution = _Open(
            f"redrive {self.machine}",
            ids.span_id(self.trace_id, ids.EXECUTION, event_id),
            self.first_span,
            ts,
            {
                "statemachine.execution.id": self.execution_id,
                "statemachine.state_machine.name": self.machine,
                "statemachine.execution.redrive_count": d.get("redriveCount", 0),
            },
        )
        self.started = ts
        self.closed = False
        self.frames.clear()

    def execution_closed(
        self, event_id: int, ts: int, fid: int | None, d: dict[str, JSON], topology: Topology
    ) -> None:
        span = self.execution
        if span is None or self.closed:
            return
        status = _CLOSING[self._kind]
        error = d.get("error") if status != "SUCCEEDED" else None
        cause = d.get("cause") if status != "SUCCEEDED" else None
        reason = "ExecutionFailed" if status == "FAILED" else f"execution {status.lower()}"
        failed = status == "FAILED"
        for key in list(self.frames):  # the top frame first: its state is what failed
            top = self.frames.get(key)
            if top is not None and top.owner is None:
                if failed and top.name is not None and top.error is None:
                    top.error, top.cause = error, cause
                self._close_frame(key, ts, reason, failed=failed, error=error)
        for key in list(self.frames):
            self._close_frame(key, ts, reason)
        span.attributes["statemachine.execution.status"] = status
        if status == "SUCCEEDED":
            self._finish(span, ts)
        else:
            if error:
                span.attributes["error.type"] = error
            self._finish(span, ts, cause or error or status)
        self.closed = True
        self.execution = None

    # -- states ----------------------------------------------------------------------------

    def entered(
        self, event_id: int, ts: int, fid: int | None, d: dict[str, JSON], topology: Topology
    ) -> None:
        key = fid or 0
        frame = self.frames.get(key) or self._frame(key, ts, topology)
        if frame.owner is not None:
            frame.owner.last = ts
        if frame.name is not None:  # cannot happen in a well-formed history
            self._close_state(frame, ts, "a new state was entered")
        state_type = self._kind[: -len(_ENTERED)]
        frame.name = d.get("name") or state_type
        frame.type = state_type
        frame.entered_id = event_id
        frame.span_id = 0
        frame.start = ts
        frame.input_size = self._size(d.get("input"))
        frame.attempts = 0
        frame.error = frame.cause = frame.extra = None

    def exited(
        self, event_id: int, ts: int, fid: int | None, d: dict[str, JSON], topology: Topology
    ) -> None:
        frame = self.frames.get(fid or 0)
        if frame is None:
            return
        name = frame.name
        if name is None:
            return
        if frame.owner is not None:
            frame.owner.last = ts
        output = self._size(d.get("output"))
        out = self._out
        if not frame.children and frame.error is None and frame.task is None and not frame.extra:
            # The common case (a state that simply ran), kept short: it is every transition.
            frame.name = None
            if out is not None:
                attrs = {
                    "statemachine.state.type": frame.type,
                    "statemachine.state.input_size": frame.input_size,
                    "statemachine.state.output_size": output,
                }
                if frame.attempts:
                    attrs["statemachine.state.attempt"] = frame.attempts
                    attrs["statemachine.state.retry_count"] = frame.attempts - 1
                span = frame.span_id or self._state_span(frame)
                record = (name, self.trace, span, frame.parent_span, frame.start, ts, attrs, 0)
                out(_new_record(SpanRecord, (*record, None, False, self.sampled, self.machine)))
            return
        for index in list(frame.children):
            self._close_child(frame, index, ts, None)
        if frame.error is not None:
            # Exited after a failure: a catcher took it (the state failed, the flow did not).
            self._close_state(frame, ts, None, caught=True, output=output)
        else:
            self._close_state(frame, ts, None, ok=True, output=output)

    def _close_state(
        self,
        frame: _Frame,
        ts: int,
        reason: str | None,
        *,
        ok: bool = False,
        caught: bool = False,
        failed: bool = False,
        error: str | None = None,
        output: int | None = None,
    ) -> None:
        """End a state visit: ``ok`` (exited), ``caught``, ``failed`` (it is what ended its
        frame, with ``error`` when the closing event names it), else cut short by
        ``reason``."""
        name = frame.name
        if name is None:
            return
        if frame.task is not None:
            self._close_task(frame, ts, reason or "interrupted")
        frame.name = None
        out = self._out
        if out is None:
            return
        attrs: dict[str, JSON] = {
            "statemachine.state.type": frame.type,
            "statemachine.state.input_size": frame.input_size,
        }
        if output is not None:
            attrs["statemachine.state.output_size"] = output
        if frame.attempts:
            attrs["statemachine.state.attempt"] = frame.attempts
            attrs["statemachine.state.retry_count"] = frame.attempts - 1
        if frame.extra:
            attrs.update(frame.extra)
        message = None
        if ok:
            pass
        elif caught or frame.error is not None or failed or frame.type == "Fail":
            error = frame.error or error
            if error:
                attrs["error.type"] = error
            if caught:
                attrs["statemachine.state.caught"] = True
            message = frame.cause or error or "failed"
        else:
            attrs["statemachine.interrupted"] = True
            message = f"interrupted: {reason}"
        out(
            SpanRecord(
                name,
                self.trace,
                self._state_span(frame),
                frame.parent_span,
                frame.start,
                max(ts, frame.start),
                attrs,
                ids.INTERNAL,
                message,
                False,
                self.sampled,
                self.machine,
            )
        )

    def _close_frame(
        self, key: int, ts: int, reason: str, *, failed: bool = False, error: str | None = None
    ) -> str | None:
        """Close everything open in a frame and below it; returns the failure found."""
        frame = self.frames.pop(key, None)
        if frame is None:
            return None
        found = None
        for index in list(frame.children):
            found = self._close_child(frame, index, ts, reason) or found
        if frame.name is not None:
            if frame.error is not None:
                found = frame.error
            elif failed or frame.type == "Fail":
                found = error or found
            self._close_state(frame, ts, reason, failed=failed, error=error)
        return found

    def _close_child(
        self, frame: _Frame, index: int, ts: int, reason: str | None, error: str | None = None
    ) -> str | None:
        """End an iteration or branch span: normally (``reason`` None) at its last event,
        else now, as failed when something inside it failed."""
        child = frame.children.pop(index)
        found = None
        if child.frame is not None:
            found = self._close_frame(child.frame, ts, reason or "interrupted", error=error)
        if reason is None:
            self._finish(child, child.last or ts)
        elif found is not None:
            child.attributes["error.type"] = found
            self._finish(child, ts, found)
        else:
            child.attributes["statemachine.interrupted"] = True
            self._finish(child, ts, f"interrupted: {reason}")
        return found


_HANDLERS: dict[str, Callable[..., None]] = {}


def _ignore(*_args: Any) -> None:
    return None


def _handler_for(kind: str) -> Callable[..., None]:
    """The handler of an event kind without its own entry (``<Type>StateEntered`` and
    ``<Type>StateExited`` for every state type, and kinds spans do not use)."""
    if kind.endswith(_ENTERED):
        handler: Callable[..., None] = ExecutionTrace.entered
    elif kind.endswith(_EXITED):
        handler = ExecutionTrace.exited
    else:
        handler = _ignore
    _HANDLERS[kind] = handler
    return handler


def _register(kinds: tuple[str, ...], method: Callable[..., None]) -> None:
    for kind in kinds:
        _HANDLERS[kind] = method


_register(("ExecutionStarted",), ExecutionTrace.execution_started)
_register(("ExecutionRedriven",), ExecutionTrace.execution_redriven)
_register(tuple(_CLOSING), ExecutionTrace.execution_closed)
_register(("TaskScheduled",), ExecutionTrace.task_scheduled)
_register(("TaskSucceeded",), ExecutionTrace.task_succeeded)
_register(("TaskFailed", "TaskTimedOut"), ExecutionTrace.task_failed)
_register(("MapStateStarted", "ParallelStateStarted"), ExecutionTrace.group_started)
_register(("MapIterationStarted",), ExecutionTrace.iteration_started)
_register(("MapIterationSucceeded", "MapIterationFailed"), ExecutionTrace.iteration_ended)
_register(("MapStateSucceeded", "ParallelStateSucceeded"), ExecutionTrace.group_succeeded)
_register(("MapStateFailed", "ParallelStateFailed"), ExecutionTrace.group_failed)
