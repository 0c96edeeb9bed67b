"""The data flow of one state, stage by stage, for ``statemachine test-state``.

``advance`` returns only what leaves a state (the task payload, the output); a person
debugging a definition wants every intermediate value, as AWS's TestState API shows them
(its ``inspectionData``). These functions recompute those stages with the very functions
the interpreter uses (:mod:`statemachine.interpreter.dataflow`, the compiled templates and
paths), in the order the ASL spec gives for JSONPath states:

    InputPath -> Parameters -> (result) -> ResultSelector -> ResultPath -> OutputPath

and for JSONata states: Arguments -> (result) -> Output. A stage that fails stops the
trace and carries the error, so the report shows exactly which field broke. The driver
cross-checks the recomputed payload and output with what ``advance`` produced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from statemachine.errors import StatesError
from statemachine.expressions.context import EvalContext
from statemachine.interpreter.dataflow import apply_result_path, select
from statemachine.model.states import (
    ABSENT,
    MapState,
    ParallelState,
    PassState,
    State,
    TaskState,
)

JSON = Any

_WITH_RESULT = (TaskState, ParallelState, MapState)


@dataclass(frozen=True, slots=True)
class Stage:
    """One value in the flow. ``name`` uses AWS TestState's names (``afterInputPath``,
    ``afterParameters``, ``afterArguments``, ``result``, ``afterResultSelector``,
    ``afterResultPath``) plus ``input`` and ``output``; ``source`` says which field
    made it, e.g. ``ResultPath: $.payment``."""

    name: str
    value: JSON
    source: str = ""


@dataclass(slots=True)
class Trace:
    stages: list[Stage] = field(default_factory=list)
    error: StatesError | None = None
    failed_at: str | None = None  # the field whose evaluation raised ``error``

    def value(self, name: str, default: JSON = None) -> JSON:
        for stage in self.stages:
            if stage.name == name:
                return stage.value
        return default


def input_stages(state: State, raw_input: JSON, ctx: EvalContext) -> Trace:
    """From the raw input to what the state works on: the task payload, the Parallel
    branch input, the Pass result, or the Choice/Wait/Succeed effective input."""
    trace = Trace([Stage("input", raw_input)])
    if state.is_jsonata:
        parameters = getattr(state, "parameters", None)
        if parameters is not None and not isinstance(state, MapState):
            binding = {"input": raw_input, "context": ctx.context}
            _stage(trace, "afterArguments", "Arguments", lambda: parameters.evaluate(binding, ctx))
        return trace
    effective = _stage(
        trace,
        "afterInputPath",
        _path_source("InputPath", state.input_path),
        lambda: select(state.input_path, raw_input, ctx, state=state.name, event_id=0),
    )
    if trace.error is not None or isinstance(state, MapState):
        return trace
    parameters = getattr(state, "parameters", None)
    if parameters is not None:
        _stage(trace, "afterParameters", "Parameters", lambda: parameters.evaluate(effective, ctx))
    return trace


def result_stages(state: State, raw_input: JSON, result: JSON, ctx: EvalContext) -> Trace:
    """From a result (task, Map/Parallel results) to the output. A JSONPath Pass state has
    no outside result: its whole flow is traced from the input (``result`` is ignored)."""
    trace = Trace()
    if isinstance(state, PassState):
        trace = input_stages(state, raw_input, ctx)
    if isinstance(state, PassState) and not state.is_jsonata:
        if trace.error is not None:
            return trace
        effective = trace.value("afterParameters", trace.value("afterInputPath"))
        result = effective if state.result is ABSENT else state.result
        trace.stages.append(Stage("result", result, "Result" if state.result is not ABSENT else ""))
    elif isinstance(state, _WITH_RESULT):
        trace.stages.append(Stage("result", result))
    if state.is_jsonata:
        template = state.output
        if template is None:
            output = result if isinstance(state, _WITH_RESULT) else raw_input
            trace.stages.append(Stage("output", output, "(default)"))
            return trace
        binding = {"input": raw_input, "context": ctx.context}
        if isinstance(state, _WITH_RESULT):
            binding["result"] = result
        _stage(trace, "output", "Output", lambda: template.evaluate(binding, ctx))
        return trace
    selector = getattr(state, "result_selector", None)
    if selector is not None:
        result = _stage(
            trace, "afterResultSelector", "ResultSelector", lambda: selector.evaluate(result, ctx)
        )
        if trace.error is not None:
            return trace
    result_path = getattr(state, "result_path", ABSENT)
    merged = _stage(
        trace,
        "afterResultPath",
        _path_source("ResultPath", result_path),
        lambda: apply_result_path(result_path, raw_input, result),
    )
    if trace.error is not None:
        return trace
    _stage(
        trace,
        "output",
        _path_source("OutputPath", state.output_path),
        lambda: select(state.output_path, merged, ctx, state=state.name, event_id=0),
    )
    return trace


def effective_output(state: State, raw_input: JSON, ctx: EvalContext) -> Trace:
    """Choice, Wait and Succeed (JSONPath): InputPath, then OutputPath on the same value."""
    trace = input_stages(state, raw_input, ctx)
    if trace.error is not None or state.is_jsonata:
        return trace
    effective = trace.value("afterInputPath")
    _stage(
        trace,
        "output",
        _path_source("OutputPath", state.output_path),
        lambda: select(state.output_path, effective, ctx, state=state.name, event_id=0),
    )
    return trace


def _stage(trace: Trace, name: str, source: str, compute: Any) -> JSON:
    try:
        value = compute()
    except StatesError as exc:
        trace.error = exc
        trace.failed_at = source.split(":")[0]
        return None
    trace.stages.append(Stage(name, value, source))
    return value


def _path_source(name: str, path: Any) -> str:
    if path is ABSENT:
        return f"{name}: $ (default)"
    if path is None:
        return f"{name}: null"
    return f"{name}: {path.text}"
