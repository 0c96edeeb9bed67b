"""Mocks in ``*.test.yaml``: fixed results, failures, sequences, Map iterations, resource
keys, strict mode, real tools for unmocked Tasks, and LLM replies with tool calls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from statemachine.handlers.registry import ToolRegistry
from statemachine.testing import CaseResult, run_file

# The write_case fixture (conftest.py): (definition, cases, name=..., **fields) -> file.
WriteCase = Callable[..., Path]

RETRY_CATCH = {
    "StartAt": "A",
    "States": {
        "A": {
            "Type": "Task",
            "Resource": "tool:a",
            "ResultPath": "$.a",
            "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 3}],
            "Catch": [{"ErrorEquals": ["Broken"], "ResultPath": "$.err", "Next": "Fallback"}],
            "Next": "B",
        },
        "B": {"Type": "Task", "Resource": "tool:b", "ResultPath": "$.b", "End": True},
        "Fallback": {"Type": "Pass", "End": True},
    },
}

MAP = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemProcessor": {
                "StartAt": "T",
                "States": {
                    "T": {
                        "Type": "Task",
                        "Resource": "tool:t",
                        "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1}],
                        "End": True,
                    }
                },
            },
            "End": True,
        }
    },
}


def run_one(path: Path, **kwargs: Any) -> CaseResult:
    results = run_file(path, **kwargs)
    assert len(results) == 1, results
    return results[0]


def assert_passed(result: CaseResult) -> None:
    assert result.outcome == "passed", result.details()


def test_a_sequence_answers_by_invocation_count(write_case: WriteCase) -> None:
    path = write_case(
        RETRY_CATCH,
        [
            {
                "name": "retried",
                "mocks": {
                    "A": {"sequence": [{"error": "Flaky"}, {"error": "Flaky"}, {"result": 1}]},
                    "B": {"result": {"ok": True}},
                },
                "expect": {
                    "status": "SUCCEEDED",
                    "output": {"a": 1, "b": {"ok": True}},
                    "calls": {"A": 3, "B": 1},
                    "path": ["A", "B"],
                    "duration": 3,  # back-off 1 s then 2 s, on the virtual clock
                },
            }
        ],
    )
    assert_passed(run_one(path))


def test_the_last_response_of_a_sequence_repeats(write_case: WriteCase) -> None:
    path = write_case(
        RETRY_CATCH,
        [
            {
                "name": "always flaky",
                "mocks": {"A": {"sequence": [{"error": "Flaky", "cause": "again"}]}},
                "expect": {
                    "status": "FAILED",
                    "error": "Flaky",
                    "cause": "again",
                    "calls": {"A": 4},
                },
            }
        ],
    )
    assert_passed(run_one(path))


def test_a_caught_failure_and_its_error_output(write_case: WriteCase) -> None:
    path = write_case(
        RETRY_CATCH,
        [
            {
                "name": "caught",
                "input": {"x": 1},
                "mocks": {"A": {"error": "Broken", "cause": "gone"}},
                "expect": {
                    "status": "SUCCEEDED",
                    "output": {"x": 1, "err": {"Error": "Broken", "Cause": "gone"}},
                    "path": ["A", "Fallback"],
                    "calls": {"A": 1, "B": 0},
                },
            }
        ],
    )
    assert_passed(run_one(path))


def test_map_iterations_by_index_range_and_default(write_case: WriteCase) -> None:
    mock = {
        "iterations": {
            "0": {"result": "zero"},
            "2-3": {"result": "two-three"},
            "*": {"result": "other"},
        }
    }
    path = write_case(
        MAP,
        [
            {
                "name": "per item",
                "input": [10, 11, 12, 13, 14],
                "mocks": {"T": mock},
                "expect": {
                    "status": "SUCCEEDED",
                    "output": ["zero", "other", "two-three", "two-three", "other"],
                    "calls": {"T": 5},
                },
            }
        ],
    )
    assert_passed(run_one(path))


def test_sequences_count_calls_per_iteration(write_case: WriteCase) -> None:
    mock = {"iterations": {"*": {"sequence": [{"error": "Flaky"}, {"result": "ok"}]}}}
    path = write_case(
        MAP,
        [
            {
                "name": "each item fails once",
                "input": [1, 2, 3],
                "mocks": {"T": mock},
                "expect": {"status": "SUCCEEDED", "output": ["ok", "ok", "ok"], "calls": {"T": 6}},
            }
        ],
    )
    assert_passed(run_one(path))


def test_an_iteration_without_a_mock_calls_the_real_tool(write_case: WriteCase) -> None:
    registry = ToolRegistry()
    registry.register("t", lambda payload: {"real": payload})
    path = write_case(
        MAP,
        [
            {
                "name": "mixed",
                "input": [1, 2],
                "mocks": {"T": {"iterations": {"0": {"result": "mocked"}}}},
                "expect": {"status": "SUCCEEDED", "output": ["mocked", {"real": 2}]},
            }
        ],
    )
    result = run_one(path, registry=registry)
    assert_passed(result)
    assert result.unmocked == ["T"]


def test_a_resource_key_mocks_every_task_calling_it(write_case: WriteCase) -> None:
    definition = {
        "StartAt": "One",
        "States": {
            "One": {"Type": "Task", "Resource": "tool:same", "ResultPath": "$.one", "Next": "Two"},
            "Two": {"Type": "Task", "Resource": "tool:same", "ResultPath": "$.two", "End": True},
        },
    }
    path = write_case(
        definition,
        [
            {
                "name": "both",
                "mocks": {"tool:same": {"result": 1}, "Two": {"result": 2}},
                "expect": {"status": "SUCCEEDED", "output": {"one": 1, "two": 2}},
            }
        ],
    )
    assert_passed(run_one(path))


def test_unmocked_tasks_call_registered_tools(write_case: WriteCase) -> None:
    registry = ToolRegistry()
    registry.register("a", lambda payload: "from a")
    registry.register("b", lambda payload: "from b")
    path = write_case(
        RETRY_CATCH,
        [
            {
                "name": "real",
                "expect": {"status": "SUCCEEDED", "output": {"a": "from a", "b": "from b"}},
            }
        ],
    )
    result = run_one(path, registry=registry)
    assert_passed(result)
    assert result.unmocked == ["A", "B"]


def test_strict_mocks_fail_a_case_that_calls_a_real_tool(write_case: WriteCase) -> None:
    registry = ToolRegistry()
    registry.register("b", lambda payload: "from b")
    cases = [
        {
            "name": "B is not mocked",
            "mocks": {"A": {"result": 1}},
            "expect": {"status": "SUCCEEDED"},
        }
    ]
    path = write_case(RETRY_CATCH, cases)
    assert_passed(run_one(path, registry=registry))
    result = run_one(path, registry=registry, strict_mocks=True)
    assert result.outcome == "failed"
    assert "Task B (tool:b) has no mock, and strict mocks are on" in result.details()
    # The file can ask for it too.
    strict_file = write_case(RETRY_CATCH, cases, name="strict", strict_mocks=True)
    assert run_one(strict_file, registry=registry).outcome == "failed"


def test_a_mock_for_an_unknown_state_is_an_error(write_case: WriteCase) -> None:
    path = write_case(
        RETRY_CATCH,
        [{"name": "typo", "mocks": {"Aa": {"result": 1}}, "expect": {"status": "SUCCEEDED"}}],
    )
    result = run_one(path)
    assert result.outcome == "error"
    assert "mock 'Aa' names no Task state and no Task resource (Task states: A, B)" in (
        result.details()
    )


def test_a_mock_for_a_state_that_is_not_a_task_is_an_error(write_case: WriteCase) -> None:
    path = write_case(
        RETRY_CATCH,
        [{"name": "pass", "mocks": {"Fallback": {"result": 1}}, "expect": {"status": "FAILED"}}],
    )
    result = run_one(path)
    assert result.outcome == "error"
    assert "the state is not a Task" in result.details()


def test_no_answer_needs_a_callback_task(write_case: WriteCase) -> None:
    path = write_case(
        RETRY_CATCH,
        [{"name": "x", "mocks": {"A": {"no_answer": True}}, "expect": {"status": "FAILED"}}],
    )
    assert "no_answer needs a .waitForTaskToken resource" in run_one(path).details()


def test_skipped_cases_do_not_run(write_case: WriteCase) -> None:
    path = write_case(
        RETRY_CATCH, [{"name": "later", "skip": "not yet", "expect": {"status": "FAILED"}}]
    )
    result = run_one(path)
    assert (result.outcome, result.messages) == ("skipped", ["not yet"])


AGENT = {
    "Comment": "A minimal agent loop: the model asks for tools until it answers.",
    "StartAt": "Think",
    "States": {
        "Think": {
            "Type": "Task",
            "Resource": "llm:chat",
            "Parameters": {"model": "m", "messages": [{"role": "user", "content.$": "$.q"}]},
            "ResultPath": "$.reply",
            "Next": "Decide",
        },
        "Decide": {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.reply.finish_reason",
                    "StringEquals": "tool_calls",
                    "Next": "Act",
                }
            ],
            "Default": "Done",
        },
        "Act": {
            "Type": "Map",
            "ItemsPath": "$.reply.tool_calls",
            "ItemProcessor": {
                "StartAt": "CallTool",
                "States": {"CallTool": {"Type": "Task", "Resource": "tool:call", "End": True}},
            },
            "ResultPath": "$.observations",
            "Next": "Think",
        },
        "Done": {
            "Type": "Pass",
            "Parameters": {"answer.$": "$.reply.content", "seen.$": "$.observations"},
            "End": True,
        },
    },
}


def test_llm_replies_with_tool_calls_drive_an_agent_loop(write_case: WriteCase) -> None:
    registry = ToolRegistry()
    registry.register("search", lambda payload: {"hits": [payload["q"].upper()]})
    think = {
        "sequence": [
            {"llm": {"content": None, "tool_calls": [{"name": "search", "arguments": {"q": "x"}}]}},
            {"llm": {"content": "X it is."}},
        ]
    }
    path = write_case(
        AGENT,
        [
            {
                "name": "one tool round",
                "input": {"q": "what is x?"},
                "mocks": {"Think": think},
                "expect": {
                    "status": "SUCCEEDED",
                    "output": {"answer": "X it is.", "seen": [{"hits": ["X"]}]},
                    "path": ["Think", "Decide", "Act", "Think", "Decide", "Done"],
                    "calls": {"Think": 2, "CallTool": 1},
                },
            }
        ],
    )
    result = run_one(path, registry=registry)
    assert_passed(result)
    assert result.unmocked == ["CallTool"]  # the real tool ran through tool:call
    assert result.execution is not None
    first_reply = next(
        e["output"] for e in result.execution.history if e["type"] == "TaskSucceeded"
    )
    assert first_reply["finish_reason"] == "tool_calls"
    assert first_reply["tool_calls"] == [
        {"id": "call_1", "name": "search", "arguments": {"q": "x"}}
    ]
    assert first_reply["message"]["tool_calls"][0]["function"]["arguments"] == '{"q":"x"}'
    assert first_reply["model"] == "m"
