"""Task invocation spans of :class:`~.spans.ExecutionTrace` (``Task*`` events), named
after the OpenTelemetry GenAI conventions for ``llm:`` and ``tool:`` resources."""

from __future__ import annotations

from statemachine.observability import ids
from statemachine.observability.span_types import JSON, Topology, _Frame, _Open, failure_error


class _TaskSpans:
    """The ``Task*`` handlers of :class:`~.spans.ExecutionTrace` (a mixin: it uses the
    trace's frames, ``_size``, ``_state_span`` and ``_finish``)."""

    def task_scheduled(
        self, event_id: int, ts: int, fid: int | None, d: dict[str, JSON], topology: Topology
    ) -> None:
        frame = self.frames.get(fid or 0)
        if frame is None or frame.name is None:
            return
        frame.attempts += 1
        frame.error = frame.cause = None  # a new attempt: an earlier failure was retried
        resource = str(d.get("resource") or "")
        parameters = d.get("parameters")
        name, kind, attrs = _task_identity(resource, parameters)
        attrs["statemachine.task.resource"] = resource
        attrs["statemachine.task.attempt"] = frame.attempts
        attrs["statemachine.task.input_size"] = self._size(parameters)
        if resource.endswith(".waitForTaskToken"):
            attrs["statemachine.task.callback"] = True
        if frame.task is not None:
            self._close_task(frame, ts, "rescheduled")
        frame.task = _Open(
            name,
            ids.span_id(self.trace_id, ids.TASK, frame.entered_id, frame.attempts),
            self._state_span(frame),
            ts,
            attrs,
            kind,
        )

    def task_succeeded(
        self, event_id: int, ts: int, fid: int | None, d: dict[str, JSON], topology: Topology
    ) -> None:
        frame = self.frames.get(fid or 0)
        if frame is None or frame.task is None:
            return
        task = frame.task
        frame.task = None
        output = d.get("output")
        task.attributes["statemachine.task.output_size"] = self._size(output)
        if task.attributes.get("gen_ai.operation.name") == "chat" and isinstance(output, dict):
            self._usage(task, output)
        self._finish(task, ts)

    def _usage(self, task: _Open, output: dict[str, JSON]) -> None:
        """Token usage as the OpenTelemetry GenAI conventions name it."""
        attrs = task.attributes
        model = output.get("model")
        if isinstance(model, str):
            attrs["gen_ai.response.model"] = model
        reason = output.get("finish_reason")
        if isinstance(reason, str):
            attrs["gen_ai.response.finish_reasons"] = (reason,)
        usage = output.get("usage")
        if not isinstance(usage, dict):
            return
        prompt = usage.get("prompt_tokens")
        completion = usage.get("completion_tokens")
        if isinstance(prompt, int):
            attrs["gen_ai.usage.input_tokens"] = prompt
        if isinstance(completion, int):
            attrs["gen_ai.usage.output_tokens"] = completion

    def task_failed(
        self, event_id: int, ts: int, fid: int | None, d: dict[str, JSON], topology: Topology
    ) -> None:
        frame = self.frames.get(fid or 0)
        if frame is None:
            return
        error = failure_error(d)
        cause = d.get("cause")
        cause = cause if isinstance(cause, str) and cause else None
        if frame.name is not None:
            frame.error, frame.cause = error, cause
        task = frame.task
        if task is None:
            return
        frame.task = None
        task.attributes["error.type"] = error
        self._finish(task, ts, cause or error)

    def _close_task(self, frame: _Frame, ts: int, reason: str) -> None:
        task = frame.task
        frame.task = None
        if task is not None:
            task.attributes["statemachine.interrupted"] = True
            self._finish(task, ts, f"interrupted: {reason}")


def _task_identity(resource: str, parameters: JSON) -> tuple[str, int, dict[str, JSON]]:
    """Span name, kind and attributes of a task, after the OpenTelemetry GenAI semantic
    conventions: ``chat {model}`` (a client span) for ``llm:`` resources and
    ``execute_tool {name}`` for ``tool:`` ones."""
    base = resource.removesuffix(".waitForTaskToken").removesuffix(".sync")
    if base.startswith("llm:"):
        attrs: dict[str, JSON] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",  # the protocol llm:chat speaks
        }
        model = parameters.get("model") if isinstance(parameters, dict) else None
        if isinstance(model, str):
            attrs["gen_ai.request.model"] = model
        if isinstance(parameters, dict):
            for key, attr in _LLM_REQUEST_FIELDS:
                value = parameters.get(key)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    attrs[attr] = value
        return (f"chat {model}" if isinstance(model, str) else "chat"), ids.CLIENT, attrs
    if base.startswith("tool:"):
        tool = base[len("tool:") :]
        return (
            f"execute_tool {tool}",
            ids.INTERNAL,
            {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool},
        )
    return base, ids.INTERNAL, {}


_LLM_REQUEST_FIELDS = (
    ("temperature", "gen_ai.request.temperature"),
    ("top_p", "gen_ai.request.top_p"),
    ("max_tokens", "gen_ai.request.max_tokens"),
    ("max_completion_tokens", "gen_ai.request.max_tokens"),
    ("seed", "gen_ai.request.seed"),
)
