"""AWS portability: lambda:invoke and bare Lambda ARNs run local handlers, with AWS's
response envelope and Lambda's error shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from handler_context import context

from statemachine.definition import load
from statemachine.errors import StatesError, TaskError
from statemachine.handlers.dispatch import Dispatcher
from statemachine.handlers.registry import ToolRegistry
from statemachine.runner import Runner

INVOKE = "arn:aws:states:::lambda:invoke"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction"


class CardDeclined(Exception):
    pass


@pytest.fixture
def lambdas(registry: ToolRegistry) -> Dispatcher:
    @registry.tool("hello", aws_lambda="HelloFunction")
    def hello(event: Any, ctx: Any) -> Any:
        return {"greeting": f"hello {event['name']}"}

    @registry.tool("charge", aws_lambda=["ChargeFunction"])
    def charge(event: Any) -> Any:
        raise CardDeclined("card expired")

    @registry.tool("sets", aws_lambda="SetFunction")
    def sets(event: Any) -> Any:
        return {"tags": {"a"}}

    @registry.tool("named")
    def named(event: Any) -> Any:
        raise TaskError("Payment.Declined", "insufficient funds")

    return Dispatcher(registry, lambda_map={"Named": "named", "Echo:prod": lambda e: e})


def test_lambda_invoke_returns_the_aws_envelope(lambdas: Dispatcher) -> None:
    ctx = context(idempotency_key="exec/1/3")
    out = lambdas(INVOKE, {"FunctionName": "HelloFunction", "Payload": {"name": "Ada"}}, ctx)
    assert set(out) == {
        "ExecutedVersion",
        "Payload",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
        "StatusCode",
    }
    assert out["ExecutedVersion"] == "$LATEST"
    assert out["Payload"] == {"greeting": "hello Ada"}
    assert out["StatusCode"] == 200
    meta = out["SdkHttpMetadata"]
    assert meta["HttpStatusCode"] == 200
    assert meta["HttpHeaders"]["X-Amz-Executed-Version"] == "$LATEST"
    assert meta["HttpHeaders"]["Content-Type"] == "application/json"
    rid = out["SdkResponseMetadata"]["RequestId"]
    assert meta["HttpHeaders"]["x-amzn-RequestId"] == rid
    assert meta["AllHttpHeaders"]["x-amzn-RequestId"] == [rid]
    # the same attempt of the same step gets the same request id
    again = lambdas(INVOKE, {"FunctionName": "HelloFunction", "Payload": {"name": "Ada"}}, ctx)
    assert again["SdkResponseMetadata"]["RequestId"] == rid


@pytest.mark.parametrize(
    "name",
    [
        "HelloFunction",
        "HelloFunction:live",
        "123456789012:function:HelloFunction",
        "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction",
        "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction:$LATEST",
    ],
)
def test_function_name_forms(lambdas: Dispatcher, name: str) -> None:
    out = lambdas(INVOKE, {"FunctionName": name, "Payload": {"name": "x"}}, context())
    assert out["Payload"] == {"greeting": "hello x"}


def test_numeric_qualifier_is_the_executed_version(lambdas: Dispatcher) -> None:
    params = {"FunctionName": "HelloFunction", "Qualifier": "7", "Payload": {"name": "x"}}
    assert lambdas(INVOKE, params, context())["ExecutedVersion"] == "7"


def test_bare_lambda_arn_returns_the_plain_result(lambdas: Dispatcher) -> None:
    assert lambdas(FUNCTION, {"name": "Bo"}, context()) == {"greeting": "hello Bo"}
    assert lambdas(FUNCTION + ":prod", {"name": "Bo"}, context()) == {"greeting": "hello Bo"}


def test_lambda_map_by_name_and_qualifier(lambdas: Dispatcher) -> None:
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:Echo:prod"
    assert lambdas(arn, {"x": 1}, context()) == {"x": 1}
    with pytest.raises(TaskError) as info:
        lambdas("arn:aws:lambda:eu-west-1:123456789012:function:Echo", {}, context())
    assert info.value.error == "Lambda.ResourceNotFoundException"


def test_errors_take_lambdas_shape(lambdas: Dispatcher) -> None:
    with pytest.raises(StatesError) as info:
        lambdas(INVOKE, {"FunctionName": "ChargeFunction", "Payload": {}}, context())
    assert info.value.error == "CardDeclined"
    cause = json.loads(info.value.cause or "")
    assert cause["errorType"] == "CardDeclined"
    assert cause["errorMessage"] == "card expired"
    assert isinstance(cause["requestId"], str)
    assert any("test_handler_aws.py" in line for line in cause["stackTrace"])
    assert not any("statemachine/handlers" in line for line in cause["stackTrace"])

    with pytest.raises(StatesError) as info:
        lambdas("arn:aws:lambda:us-east-1:123456789012:function:Named", {}, context())
    assert info.value.error == "Payment.Declined"
    assert json.loads(info.value.cause or "")["errorMessage"] == "insufficient funds"


def test_an_unserializable_result_is_a_marshal_error(lambdas: Dispatcher) -> None:
    with pytest.raises(StatesError) as info:
        lambdas(INVOKE, {"FunctionName": "SetFunction", "Payload": {}}, context())
    assert info.value.error == "Runtime.MarshalError"
    cause = json.loads(info.value.cause or "")
    assert cause["errorType"] == "Runtime.MarshalError"
    assert "set" in cause["errorMessage"]


def test_an_unmapped_function_is_resource_not_found(lambdas: Dispatcher) -> None:
    with pytest.raises(StatesError) as info:
        lambdas(INVOKE, {"FunctionName": "Nobody", "Payload": {}}, context())
    assert info.value.error == "Lambda.ResourceNotFoundException"
    assert "Nobody" in (info.value.cause or "")


def test_event_and_dry_run_invocations(lambdas: Dispatcher) -> None:
    event = {"FunctionName": "ChargeFunction", "InvocationType": "Event", "Payload": {}}
    out = lambdas(INVOKE, event, context())
    assert (out["StatusCode"], out["Payload"]) == (202, "")
    dry = {"FunctionName": "HelloFunction", "InvocationType": "DryRun"}
    assert lambdas(INVOKE, dry, context())["StatusCode"] == 204


def test_an_aws_definition_runs_unchanged(lambdas: Dispatcher) -> None:
    """The usual AWS shape: Payload.$ from the input, ResultSelector on $.Payload, and a
    Catch on the function's own error name."""
    definition = {
        "StartAt": "Greet",
        "States": {
            "Greet": {
                "Type": "Task",
                "Resource": INVOKE,
                "Parameters": {"FunctionName": FUNCTION, "Payload.$": "$"},
                "ResultSelector": {"greeting.$": "$.Payload.greeting"},
                "ResultPath": "$.result",
                "Next": "Charge",
            },
            "Charge": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:ChargeFunction",
                "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "MaxAttempts": 2}],
                "Catch": [
                    {"ErrorEquals": ["CardDeclined"], "ResultPath": "$.error", "Next": "Declined"}
                ],
                "End": True,
            },
            "Declined": {"Type": "Pass", "End": True},
        },
    }
    result = Runner(load(definition), dispatcher=lambdas).run({"name": "Ada"})
    assert result.status == "SUCCEEDED", result.to_json()
    assert result.output["result"] == {"greeting": "hello Ada"}
    assert result.output["error"]["Error"] == "CardDeclined"
    assert json.loads(result.output["error"]["Cause"])["errorMessage"] == "card expired"


def test_lambda_invoke_callback_gets_the_token(registry: ToolRegistry) -> None:
    tokens: list[str | None] = []
    registry.register(
        "review", lambda event, ctx: tokens.append(ctx.task_token), aws_lambda="Review"
    )
    with Dispatcher(registry) as dispatcher:
        dispatcher(
            INVOKE + ".waitForTaskToken",
            {"FunctionName": "Review", "Payload": {"token": "t-1"}},
            context(task_token="t-1"),
        )
    assert tokens == ["t-1"]
