"""The tool registry: registration, calling conventions, payload validation, results,
errors, JSON Schemas, handlers modules, entry points and tool:call."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import inspect
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from handler_context import context
from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from statemachine.errors import StatesError, TaskError
from statemachine.handlers.registry import (
    Tool,
    ToolRegistry,
    call_handler,
    default_registry,
    load_entry_points,
    load_handlers,
    to_json,
    tool,
)


class Order(BaseModel):
    id: str
    quantity: int = Field(ge=1)


def test_decorator_registers_under_the_given_name_and_returns_the_function(
    registry: ToolRegistry,
) -> None:
    def charge(payload: Any, ctx: Any) -> Any:
        return {"charged": payload["amount"]}

    assert registry.tool("charge_card")(charge) is charge
    assert registry.names() == ["charge_card"]
    assert registry.call("tool:charge_card", {"amount": 5}, context()) == {"charged": 5}


def test_bare_decorator_uses_the_function_name(registry: ToolRegistry) -> None:
    @registry.tool
    def ping() -> str:
        return "pong"

    assert registry.call("tool:ping", None, context()) == "pong"


def test_context_is_optional(registry: ToolRegistry) -> None:
    @registry.tool("double")
    def double(payload: dict[str, int]) -> int:
        return payload["n"] * 2

    @registry.tool("who")
    def who(payload: Any, ctx: Any) -> str:
        return f"{ctx.state_name}#{ctx.attempt}"

    assert registry.call("tool:double", {"n": 4}, context()) == 8
    assert registry.call("tool:who", {}, context(state="S", attempt=3)) == "S#3"


def test_async_tools_run_and_stay_coroutine_functions_for_drivers(
    registry: ToolRegistry,
) -> None:
    @registry.tool("slow_echo")
    async def slow_echo(payload: Any, ctx: Any) -> Any:
        await asyncio.sleep(0)
        return payload

    assert registry.call("tool:slow_echo", {"a": [1]}, context()) == {"a": [1]}
    handler = registry.resolve("tool:slow_echo")
    assert handler is not None and inspect.iscoroutinefunction(handler)
    sync = registry.tool("plain")(lambda payload: payload)
    assert not inspect.iscoroutinefunction(registry.resolve("tool:plain"))
    assert sync(1) == 1


def test_async_tool_called_from_inside_an_event_loop(registry: ToolRegistry) -> None:
    @registry.tool("inner")
    async def inner(payload: Any) -> Any:
        return payload + 1

    async def driver() -> Any:
        return registry.call("tool:inner", 41, context())

    assert asyncio.run(driver()) == 42


def test_pydantic_payload_is_validated_into_the_model(registry: ToolRegistry) -> None:
    seen: list[Order] = []

    @registry.tool("place")
    def place(order: Order) -> Order:
        seen.append(order)
        return order

    assert registry.call("tool:place", {"id": "o-1", "quantity": 2}, context()) == {
        "id": "o-1",
        "quantity": 2,
    }
    assert isinstance(seen[0], Order)
    with pytest.raises(TaskError) as info:
        registry.call("tool:place", {"id": "o-2", "quantity": 0}, context())
    assert info.value.error == "Tool.InvalidInput"
    assert "quantity" in (info.value.cause or "")


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Span(TypedDict):
    start: int
    end: int


def test_dataclass_and_typeddict_payloads(registry: ToolRegistry) -> None:
    @registry.tool("norm")
    def norm(p: Point) -> int:
        assert isinstance(p, Point)
        return abs(p.x) + abs(p.y)

    @registry.tool("length")
    def length(s: Span) -> int:
        return s["end"] - s["start"]

    assert registry.call("tool:norm", {"x": -2, "y": 3}, context()) == 5
    assert registry.call("tool:length", {"start": 2, "end": 7}, context()) == 5
    with pytest.raises(TaskError, match=r"Tool\.InvalidInput"):
        registry.call("tool:length", {"start": 2}, context())


def test_results_are_converted_to_json(registry: ToolRegistry) -> None:
    class Color(enum.Enum):
        RED = "red"

    @dataclasses.dataclass
    class Box:
        color: Color
        size: tuple[int, int]

    assert to_json(Box(Color.RED, (1, 2))) == {"color": "red", "size": [1, 2]}
    assert to_json(Order(id="a", quantity=1)) == {"id": "a", "quantity": 1}
    assert to_json({"n": 1.5, "ok": True, "none": None}) == {"n": 1.5, "ok": True, "none": None}


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ({"when": {1, 2}}, "a value of type set at $.when"),
        ({"items": [1, object()]}, "a value of type object at $.items[1]"),
        ({1: "x"}, "an object key of type int"),
        ({"x": float("nan")}, "JSON has no NaN"),
        (b"bytes", "a value of type bytes at $"),
    ],
)
def test_a_non_json_result_fails_with_states_runtime_naming_the_type(
    registry: ToolRegistry, value: Any, what: str
) -> None:
    registry.register("bad", lambda payload: value)
    with pytest.raises(StatesError) as info:
        registry.call("tool:bad", {}, context())
    assert info.value.error == "States.Runtime"
    assert what in (info.value.cause or "")


def test_exceptions_become_named_errors(registry: ToolRegistry) -> None:
    class PaymentDeclined(Exception):
        pass

    @registry.tool("pay")
    def pay(payload: Any) -> Any:
        raise PaymentDeclined("card expired")

    @registry.tool("named")
    def named(payload: Any) -> Any:
        raise TaskError("Payment.Declined", "insufficient funds")

    @registry.tool("async_fail")
    async def async_fail(payload: Any) -> Any:
        raise KeyError("missing")

    for resource, error, cause in [
        ("tool:pay", "PaymentDeclined", "card expired"),
        ("tool:named", "Payment.Declined", "insufficient funds"),
        ("tool:async_fail", "KeyError", "'missing'"),
    ]:
        with pytest.raises(StatesError) as info:
            registry.call(resource, {}, context())
        assert (info.value.error, info.value.cause) == (error, cause)


def test_unknown_tool_is_a_runtime_error(registry: ToolRegistry) -> None:
    with pytest.raises(StatesError) as info:
        registry.call("tool:nope", {}, context())
    assert info.value.error == "States.Runtime"


def test_names_are_checked_and_call_is_reserved(registry: ToolRegistry) -> None:
    with pytest.raises(ValueError, match="reserved"):
        registry.register("call", lambda p: p)
    with pytest.raises(ValueError, match="letters"):
        registry.register("send email", lambda p: p)


def test_json_schema_comes_from_type_hints(registry: ToolRegistry) -> None:
    @registry.tool("place", description="Place an order.")
    def place(order: Order) -> None:
        return None

    @registry.tool("free")
    def free(payload: dict[str, Any]) -> None:
        """Anything goes."""

    @registry.tool("nothing")
    def nothing() -> None:
        return None

    schema = registry.get("place").json_schema()  # type: ignore[union-attr]
    assert schema["type"] == "object"
    assert schema["required"] == ["id", "quantity"]
    assert schema["properties"]["quantity"]["minimum"] == 1
    function = registry.get("place").function_schema()  # type: ignore[union-attr]
    assert function["type"] == "function"
    assert function["function"]["name"] == "place"
    assert function["function"]["description"] == "Place an order."
    assert registry.get("free").function_schema()["function"]["description"] == "Anything goes."  # type: ignore[union-attr]
    assert registry.get("free").json_schema()["type"] == "object"  # type: ignore[union-attr]
    assert registry.get("nothing").json_schema() == {"type": "object"}  # type: ignore[union-attr]


def test_schema_override(registry: ToolRegistry) -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    entry = registry.register("search", lambda p: p, schema=schema)
    assert entry.json_schema() == schema


def test_call_handler_accepts_plain_callables() -> None:
    assert call_handler(lambda payload, ctx: [payload], 1, context()) == [1]
    assert call_handler(Tool("t", lambda: 7), None, context()) == 7


def test_load_handlers_file_into_a_given_registry(tmp_path: Path, registry: ToolRegistry) -> None:
    module = tmp_path / "my_tools.py"
    module.write_text(
        textwrap.dedent(
            """
            import statemachine

            @statemachine.tool("greet")
            def greet(payload):
                return "hello " + payload["name"]
            """
        )
    )
    before = default_registry.names()
    load_handlers(str(module), registry=registry)
    assert registry.names() == ["greet"]
    assert default_registry.names() == before
    assert registry.call("tool:greet", {"name": "Ada"}, context()) == "hello Ada"


def test_module_level_tool_goes_to_the_default_registry() -> None:
    def _probe_tool(payload: Any) -> Any:
        return payload

    try:
        tool("probe_default_registry")(_probe_tool)
        assert "probe_default_registry" in default_registry
    finally:
        default_registry._tools.pop("probe_default_registry", None)


def test_entry_points_register_functions_and_modules(
    tmp_path: Path, registry: ToolRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real installed distribution (a .dist-info folder on sys.path) declaring tools."""
    (tmp_path / "sm_demo_tools.py").write_text(
        textwrap.dedent(
            """
            import statemachine

            def shout(payload):
                return payload["text"].upper()

            @statemachine.tool("whisper")
            def whisper(payload):
                return payload["text"].lower()
            """
        )
    )
    info = tmp_path / "sm_demo_tools-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sm-demo-tools\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[statemachine.tools]\nshout = sm_demo_tools:shout\nwhisper = sm_demo_tools:whisper\n"
        "broken = sm_demo_tools_missing:nothing\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "sm_demo_tools", raising=False)
    loaded = load_entry_points(registry)
    assert sorted(loaded) == ["shout", "whisper"]
    assert registry.names() == ["shout", "whisper"]
    assert registry.call("tool:shout", {"text": "Hi"}, context()) == "HI"
    assert registry.call("tool:whisper", {"text": "Hi"}, context()) == "hi"


# --- tool:call ---------------------------------------------------------------------------------


class Sum(BaseModel):
    a: int
    b: int


@pytest.fixture
def adder(registry: ToolRegistry) -> ToolRegistry:
    @registry.tool("add")
    def add(args: Sum) -> int:
        return args.a + args.b

    return registry


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "add", "arguments": '{"a": 2, "b": 3}'},
        {"name": "add", "arguments": {"a": 2, "b": 3}},
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "add", "arguments": '{"a":2,"b":3}'},
        },
    ],
)
def test_tool_call_runs_the_named_tool(adder: ToolRegistry, payload: Any) -> None:
    assert adder.call("tool:call", payload, context()) == 5


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"name": "nope", "arguments": "{}"}, "Tool.NotFound"),
        ({"name": "add", "arguments": "{not json"}, "Tool.InvalidArguments"),
        ({"name": "add", "arguments": "[1, 2]"}, "Tool.InvalidArguments"),
        ({"arguments": "{}"}, "Tool.InvalidCall"),
        ("add", "Tool.InvalidCall"),
        ({"name": "add", "arguments": '{"a": "x", "b": 1}'}, "Tool.InvalidInput"),
    ],
)
def test_tool_call_failures_are_catchable_named_errors(
    adder: ToolRegistry, payload: Any, error: str
) -> None:
    with pytest.raises(TaskError) as info:
        adder.call("tool:call", payload, context())
    assert info.value.error == error
