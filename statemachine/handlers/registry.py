"""Registered Python tools: ``@statemachine.tool("name")`` on a plain function.

A tool is a function ``(payload, ctx) -> JSON``, sync or async (``ctx`` may be left out,
so may the payload of a tool that takes none). When the payload parameter is annotated
with a pydantic model, dataclass or TypedDict, the payload is validated into it first
and the same annotation gives the tool's JSON Schema (see :mod:`.schema`). The result
must be JSON; pydantic models, dataclasses and enums are converted, anything else fails
the Task with ``States.Runtime`` naming the type and where it sits in the result.

A tool fails its Task by raising :class:`statemachine.TaskError` (a named error) or any
exception: the exception class name becomes the error, its message the cause, so Retry
and Catch can match it (the same rule AWS applies to Lambda functions).

Tools reach a registry three ways: the decorator in a module imported with
:func:`load_handlers` (``--handlers``), Python entry points in the ``statemachine.tools``
group (:func:`load_entry_points`), or ``python:pkg.module:function`` resources, which the
dispatcher resolves itself and only inside allowed packages.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import logging
import re
import sys
import types
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from statemachine.errors import StatesError, TaskError
from statemachine.handlers.results import to_json
from statemachine.handlers.schema import (
    PayloadCoercer,
    Signature,
    inspect_function,
    is_structured,
    json_schema_for,
    validation_message,
)
from statemachine.observability.logging import task_logger

JSON = Any
Handler = Callable[[JSON, "TaskContext"], JSON | Awaitable[JSON]]

ENTRY_POINT_GROUP = "statemachine.tools"
#: ``tool:call`` is the built-in that runs a model's tool call, so no tool may take it.
RESERVED_NAMES = frozenset({"call"})
_NAME = re.compile(r"[A-Za-z0-9_.-]+")

_log = logging.getLogger("statemachine.task")


def _no_heartbeat() -> None:
    return None


@dataclass(slots=True)
class TaskContext:
    """What a handler knows about the call.

    ``idempotency_key`` is the same on every attempt of the same step of the same
    execution, so side effects can be deduplicated; ``attempt`` counts from 1.
    ``task_token`` is set for ``.waitForTaskToken`` resources: the handler hands it to
    whoever will answer, and its own return value is ignored. ``heartbeat()`` tells the
    engine the task is alive (required within ``heartbeat_seconds`` when the state sets
    HeartbeatSeconds). ``timeout_seconds`` is the state's TimeoutSeconds, when set, so a
    handler can bound its own I/O by it.
    """

    execution_id: str
    state_name: str
    resource: str
    attempt: int = 1
    idempotency_key: str = ""
    task_token: str | None = None
    heartbeat: Callable[[], None] = _no_heartbeat
    logger: logging.Logger | logging.LoggerAdapter[Any] = field(default=_log)
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    map_index: int | None = None  # the index of the innermost Map iteration, if any
    traceparent: str | None = None  # W3C header of the task's span, when tracing is on

    def __post_init__(self) -> None:
        if self.logger is _log:  # log lines carry the execution, state, attempt, trace ids
            self.logger = task_logger(self, _log)

    def publish(self, event: Mapping[str, JSON]) -> int:
        """Send a live event (progress, token deltas) to watchers of this execution.
        Live events are never persisted; returns how many subscribers got it."""
        from statemachine.handlers import stream

        return stream.publish(self.execution_id, {"state": self.state_name, **event})


class Tool:
    """A registered function with what is known about it: name, description, schema.

    Calling a Tool validates the payload (when its annotation asks for it) and passes
    as many arguments as the function takes. Type hints are resolved on first use, so a
    payload model may be defined below the function that uses it.
    """

    def __init__(
        self,
        name: str,
        fn: Callable[..., Any],
        *,
        description: str | None = None,
        aws_lambda: Sequence[str] = (),
        schema: Mapping[str, JSON] | None = None,
    ) -> None:
        self.name = name
        self.fn = fn
        self.description = description if description is not None else _doc(fn)
        self.aws_lambda = tuple(aws_lambda)
        self._schema = dict(schema) if schema is not None else None
        self._signature: Signature | None = None
        self._coerce: PayloadCoercer | None = None
        self._handler: Handler | None = None

    def __repr__(self) -> str:
        return f"Tool({self.name!r}, {getattr(self.fn, '__qualname__', self.fn)!r})"

    @property
    def signature(self) -> Signature:
        if self._signature is None:
            sig = inspect_function(self.fn)
            if is_structured(sig.payload_type):
                self._coerce = PayloadCoercer(sig.payload_type)
            self._signature = sig
        return self._signature

    @property
    def is_async(self) -> bool:
        fn = self.fn
        if inspect.isroutine(fn) or isinstance(fn, functools.partial):
            return inspect.iscoroutinefunction(fn)
        return inspect.iscoroutinefunction(type(fn).__call__)  # a callable object

    def __call__(self, payload: JSON, ctx: TaskContext) -> Any:
        sig = self.signature
        if self._coerce is not None:
            try:
                payload = self._coerce(payload)
            except ValueError as exc:  # pydantic's ValidationError is a ValueError
                raise TaskError(
                    "Tool.InvalidInput", f"{self.name}: {validation_message(exc)}"
                ) from exc
        if sig.arity == 2:
            return self.fn(payload, ctx)
        if sig.arity == 1:
            return self.fn(payload)
        return self.fn()

    @property
    def handler(self) -> Handler:
        """The tool as a plain ``(payload, ctx)`` function: ``async def`` when the tool
        is async, so drivers that check ``inspect.iscoroutinefunction`` can run it on
        their event loop."""
        if self._handler is None:
            self._handler = _plain_handler(self)
        return self._handler

    def json_schema(self) -> dict[str, JSON]:
        """JSON Schema of the payload, from the annotation (or the one given)."""
        if self._schema is None:
            self._schema = json_schema_for(self.signature.payload_type)
        return self._schema

    def function_schema(self) -> dict[str, JSON]:
        """The tool as an OpenAI ``tools`` entry (``{"type": "function", ...}``)."""
        function: dict[str, JSON] = {"name": self.name, "parameters": self.json_schema()}
        if self.description:
            function["description"] = self.description
        return {"type": "function", "function": function}


def _plain_handler(entry: Tool) -> Handler:
    if entry.is_async:

        async def run_async(payload: JSON, ctx: TaskContext) -> JSON:
            return await entry(payload, ctx)

        handler: Any = run_async
    else:

        def run(payload: JSON, ctx: TaskContext) -> JSON:
            return entry(payload, ctx)

        handler = run
    handler.__name__ = handler.__qualname__ = entry.name
    handler.tool = entry
    return handler


def _doc(fn: Callable[..., Any]) -> str:
    doc = inspect.getdoc(fn) if inspect.isroutine(fn) else None
    return doc or ""


_collecting: ContextVar[ToolRegistry | None] = ContextVar("statemachine_tools", default=None)


class ToolRegistry:
    """Tools by name, plus the AWS Lambda function names they answer to."""

    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}
        self._lambda: dict[str, str] = {}

    def register(
        self,
        name: str,
        fn: Callable[..., Any],
        *,
        description: str | None = None,
        aws_lambda: str | Sequence[str] | None = None,
        schema: Mapping[str, JSON] | None = None,
    ) -> Tool:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(f"tool name {name!r} must be made of letters, digits, _ . -")
        if name in RESERVED_NAMES:
            raise ValueError(f"tool name {name!r} is reserved (tool:call runs model tool calls)")
        lambdas = (aws_lambda,) if isinstance(aws_lambda, str) else tuple(aws_lambda or ())
        entry = Tool(name, fn, description=description, aws_lambda=lambdas, schema=schema)
        self._tools[name] = entry
        for function_name in lambdas:
            self._lambda[function_name] = name
        return entry

    @overload
    def tool(self, name: Callable[..., Any]) -> Callable[..., Any]: ...
    @overload
    def tool(
        self,
        name: str | None = None,
        *,
        description: str | None = None,
        aws_lambda: str | Sequence[str] | None = None,
        schema: Mapping[str, JSON] | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]: ...

    def tool(
        self,
        name: str | Callable[..., Any] | None = None,
        *,
        description: str | None = None,
        aws_lambda: str | Sequence[str] | None = None,
        schema: Mapping[str, JSON] | None = None,
    ) -> Any:
        """Decorator: register ``fn`` (returned unchanged) as ``tool:NAME``."""

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.register(
                name if isinstance(name, str) else fn.__name__,
                fn,
                description=description,
                aws_lambda=aws_lambda,
                schema=schema,
            )
            return fn

        if callable(name):  # used bare: @tool
            return decorate(name)
        return decorate

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._tools.values()))

    def find(self, fn: Callable[..., Any]) -> Tool | None:
        """The tool registered for function ``fn``, if any."""
        for entry in self._tools.values():
            if entry.fn is fn:
                return entry
        return None

    def lambda_tool(self, function_name: str) -> Tool | None:
        """The tool declared with ``aws_lambda=function_name``."""
        name = self._lambda.get(function_name)
        return self._tools.get(name) if name is not None else None

    def resolve(self, resource: str) -> Handler | None:
        """The handler of ``tool:NAME`` (see :attr:`Tool.handler`), or None."""
        base = resource.removesuffix(".waitForTaskToken")
        if base.startswith("tool:"):
            entry = self._tools.get(base[5:])
            return entry.handler if entry is not None else None
        return None

    def call(self, resource: str, payload: JSON, ctx: TaskContext) -> JSON:
        """Run ``tool:NAME`` (and the built-in ``tool:call``)."""
        if resource.removesuffix(".waitForTaskToken") == "tool:call":
            from statemachine.handlers.tool_call import call_tool

            return call_tool(self, payload, ctx)
        handler = self.resolve(resource)
        if handler is None:
            raise StatesError(
                "States.Runtime", f"No handler is registered for resource '{resource}'"
            )
        return call_handler(handler, payload, ctx)

    @contextmanager
    def collecting(self) -> Iterator[ToolRegistry]:
        """While active, module-level ``@tool`` decorators register here instead of in
        the default registry (used to load a handlers module into a given registry)."""
        token = _collecting.set(self)
        try:
            yield self
        finally:
            _collecting.reset(token)


# --- calling --------------------------------------------------------------------------------


def invoke_handler(handler: Handler, payload: JSON, ctx: TaskContext) -> Any:
    """Call a sync or async handler and return its raw result; exceptions become named
    errors (:class:`StatesError` passes through unchanged)."""
    try:
        result = handler(payload, ctx)
        if inspect.isawaitable(result):
            from statemachine.handlers._aio import run_awaitable

            result = run_awaitable(result)
    except StatesError:
        raise
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # a handler's failure is data for Retry/Catch
        # (CancelledError included: a coroutine cancelled by anyone but the driver)
        raise error_from_exception(exc) from exc
    return result


def call_handler(handler: Handler, payload: JSON, ctx: TaskContext) -> JSON:
    """Call a sync or async handler; map exceptions to named errors; return JSON."""
    return to_json(invoke_handler(handler, payload, ctx))


def error_from_exception(exc: BaseException) -> StatesError:
    """AWS's rule for functions: the exception class name is the error, the message the
    cause."""
    if isinstance(exc, StatesError):
        return exc
    return TaskError(type(exc).__name__, str(exc))


# --- registration -----------------------------------------------------------------------------

default_registry = ToolRegistry()


def _target() -> ToolRegistry:
    current = _collecting.get()
    return current if current is not None else default_registry


@overload
def tool(name: Callable[..., Any]) -> Callable[..., Any]: ...
@overload
def tool(
    name: str | None = None,
    *,
    description: str | None = None,
    aws_lambda: str | Sequence[str] | None = None,
    schema: Mapping[str, JSON] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]: ...


def tool(
    name: str | Callable[..., Any] | None = None,
    *,
    description: str | None = None,
    aws_lambda: str | Sequence[str] | None = None,
    schema: Mapping[str, JSON] | None = None,
) -> Any:
    """Register a function as the handler of ``Resource: tool:NAME`` (NAME defaults to the
    function name). ``aws_lambda`` names the Lambda function(s) it stands in for, so
    ``arn:aws:lambda:...:function:NAME`` and ``lambda:invoke`` reach it; ``description``
    and ``schema`` override the docstring and the schema derived from the type hints."""
    return _target().tool(name, description=description, aws_lambda=aws_lambda, schema=schema)  # type: ignore[arg-type]


def load_handlers(spec: str, registry: ToolRegistry | None = None) -> types.ModuleType:
    """Import a handlers module by dotted name or ``.py`` file path; its ``@tool``
    decorators register into ``registry`` (default: the default registry). A file is
    executed afresh on every call; a dotted module only on its first import."""
    with (registry if registry is not None else _target()).collecting():
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
            return module
        return importlib.import_module(spec)


def load_entry_points(
    registry: ToolRegistry | None = None, group: str = ENTRY_POINT_GROUP
) -> list[str]:
    """Load the ``statemachine.tools`` entry points of installed packages.

    An entry point naming a module imports it (its decorators register the tools); one
    naming a function registers it under the entry point's name unless a decorator
    already did. A broken entry point is logged and skipped, so one bad package does not
    take every tool down with it. Returns the entry point names loaded.
    """
    from importlib.metadata import entry_points

    target = registry if registry is not None else _target()
    loaded: list[str] = []
    for ep in entry_points(group=group):
        try:
            with target.collecting():
                obj = ep.load()
            if not isinstance(obj, types.ModuleType) and target.find(obj) is None:
                if not callable(obj):
                    raise TypeError(f"{ep.value} is neither a module nor a callable")
                target.register(ep.name, obj)
        except Exception:
            _log.exception("cannot load tool entry point %s = %s", ep.name, ep.value)
            continue
        loaded.append(ep.name)
    return loaded
