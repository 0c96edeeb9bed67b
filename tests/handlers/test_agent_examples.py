"""The agent examples in definitions/ run end to end through the in-memory Runner against
the fake OpenAI server, with the real demo tools; the Python examples of
README's "Writing tools" and "Using an LLM" sections run as written."""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI, Reply, completion, error, tool_call

from statemachine.clock import VirtualClock
from statemachine.definition import load, validate
from statemachine.handlers.dispatch import Dispatcher
from statemachine.handlers.registry import ToolRegistry, default_registry, load_handlers
from statemachine.runner import Runner

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = ROOT / "definitions"
MakeDispatcher = Callable[..., Dispatcher]


@pytest.fixture
def agent_tools(
    registry: ToolRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ToolRegistry:
    monkeypatch.setenv("STATEMACHINE_AGENT_DIR", str(tmp_path))
    load_handlers(str(DEFINITIONS / "handlers" / "agent_tools.py"), registry=registry)
    return registry


@pytest.mark.parametrize("name", ["agent-loop.asl.yaml", "plan-execute-agent.asl.yaml"])
def test_the_examples_validate(name: str) -> None:
    assert [p for p in validate(DEFINITIONS / name) if p.severity == "error"] == []


def test_agent_loop_runs_tools_until_the_model_answers(
    fake_openai: FakeOpenAI,
    make_dispatcher: MakeDispatcher,
    agent_tools: ToolRegistry,
    tmp_path: Path,
) -> None:
    fake_openai.script(
        completion(tool_calls=[tool_call("search_notes", {"query": "Q3 budget"}, "c1")]),
        completion(
            tool_calls=[
                tool_call("calculator", '{"expression": "0.17 * 48000"}', "c2"),
                tool_call("write_file", {"filename": "answer.txt", "content": "8160 EUR"}, "c3"),
                tool_call("no_such_tool", {}, "c4"),
            ]
        ),
        completion("17% of the Q3 budget is 8160 EUR."),
    )
    machine = load(DEFINITIONS / "agent-loop.asl.yaml")
    result = Runner(machine, dispatcher=make_dispatcher(registry=agent_tools)).run(
        {"task": "What is 17% of the Q3 budget?", "model": "gpt-test"}
    )
    assert result.status == "SUCCEEDED", result.to_json()
    assert result.output["answer"] == "17% of the Q3 budget is 8160 EUR."
    assert result.output["turns"] == 3
    assert (tmp_path / "answer.txt").read_text() == "8160 EUR"

    first, second, third = fake_openai.bodies
    assert first["model"] == "gpt-test"
    assert [t["function"]["name"] for t in first["tools"]] == [
        "search_notes",
        "calculator",
        "write_file",
    ]
    assert first["tools"][1]["function"]["parameters"]["required"] == ["expression"]
    # the second call carries the assistant's tool call and the tool's answer
    assistant, answer = second["messages"][2:]
    assert assistant["tool_calls"][0]["id"] == "c1"
    assert answer["role"] == "tool" and answer["tool_call_id"] == "c1"
    assert json.loads(answer["content"])[0]["title"] == "Q3 budget"
    # three tool results in call order; a failing tool is reported, not fatal
    results = third["messages"][5:]
    assert [m["tool_call_id"] for m in results] == ["c2", "c3", "c4"]
    assert json.loads(results[0]["content"]) == {"expression": "0.17 * 48000", "result": 8160}
    assert results[2]["content"].startswith("Error Tool.NotFound")


def test_agent_loop_stops_after_max_turns(
    fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher, agent_tools: ToolRegistry
) -> None:
    fake_openai.respond_with(
        lambda body: completion(tool_calls=[tool_call("calculator", {"expression": "1+1"}, "c")])
    )
    machine = load(DEFINITIONS / "agent-loop.asl.yaml")
    result = Runner(machine, dispatcher=make_dispatcher(registry=agent_tools)).run(
        {"task": "loop forever", "max_turns": 3}
    )
    assert (result.status, result.error) == ("FAILED", "Agent.TooManyTurns")
    assert len(fake_openai.requests) == 3


def test_agent_loop_retries_a_throttled_model(
    fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher, agent_tools: ToolRegistry
) -> None:
    fake_openai.script(error(429, headers={"Retry-After": "1"}), completion("done"))
    machine = load(DEFINITIONS / "agent-loop.asl.yaml")
    runner = Runner(machine, dispatcher=make_dispatcher(registry=agent_tools), clock=VirtualClock())
    result = runner.run({"task": "hi"})
    assert result.status == "SUCCEEDED", result.to_json()
    assert result.output["answer"] == "done"


PLAN = {
    "steps": [
        {"title": "Budget", "instructions": "Find the Q3 budget and compute 17% of it."},
        {"title": "On-call", "instructions": "Who is on call in week 2?"},
        {"title": "Save", "instructions": "Save a one-line summary to summary.txt."},
    ]
}


def plan_execute_responder(body: Any) -> Reply:
    """Answers by content, not order: the step iterations interleave."""
    messages = body["messages"]
    if "response_format" in body:
        return completion(json.dumps(PLAN))
    user, last = messages[1]["content"], messages[-1]
    if user.startswith("Task: ") and "Step results" in user:
        return completion("Report: budget share 8160 EUR; Ben is on call; summary saved.")
    fresh = last["role"] == "user"
    if "Step 1" in user:
        if fresh:
            return completion(
                tool_calls=[tool_call("calculator", {"expression": "0.17*48000"}, "b1")]
            )
        return completion(f"17% is {json.loads(last['content'])['result']} EUR")
    if "Step 2" in user:
        if fresh:
            return completion(
                tool_calls=[tool_call("search_notes", {"query": "on-call rota"}, "r1")]
            )
        return completion("Ben")
    if "Step 3" in user:
        if fresh:
            args = {"filename": "summary.txt", "content": "Q3 share 8160 EUR; Ben on call."}
            return completion(tool_calls=[tool_call("write_file", args, "s1")])
        return completion("saved")
    return error(400, f"unexpected request: {user[:80]}")


def test_plan_execute_agent(
    fake_openai: FakeOpenAI,
    make_dispatcher: MakeDispatcher,
    agent_tools: ToolRegistry,
    tmp_path: Path,
) -> None:
    fake_openai.respond_with(plan_execute_responder)
    machine = load(DEFINITIONS / "plan-execute-agent.asl.yaml")
    result = Runner(machine, dispatcher=make_dispatcher(registry=agent_tools)).run(
        {"task": "Prepare the handover", "model": "gpt-test"}
    )
    assert result.status == "SUCCEEDED", result.to_json()
    assert result.output == {
        "task": "Prepare the handover",
        "report": "Report: budget share 8160 EUR; Ben is on call; summary saved.",
        "steps": [
            {"title": "Budget", "result": "17% is 8160 EUR", "turns": 2},
            {"title": "On-call", "result": "Ben", "turns": 2},
            {"title": "Save", "result": "saved", "turns": 2},
        ],
    }
    assert (tmp_path / "summary.txt").read_text() == "Q3 share 8160 EUR; Ben on call."
    plan_request = fake_openai.bodies[0]
    assert plan_request["response_format"]["json_schema"]["name"] == "plan"
    assert len(fake_openai.requests) == 1 + 3 * 2 + 1


def test_plan_execute_rejects_a_plan_outside_the_schema(
    fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher, agent_tools: ToolRegistry
) -> None:
    too_short = {"steps": [{"title": "Only", "instructions": "one step"}]}
    fake_openai.respond_with(lambda body: completion(json.dumps(too_short)))
    machine = load(DEFINITIONS / "plan-execute-agent.asl.yaml")
    runner = Runner(machine, dispatcher=make_dispatcher(registry=agent_tools), clock=VirtualClock())
    result = runner.run({"task": "x"})
    assert (result.status, result.error) == ("FAILED", "LLM.InvalidOutput")
    assert len(fake_openai.requests) == 2  # retried once, as the definition says


# --- README: "Writing tools" and "Using an LLM" ---------------------------------------------


def python_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    text = readme[readme.index("## Writing tools") : readme.index("## Testing your workflows")]
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_docs_examples_run(fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.url)
    fake_openai.respond_with(lambda body: completion("Oslo"))
    blocks = python_blocks()
    runnable = [b for b in blocks if "def charge(event, ctx): ..." not in b]
    assert len(runnable) == 3
    before = set(default_registry.names())
    out = io.StringIO()
    try:
        for block in runnable:
            namespace: dict[str, Any] = {"__name__": "docs_example"}
            with contextlib.redirect_stdout(out):
                exec(compile(block, "README.md", "exec"), namespace)
            dispatcher = namespace.get("dispatcher")
            if dispatcher is not None:
                dispatcher.close()
    finally:
        for name in set(default_registry.names()) - before:
            default_registry._tools.pop(name, None)
    assert out.getvalue().splitlines() == [
        "{'sku': 'mug', 'total': 10.0}",
        "Quote.TooLarge",
        "{'answer': 'Oslo'}",
    ]
    assert fake_openai.bodies[0]["messages"][0] == {
        "role": "system",
        "content": "Answer with the city name only.",
    }
