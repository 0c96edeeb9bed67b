"""``Resource: tool:call``: run one tool call a model asked for.

The payload is a tool call as ``llm:chat`` returns it, ``{"name", "arguments"}``, or in
OpenAI's own shape ``{"id", "type": "function", "function": {"name", "arguments"}}``.
``arguments`` may be the JSON *string* OpenAI sends. Only registered tools can be
called this way, never ``python:`` resources, so a model cannot reach arbitrary code.

Every failure is a named, catchable error, so an agent loop can hand it back to the
model instead of failing the execution: ``Tool.InvalidCall`` (no name),
``Tool.NotFound`` (no such tool), ``Tool.InvalidArguments`` (not a JSON object), and
whatever the tool itself raises.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from statemachine.errors import TaskError

if TYPE_CHECKING:
    from statemachine.handlers.registry import TaskContext, ToolRegistry

JSON = Any


def parse_tool_call(payload: JSON) -> tuple[str, JSON]:
    """``(name, arguments)`` of a tool call in either accepted shape."""
    if not isinstance(payload, Mapping):
        raise TaskError(
            "Tool.InvalidCall",
            f"tool:call expects an object {{name, arguments}}, got {type(payload).__name__}",
        )
    call = payload.get("function") if isinstance(payload.get("function"), Mapping) else payload
    name = call.get("name")
    if not isinstance(name, str) or not name:
        raise TaskError("Tool.InvalidCall", "tool:call needs the tool's name in 'name'")
    arguments = call.get("arguments")
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        return name, {}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError as exc:
            raise TaskError(
                "Tool.InvalidArguments",
                f"the arguments for {name} are not valid JSON: {exc.msg} at column {exc.colno}",
            ) from None
    if not isinstance(arguments, Mapping):
        raise TaskError(
            "Tool.InvalidArguments",
            f"the arguments for {name} must be a JSON object, got {type(arguments).__name__}",
        )
    return name, dict(arguments)


def call_tool(registry: ToolRegistry, payload: JSON, ctx: TaskContext) -> JSON:
    from statemachine.handlers.registry import call_handler

    name, arguments = parse_tool_call(payload)
    target = registry.get(name)
    if target is None:
        known = ", ".join(registry.names()) or "none"
        raise TaskError("Tool.NotFound", f"no tool named {name!r} (registered: {known})")
    return call_handler(target, arguments, ctx)
