"""The span tree of one workflow (a Parallel with a retried task and a caught failure, a
Map of LLM calls), the same from the in-memory runner and from the durable engine, with
the attributes the issue asks for, exported through the SDK's in-memory exporter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fake_openai import FakeOpenAI, completion
from otel_helpers import Telemetry, by_name, tree

from statemachine.clock import VirtualClock
from statemachine.engine.worker import Worker
from statemachine.errors import TaskError
from statemachine.handlers.dispatch import Dispatcher
from statemachine.handlers.llm import LLMConfig
from statemachine.handlers.registry import TaskContext, ToolRegistry
from statemachine.model.build import build
from statemachine.observability import ids
from statemachine.runner import Runner
from statemachine.service import Service

DEFINITION: dict[str, Any] = {
    "StartAt": "Fan",
    "States": {
        "Fan": {
            "Type": "Parallel",
            "ResultPath": "$.parallel",
            "Next": "Each",
            "Branches": [
                {
                    "StartAt": "Flaky",
                    "States": {
                        "Flaky": {
                            "Type": "Task",
                            "Resource": "tool:flaky",
                            "Retry": [
                                {"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 3}
                            ],
                            "End": True,
                        }
                    },
                },
                {
                    "StartAt": "Risky",
                    "States": {
                        "Risky": {
                            "Type": "Task",
                            "Resource": "tool:bad",
                            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}],
                            "End": True,
                        },
                        "Recover": {"Type": "Pass", "End": True},
                    },
                },
            ],
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ResultPath": "$.answers",
            "ItemProcessor": {
                "StartAt": "Ask",
                "States": {
                    "Ask": {
                        "Type": "Task",
                        "Resource": "llm:chat",
                        "Parameters": {"model": "gpt-test", "prompt.$": "$"},
                        "End": True,
                    }
                },
            },
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}

EXPECTED = [
    "execution shapes",
    "  Done",
    "  Each",
    "    Each iteration",
    "      Ask",
    "        chat gpt-test",
    "    Each iteration",
    "      Ask",
    "        chat gpt-test",
    "  Fan",
    "    Fan branch",
    "      Flaky",
    "        execute_tool flaky ERROR",
    "        execute_tool flaky",
    "    Fan branch",
    "      Recover",
    "      Risky ERROR",
    "        execute_tool bad ERROR",
]


class Tools(ToolRegistry):
    """Two tools; ``llm:chat`` is the real handler, talking to a fake OpenAI server."""

    def __init__(self) -> None:
        super().__init__()
        self.traceparents: list[str | None] = []
        self.register("flaky", self.flaky)
        self.register("bad", self.bad)

    def flaky(self, payload: Any, ctx: TaskContext) -> Any:
        self.traceparents.append(ctx.traceparent)
        if ctx.attempt == 1:
            raise TaskError("Boom", "the first attempt fails")
        return {"ok": True}

    def bad(self, payload: Any, ctx: TaskContext) -> Any:
        raise TaskError("Nope", "always fails")


@pytest.fixture
def llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fake OpenAI-compatible server; the worker's dispatcher finds it through the
    environment, as in production."""
    with FakeOpenAI() as server:
        server.respond_with(lambda body: completion("ok", model="gpt-test-2026"))
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        yield server.url


def run_in_memory(
    telemetry: Telemetry, tools: Tools, name: str, llm: str, shipped: bool = False
) -> str:
    """``shipped``: the events go out raw and the spans are built as the exporter
    process builds them (the production path of the in-memory runner)."""
    runner = Runner(
        build(DEFINITION),
        dispatcher=Dispatcher(tools, LLMConfig(base_url=llm, api_key="test")),
        clock=VirtualClock(),
        state_machine_name="shapes",
        observer=telemetry.shipping_observer() if shipped else telemetry.observer,
    )
    result = runner.run({"items": [1, 2]}, name=name)
    if shipped:
        telemetry.drain()
    return result.status


def run_durable(telemetry: Telemetry, tools: Tools, url: str, shipped: bool = False) -> str:
    """``shipped``: the committed rows go out raw and the spans are built as the exporter
    process builds them, reading the database itself (the production path)."""
    service = Service(url)
    (telemetry.shipping_observer() if shipped else telemetry.observer).attach(service.db)
    worker = Worker(service.db, registry=tools, poll_interval=0.02)
    thread = worker.start_thread()
    try:
        service.register_state_machine("shapes", DEFINITION)
        execution = service.start_execution("shapes", {"items": [1, 2]}, name="one")
        return service.wait(execution.execution_id, 120).status
    finally:
        worker.stop()
        thread.join(60)
        if shipped:
            telemetry.drain()
        service.close()


@pytest.mark.parametrize("driver", ["runner", "runner-shipped", "durable", "durable-shipped"])
def test_span_tree_shape_and_attributes(
    driver: str, telemetry: Telemetry, sqlite_db_url: str, llm: str
) -> None:
    tools = Tools()
    if driver.startswith("runner"):
        status = run_in_memory(telemetry, tools, "one", llm, shipped=driver == "runner-shipped")
    else:
        status = run_durable(telemetry, tools, sqlite_db_url, shipped=driver.endswith("shipped"))
    assert status == "SUCCEEDED"
    spans = telemetry.spans()
    assert tree(spans) == EXPECTED
    assert len({s.context.trace_id for s in spans}) == 1
    assert len({s.context.span_id for s in spans}) == len(spans)

    (execution,) = by_name(spans, "execution shapes")
    assert execution.parent is None
    assert execution.attributes["statemachine.execution.status"] == "SUCCEEDED"
    assert execution.attributes["statemachine.execution.id"].endswith(":shapes:one")

    (flaky,) = by_name(spans, "Flaky")
    assert flaky.attributes["statemachine.state.type"] == "Task"
    assert flaky.attributes["statemachine.state.attempt"] == 2
    assert flaky.attributes["statemachine.state.retry_count"] == 1
    assert flaky.attributes["statemachine.state.input_size"] > 0
    assert flaky.attributes["statemachine.state.output_size"] == len('{"ok":true}')
    first, second = sorted(
        by_name(spans, "execute_tool flaky"),
        key=lambda s: s.attributes["statemachine.task.attempt"],
    )
    assert first.attributes["error.type"] == "Boom"
    assert first.status.description == "the first attempt fails"
    assert second.attributes["gen_ai.tool.name"] == "flaky"
    assert second.attributes["gen_ai.operation.name"] == "execute_tool"
    assert second.attributes["statemachine.task.attempt"] == 2

    # The handler was handed its own task span as W3C trace context.
    handed = [ids.parse_traceparent(t) for t in tools.traceparents]
    assert [h.span_id for h in handed if h] == [first.context.span_id, second.context.span_id]
    assert all(h and h.trace_id == execution.context.trace_id for h in handed)

    (risky,) = by_name(spans, "Risky")
    assert risky.attributes["error.type"] == "Nope"
    assert risky.attributes["statemachine.state.caught"] is True

    iterations = by_name(spans, "Each iteration")
    assert sorted(s.attributes["statemachine.map.index"] for s in iterations) == [0, 1]
    (each,) = by_name(spans, "Each")
    assert each.attributes["statemachine.map.length"] == 2
    for chat in by_name(spans, "chat gpt-test"):
        assert chat.kind.name == "CLIENT"
        assert chat.attributes["gen_ai.operation.name"] == "chat"
        assert chat.attributes["gen_ai.request.model"] == "gpt-test"
        assert chat.attributes["gen_ai.response.model"] == "gpt-test-2026"
        assert chat.attributes["gen_ai.usage.input_tokens"] == 11
        assert chat.attributes["gen_ai.usage.output_tokens"] == 7
        assert chat.attributes["gen_ai.response.finish_reasons"] == ("stop",)

    points = telemetry.points()
    machine = "statemachine.state_machine.name"
    assert (
        {machine: "shapes", "statemachine.execution.status": "SUCCEEDED"},
        1,
    ) in points["statemachine.executions"]
    assert ({machine: "shapes"}, 8) in points["statemachine.transitions"]
    assert ({machine: "shapes", "statemachine.task.resource": "tool:flaky"}, 1) in points[
        "statemachine.task.retries"
    ]
    tokens = {
        (a["gen_ai.token.type"], a["gen_ai.response.model"]): v
        for a, v in points["statemachine.llm.tokens"]
    }
    assert tokens == {("input", "gpt-test-2026"): 22, ("output", "gpt-test-2026"): 14}
    latency = {a["statemachine.task.resource"]: n for a, n in points["statemachine.task.duration"]}
    assert latency["llm:chat"] == 2


@pytest.mark.parametrize("shipped", [False, True])
def test_failures_end_every_span(telemetry: Telemetry, shipped: bool) -> None:
    """An uncaught failure inside a Map iteration: the failing state, its iteration, the
    Map state and the execution are errors; nothing is left open."""
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Check",
                    "States": {
                        "Check": {
                            "Type": "Choice",
                            "Choices": [
                                {"Variable": "$", "NumericGreaterThan": 1, "Next": "Reject"}
                            ],
                            "Default": "Fine",
                        },
                        "Reject": {"Type": "Fail", "Error": "TooBig", "Cause": "over 1"},
                        "Fine": {"Type": "Pass", "End": True},
                    },
                },
                "End": True,
            }
        },
    }
    observer = telemetry.shipping_observer() if shipped else telemetry.observer
    runner = Runner(
        build(definition), clock=VirtualClock(), state_machine_name="f", observer=observer
    )
    result = runner.run([1, 2])
    if shipped:
        telemetry.drain()
    assert result.status == "FAILED" and result.error == "TooBig"
    spans = telemetry.spans()
    assert tree(spans) == [
        "execution f ERROR",
        "  Each ERROR",
        "    Each iteration",
        "      Check",
        "      Fine",
        "    Each iteration ERROR",
        "      Check",
        "      Reject ERROR",
    ]
    (execution,) = by_name(spans, "execution f")
    assert execution.attributes["error.type"] == "TooBig"
    assert execution.status.description == "over 1"
    (each,) = by_name(spans, "Each")
    assert each.attributes["error.type"] == "TooBig"
