"""Registered Python tools: ``@statemachine.tool("name")`` on a plain function.

A handler is ``(payload, ctx) -> JSON``, sync or async. It fails its Task by raising
:class:`statemachine.TaskError` (a named error) or any exception (the class name becomes
the error, the message the cause), so Retry and Catch can match it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import importlib.util
import inspect
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from statemachine.errors import StatesError

JSON = Any
Handler = Callable[[JSON, "TaskContext"], JSON | Awaitable[JSON]]

_log = logging.getLogger("statemachine.task")


def _no_heartbeat() -> None:
    return None


@dataclass(slots=True)
class TaskContext:
    """What a handler knows about the call. ``idempotency_key`` is the same on every
    attempt of the same step of the same execution, so side effects can be deduplicated."""

    execution_id: str
    state_name: str
    resource: str
    attempt: int = 1
    idempotency_key: str = ""
    task_token: str | None = None
    heartbeat: Callable[[], None] = _no_heartbeat
    logger: logging.Logger = field(default=_log)


class ToolRegistry:
    def __init__(self) -> None:
        self._tools: dict[str, Handler] = {}

    def register(self, name: str, fn: Handler) -> None:
        self._tools[name] = fn

    def tool(self, name: str | None = None) -> Callable[[Handler], Handler]:
        def decorate(fn: Handler) -> Handler:
            self.register(name or fn.__name__, fn)
            return fn

        return decorate

    def get(self, name: str) -> Handler | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def resolve(self, resource: str) -> Handler | None:
        base = resource.removesuffix(".waitForTaskToken")
        if base.startswith("tool:"):
            return self._tools.get(base[5:])
        return None

    def call(self, resource: str, payload: JSON, ctx: TaskContext) -> JSON:
        handler = self.resolve(resource)
        if handler is None:
            raise StatesError(
                "States.Runtime", f"No handler is registered for resource '{resource}'"
            )
        return call_handler(handler, payload, ctx)


def call_handler(handler: Handler, payload: JSON, ctx: TaskContext) -> JSON:
    """Call a sync or async handler; map exceptions to named errors."""
    try:
        result = handler(payload, ctx)
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
    except StatesError:
        raise
    except Exception as exc:  # a handler's failure is data for Retry/Catch
        raise StatesError(type(exc).__name__, str(exc)) from exc
    return to_json(result)


async def _await(result: Awaitable[JSON]) -> JSON:
    return await result


def to_json(value: JSON) -> JSON:
    """Convert pydantic models and dataclasses; reject anything that is not JSON."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise StatesError(
                    "States.Runtime",
                    f"Task result has a non-string object key {k!r} ({type(k).__name__})",
                )
            out[k] = to_json(v)
        return out
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return to_json(dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(dataclasses.asdict(value))
    raise StatesError(
        "States.Runtime",
        f"Task result is not JSON serializable: a value of type {type(value).__name__}",
    )


default_registry = ToolRegistry()


def tool(name: str | None = None) -> Callable[[Handler], Handler]:
    """Register a function as the handler of ``Resource: tool:NAME``."""
    return default_registry.tool(name)


def load_handlers(spec: str) -> None:
    """Import a handlers module by dotted name or a ``.py`` file path; its ``@tool``
    decorators register into the default registry."""
    path = Path(spec)
    if spec.endswith(".py") or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"handlers file not found: {spec}")
        mod_name = f"_statemachine_handlers_{abs(hash(str(path.resolve())))}"
        loaded = importlib.util.spec_from_file_location(mod_name, path)
        if loaded is None or loaded.loader is None:
            raise ImportError(f"cannot import handlers from {spec}")
        module = importlib.util.module_from_spec(loaded)
        sys.modules[mod_name] = module
        loaded.loader.exec_module(module)
        return
    importlib.import_module(spec)
