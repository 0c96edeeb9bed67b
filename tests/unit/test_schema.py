"""The ASL JSON Schema, its messages, its fast path and the example definitions."""

from __future__ import annotations

import copy
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from statemachine.validation.problem import Problem
from statemachine.validation.schema import _index, iter_schema_problems, load_schema

REPO = Path(__file__).resolve().parents[2]
DEFINITIONS = sorted(
    p for p in (REPO / "definitions").iterdir() if p.name.endswith((".asl.yaml", ".asl.json"))
)
MODELINE = "# yaml-language-server: $schema=../schemas/asl.schema.json"


def load_definition(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle) if path.suffix == ".json" else yaml.safe_load(handle)


def machine(**states: Any) -> dict[str, Any]:
    """A machine starting at the first state given."""
    return {"StartAt": next(iter(states)), "States": states}


def problems(definition: Any) -> list[Problem]:
    return list(iter_schema_problems(definition))


def jsonschema_valid(definition: Any) -> bool:
    return bool(_index().validator.is_valid(definition))


END = {"End": True}
TASK = {"Type": "Task", "Resource": "tool:do_it", **END}
ITEM_PROCESSOR = {"StartAt": "Work", "States": {"Work": TASK}}


# ---------------------------------------------------------------- the schema itself


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_schema_is_loaded_once() -> None:
    assert load_schema() is load_schema()


def _walk(node: Any, where: str = "#") -> Any:
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{where}/{index}")


def test_every_field_has_a_description_for_editors() -> None:
    schema = load_schema()
    missing = [
        f"{where}/{name}"
        for where, node in _walk(schema)
        # skip the Type dispatch conditions and the operator list used only through "not"
        if where.endswith("/properties")
        and "/if/" not in where
        and "choiceRuleWithoutOperator" not in where
        for name, sub in node.items()
        if not (isinstance(sub, dict) and sub.get("description"))
    ]
    assert missing == []
    untitled = [name for name, sub in schema["$defs"].items() if not sub.get("title")]
    assert untitled == []


def test_every_state_type_forbids_unknown_fields() -> None:
    defs = load_schema()["$defs"]
    state_defs = [name for name in defs if name.endswith("State")]
    assert len(state_defs) == 8
    assert all(defs[name]["additionalProperties"] is False for name in state_defs)


# ---------------------------------------------------------------- the examples


def test_there_are_enough_examples() -> None:
    names = [p.name for p in DEFINITIONS]
    assert len(names) >= 5
    assert any(name.endswith(".asl.json") for name in names)
    for expected in (
        "research-agent.asl.yaml",
        "image-fanout.asl.yaml",
        "expense-approval.asl.yaml",
        "order-pipeline.asl.json",
        "jsonata-shipping.asl.yaml",
    ):
        assert expected in names


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.name)
def test_example_definition_passes_the_schema(path: Path) -> None:
    assert problems(load_definition(path)) == []


@pytest.mark.parametrize(
    "path", [p for p in DEFINITIONS if p.suffix != ".json"], ids=lambda p: p.name
)
def test_yaml_example_points_editors_at_the_schema(path: Path) -> None:
    assert path.read_text(encoding="utf-8").splitlines()[0] == MODELINE


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.name)
def test_example_uses_only_project_resources(path: Path) -> None:
    resources = [
        node["Resource"]
        for _, node in _walk(load_definition(path))
        if node.get("Type") == "Task" and "Resource" in node
    ]
    for resource in resources:  # (hello.asl.yaml has no Task at all)
        name = resource.removesuffix(".waitForTaskToken")
        assert name == "llm:chat" or name.startswith(("tool:", "activity:", "python:")), resource
        if name.startswith("tool:"):
            assert name[5:].isidentifier() and name[5:].islower(), resource


# ---------------------------------------------------------------- valid ASL is accepted

EVERY_JSONPATH_FIELD = {
    "Comment": "uses every JSONPath-era field once",
    "Version": "1.0",
    "TimeoutSeconds": 600,
    "QueryLanguage": "JSONPath",
    "StartAt": "Pass",
    "States": {
        "Pass": {
            "Type": "Pass",
            "Comment": "c",
            "InputPath": "$.in",
            "Parameters": {"a.$": "$.a", "list": [{"b.$": "$.b"}]},
            "Result": [1, "two", None],
            "ResultPath": "$.r",
            "OutputPath": None,
            "Assign": {"counter": 1, "name.$": "$.name"},
            "Next": "Task",
        },
        "Task": {
            "Type": "Task",
            "Resource": "tool:notify_approver.waitForTaskToken",
            "Parameters": {"token.$": "$$.Task.Token"},
            "ResultSelector": {"x.$": "$.x"},
            "ResultPath": None,
            "TimeoutSecondsPath": "$.timeout",
            "HeartbeatSecondsPath": "$.heartbeat",
            "Credentials": {"RoleArn.$": "$.role"},
            "Retry": [
                {
                    "ErrorEquals": ["States.Timeout", "LLM.RateLimited"],
                    "IntervalSeconds": 1,
                    "MaxAttempts": 0,
                    "BackoffRate": 1.5,
                    "MaxDelaySeconds": 30,
                    "JitterStrategy": "NONE",
                    "Comment": "r",
                },
                {"ErrorEquals": ["States.ALL"]},
            ],
            "Catch": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "Next": "Fail",
                    "ResultPath": "$.error",
                    "Assign": {"failed": True},
                    "Comment": "c",
                }
            ],
            "Next": "Task2",
        },
        "Task2": {
            "Type": "Task",
            "Resource": "activity:render_report",
            "TimeoutSeconds": 60,
            "HeartbeatSeconds": 10,
            "Credentials": {"RoleArn": "arn:aws:iam::123456789012:role/x"},
            "Next": "Choice",
        },
        "Choice": {
            "Type": "Choice",
            "InputPath": "$",
            "OutputPath": "$",
            "Assign": {"seen": True},
            "Choices": [
                {"Variable": "$.s", "StringEquals": "a", "Next": "Wait"},
                {"Variable": "$.s", "StringEqualsPath": "$.t", "Next": "Wait"},
                {"Variable": "$.s", "StringLessThan": "a", "Next": "Wait"},
                {"Variable": "$.s", "StringGreaterThanEqualsPath": "$.t", "Next": "Wait"},
                {"Variable": "$.s", "StringMatches": "*.jpg", "Next": "Wait"},
                {"Variable": "$.n", "NumericEquals": 1, "Next": "Wait"},
                {"Variable": "$.n", "NumericLessThanEquals": 1.5, "Next": "Wait"},
                {"Variable": "$.n", "NumericGreaterThanPath": "$.m", "Next": "Wait"},
                {"Variable": "$.b", "BooleanEquals": False, "Next": "Wait"},
                {"Variable": "$.b", "BooleanEqualsPath": "$.c", "Next": "Wait"},
                {"Variable": "$.t", "TimestampEquals": "2016-03-14T01:59:00Z", "Next": "Wait"},
                {
                    "Variable": "$.t",
                    "TimestampLessThan": "2016-03-14T01:59:00.123+02:00",
                    "Next": "Wait",
                },
                {"Variable": "$.t", "TimestampGreaterThanEqualsPath": "$.u", "Next": "Wait"},
                {"Variable": "$.x", "IsNull": True, "Next": "Wait"},
                {"Variable": "$.x", "IsPresent": False, "Next": "Wait"},
                {"Variable": "$.x", "IsNumeric": True, "Next": "Wait"},
                {"Variable": "$.x", "IsString": True, "Next": "Wait"},
                {"Variable": "$.x", "IsBoolean": True, "Next": "Wait"},
                {"Variable": "$.x", "IsTimestamp": True, "Next": "Wait"},
                {
                    "And": [
                        {"Variable": "$.a", "IsPresent": True},
                        {
                            "Or": [
                                {"Variable": "$.a", "NumericLessThan": 0},
                                {"Not": {"Variable": "$.a", "NumericGreaterThan": 9}},
                            ]
                        },
                    ],
                    "Next": "Wait",
                    "Assign": {"branch": "and"},
                    "Comment": "nested",
                },
                {"Not": {"Variable": "$count", "NumericEquals": 0}, "Next": "Wait"},
            ],
            "Default": "Wait",
        },
        "Wait": {"Type": "Wait", "Seconds": 0, "Next": "Wait2"},
        "Wait2": {"Type": "Wait", "SecondsPath": "$.s", "Next": "Wait3"},
        "Wait3": {"Type": "Wait", "Timestamp": "2016-03-14T01:59:00Z", "Next": "Wait4"},
        "Wait4": {"Type": "Wait", "TimestampPath": "$.ts", "Next": "Parallel"},
        "Parallel": {
            "Type": "Parallel",
            "Parameters": {"x.$": "$.x"},
            "Branches": [
                {"Comment": "b", "StartAt": "B1", "States": {"B1": {"Type": "Succeed"}}},
                {"StartAt": "B2", "States": {"B2": {"Type": "Pass", "End": True}}},
            ],
            "ResultSelector": {"first.$": "$[0]"},
            "ResultPath": "$.p",
            "Retry": [{"ErrorEquals": ["States.BranchFailed"]}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Fail"}],
            "Next": "Map",
        },
        "Map": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemSelector": {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
            "MaxConcurrencyPath": "$.concurrency",
            "ToleratedFailurePercentagePath": "$.pct",
            "ToleratedFailureCountPath": "$.count",
            "ItemReader": {
                "Resource": "tool:read_items",
                "ReaderConfig": {
                    "InputType": "CSV",
                    "CSVHeaderLocation": "GIVEN",
                    "CSVHeaders": ["a", "b"],
                    "CSVDelimiter": "SEMICOLON",
                    "MaxItemsPath": "$.max",
                },
                "Parameters": {"key.$": "$.key"},
            },
            "ItemBatcher": {
                "MaxItemsPerBatchPath": "$.batch",
                "MaxInputBytesPerBatch": 262144,
                "BatchInput": {"run.$": "$$.Execution.Id"},
            },
            "ResultWriter": {
                "Resource": "tool:write_results",
                "Parameters": {"prefix": "out/"},
                "WriterConfig": {"OutputType": "JSONL", "Transformation": "FLATTEN"},
            },
            "ItemProcessor": {
                "Comment": "p",
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "Item",
                "States": {"Item": TASK},
            },
            "Label": "Items",
            "ResultSelector": {"n.$": "States.ArrayLength($)"},
            "ResultPath": "$.m",
            "Next": "OldMap",
        },
        "OldMap": {
            "Type": "Map",
            "Parameters": {"v.$": "$$.Map.Item.Value"},
            "MaxConcurrency": 1,
            "ToleratedFailurePercentage": 12.5,
            "ToleratedFailureCount": 3,
            "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
            "End": True,
        },
        "Fail": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
    },
}

EVERY_JSONATA_FIELD = {
    "QueryLanguage": "JSONata",
    "StartAt": "Pass",
    "States": {
        "Pass": {
            "Type": "Pass",
            "Assign": {"n": "{% $count($states.input.items) %}", "fixed": [1, 2]},
            "Output": {"items": "{% $states.input.items %}"},
            "Next": "Task",
        },
        "Task": {
            "Type": "Task",
            "QueryLanguage": "JSONata",
            "Resource": "llm:chat",
            "Arguments": {"messages": [{"role": "user", "content": "{% $string($n) %}"}]},
            "TimeoutSeconds": "{% $n * 10 %}",
            "HeartbeatSeconds": "{% 5 %}",
            "Credentials": {"RoleArn": "{% $role %}"},
            "Output": "{% $states.result %}",
            "Catch": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "Output": "{% $states.errorOutput %}",
                    "Assign": {"error": "{% $states.errorOutput.Error %}"},
                    "Next": "Fail",
                }
            ],
            "Next": "Task2",
        },
        "Task2": {"Type": "Task", "Resource": "tool:x", "Arguments": "{% $states.input %}", **END},
        "Choice": {
            "Type": "Choice",
            "Choices": [
                {"Condition": "{% $n > 3 %}", "Next": "Wait", "Output": {"big": True}},
                {"Condition": True, "Next": "Wait", "Assign": {"small": True}},
            ],
            "Default": "Wait",
            "Output": "{% $states.input %}",
        },
        "Wait": {"Type": "Wait", "Seconds": "{% $n %}", "Next": "Wait2"},
        "Wait2": {"Type": "Wait", "Timestamp": "{% $deadline %}", "Next": "Parallel"},
        "Parallel": {
            "Type": "Parallel",
            "Arguments": {"n": "{% $n %}"},
            "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Succeed", "Output": 1}}}],
            "Output": "{% $states.result[0] %}",
            "Next": "Map",
        },
        "Map": {
            "Type": "Map",
            "Items": "{% $states.input.items %}",
            "ItemSelector": "{% {'item': $states.context.Map.Item.Value} %}",
            "MaxConcurrency": "{% $n %}",
            "ToleratedFailurePercentage": "{% 5 %}",
            "ToleratedFailureCount": "{% 2 %}",
            "ItemReader": {
                "Resource": "tool:read_items",
                "ReaderConfig": {"InputType": "JSONL", "MaxItems": "{% 100 %}"},
                "Arguments": {"key": "{% $key %}"},
            },
            "ItemBatcher": {"MaxItemsPerBatch": "{% 10 %}", "BatchInput": "{% {} %}"},
            "ResultWriter": {"WriterConfig": {"OutputType": "JSON", "Transformation": "NONE"}},
            "ItemProcessor": ITEM_PROCESSOR,
            "Next": "ItemsArray",
        },
        "ItemsArray": {"Type": "Map", "Items": [1, 2, 3], "ItemProcessor": ITEM_PROCESSOR, **END},
        "Fail": {"Type": "Fail", "Error": "{% $error %}", "Cause": "{% 'because' %}"},
        "Done": {"Type": "Succeed", "Output": {"done": True}},
    },
}


@pytest.mark.parametrize(
    "definition",
    [
        EVERY_JSONPATH_FIELD,
        EVERY_JSONATA_FIELD,
        machine(A={"Type": "Succeed"}),
        machine(A={"Type": "Pass", "Next": "B"}, B={"Type": "Fail"}),
        {"$schema": "../schemas/asl.schema.json", **machine(A={"Type": "Succeed"})},
        machine(A={**TASK, "TimeoutSeconds": 1.0}),  # JSON has one number type
    ],
    ids=["jsonpath-fields", "jsonata-fields", "succeed", "pass-fail", "$schema", "float-int"],
)
def test_valid_definitions_have_no_problems(definition: Any) -> None:
    assert problems(definition) == []


def test_query_language_mismatches_are_left_to_the_rules() -> None:
    """JSONata fields in a JSONPath state are a semantic problem, reported by rules.py."""
    mixed = machine(
        A={**TASK, "Arguments": {"a": 1}, "Output": {}, "TimeoutSeconds": "{% 3 %}"},
    )
    assert problems(mixed) == []


# ---------------------------------------------------------------- invalid definitions

PASS = {"Type": "Pass", **END}

INVALID: list[tuple[str, Any, tuple[Any, ...], str]] = [
    # (id, definition, path of the problem, text the message must contain)
    (
        "unknown-field",
        machine(A={"Type": "Pass", "Nxt": "B"}),
        ("States", "A", "Nxt"),
        "unknown field 'Nxt' in Pass state 'A'; did you mean 'Next'?",
    ),
    (
        "unknown-field-case",
        machine(A={**PASS, "resultpath": "$.x"}),
        ("States", "A", "resultpath"),
        "did you mean 'ResultPath'?",
    ),
    (
        "unknown-root-field",
        {"Startat": "A", "StartAt": "A", "States": {"A": PASS}},
        ("Startat",),
        "unknown field 'Startat' in state machine; did you mean 'StartAt'?",
    ),
    (
        "field-of-another-type",
        machine(A={**PASS, "Resource": "tool:x"}),
        ("States", "A", "Resource"),
        "unknown field 'Resource' in Pass state 'A' (only Task states have 'Resource')",
    ),
    (
        "retry-on-pass",
        machine(A={**PASS, "Retry": []}),
        ("States", "A", "Retry"),
        "(only Task, Parallel and Map states have 'Retry')",
    ),
    (
        "wrong-type",
        machine(A={"Type": "Tsk", **END}),
        ("States", "A", "Type"),
        "'Type' must be one of Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map; "
        "got \"Tsk\" (a string); did you mean 'Task'?",
    ),
    (
        "missing-type",
        machine(A={"End": True}),
        ("States", "A"),
        "state 'A' is missing required field 'Type'",
    ),
    (
        "state-not-object",
        machine(A="Pass"),
        ("States", "A"),
        "state 'A' must be an object",
    ),
    ("missing-startat", {"States": {"A": PASS}}, (), "missing required field 'StartAt'"),
    ("missing-states", {"StartAt": "A"}, (), "missing required field 'States'"),
    ("no-states", {"StartAt": "A", "States": {}}, ("States",), "must define at least one state"),
    ("not-an-object", ["StartAt"], (), "the definition must be an object, got"),
    (
        "long-state-name",
        machine(**{"x" * 81: {"Type": "Succeed"}}),
        ("States", "x" * 81),
        "is 81 characters long; names are limited to 80",
    ),
    (
        "query-language",
        {**machine(A=PASS), "QueryLanguage": "jsonata"},
        ("QueryLanguage",),
        "must be one of JSONPath, JSONata; got \"jsonata\" (a string); did you mean 'JSONata'?",
    ),
    (
        "machine-timeout",
        {**machine(A=PASS), "TimeoutSeconds": "1h"},
        ("TimeoutSeconds",),
        "'TimeoutSeconds' must be an integer, got \"1h\" (a string)",
    ),
    (
        "task-without-resource",
        machine(A={"Type": "Task", **END}),
        ("States", "A"),
        "Task state 'A' is missing required field 'Resource'",
    ),
    (
        "timeout-as-string",
        machine(A={**TASK, "TimeoutSeconds": "30"}),
        ("States", "A", "TimeoutSeconds"),
        "'TimeoutSeconds' must be a positive integer (or a {% %} JSONata expression), "
        'got "30" (a string)',
    ),
    (
        "timeout-zero",
        machine(A={**TASK, "TimeoutSeconds": 0}),
        ("States", "A", "TimeoutSeconds"),
        "'TimeoutSeconds' must be at least 1, got 0",
    ),
    (
        "heartbeat-fraction",
        machine(A={**TASK, "HeartbeatSeconds": 1.5}),
        ("States", "A", "HeartbeatSeconds"),
        "'HeartbeatSeconds' must be a positive integer",
    ),
    (
        "unfinished-jsonata",
        machine(A={**TASK, "TimeoutSeconds": "{% $t"}),
        ("States", "A", "TimeoutSeconds"),
        "must be a {% %} JSONata expression",
    ),
    (
        "interval-as-string",
        machine(A={**TASK, "Retry": [{"ErrorEquals": ["X"], "IntervalSeconds": "1"}]}),
        ("States", "A", "Retry", 0, "IntervalSeconds"),
        "'IntervalSeconds' must be an integer, got \"1\" (a string)",
    ),
    (
        "interval-fraction",
        machine(A={**TASK, "Retry": [{"ErrorEquals": ["X"], "IntervalSeconds": 0.5}]}),
        ("States", "A", "Retry", 0, "IntervalSeconds"),
        "'IntervalSeconds' must be an integer, got 0.5 (a number)",
    ),
    (
        "negative-attempts",
        machine(A={**TASK, "Retry": [{"ErrorEquals": ["X"], "MaxAttempts": -1}]}),
        ("States", "A", "Retry", 0, "MaxAttempts"),
        "'MaxAttempts' must be at least 0, got -1",
    ),
    (
        "backoff-below-one",
        machine(A={**TASK, "Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}]}),
        ("States", "A", "Retry", 0, "BackoffRate"),
        "'BackoffRate' must be at least 1, got 0.5",
    ),
    (
        "bad-jitter",
        machine(A={**TASK, "Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "HALF"}]}),
        ("States", "A", "Retry", 0, "JitterStrategy"),
        "'JitterStrategy' must be one of FULL, NONE; got \"HALF\"",
    ),
    (
        "empty-error-equals",
        machine(A={**TASK, "Retry": [{"ErrorEquals": []}]}),
        ("States", "A", "Retry", 0, "ErrorEquals"),
        "'ErrorEquals' must not be empty",
    ),
    (
        "error-name-not-string",
        machine(A={**TASK, "Retry": [{"ErrorEquals": ["X", 5]}]}),
        ("States", "A", "Retry", 0, "ErrorEquals", 1),
        "'ErrorEquals[1]' must be a string, got 5 (an integer)",
    ),
    (
        "retrier-typo",
        machine(A={**TASK, "Retry": [{"ErrorEquals": ["X"], "MaxAttempt": 2}]}),
        ("States", "A", "Retry", 0, "MaxAttempt"),
        "unknown field 'MaxAttempt' in retrier; did you mean 'MaxAttempts'?",
    ),
    (
        "catcher-without-next",
        machine(A={**TASK, "Catch": [{"ErrorEquals": ["States.ALL"]}]}),
        ("States", "A", "Catch", 0),
        "catcher is missing required field 'Next'",
    ),
    (
        "two-operators",
        machine(
            C={
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.x", "StringEquals": "a", "NumericEquals": 1, "Next": "C"}
                ],
            }
        ),
        ("States", "C", "Choices", 0),
        "Choice rule has 2 operators (StringEquals, NumericEquals); a rule takes exactly one",
    ),
    (
        "two-operators-nested",
        machine(
            C={
                "Type": "Choice",
                "Choices": [
                    {"Not": {"Variable": "$.x", "IsNull": True, "IsPresent": True}, "Next": "C"}
                ],
            }
        ),
        ("States", "C", "Choices", 0, "Not"),
        "nested Choice rule has 2 operators (IsNull, IsPresent)",
    ),
    (
        "no-operator",
        machine(C={"Type": "Choice", "Choices": [{"Variable": "$.x", "Next": "C"}]}),
        ("States", "C", "Choices", 0),
        "Choice rule has no test",
    ),
    (
        "comparison-without-variable",
        machine(C={"Type": "Choice", "Choices": [{"StringEquals": "a", "Next": "C"}]}),
        ("States", "C", "Choices", 0),
        "Choice rule uses StringEquals but has no Variable to compare",
    ),
    (
        "variable-with-and",
        machine(
            C={
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.x", "And": [{"Variable": "$.x", "IsNull": True}], "Next": "C"}
                ],
            }
        ),
        ("States", "C", "Choices", 0, "Variable"),
        "Choice rule cannot have a Variable with And",
    ),
    (
        "nested-next",
        machine(
            C={
                "Type": "Choice",
                "Choices": [
                    {"Or": [{"Variable": "$.x", "IsNull": True, "Next": "C"}], "Next": "C"}
                ],
            }
        ),
        ("States", "C", "Choices", 0, "Or", 0, "Next"),
        "nested Choice rule cannot have 'Next': only the top-level rules in Choices",
    ),
    (
        "rule-without-next",
        machine(C={"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": True}]}),
        ("States", "C", "Choices", 0),
        "Choice rule is missing required field 'Next'",
    ),
    (
        "numeric-as-string",
        machine(
            C={
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "NumericEquals": "5", "Next": "C"}],
            }
        ),
        ("States", "C", "Choices", 0, "NumericEquals"),
        "'NumericEquals' must be a number, got \"5\" (a string)",
    ),
    (
        "bad-timestamp-operand",
        machine(
            C={
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.t", "TimestampEquals": "2016-03-14t01:59:00z", "Next": "C"}
                ],
            }
        ),
        ("States", "C", "Choices", 0, "TimestampEquals"),
        "must be an RFC 3339 timestamp such as 2016-03-14T01:59:00Z",
    ),
    (
        "empty-choices",
        machine(C={"Type": "Choice", "Choices": []}),
        ("States", "C", "Choices"),
        "'Choices' must not be empty",
    ),
    (
        "choice-with-next",
        machine(
            C={
                "Type": "Choice",
                "Next": "C",
                "Choices": [{"Variable": "$.x", "IsNull": True, "Next": "C"}],
            }
        ),
        ("States", "C", "Next"),
        "Choice state 'C' cannot have 'Next': each Choice rule names its own Next",
    ),
    (
        "fail-with-end",
        machine(F={"Type": "Fail", "End": True}),
        ("States", "F", "End"),
        "Fail state 'F' cannot have 'End': Succeed and Fail states are always terminal",
    ),
    (
        "succeed-with-next",
        machine(S={"Type": "Succeed", "Next": "S"}),
        ("States", "S", "Next"),
        "Succeed state 'S' cannot have 'Next'",
    ),
    (
        "negative-wait",
        machine(W={"Type": "Wait", "Seconds": -5, **END}),
        ("States", "W", "Seconds"),
        "'Seconds' must be at least 0, got -5",
    ),
    (
        "wait-timestamp-with-space",
        machine(W={"Type": "Wait", "Timestamp": "2016-03-14 01:59:00", **END}),
        ("States", "W", "Timestamp"),
        "'Timestamp' must be an RFC 3339 timestamp such as 2016-03-14T01:59:00Z "
        '(uppercase T and Z), got "2016-03-14 01:59:00"',
    ),
    (
        "end-not-boolean",
        machine(A={"Type": "Pass", "End": "yes"}),
        ("States", "A", "End"),
        "'End' must be true or false, got \"yes\" (a string)",
    ),
    (
        "result-path-number",
        machine(A={**PASS, "ResultPath": 5}),
        ("States", "A", "ResultPath"),
        "'ResultPath' must be a string or null, got 5 (an integer)",
    ),
    (
        "assign-list",
        machine(A={**PASS, "Assign": ["x"]}),
        ("States", "A", "Assign"),
        "'Assign' must be an object",
    ),
    (
        "arguments-list",
        machine(A={**TASK, "Arguments": [1]}),
        ("States", "A", "Arguments"),
        "'Arguments' must be an object (or a {% %} JSONata expression), got [1] (an array)",
    ),
    (
        "map-without-processor",
        machine(M={"Type": "Map", **END}),
        ("States", "M"),
        "Map state 'M' needs an ItemProcessor",
    ),
    (
        "map-mode",
        machine(
            M={
                "Type": "Map",
                "ItemProcessor": {**ITEM_PROCESSOR, "ProcessorConfig": {"Mode": "PARALLEL"}},
                **END,
            }
        ),
        ("States", "M", "ItemProcessor", "ProcessorConfig", "Mode"),
        "'Mode' must be one of INLINE, DISTRIBUTED",
    ),
    (
        "map-tolerance-over-100",
        machine(
            M={"Type": "Map", "ItemProcessor": ITEM_PROCESSOR, "ToleratedFailurePercentage": 150}
        ),
        ("States", "M", "ToleratedFailurePercentage"),
        "'ToleratedFailurePercentage' must be at most 100, got 150",
    ),
    (
        "map-items-string",
        machine(M={"Type": "Map", "ItemProcessor": ITEM_PROCESSOR, "Items": "$.items", **END}),
        ("States", "M", "Items"),
        "'Items' must be an array or an object or a {% %} JSONata expression",
    ),
    (
        "map-label-too-long",
        machine(M={"Type": "Map", "ItemProcessor": ITEM_PROCESSOR, "Label": "L" * 41, **END}),
        ("States", "M", "Label"),
        "'Label' must be at most 40 characters long (it has 41)",
    ),
    (
        "processor-query-language",
        machine(M={"Type": "Map", "ItemProcessor": {**ITEM_PROCESSOR, "QueryLanguage": "JSONata"}}),
        ("States", "M", "ItemProcessor", "QueryLanguage"),
        "ItemProcessor cannot set 'QueryLanguage'",
    ),
    (
        "batcher-typo",
        machine(
            M={
                "Type": "Map",
                "ItemProcessor": ITEM_PROCESSOR,
                "ItemBatcher": {"MaxItemPerBatch": 10},
            }
        ),
        ("States", "M", "ItemBatcher", "MaxItemPerBatch"),
        "unknown field 'MaxItemPerBatch' in ItemBatcher; did you mean 'MaxItemsPerBatch'?",
    ),
    (
        "empty-branches",
        machine(P={"Type": "Parallel", "Branches": [], **END}),
        ("States", "P", "Branches"),
        "'Branches' must not be empty",
    ),
    (
        "error-inside-branch",
        machine(
            P={
                "Type": "Parallel",
                "Branches": [{"StartAt": "B", "States": {"B": {**TASK, "TimeoutSecond": 3}}}],
                **END,
            }
        ),
        ("States", "P", "Branches", 0, "States", "B", "TimeoutSecond"),
        "unknown field 'TimeoutSecond' in Task state 'B'; did you mean 'TimeoutSeconds'?",
    ),
    (
        "credentials-typo",
        machine(A={**TASK, "Credentials": {"Role": "r"}}),
        ("States", "A", "Credentials", "Role"),
        "unknown field 'Role' in Credentials",
    ),
]


@pytest.mark.parametrize(
    ("definition", "path", "text"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
def test_invalid_definition_gets_a_helpful_problem(
    definition: Any, path: tuple[Any, ...], text: str
) -> None:
    found = problems(definition)
    assert found, "expected at least one problem"
    assert all(p.rule == "schema" for p in found)
    at_path = [p.message for p in found if p.path == path]
    assert any(text in message for message in at_path), [(p.path, p.message) for p in found]


def test_one_problem_per_mistake() -> None:
    """A misspelled field is one problem, not one per alternative schema."""
    definition = machine(
        A={"Type": "Task", "Resource": "tool:x", "Nxt": "B", "TimeoutSeconds": "x"},
        B={"Type": "Choice", "Choices": [{"Variable": "$.x", "StringEquals": 1, "Next": "A"}]},
    )
    assert [(p.json_path, p.message) for p in problems(definition)] == [
        ("$.States.A.Nxt", "unknown field 'Nxt' in Task state 'A'; did you mean 'Next'?"),
        (
            "$.States.A.TimeoutSeconds",
            "'TimeoutSeconds' must be a positive integer (or a {% %} JSONata expression), "
            'got "x" (a string)',
        ),
        (
            "$.States.B.Choices[0].StringEquals",
            "'StringEquals' must be a string, got 1 (an integer)",
        ),
    ]


def test_problems_are_reported_for_every_state() -> None:
    definition = machine(A={"Type": "Pass", "Nxt": "B"}, B={"Type": "Wait", "Second": 1})
    assert {p.path for p in problems(definition)} == {
        ("States", "A", "Nxt"),
        ("States", "B", "Second"),
    }


# ---------------------------------------------------------------- the fast path


def test_fast_path_is_active() -> None:
    """If this fails, the schema uses a keyword the compiled check does not know yet."""
    assert _index().is_valid is not None


def _mutations(definition: Any, rng: random.Random, count: int) -> Any:
    """Small random edits of a valid definition, most of which break it."""
    nodes = [node for _, node in _walk(definition)]
    replacements = ["x", "{% 1 %}", -1, 0, 1.5, 7, True, None, [], {}, ["a"], {"Type": "Pass"}]
    for _ in range(count):
        mutated = copy.deepcopy(definition)
        node = [n for _, n in _walk(mutated)][rng.randrange(len(nodes))]
        keys = list(node)
        action = rng.randrange(4)
        if action == 0 and keys:
            del node[rng.choice(keys)]
        elif action == 1 and keys:
            key = rng.choice(keys)
            node[key[:-1] or "x"] = node.pop(key)
        elif action == 2 and keys:
            node[rng.choice(keys)] = rng.choice(replacements)
        else:
            node[rng.choice(["Bogus", "Next", "End", "Variable", "Items", "Type"])] = rng.choice(
                replacements
            )
        yield mutated


def test_fast_path_agrees_with_jsonschema() -> None:
    """Valid and broken documents: the compiled check and jsonschema must agree on each.

    Mutating single states wrapped in a one-state machine keeps every document small, so
    jsonschema (the slow side) can check hundreds of them quickly.
    """
    rng = random.Random(20240229)
    seeds = [EVERY_JSONPATH_FIELD, EVERY_JSONATA_FIELD, *map(load_definition, DEFINITIONS)]
    states = [
        state
        for seed in seeds
        for _, node in _walk(seed)
        for state in (node.get("States") or {}).values()
        if isinstance(node.get("States"), dict)
    ]
    documents: list[Any] = [case[1] for case in INVALID] + seeds
    for state in states:
        documents.extend(_mutations(machine(S=state), rng, 12))
    for seed in seeds:
        documents.extend(_mutations(seed, rng, 5))
    fast = _index().is_valid
    assert fast is not None
    disagreements = [doc for doc in documents if fast(doc) != jsonschema_valid(doc)]
    assert disagreements == []
    # The sample must exercise both answers.
    assert sum(map(jsonschema_valid, documents)) > 100
    assert sum(not jsonschema_valid(doc) for doc in documents) > 500


def fifty_states() -> dict[str, Any]:
    states: dict[str, Any] = {}
    for i in range(50):
        following = {"Next": f"S{i + 1}"} if i < 49 else END
        kind = i % 5
        if kind == 0:
            state = {
                "Type": "Task",
                "Resource": "tool:work",
                "Parameters": {"a.$": "$.a", "b": [1, {"c.$": "$.c"}]},
                "ResultPath": "$.r",
                "TimeoutSeconds": 30,
                "Retry": [{"ErrorEquals": ["LLM.RateLimited"], "MaxAttempts": 5}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "S49"}],
                **following,
            }
        elif kind == 1:
            state = {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.p", **following}
        elif kind == 2:
            target = f"S{i + 1}"
            state = {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.x", "NumericGreaterThan": 3, "Next": target},
                    {"And": [{"Variable": "$.y", "IsPresent": True}], "Next": target},
                ],
                "Default": target,
            }
        elif kind == 3:
            state = {"Type": "Wait", "Seconds": 5, **following}
        else:
            state = {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"v.$": "$$.Map.Item.Value"},
                "ItemProcessor": {"StartAt": f"In{i}", "States": {f"In{i}": TASK}},
                **following,
            }
        states[f"S{i}"] = state
    return {"StartAt": "S0", "States": states}


def test_fifty_states_validate_in_a_few_milliseconds() -> None:
    definition = fifty_states()
    assert problems(definition) == []
    runs = []
    for _ in range(30):
        start = time.perf_counter()
        problems(definition)
        runs.append(time.perf_counter() - start)
    # ~1 ms on a laptop; the bound leaves room for a busy CI machine. Without the fast
    # path jsonschema alone needs 20-50 ms here.
    assert statistics.median(runs) < 0.010


def test_importing_the_module_stays_light() -> None:
    code = (
        "import sys, statemachine.validation.schema; "
        "heavy = {'yaml', 'jsonata', 'jmespath', 'pydantic', 'sqlmodel', 'fastapi', 'openai'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip() == "[]"
