"""Mocked Task results, applied through the runner's dispatcher.

The runner calls ``dispatcher(resource, payload, ctx)`` for every Task attempt; the
:class:`MockDispatcher` answers from the case's mocks by ``ctx.state_name`` (state names are
unique across a definition, nested ones included) and counts calls per state and per Map
iteration (``ctx.map_index``), so ``sequence`` means "first attempt, second attempt, ...".

Callback Tasks (``.waitForTaskToken``) are answered the way a person or worker would:
the mocked handler call returns, then the answer arrives through the runner's
``send_task_success`` / ``send_task_failure``, now or ``after`` virtual seconds. The state's
TimeoutSeconds timer races that answer on the virtual clock, so a one-week approval
timeout costs no real time.

Any other Task with ``after`` runs for that long on the virtual clock. The in-memory runner
makes one call at a time, so during that call timers of other branches wait: outputs are
exact, but timestamps inside concurrent Parallel/Map branches are then upper bounds.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from statemachine.errors import StatesError
from statemachine.handlers.registry import TaskContext, ToolRegistry
from statemachine.model import StateMachine
from statemachine.model.states import TaskState
from statemachine.testing.cases import Mock, Response

if TYPE_CHECKING:
    from statemachine.runner import Runner

JSON = Any


class MockSetupError(Exception):
    """The mocks of a case do not fit the definition (unknown state, wrong kind)."""


def bind_mocks(machine: StateMachine, mocks: Mapping[str, Mock]) -> dict[str, Mock]:
    """Resolve mock keys to Task state names: a key is a state name, or else a resource
    whose every Task gets the mock. A state named explicitly wins over its resource."""
    tasks = {
        state.name: state for _scope, state in machine.iter_states() if isinstance(state, TaskState)
    }
    names = {state.name for _scope, state in machine.iter_states()}
    bound: dict[str, Mock] = {}
    problems: list[str] = []
    by_resource = {key: mock for key, mock in mocks.items() if key not in names}
    for key, mock in by_resource.items():
        matched = [name for name, state in tasks.items() if state.resource == key]
        if not matched:
            known = ", ".join(sorted(tasks)) or "none"
            problems.append(
                f"mock {key!r} names no Task state and no Task resource (Task states: {known})"
            )
        for name in matched:
            bound[name] = mock
    for key, mock in mocks.items():
        if key not in names:
            continue
        if key not in tasks:
            problems.append(f"mock {key!r}: the state is not a Task, so nothing calls it")
            continue
        bound[key] = mock
    for name, mock in bound.items():
        if not tasks[name].wait_for_task_token and any(
            r.kind == "no_answer" for r in mock.responses()
        ):
            problems.append(f"mock {name!r}: no_answer needs a .waitForTaskToken resource")
    if problems:
        raise MockSetupError("; ".join(problems))
    return bound


class MockDispatcher:
    """The dispatcher of one test execution. Set ``runner`` before running."""

    def __init__(
        self,
        mocks: Mapping[str, Mock],
        registry: ToolRegistry,
        *,
        strict: bool = False,
    ) -> None:
        self.mocks = mocks
        self.registry = registry
        self.strict = strict
        self.runner: Runner | None = None
        self.calls: Counter[str] = Counter()
        self._per_iteration: Counter[tuple[str, int | None]] = Counter()
        self.unmocked: list[str] = []  # states that called a real tool, in call order
        self.violations: list[str] = []  # strict-mock breaches: always fail the case

    def __call__(self, resource: str, payload: JSON, ctx: TaskContext) -> JSON:
        state = ctx.state_name
        self.calls[state] += 1
        key = (state, ctx.map_index)
        self._per_iteration[key] += 1
        mock = self.mocks.get(state)
        response = mock.pick(self._per_iteration[key], ctx.map_index) if mock else None
        if response is None:
            return self._unmocked(state, resource, payload, ctx)
        if ctx.task_token is not None:
            self._answer_callback(response, payload, ctx)
            return None
        return self._respond(response, payload, ctx)

    def _unmocked(self, state: str, resource: str, payload: JSON, ctx: TaskContext) -> JSON:
        where = state if ctx.map_index is None else f"{state} (Map iteration {ctx.map_index})"
        if self.strict:
            message = f"Task {where} ({resource}) has no mock, and strict mocks are on"
            if message not in self.violations:
                self.violations.append(message)
            raise StatesError("States.Runtime", message)
        if state not in self.unmocked:
            self.unmocked.append(state)
        return self.registry.call(resource, payload, ctx)

    def _respond(self, response: Response, payload: JSON, ctx: TaskContext) -> JSON:
        """A synchronous Task: it runs ``after`` virtual seconds, bounded by its timeouts."""
        if response.after > 0:
            timed_out = _deadline(response, ctx)
            if timed_out is not None:
                seconds, error = timed_out
                self._advance(seconds)
                raise StatesError(error, None)
            self._advance(response.after)
        return _value(response, payload)

    def _answer_callback(self, response: Response, payload: JSON, ctx: TaskContext) -> None:
        assert self.runner is not None and self.runner.execution is not None
        execution = self.runner.execution
        token = ctx.task_token
        assert token is not None
        heartbeat = ctx.heartbeat_seconds
        silent = not response.heartbeats or response.kind == "no_answer"
        if heartbeat and silent and (response.kind == "no_answer" or response.after > heartbeat):
            # Nobody calls SendTaskHeartbeat: the token expires after HeartbeatSeconds
            # (unless TimeoutSeconds comes first; the runner's timer handles that).
            execution.send_task_failure(token, "States.HeartbeatTimeout", None, after=heartbeat)
            return
        if response.kind == "no_answer":
            return
        if response.kind == "error":
            assert response.error is not None
            execution.send_task_failure(token, response.error, response.cause, after=response.after)
            return
        execution.send_task_success(token, _value(response, payload), after=response.after)

    def _advance(self, seconds: float) -> None:
        assert self.runner is not None
        advance = getattr(self.runner.clock, "advance", None)
        if advance is None:
            raise TypeError("mocks with 'after' need a VirtualClock")
        advance(seconds)


def _deadline(response: Response, ctx: TaskContext) -> tuple[float, str] | None:
    """When a call that runs ``after`` seconds is cut short: (seconds, error) or None."""
    limits: list[tuple[float, str]] = []
    if ctx.timeout_seconds is not None:
        limits.append((float(ctx.timeout_seconds), "States.Timeout"))
    if ctx.heartbeat_seconds is not None and not response.heartbeats:
        limits.append((float(ctx.heartbeat_seconds), "States.HeartbeatTimeout"))
    hit = [limit for limit in limits if response.after > limit[0]]
    return min(hit) if hit else None


def _value(response: Response, payload: JSON) -> JSON:
    if response.kind == "error":
        assert response.error is not None
        raise StatesError(response.error, response.cause)
    if response.kind == "llm":
        assert response.llm is not None
        return llm_result(response.llm, payload)
    return response.result


def llm_result(spec: Mapping[str, JSON], request: JSON) -> dict[str, JSON]:
    """An ``llm:chat`` result, built by the real handler's own shaping code so a mock can
    never drift from production: ``content``, ``parsed``, ``tool_calls`` (arguments
    parsed), ``finish_reason``, ``usage``, ``model`` and the assistant ``message``.

    When the request asks for structured output (``response_format``), the mocked reply
    is parsed and checked against its schema like a real one, so a mock that does not
    match fails the Task with ``LLM.InvalidOutput``. ``parsed`` alone stands for the
    model replying with that JSON as its text.
    """
    from statemachine.handlers.llm import OutputSpec, build_response_format, shape_result

    calls = []
    for i, call in enumerate(spec.get("tool_calls") or (), start=1):
        arguments = call.get("arguments", {})
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
        calls.append(
            {"id": call.get("id", f"call_{i}"), "name": call["name"], "arguments": arguments}
        )
    content = spec.get("content")
    if content is None and "parsed" in spec:
        content = json.dumps(spec["parsed"], ensure_ascii=False)
    output = OutputSpec()
    if isinstance(request, Mapping) and request.get("response_format") is not None:
        _format, output = build_response_format(request["response_format"])
    if "parsed" in spec and not output.parse:
        output = OutputSpec(parse=True)
    model = spec.get("model")
    if model is None and isinstance(request, Mapping):
        model = request.get("model")
    usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    usage.update(spec.get("usage") or {})
    finish = spec.get("finish_reason", "tool_calls" if calls else "stop")
    return shape_result(
        content=content,
        calls=calls,
        finish_reason=finish,
        usage=usage,
        model=model,
        refusal=None,
        spec=output,
    )
