"""Map iteration and Parallel branch spans of :class:`~.spans.ExecutionTrace`."""

from __future__ import annotations

from statemachine.observability import ids
from statemachine.observability.span_types import JSON, Topology, _Open, failure_error


class _GroupSpans:
    """The Map and Parallel handlers of :class:`~.spans.ExecutionTrace` (a mixin: it uses
    the trace's frames, ``_state_span``, ``_close_frame``, ``_close_child`` and
    ``_finish``; branch spans open in ``ExecutionTrace._frame``)."""

    def group_started(
        self, event_id: int, ts: int, fid: int | None, d: dict[str, JSON], topology: Topology
    ) -> None:
        frame = self.frames.get(fid or 0)
        if frame is None or frame.name is None:
            return
        for index in list(frame.children):  # a retried Map/Parallel starts over
            self._close_child(frame, index, ts, "retried")
        frame.group_key = event_id
        if "length" in d:
            frame.extra = {"statemachine.map.length": d["length"]}

    def iteration_started(
        self, event_id: int, ts: int, fid: int | None, d: dict[str, JSON], topology: Topology
    ) -> None:
        frame = self.frames.get(fid or 0)
        if frame is None or frame.name is None:
            return
        index = int(d.get("index") or 0)
        frame.children[index] = _Open(
            f"{frame.name} iteration",
            ids.span_id(self.trace_id, ids.ITERATION, frame.group_key, index),
            self._state_span(frame),
            ts,
            {"statemachine.map.index": index},
        )

    def iteration_ended(
        self, event_id: int, ts: int, fid: int | None, d: dict[str, JSON], topology: Topology
    ) -> None:
        frame = self.frames.get(fid or 0)
        index = int(d.get("index") or 0)
        if frame is None or index not in frame.children:
            return
        child = frame.children.pop(index)
        if self._kind == "MapIterationSucceeded":
            if child.frame is not None:
                self._close_frame(child.frame, ts, "iteration ended")
            self._finish(child, ts)
            return
        found = None
        if child.frame is not None:
            found = self._close_frame(child.frame, ts, "iteration failed", failed=True)
        if found:
            child.attributes["error.type"] = found
        self._finish(child, ts, found or "iteration failed")

    def group_succeeded(
        self, event_id: int, ts: int, fid: int | None, d: dict[str, JSON], topology: Topology
    ) -> None:
        frame = self.frames.get(fid or 0)
        if frame is None:
            return
        for index in list(frame.children):
            self._close_child(frame, index, ts, None)

    def group_failed(
        self, event_id: int, ts: int, fid: int | None, d: dict[str, JSON], topology: Topology
    ) -> None:
        frame = self.frames.get(fid or 0)
        if frame is None:
            return
        error = failure_error(d)
        for index in list(frame.children):
            self._close_child(frame, index, ts, f"{self._kind}: {error}", error)
        if frame.name is not None:
            cause = d.get("cause")
            frame.error, frame.cause = error, cause if isinstance(cause, str) else None
