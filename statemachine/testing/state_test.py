"""Test one state in isolation, like AWS's TestState API: its data flow, stage by stage.

The state runs through the pure ``advance`` exactly as in a real execution (same
Retry/Catch decisions, same errors); :mod:`statemachine.interpreter.trace` recomputes
the intermediate values the interpreter does not return. To report the error that a
Catch or Retry handled, the state runs a second time with its Retry and Catch removed,
replaying the same task answer, so no tool is ever called twice.

Status, as in TestState: SUCCEEDED, FAILED (the error left the state), CAUGHT_ERROR (a
catcher handled it; ``next_state`` is the catcher's), RETRIABLE (a retrier matched:
``retry_delay`` says when the next attempt would start).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from statemachine.errors import StatesError
from statemachine.expressions.context import EvalContext
from statemachine.expressions.timestamps import format_timestamp
from statemachine.interpreter import (
    ChildrenFailed,
    ChildrenSucceeded,
    Continue,
    Enter,
    Env,
    Event,
    ExecutionInfo,
    Finish,
    Frame,
    InvokeTask,
    Sleep,
    SpawnChildren,
    Step,
    TaskFailed,
    TaskSucceeded,
    TimerFired,
    advance,
    context_object,
)
from statemachine.interpreter.trace import (
    Stage,
    Trace,
    effective_output,
    input_stages,
    result_stages,
)
from statemachine.model import StateMachine
from statemachine.model.states import (
    FailState,
    MapState,
    ParallelState,
    PassState,
    State,
    TaskState,
)

JSON = Any
MISSING: Any = object()
_SEED = 0x5EED
_ACCOUNT = "arn:aws:states:local:000000000000"


class StateTestError(Exception):
    """The state cannot be tested as asked (unknown name, a result is needed)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What the outside world answers: a result (``value``) or an error."""

    value: JSON = None
    error: str | None = None
    cause: str | None = None
    source: str = "mock"


# Called for a Task without a mock: (resource, payload, state name, context object).
RealCall = Callable[[str, JSON, str, dict[str, JSON]], JSON]


@dataclass(slots=True)
class StateRun:
    state: str
    type: str
    query_language: str
    status: str
    stages: list[Stage] = field(default_factory=list)
    output: JSON = None
    error: str | None = None
    cause: str | None = None
    next_state: str | None = None
    variables: dict[str, JSON] = field(default_factory=dict)
    assigned: dict[str, JSON] = field(default_factory=dict)
    retry_delay: float | None = None
    wait_until: str | None = None
    failed_at: str | None = None
    events: list[tuple[str, dict[str, JSON]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, JSON]:
        """Shaped like TestState's answer: status, output, error, cause, nextState and
        ``inspectionData`` with the stages."""
        inspection: dict[str, JSON] = {s.name: s.value for s in self.stages if s.name != "output"}
        inspection["variables"] = self.variables
        out: dict[str, JSON] = {"status": self.status, "state": self.state}
        if self.status in ("SUCCEEDED", "CAUGHT_ERROR"):
            out["output"] = self.output
        if self.error is not None:
            out["error"] = self.error
            out["cause"] = self.cause
        if self.next_state is not None:
            out["nextState"] = self.next_state
        if self.retry_delay is not None:
            out["retryBackoffIntervalSeconds"] = self.retry_delay
        out["inspectionData"] = inspection
        return out


def find_state(machine: StateMachine, name: str) -> tuple[str, State]:
    for key, scope in machine.scopes.items():
        if name in scope.states:
            return key, scope.states[name]
    known = ", ".join(sorted(state.name for _scope, state in machine.iter_states()))
    raise StateTestError(f"no state named {name!r} (states: {known})")


def run_state(
    machine: StateMachine,
    name: str,
    input: JSON,
    *,
    answer: Answer | None = None,
    variables: Mapping[str, JSON] | None = None,
    real_call: RealCall | None = None,
    now: datetime,
) -> StateRun:
    """Run state ``name`` once on ``input``; ``answer`` is the task result (or the list of
    Map/Parallel results), else ``real_call`` calls the registered tool."""
    scope, state = find_state(machine, name)
    before = dict(variables or {})
    env = Env(
        now=now,
        execution=ExecutionInfo(
            execution_id=f"{_ACCOUNT}:execution:machine:test-state",
            name="test-state",
            state_machine_id=f"{_ACCOUNT}:stateMachine:machine",
            state_machine_name="machine",
            start_time=format_timestamp(now),
            input=input,
        ),
        seed=_SEED,
    )
    answers: list[Answer] = []

    def respond(effect: InvokeTask | SpawnChildren, frame: Frame) -> Answer:
        if answers:  # the replay without Retry/Catch reuses the first answer
            return answers[0]
        answers.append(_first_answer(state, effect, frame, answer, real_call))
        return answers[0]

    drive = _Drive(machine, Frame(scope, name, input, before), env, respond)
    real = drive.run()
    run = StateRun(name, state.type, state.query_language, "SUCCEEDED", events=real.events)
    final = real.step
    run.variables = dict(final.frame.variables)
    run.assigned = {k: v for k, v in run.variables.items() if before.get(k, MISSING) != v}
    if isinstance(final.effect, Sleep):  # a retrier matched
        run.status = "RETRIABLE"
        run.retry_delay = (final.effect.until - real.now).total_seconds()
    elif isinstance(final.effect, Finish) and final.effect.status == "FAILED":
        run.status = "FAILED"
        run.error, run.cause = final.effect.error, final.effect.cause
    else:
        run.output = _exit_output(real.events)
        if isinstance(final.effect, Finish):
            run.output = final.effect.output
        if isinstance(final.effect, Continue):
            run.next_state = final.frame.state
    if run.status != "FAILED":
        bare = _without_error_handling(machine, scope, state)
        replay = _Drive(bare, Frame(scope, name, input, before), env, respond).run().step
        if isinstance(replay.effect, Finish) and replay.effect.status == "FAILED":
            run.error, run.cause = replay.effect.error, replay.effect.cause
            if run.status == "SUCCEEDED":
                run.status = "CAUGHT_ERROR"
    run.wait_until = real.wait_until
    trace = _trace(state, input, before, env, real, answers[0] if answers else None)
    run.stages = trace.stages
    run.failed_at = trace.failed_at
    if run.status in ("SUCCEEDED", "CAUGHT_ERROR"):
        traced = trace.value("output", MISSING)
        if run.status == "CAUGHT_ERROR" or traced is MISSING:
            run.stages = [s for s in run.stages if s.name != "output"]
            run.stages.append(Stage("output", run.output, "Catch" if run.error else ""))
        elif traced != run.output:
            run.notes.append("the recomputed output differs from the interpreter's; shown: both")
            run.stages.append(Stage("output", run.output, "(interpreter)"))
    return run


@dataclass(slots=True)
class _Result:
    step: Step
    events: list[tuple[str, dict[str, JSON]]]
    now: datetime
    payload: JSON = MISSING
    context: dict[str, JSON] | None = None
    children: list[JSON] | None = None
    wait_until: str | None = None


class _Drive:
    """Advance one frame until it leaves the state, fails, or waits for a retry."""

    def __init__(
        self,
        machine: StateMachine,
        frame: Frame,
        env: Env,
        respond: Callable[[InvokeTask | SpawnChildren, Frame], Answer],
    ) -> None:
        self.machine = machine
        self.frame = frame
        self.env = replace(env)
        self.respond = respond

    def run(self) -> _Result:
        events: list[tuple[str, dict[str, JSON]]] = []
        out = _Result(self.step(Enter(), events), events, self.env.now)
        for _ in range(16):
            effect = out.step.effect
            frame = out.step.frame
            if isinstance(effect, InvokeTask):
                out.payload = effect.payload
                out.context = (frame.pending or {}).get("context")
                answer = self.respond(effect, frame)
                event: Event = (
                    TaskSucceeded(answer.value)
                    if answer.error is None
                    else TaskFailed(answer.error, answer.cause)
                )
            elif isinstance(effect, SpawnChildren):
                out.children = [child.input for child in effect.children]
                answer = self.respond(effect, frame)
                event = (
                    ChildrenSucceeded(answer.value)
                    if answer.error is None
                    else ChildrenFailed(answer.error, answer.cause)
                )
            elif isinstance(effect, Sleep) and effect.reason == "wait":
                out.wait_until = format_timestamp(effect.until)
                self.env.now = effect.until
                event = TimerFired()
            else:
                break
            out.step = self.step(event, events)
            out.now = self.env.now
        return out

    def step(self, event: Event, events: list[tuple[str, dict[str, JSON]]]) -> Step:
        self.env.next_event_id = len(events) + 1
        step = advance(self.machine, self.frame, event, self.env)
        self.frame = step.frame
        events.extend(step.events)
        return step


def _first_answer(
    state: State,
    effect: InvokeTask | SpawnChildren,
    frame: Frame,
    answer: Answer | None,
    real_call: RealCall | None,
) -> Answer:
    if isinstance(effect, SpawnChildren):
        if answer is None:
            kind = "Map iterations" if effect.kind == "map" else "Parallel branches"
            raise StateTestError(
                f"{state.name} runs {len(effect.children)} {kind}; give their results "
                "as a JSON array with --mock (or --error)"
            )
        if answer.error is None and not isinstance(answer.value, list):
            raise StateTestError(f"the --mock result of {state.name} must be a JSON array")
        return answer
    if answer is not None:
        return answer
    if effect.task_token is not None:
        raise StateTestError(
            f"{state.name} waits for a task token; give the answer with --mock (or --error)"
        )
    if real_call is None:
        raise StateTestError(f"{state.name} needs a result: --mock JSON or --error NAME")
    context = (frame.pending or {}).get("context") or {}
    try:
        value = real_call(effect.resource, effect.payload, state.name, context)
    except StatesError as exc:
        return Answer(error=exc.error, cause=exc.cause, source=effect.resource)
    return Answer(value, source=effect.resource)


def _without_error_handling(machine: StateMachine, scope: str, state: State) -> StateMachine:
    if not isinstance(state, (TaskState, ParallelState, MapState)):
        return machine
    bare = replace(state, retry=(), catch=())
    target = machine.scopes[scope]
    scopes = dict(machine.scopes)
    scopes[scope] = replace(target, states={**target.states, state.name: bare})
    return replace(machine, scopes=scopes)


def _exit_output(events: list[tuple[str, dict[str, JSON]]]) -> JSON:
    for kind, details in reversed(events):
        if kind.endswith("StateExited"):
            return details.get("output")
    return None


def _trace(
    state: State,
    raw: JSON,
    variables: dict[str, JSON],
    env: Env,
    real: _Result,
    answer: Answer | None,
) -> Trace:
    """Recompute the stages. The Context object and random source are those of the
    interpreter's steps: its first transition (enter) and its second (the result)."""
    if real.context is not None:
        context = real.context
    else:
        context = context_object(
            env,
            state.name,
            format_timestamp(env.now),
            0,
            retries=isinstance(state, (TaskState, ParallelState, MapState)),
        )

    def ectx(transition: int) -> EvalContext:
        # The interpreter seeds each transition's random source this way (core.py).
        rng = random.Random(env.seed * 1_000_003 + transition)
        return EvalContext(context=context, variables=variables, rng=rng)

    if isinstance(state, PassState):
        return result_stages(state, raw, None, ectx(1))
    if isinstance(state, FailState):  # no data flow: Error and Cause only
        return Trace([Stage("input", raw)])
    if not isinstance(state, (TaskState, ParallelState, MapState)):
        return effective_output(state, raw, ectx(1))
    trace = input_stages(state, raw, ectx(1))
    if trace.error is not None:
        return trace
    if isinstance(state, TaskState) and real.payload is not MISSING:
        # The payload the interpreter sent is the truth (and the stage even without
        # Parameters/Arguments): it replaces the recomputed one.
        name = "afterArguments" if state.is_jsonata else "afterParameters"
        source = ("Arguments" if state.is_jsonata else "Parameters") if state.parameters else ""
        trace.stages = [s for s in trace.stages if s.name != name]
        trace.stages.append(Stage(name, real.payload, source or "(no Parameters)"))
    if real.children is not None:
        label = "iterationInputs" if isinstance(state, MapState) else "branchInput"
        shown = real.children if isinstance(state, MapState) else real.children[0]
        trace.stages.append(Stage(label, shown))
    if answer is None:
        return trace
    if answer.error is not None:
        where = f" ({answer.source})" if answer.source != "mock" else ""
        error_output = {"Error": answer.error}
        if answer.cause is not None:
            error_output["Cause"] = answer.cause
        trace.stages.append(Stage("result", error_output, where))
        return trace
    after = result_stages(state, raw, answer.value, ectx(2))
    if after.stages:
        first = after.stages[0]
        after.stages[0] = Stage(first.name, first.value, answer.source)
    trace.stages.extend(after.stages)
    trace.error, trace.failed_at = after.error, after.failed_at
    return trace
