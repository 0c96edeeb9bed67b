"""The Dispatcher: routing by resource scheme, the python: allowlist (at validation and
at run time), activities, the callback pattern, and default_dispatcher()."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from handler_context import context

from statemachine.clock import VirtualClock
from statemachine.definition import load
from statemachine.errors import StatesError
from statemachine.handlers.dispatch import Dispatcher, default_dispatcher, parse_lambda_map
from statemachine.handlers.registry import ToolRegistry
from statemachine.handlers.resources import (
    ResourcePolicy,
    check_resource_allowed,
    is_activity,
    is_callback,
)
from statemachine.model.build import build
from statemachine.runner import Runner


def one_task(resource: str, **extra: Any) -> dict[str, Any]:
    return {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": resource, "End": True, **extra}},
    }


# --- python: ------------------------------------------------------------------------------------


def test_python_os_system_is_rejected_at_run_time(registry: ToolRegistry) -> None:
    # Built without the validator, as a definition would reach a worker that did not
    # validate it: the run-time check alone must refuse it.
    machine = build(one_task("python:os:system", Parameters={"cmd": "echo hacked"}))
    with Dispatcher(registry) as dispatcher:
        result = Runner(machine, dispatcher=dispatcher).run({})
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert "python:os:system" in (result.cause or "")
    assert "not allowed" in (result.cause or "")


def test_python_os_system_is_rejected_by_the_validation_check() -> None:
    message = check_resource_allowed("python:os:system", ResourcePolicy())
    assert message is not None and "STATEMACHINE_PYTHON_ALLOW" in message
    assert check_resource_allowed("python:os:system", ["billing"]) is not None
    assert check_resource_allowed("python:billing.charges:charge", ["billing"]) is None
    assert check_resource_allowed("python:billing_evil.x:f", ["billing"]) is not None
    assert check_resource_allowed("python:billing.charges:_private", ["billing"]) is not None
    assert check_resource_allowed("tool:anything", ()) is None
    assert check_resource_allowed("arn:aws:lambda:us-east-1:1:function:f", ()) is None


def test_the_validation_check_reads_the_environment_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert check_resource_allowed("python:billing.charges:charge") is not None
    monkeypatch.setenv("STATEMACHINE_PYTHON_ALLOW", "reports, billing")
    assert check_resource_allowed("python:billing.charges:charge") is None


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real importable package ``sm_billing`` on sys.path."""
    root = tmp_path / "sm_billing"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "charges.py").write_text(
        textwrap.dedent(
            """
            from os import system  # a name imported from outside the package
            from pydantic import BaseModel

            class Charge(BaseModel):
                amount: int

            def charge(payload: Charge, ctx):
                return {"charged": payload.amount, "state": ctx.state_name}

            async def refund(payload):
                return {"refunded": payload["amount"]}
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return "sm_billing"


def test_python_resource_inside_an_allowed_package_runs(
    registry: ToolRegistry, package: str
) -> None:
    with Dispatcher(registry, allowed_python_packages=[package]) as dispatcher:
        assert dispatcher("python:sm_billing.charges:charge", {"amount": 3}, context("Pay")) == {
            "charged": 3,
            "state": "Pay",
        }
        assert dispatcher("python:sm_billing.charges:refund", {"amount": 2}, context()) == {
            "refunded": 2
        }
        with pytest.raises(StatesError, match=r"Tool\.InvalidInput"):
            dispatcher("python:sm_billing.charges:charge", {"amount": "x"}, context())


def test_python_names_imported_from_elsewhere_are_refused(
    registry: ToolRegistry, package: str
) -> None:
    with (
        Dispatcher(registry, allowed_python_packages=[package]) as dispatcher,
        pytest.raises(StatesError) as info,
    ):
        dispatcher("python:sm_billing.charges:system", "echo hacked", context())
    assert info.value.error == "States.Runtime"
    assert "outside the allowed packages" in (info.value.cause or "")


def test_python_resource_in_a_package_not_allowed(registry: ToolRegistry, package: str) -> None:
    with (
        Dispatcher(registry, allowed_python_packages=["other"]) as dispatcher,
        pytest.raises(StatesError, match="not allowed"),
    ):
        dispatcher("python:sm_billing.charges:charge", {"amount": 1}, context())


def test_missing_python_function(registry: ToolRegistry, package: str) -> None:
    with Dispatcher(registry, allowed_python_packages=[package]) as dispatcher:
        with pytest.raises(StatesError, match="has no function"):
            dispatcher("python:sm_billing.charges:nothing", {}, context())
        with pytest.raises(StatesError, match="cannot import"):
            dispatcher("python:sm_billing.missing:f", {}, context())


# --- routing ------------------------------------------------------------------------------------


def test_activities_have_no_local_handler(registry: ToolRegistry) -> None:
    arn = "arn:aws:states:us-east-1:123456789012:activity:review"
    assert is_activity("activity:review") and is_activity(arn)
    assert not is_activity("tool:review")
    with Dispatcher(registry) as dispatcher:
        assert dispatcher.handler_for("activity:review") is None
        assert not dispatcher.has_local_handler(arn)
        with pytest.raises(StatesError, match="external worker polls"):
            dispatcher("activity:review", {}, context())


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        ("llm:embed", "only LLM handler is llm:chat"),
        ("foo:bar", "No handler serves"),
        ("arn:aws:states:::sqs:sendMessage", "lambda_map"),
        ("tool:missing", "No handler is registered"),
    ],
)
def test_unknown_resources_fail_with_states_runtime(
    registry: ToolRegistry, resource: str, message: str
) -> None:
    with Dispatcher(registry) as dispatcher, pytest.raises(StatesError) as info:
        dispatcher(resource, {}, context())
    assert info.value.error == "States.Runtime"
    assert message in (info.value.cause or "")


def test_any_arn_can_be_mapped_to_a_tool(registry: ToolRegistry) -> None:
    registry.register(
        "enqueue", lambda payload: {"MessageId": "m-1", "body": payload["MessageBody"]}
    )
    mapping = {"arn:aws:states:::sqs:sendMessage": "enqueue"}
    with Dispatcher(registry, lambda_map=mapping) as dispatcher:
        out = dispatcher("arn:aws:states:::sqs:sendMessage", {"MessageBody": "hi"}, context())
    assert out == {"MessageId": "m-1", "body": "hi"}


def test_callback_resources_get_the_token_and_their_result_is_ignored(
    registry: ToolRegistry,
) -> None:
    seen: list[str | None] = []

    @registry.tool("ask_human")
    def ask_human(payload: Any, ctx: Any) -> Any:
        seen.append(ctx.task_token)
        return {"ignored": True}

    definition = one_task(
        "tool:ask_human.waitForTaskToken",
        TimeoutSeconds=3600,
        Parameters={"question": "ok?", "token.$": "$$.Task.Token"},
    )
    with Dispatcher(registry) as dispatcher:
        result = Runner(load(definition), dispatcher=dispatcher, clock=VirtualClock()).run({})
    assert is_callback("tool:ask_human.waitForTaskToken")
    assert len(seen) == 1 and seen[0]
    # nobody answers in memory: the task times out on the virtual clock, not with the
    # handler's return value
    assert (result.status, result.error) == ("FAILED", "States.Timeout")


def test_default_dispatcher_reads_the_environment(
    registry: ToolRegistry, package: str, make_dispatcher: Callable[..., Dispatcher]
) -> None:
    registry.register("charge_card", lambda payload: {"ok": payload})
    env = {
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "STATEMACHINE_PYTHON_ALLOW": f"{package}, reports",
        "STATEMACHINE_LAMBDA_MAP": (
            "Charge=charge_card, Refund:prod=python:sm_billing.charges:refund"
        ),
    }
    with default_dispatcher(env, registry=registry, entry_points=False) as dispatcher:
        assert dispatcher.policy.allowed_python_packages == (package, "reports")
        assert dispatcher.llm.config.base_url == "http://127.0.0.1:9/v1"
        assert dispatcher.check("python:os:system") is not None
        out = dispatcher("arn:aws:lambda:us-east-1:123456789012:function:Charge", 5, context())
        assert out == {"ok": 5}
        refund = "arn:aws:lambda:us-east-1:123456789012:function:Refund:prod"
        assert dispatcher(refund, {"amount": 1}, context()) == {"refunded": 1}


def test_parse_lambda_map() -> None:
    assert parse_lambda_map(" A=a , B:prod = tool:b,junk,") == {"A": "a", "B:prod": "tool:b"}
