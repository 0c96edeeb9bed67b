"""The pure interpreter: ``advance(machine, frame, event, env) -> Step``.

One call is one transition of one frame: it reads the frame snapshot and the event that
woke it (enter, task result, timer, children done), and returns the next snapshot, the
effect the driver must perform and the history events to append. It never touches a
clock, a database or a handler: the driver (in-memory runner or durable worker) does.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from statemachine.errors import StatesError
from statemachine.expressions.context import EvalContext
from statemachine.expressions.jsonata_base import UNDEFINED
from statemachine.expressions.jsonpath import PathNotFound
from statemachine.expressions.timestamps import format_timestamp
from statemachine.interpreter.dataflow import (
    apply_result_path,
    check_size,
    runtime_error,
    select,
)
from statemachine.interpreter.frame import (
    ChildrenFailed,
    ChildrenSucceeded,
    ChildSpec,
    Continue,
    Enter,
    Env,
    Event,
    Finish,
    Frame,
    HistoryEvent,
    InvokeTask,
    ItemsRead,
    ResultsWritten,
    Sleep,
    SpawnChildren,
    Step,
    TaskFailed,
    TaskSucceeded,
    TimerFired,
)
from statemachine.interpreter.retry import decide_retry, find_catcher
from statemachine.interpreter.wait import run_wait
from statemachine.model.states import (
    ABSENT,
    ChoiceState,
    Dyn,
    FailState,
    MapState,
    ParallelState,
    PassState,
    State,
    StateMachine,
    SucceedState,
    TaskState,
    WaitState,
)

JSON = Any

_CHILD_STATES = (TaskState, ParallelState, MapState)


def advance(machine: StateMachine, frame: Frame, event: Event, env: Env) -> Step:
    """Move ``frame`` one transition forward in response to ``event``."""
    state = machine.scopes[frame.scope].states[frame.state]
    new = Frame(
        scope=frame.scope,
        state=frame.state,
        input=frame.input,
        variables=frame.variables,
        phase=frame.phase,
        status=frame.status,
        entered_time=frame.entered_time,
        entered_event_id=frame.entered_event_id,
        attempts=frame.attempts,
        retry_count=frame.retry_count,
        pending=frame.pending,
        transitions=frame.transitions + 1,
    )
    return _Transition(machine, state, new, env).run(event)


def context_object(
    env: Env,
    state_name: str,
    entered_time: str,
    retry_count: int,
    *,
    token: str | None = None,
    item: tuple[int, JSON] | None = None,
    retries: bool = True,
) -> dict[str, JSON]:
    """The Context object (``$$`` / ``$states.context``) as AWS documents its fields."""
    ex = env.execution
    execution: dict[str, JSON] = {
        "Id": ex.execution_id,
        "Input": ex.input,
        "Name": ex.name,
        "RoleArn": ex.role_arn,
        "StartTime": ex.start_time,
        "RedriveCount": ex.redrive_count,
    }
    if ex.redrive_time is not None:
        execution["RedriveTime"] = ex.redrive_time
    ctx: dict[str, JSON] = {
        "Execution": execution,
        "State": {"EnteredTime": entered_time, "Name": state_name},
        "StateMachine": {"Id": ex.state_machine_id, "Name": ex.state_machine_name},
    }
    if retries:
        # AWS sets State.RetryCount only for the states that can retry.
        ctx["State"]["RetryCount"] = retry_count
    if token is not None:
        ctx["Task"] = {"Token": token}
    if item is not None:
        ctx["Map"] = {"Item": {"Index": item[0], "Value": item[1]}}
    return ctx


class _Transition:
    """Working memory of one ``advance`` call; discarded when it returns."""

    __slots__ = ("_rng", "env", "events", "frame", "machine", "state")

    def __init__(self, machine: StateMachine, state: State, frame: Frame, env: Env) -> None:
        self.machine = machine
        self.state = state
        self.frame = frame
        self.env = env
        self.events: list[HistoryEvent] = []
        self._rng: random.Random | None = None

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def rng(self) -> random.Random:
        return self._make_rng()

    def _make_rng(self) -> random.Random:
        """The transition's one generator, seeded on first use."""
        if self._rng is None:
            self._rng = random.Random(self.env.seed * 1_000_003 + self.frame.transitions)
        return self._rng

    def emit(self, kind: str, details: dict[str, JSON]) -> int:
        self.events.append((kind, details))
        return self.env.next_event_id + len(self.events) - 1

    def context(self, *, item: tuple[int, JSON] | None = None) -> dict[str, JSON]:
        token = (self.frame.pending or {}).get("token")
        return context_object(
            self.env,
            self.state.name,
            self.frame.entered_time,
            self.frame.retry_count,
            token=token,
            item=item,
            retries=isinstance(self.state, _CHILD_STATES),
        )

    def ectx(self, context: dict[str, JSON] | None = None) -> EvalContext:
        return EvalContext(
            context=context if context is not None else self.context(),
            variables=self.frame.variables,
            rng=self._rng,
            rng_source=self._make_rng,  # seeded only if an expression draws from it
        )

    def states_binding(self, ctx: EvalContext, **extra: JSON) -> dict[str, JSON]:
        binding = {"input": self.frame.input, "context": ctx.context}
        binding.update(extra)
        return binding

    def step(self, effect: Any) -> Step:
        return Step(self.frame, effect, self.events)

    def dyn(self, dyn: Dyn, data: JSON, ctx: EvalContext) -> JSON:
        if dyn.kind == "value":
            return dyn.value
        if dyn.kind == "path":
            try:
                return dyn.path.find(data, ctx)
            except PathNotFound:
                raise runtime_error(
                    self.state.name,
                    self.frame.entered_event_id,
                    f"Invalid path '{dyn.path.text}' : No results for path: {dyn.path.normalized}",
                ) from None
        if dyn.kind == "intrinsic":
            return dyn.path.evaluate(data, ctx)
        value = dyn.jsonata.evaluate(self.states_binding(ctx), ctx, field=dyn.source)
        if value is UNDEFINED:
            raise dyn.jsonata.undefined_error(dyn.source)
        return value

    # -- dispatch ---------------------------------------------------------------------------

    def run(self, event: Event) -> Step:
        try:
            if isinstance(event, Enter):
                return self.enter()
            if isinstance(event, TaskSucceeded):
                return self.task_succeeded(event.result)
            if isinstance(event, TaskFailed):
                kind = "TaskTimedOut" if event.error in _TIMEOUT_ERRORS else "TaskFailed"
                self.emit(
                    kind,
                    {"resource": self._resource(), "error": event.error, "cause": event.cause},
                )
                return self.handle_error(event.error, event.cause, min_delay=event.retry_after)
            if isinstance(event, TimerFired):
                if self.frame.phase == "retry":
                    self.frame.phase = "enter"
                    return self.execute()
                return self.wait_done()
            if isinstance(event, ChildrenSucceeded):
                return self.children_succeeded(event.results)
            if isinstance(event, ItemsRead):
                return self.items_read(event.items)
            if isinstance(event, ResultsWritten):
                self.emit("MapStateSucceeded", {})
                return self.finish_with_result(event.details)
            if isinstance(event, ChildrenFailed):
                kind = (
                    "MapStateFailed"
                    if isinstance(self.state, MapState)
                    else ("ParallelStateFailed")
                )
                self.emit(kind, {"error": event.error, "cause": event.cause})
                return self.handle_error(event.error, event.cause)
        except StatesError as exc:
            return self.handle_error(*self.located(exc))
        raise TypeError(f"unknown event {event!r}")

    def located(self, exc: StatesError) -> tuple[str, str | None]:
        """States.Runtime causes name the state and its entered event, as AWS prints them."""
        cause = exc.cause
        if exc.error == "States.Runtime" and not (cause or "").startswith(_RUNTIME_PREFIX):
            cause = runtime_error(self.state.name, self.frame.entered_event_id, cause or "").cause
        return exc.error, cause

    def _resource(self) -> str:
        return getattr(self.state, "resource", "")

    # -- entering a state -------------------------------------------------------------------

    def enter(self) -> Step:
        frame = self.frame
        frame.entered_time = format_timestamp(self.env.now)
        frame.attempts = ()
        frame.retry_count = 0
        frame.pending = None
        frame.entered_event_id = self.emit(
            f"{self.state.type}StateEntered", {"name": self.state.name, "input": frame.input}
        )
        try:
            return self.execute()
        except StatesError as exc:
            return self.handle_error(*self.located(exc))

    def execute(self) -> Step:
        """Run the state body (first entry, or again after a retry back-off)."""
        state = self.state
        if isinstance(state, PassState):
            return self.run_pass(state)
        if isinstance(state, TaskState):
            return self.run_task(state)
        if isinstance(state, ChoiceState):
            return self.run_choice(state)
        if isinstance(state, WaitState):
            return self.run_wait(state)
        if isinstance(state, SucceedState):
            return self.run_succeed(state)
        if isinstance(state, FailState):
            return self.run_fail(state)
        if isinstance(state, ParallelState):
            return self.run_parallel(state)
        if isinstance(state, MapState):
            return self.run_map(state)
        raise TypeError(f"unknown state {state!r}")

    def effective_input(self, ctx: EvalContext) -> JSON:
        return select(
            self.state.input_path,
            self.frame.input,
            ctx,
            state=self.state.name,
            event_id=self.frame.entered_event_id,
        )

    def assign(self, template: Any, data: JSON, ctx: EvalContext, **states: JSON) -> dict:
        """Evaluate Assign against the values as of state entry (applied on exit)."""
        if template is None:
            return {}
        if self.state.is_jsonata:
            value = template.evaluate(self.states_binding(ctx, **states), ctx, field="Assign")
        else:
            value = template.evaluate(data, ctx)
        return dict(value)

    def jsonata_output(self, template: Any, default: JSON, ctx: EvalContext, **states: JSON):
        if template is None:
            return default
        return template.evaluate(self.states_binding(ctx, **states), ctx, field="Output")

    def run_pass(self, state: PassState) -> Step:
        ctx = self.ectx()
        raw = self.frame.input
        if state.is_jsonata:
            assigned = self.assign(state.assign, raw, ctx)
            return self.exit(self.jsonata_output(state.output, raw, ctx), assigned)
        effective = self.effective_input(ctx)
        if state.parameters is not None:
            effective = state.parameters.evaluate(effective, ctx)
        result = effective if state.result is ABSENT else state.result
        assigned = self.assign(state.assign, result, ctx)
        output = apply_result_path(state.result_path, raw, result)
        return self.exit(self.output_path(output, ctx), assigned)

    def output_path(self, data: JSON, ctx: EvalContext) -> JSON:
        return select(
            self.state.output_path,
            data,
            ctx,
            state=self.state.name,
            event_id=self.frame.entered_event_id,
        )

    def run_task(self, state: TaskState) -> Step:
        frame = self.frame
        token = None
        if state.wait_for_task_token:
            source = self.env.token_source
            token = (
                source()
                if source is not None
                else f"{self.rng.getrandbits(128):032x}{self.rng.getrandbits(128):032x}"
            )
            frame.pending = {"token": token}
        ctx = self.ectx()
        if state.is_jsonata:
            effective = frame.input
            payload = (
                effective
                if state.parameters is None
                else state.parameters.evaluate(self.states_binding(ctx), ctx, field="Arguments")
            )
        else:
            effective = self.effective_input(ctx)
            payload = (
                effective if state.parameters is None else state.parameters.evaluate(effective, ctx)
            )
        timeout = self._seconds(state.timeout_seconds, effective, ctx)
        heartbeat = self._seconds(state.heartbeat_seconds, effective, ctx)
        check_size(payload, self.env.payload_limit, "task input", state.name)
        frame.phase = "task"
        frame.pending = {
            "payload": payload,
            "token": token,
            "timeout": timeout,
            "heartbeat": heartbeat,
            "context": ctx.context,
        }
        details: dict[str, JSON] = {"resource": state.resource, "parameters": payload}
        if timeout is not None:
            details["timeoutInSeconds"] = timeout
        if heartbeat is not None:
            details["heartbeatInSeconds"] = heartbeat
        self.emit("TaskScheduled", details)
        return self.step(
            InvokeTask(
                resource=state.resource,
                payload=payload,
                timeout_seconds=timeout,
                heartbeat_seconds=heartbeat,
                task_token=token,
            )
        )

    def _seconds(self, dyn: Dyn | None, data: JSON, ctx: EvalContext) -> float | None:
        if dyn is None:
            return None
        value = self.dyn(dyn, data, ctx)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise runtime_error(
                self.state.name,
                self.frame.entered_event_id,
                f"The value of '{dyn.source}' must be a positive integer, got {value!r}",
            )
        return value

    def task_succeeded(self, result: JSON) -> Step:
        state = self.state
        assert isinstance(state, TaskState)
        try:
            check_size(result, self.env.payload_limit, "result", state.name)
        except StatesError as exc:
            self.emit(
                "TaskFailed", {"resource": state.resource, "error": exc.error, "cause": exc.cause}
            )
            return self.handle_error(exc.error, exc.cause, wildcard_all=True)
        self.emit("TaskSucceeded", {"resource": state.resource, "output": result})
        return self.finish_with_result(result)

    def finish_with_result(self, result: JSON) -> Step:
        """Shared tail of Task, Parallel and Map: ResultSelector/ResultPath/OutputPath."""
        state = self.state
        check_size(result, self.env.payload_limit, "result", state.name)
        ctx = self.ectx(self.frame.pending.get("context") if self.frame.pending else None)
        raw = self.frame.input
        if state.is_jsonata:
            assigned = self.assign(state.assign, raw, ctx, result=result)
            output = self.jsonata_output(state.output, result, ctx, result=result)
            return self.exit(output, assigned)
        selector = getattr(state, "result_selector", None)
        if selector is not None:
            result = selector.evaluate(result, ctx)
        assigned = self.assign(state.assign, result, ctx)
        output = apply_result_path(getattr(state, "result_path", ABSENT), raw, result)
        return self.exit(self.output_path(output, ctx), assigned)

    def run_choice(self, state: ChoiceState) -> Step:
        ctx = self.ectx()
        raw = self.frame.input
        if state.is_jsonata:
            states = self.states_binding(ctx)
            for branch in state.choices:
                matched = branch.condition.evaluate(states, ctx, field="Condition")
                if matched is UNDEFINED:
                    raise branch.condition.undefined_error("Condition")
                if not isinstance(matched, bool):
                    raise StatesError(
                        "States.QueryEvaluationError",
                        f"The Condition field of a choice rule in state '{state.name}' "
                        f"evaluated to a non-boolean value: {matched!r}",
                    )
                if matched:
                    template = branch.assign if branch.assign is not None else state.assign
                    assigned = self.assign(template, raw, ctx)
                    out_t = branch.output if branch.output is not None else state.output
                    return self.exit(self.jsonata_output(out_t, raw, ctx), assigned, branch.next)
            if state.default is None:
                raise _no_choice()
            assigned = self.assign(state.assign, raw, ctx)
            return self.exit(self.jsonata_output(state.output, raw, ctx), assigned, state.default)
        effective = self.effective_input(ctx)
        for branch in state.choices:
            if branch.rule.evaluate(effective, ctx):
                template = branch.assign if branch.assign is not None else state.assign
                assigned = self.assign(template, effective, ctx)
                return self.exit(self.output_path(effective, ctx), assigned, branch.next)
        if state.default is None:
            raise _no_choice()
        assigned = self.assign(state.assign, effective, ctx)
        return self.exit(self.output_path(effective, ctx), assigned, state.default)

    def run_wait(self, state: WaitState) -> Step:
        return run_wait(self, state)

    def wait_done(self) -> Step:
        pending = self.frame.pending or {}
        return self.exit(pending.get("output"), pending.get("assigned") or {})

    def run_succeed(self, state: SucceedState) -> Step:
        ctx = self.ectx()
        if state.is_jsonata:
            output = self.jsonata_output(state.output, self.frame.input, ctx)
        else:
            output = self.output_path(self.effective_input(ctx), ctx)
        return self.exit(output, {}, end=True)

    def run_fail(self, state: FailState) -> Step:
        ctx = self.ectx()
        raw = self.frame.input
        error = self._fail_field(state.error, raw, ctx)
        cause = self._fail_field(state.cause, raw, ctx)
        frame = self.frame
        frame.phase = "done"
        frame.status = "FAILED"
        frame.error = error
        frame.cause = cause
        return self.step(Finish("FAILED", error=error, cause=cause))

    def _fail_field(self, dyn: Dyn | None, raw: JSON, ctx: EvalContext) -> str | None:
        if dyn is None:
            return None
        value = self.dyn(dyn, raw, ctx)
        if not isinstance(value, str):
            if dyn.kind == "jsonata":
                raise StatesError(
                    "States.QueryEvaluationError",
                    f"The {dyn.source} field of state '{self.state.name}' must evaluate to a "
                    f"string, got {value!r}",
                )
            raise runtime_error(
                self.state.name,
                self.frame.entered_event_id,
                f"The value of {dyn.source} must be a string, got {value!r}",
            )
        return value

    def run_parallel(self, state: ParallelState) -> Step:
        ctx = self.ectx()
        if state.is_jsonata:
            branch_input = (
                self.frame.input
                if state.parameters is None
                else state.parameters.evaluate(self.states_binding(ctx), ctx, field="Arguments")
            )
        else:
            effective = self.effective_input(ctx)
            branch_input = (
                effective if state.parameters is None else state.parameters.evaluate(effective, ctx)
            )
        self.emit("ParallelStateStarted", {})
        children = tuple(
            ChildSpec(scope=branch.key, input=branch_input, index=i)
            for i, branch in enumerate(state.branches)
        )
        self.frame.phase = "children"
        self.frame.pending = {"context": ctx.context}
        return self.step(SpawnChildren("parallel", children, variables=dict(self.frame.variables)))

    def run_map(self, state: MapState) -> Step:
        from statemachine.interpreter.map_items import map_children, reader_request

        ctx = self.ectx()
        if state.item_reader is not None:
            request = reader_request(self, state, ctx)
            self.frame.phase = "reading"
            self.frame.pending = {"context": ctx.context}
            return self.step(request)
        return self.spawn_map(state, ctx, map_children(self, state, ctx))

    def items_read(self, items: list[JSON]) -> Step:
        from statemachine.interpreter.map_items import map_children

        state = self.state
        assert isinstance(state, MapState)
        ctx = self.ectx((self.frame.pending or {}).get("context"))
        return self.spawn_map(state, ctx, map_children(self, state, ctx, items=items))

    def spawn_map(self, state: MapState, ctx: EvalContext, spec: SpawnChildren) -> Step:
        self.frame.pending = {"context": ctx.context}
        self.emit("MapStateStarted", {"length": len(spec.children)})
        if not spec.children:
            self.emit("MapStateSucceeded", {})
            return self.finish_with_result([])
        self.frame.phase = "children"
        return self.step(spec)

    def children_succeeded(self, results: list[JSON]) -> Step:
        state = self.state
        if isinstance(state, MapState) and state.result_writer is not None:
            from statemachine.interpreter.map_items import writer_request

            ctx = self.ectx((self.frame.pending or {}).get("context"))
            self.frame.phase = "writing"
            return self.step(writer_request(self, state, ctx, results))
        if isinstance(state, MapState):
            self.emit("MapStateSucceeded", {})
        else:
            self.emit("ParallelStateSucceeded", {})
        return self.finish_with_result(results)

    # -- leaving a state --------------------------------------------------------------------

    def exit(
        self,
        output: JSON,
        assigned: dict[str, JSON],
        next_state: str | None = None,
        *,
        end: bool = False,
    ) -> Step:
        state = self.state
        frame = self.frame
        check_size(output, self.env.payload_limit, "output", state.name)
        self.emit(f"{state.type}StateExited", {"name": state.name, "output": output})
        if assigned:
            variables = dict(frame.variables)
            variables.update(assigned)
            frame.variables = variables
        target = next_state or state.next
        frame.pending = None
        frame.attempts = ()
        frame.retry_count = 0
        if end or (target is None and (state.end or isinstance(state, SucceedState))):
            frame.phase = "done"
            frame.status = "SUCCEEDED"
            frame.output = output
            return self.step(Finish("SUCCEEDED", output=output))
        frame.state = target  # type: ignore[assignment]
        frame.input = output
        frame.phase = "enter"
        return self.step(Continue())

    def handle_error(
        self,
        error: str,
        cause: str | None,
        *,
        wildcard_all: bool = False,
        min_delay: float | None = None,
    ) -> Step:
        state = self.state
        frame = self.frame
        if isinstance(state, _CHILD_STATES):
            decision = decide_retry(
                state.retry, frame.attempts, error, self.rng, wildcard_all=wildcard_all
            )
            if decision is not None:
                frame.attempts = decision.attempts
                frame.retry_count += 1
                frame.phase = "retry"
                delay = max(decision.delay_seconds, min_delay or 0.0)
                until = self.env.now + timedelta(seconds=delay)
                frame.pending = {"until": format_timestamp(until), "error": error}
                return self.step(Sleep(until=until, reason="retry"))
            catcher = find_catcher(state.catch, error, wildcard_all=wildcard_all)
            if catcher is not None:
                return self.caught(catcher, error, cause)
        frame.phase = "done"
        frame.status = "FAILED"
        frame.error = error
        frame.cause = cause
        frame.pending = None
        return self.step(Finish("FAILED", error=error, cause=cause))

    def caught(self, catcher: Any, error: str, cause: str | None) -> Step:
        error_output: dict[str, JSON] = {"Error": error}
        if cause is not None:
            error_output["Cause"] = cause
        raw = self.frame.input
        try:
            ctx = self.ectx()
            if self.state.is_jsonata:
                extra = {"errorOutput": error_output}
                assigned = self.assign(catcher.assign, raw, ctx, **extra)
                output = self.jsonata_output(catcher.output, error_output, ctx, **extra)
            else:
                assigned = self.assign(catcher.assign, error_output, ctx)
                output = apply_result_path(catcher.result_path, raw, error_output)
            return self.exit(output, assigned, catcher.next)
        except StatesError as exc:
            frame = self.frame
            frame.phase = "done"
            frame.status = "FAILED"
            frame.error = exc.error
            frame.cause = exc.cause
            return self.step(Finish("FAILED", error=exc.error, cause=exc.cause))


_RUNTIME_PREFIX = "An error occurred while executing the state"
_TIMEOUT_ERRORS = frozenset({"States.Timeout", "States.HeartbeatTimeout"})


def _no_choice() -> StatesError:
    # The spec names States.NoChoiceMatched; AWS fails with States.Runtime (DESIGN.md:
    # follow AWS). The state-name prefix is added by _Transition.located.
    return StatesError(
        "States.Runtime",
        "Failed to transition out of the state. The state does not point to a next state.",
    )
