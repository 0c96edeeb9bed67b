"""One state, stage by stage (``statemachine test-state``): the pure trace helpers and
the driver that runs a state through ``advance``."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from statemachine.definition import load
from statemachine.expressions.context import EvalContext
from statemachine.interpreter.trace import effective_output, input_stages, result_stages
from statemachine.testing.state_test import Answer, StateTestError, run_state

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def machine(states: dict[str, Any], **top: Any) -> Any:
    return load({"StartAt": next(iter(states)), "States": states, **top})


def ctx() -> EvalContext:
    return EvalContext(context={"State": {"Name": "S"}}, variables={}, rng=random.Random(0))


def test_jsonpath_task_stages_in_spec_order() -> None:
    m = machine(
        {
            "S": {
                "Type": "Task",
                "Resource": "tool:x",
                "InputPath": "$.in",
                "Parameters": {"v.$": "$.v", "name.$": "$$.State.Name"},
                "ResultSelector": {"r.$": "$.r"},
                "ResultPath": "$.out",
                "OutputPath": "$.out",
                "End": True,
            }
        }
    )
    state = m.states["S"]
    raw = {"in": {"v": 1}, "keep": True}
    before = input_stages(state, raw, ctx())
    assert [(s.name, s.value) for s in before.stages] == [
        ("input", raw),
        ("afterInputPath", {"v": 1}),
        ("afterParameters", {"v": 1, "name": "S"}),
    ]
    after = result_stages(state, raw, {"r": 2, "noise": 3}, ctx())
    assert [(s.name, s.value) for s in after.stages] == [
        ("result", {"r": 2, "noise": 3}),
        ("afterResultSelector", {"r": 2}),
        ("afterResultPath", {"in": {"v": 1}, "keep": True, "out": {"r": 2}}),
        ("output", {"r": 2}),
    ]
    assert raw == {"in": {"v": 1}, "keep": True}  # never mutated


def test_a_failing_stage_stops_the_trace() -> None:
    m = machine({"S": {"Type": "Task", "Resource": "tool:x", "ResultPath": "$.a.b", "End": True}})
    trace = result_stages(m.states["S"], "not an object", {"r": 1}, ctx())
    assert [s.name for s in trace.stages] == ["result"]
    assert trace.failed_at == "ResultPath"
    assert trace.error is not None


def test_pass_and_choice_stages() -> None:
    m = machine(
        {
            "P": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "Next": "C"},
            "C": {
                "Type": "Choice",
                "InputPath": "$.r",
                "Choices": [{"Variable": "$.x", "NumericEquals": 1, "Next": "D"}],
                "Default": "D",
            },
            "D": {"Type": "Succeed"},
        }
    )
    p = result_stages(m.states["P"], {"a": 0}, None, ctx())
    assert [(s.name, s.value) for s in p.stages] == [
        ("input", {"a": 0}),
        ("afterInputPath", {"a": 0}),
        ("result", {"x": 1}),
        ("afterResultPath", {"a": 0, "r": {"x": 1}}),
        ("output", {"a": 0, "r": {"x": 1}}),
    ]
    c = effective_output(m.states["C"], {"r": {"x": 1}}, ctx())
    assert [s.name for s in c.stages] == ["input", "afterInputPath", "output"]
    assert c.value("output") == {"x": 1}


def test_run_state_choice_and_wait() -> None:
    m = machine(
        {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "W"}],
                "Default": "W",
            },
            "W": {"Type": "Wait", "Seconds": 3600, "OutputPath": "$.n", "Next": "Done"},
            "Done": {"Type": "Succeed"},
        }
    )
    choice = run_state(m, "C", {"n": 2}, now=NOW)
    assert (choice.status, choice.next_state, choice.output) == ("SUCCEEDED", "W", {"n": 2})
    wait = run_state(m, "W", {"n": 2}, now=NOW)
    assert (wait.status, wait.next_state, wait.output) == ("SUCCEEDED", "Done", 2)
    assert wait.wait_until == "2026-05-04T13:00:00.000Z"


def test_run_state_map_and_parallel_take_their_results_from_the_mock() -> None:
    m = machine(
        {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.xs",
                "ItemSelector": {"i.$": "$$.Map.Item.Index", "x.$": "$$.Map.Item.Value"},
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
                "ResultPath": "$.ys",
                "Next": "P",
            },
            "P": {
                "Type": "Parallel",
                "Parameters": {"only.$": "$.ys"},
                "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}],
                "ResultSelector": {"first.$": "$[0]"},
                "End": True,
            },
        }
    )
    run = run_state(m, "M", {"xs": ["a", "b"]}, answer=Answer([1, 2]), now=NOW)
    assert run.status == "SUCCEEDED"
    stages = {s.name: s.value for s in run.stages}
    assert stages["iterationInputs"] == [{"i": 0, "x": "a"}, {"i": 1, "x": "b"}]
    assert run.output == {"xs": ["a", "b"], "ys": [1, 2]}
    par = run_state(m, "P", {"ys": [1]}, answer=Answer(["r"]), now=NOW)
    stages = {s.name: s.value for s in par.stages}
    assert stages["branchInput"] == {"only": [1]}
    assert par.output == {"first": "r"}
    with pytest.raises(StateTestError, match="give their results as a JSON array"):
        run_state(m, "M", {"xs": [1]}, now=NOW)


def test_run_state_reports_a_caught_data_flow_error() -> None:
    m = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": "tool:x",
                "ResultSelector": {"v.$": "$.missing"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F"}],
                "End": True,
            },
            "F": {"Type": "Pass", "End": True},
        }
    )
    # States.ALL does not catch States.Runtime (AWS): the data-flow error fails the state.
    run = run_state(m, "T", {}, answer=Answer({"other": 1}), now=NOW)
    assert (run.status, run.error, run.failed_at) == ("FAILED", "States.Runtime", "ResultSelector")


def test_run_state_calls_a_real_tool_once_even_when_it_replays() -> None:
    m = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": "tool:x",
                "Catch": [{"ErrorEquals": ["Nope"], "Next": "F"}],
                "End": True,
            },
            "F": {"Type": "Pass", "End": True},
        }
    )
    calls: list[Any] = []

    def real(resource: str, payload: Any, state: str, context: dict[str, Any]) -> Any:
        calls.append((resource, payload, state))
        from statemachine.errors import StatesError

        raise StatesError("Nope", "no")

    run = run_state(m, "T", {"a": 1}, real_call=real, now=NOW)
    assert (run.status, run.next_state, run.error) == ("CAUGHT_ERROR", "F", "Nope")
    assert calls == [("tool:x", {"a": 1}, "T")]
