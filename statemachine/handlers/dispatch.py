"""One entry for every Task: ``Dispatcher(resource, payload, ctx) -> JSON``.

Both drivers (the in-memory runner and the durable engine) call a dispatcher with the
Task's resource, its evaluated payload and a :class:`TaskContext`; it routes by scheme:

===============================================  ==============================================
Resource                                         Runs
===============================================  ==============================================
``tool:NAME``                                    the registered tool
``tool:call``                                    the registered tool a model's tool call names
``llm:chat``                                     :class:`~statemachine.handlers.llm.ChatHandler`
``python:pkg.module:function``                   that function, only inside allowed packages
``arn:aws:states:::lambda:invoke``               the tool mapped to ``FunctionName``, enveloped
``arn:aws:lambda:...:function:NAME[:Q]``         the tool mapped to NAME, plain result
any other ``arn:...`` in ``lambda_map``          the mapped tool, plain result
``activity:NAME`` / activity ARNs                nothing: an external worker polls (see below)
===============================================  ==============================================

``.waitForTaskToken`` resources run the same handler with ``ctx.task_token`` set; the
driver ignores the return value and waits for ``send_task_success``. Activities have no
local handler: a driver checks :func:`~statemachine.handlers.resources.is_activity` (or
:meth:`Dispatcher.has_local_handler`) first and parks the frame; calling the dispatcher
for one is a ``States.Runtime`` error. Every failure is a :class:`StatesError`.

Time limits are the driver's: wrap the call in
:func:`~statemachine.handlers.timeouts.run_with_timeout` when the state sets
TimeoutSeconds or HeartbeatSeconds (async handlers below the dispatcher still get
cancelled).
"""

from __future__ import annotations

import functools
import importlib
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from statemachine.errors import StatesError, TaskError
from statemachine.handlers import stream as live
from statemachine.handlers.aws import invoke_lambda
from statemachine.handlers.llm import ChatHandler, LLMConfig, UsageHook
from statemachine.handlers.registry import (
    Handler,
    TaskContext,
    Tool,
    ToolRegistry,
    call_handler,
    default_registry,
    load_entry_points,
)
from statemachine.handlers.resources import (
    PYTHON_ALLOW_ENV,
    ResourcePolicy,
    check_resource_allowed,
    function_name,
    in_packages,
    is_activity,
    is_lambda_invoke,
    lambda_function,
    parse_package_list,
    parse_python,
    split_callback,
)
from statemachine.handlers.tool_call import call_tool

JSON = Any
LAMBDA_MAP_ENV = "STATEMACHINE_LAMBDA_MAP"
#: What a ``lambda_map`` entry may point at: a tool name, a resource (``tool:NAME``,
#: ``python:pkg.module:function``) or a handler function.
LambdaTarget = str | Callable[..., Any]


class Dispatcher:
    """Routes a Task to its handler. Thread-safe; create one per process and share it.

    ``allowed_python_packages`` bounds ``python:`` resources (none by default).
    ``lambda_map`` maps Lambda function names (``NAME`` or ``NAME:QUALIFIER``) and whole
    resource ARNs to local handlers; ``@tool(aws_lambda=...)`` declarations in the
    registry are consulted after it. ``usage_hook`` receives one record per model call.
    """

    def __init__(
        self,
        registry: ToolRegistry | None = None,
        llm_config: LLMConfig | None = None,
        allowed_python_packages: Iterable[str] = (),
        lambda_map: Mapping[str, LambdaTarget] | None = None,
        *,
        usage_hook: UsageHook | None = None,
        broker: live.Broker | None = None,
    ) -> None:
        self.registry = registry if registry is not None else default_registry
        self.policy = ResourcePolicy(tuple(allowed_python_packages))
        self.lambda_map: dict[str, LambdaTarget] = dict(lambda_map or {})
        self.llm = ChatHandler(
            llm_config or LLMConfig(), self.registry, usage_hook=usage_hook, broker=broker
        )
        self._python: dict[str, Tool] = {}
        self._lock = threading.Lock()

    def __call__(self, resource: str, payload: JSON, ctx: TaskContext) -> JSON:
        handler = self.handler_for(resource)
        if handler is None:
            raise StatesError(
                "States.Runtime",
                f"Resource {resource!r} is an activity: it has no local handler, an external "
                "worker polls for it, and this driver cannot wait for one",
            )
        return call_handler(handler, payload, ctx)

    def handler_for(self, resource: str) -> Handler | None:
        """The ``(payload, ctx)`` handler that runs ``resource`` (an ``async def`` one for
        async tools, so a driver may run it on its own event loop), or None for an
        activity. Raises :class:`StatesError` when nothing may or can run it."""
        if resource.startswith("tool:"):
            base, _ = split_callback(resource)
            if base == "tool:call":
                return functools.partial(call_tool, self.registry)
            entry = self.registry.get(base[5:])
            if entry is None:
                raise StatesError(
                    "States.Runtime", f"No handler is registered for resource '{resource}'"
                )
            return entry.handler
        base, _ = split_callback(resource)
        if base == "llm:chat":
            return self.llm
        if base.startswith("python:"):
            return self.python_handler(base).handler
        if is_activity(base):
            return None
        if base.startswith("arn:"):
            return self._arn(base)
        if base.startswith("llm:"):
            raise StatesError(
                "States.Runtime", f"Resource {resource!r}: the only LLM handler is llm:chat"
            )
        raise StatesError("States.Runtime", f"No handler serves resource {resource!r}")

    # -- questions drivers and validators ask ---------------------------------------------

    def has_local_handler(self, resource: str) -> bool:
        """False for activities: the engine parks the frame for an external worker."""
        return not is_activity(resource)

    def check(self, resource: str) -> str | None:
        """Why ``resource`` may not run under this dispatcher's policy, or None."""
        return check_resource_allowed(resource, self.policy)

    # -- python: ---------------------------------------------------------------------------

    def python_handler(self, resource: str) -> Tool:
        """Import and vet the function a ``python:`` resource names (cached)."""
        base, _ = split_callback(resource)
        problem = check_resource_allowed(base, self.policy)
        if problem:
            raise StatesError("States.Runtime", problem)
        with self._lock:
            cached = self._python.get(base)
        if cached is not None:
            return cached
        parsed = parse_python(base)
        assert parsed is not None  # check_resource_allowed vetted the form
        module_name, attr = parsed
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise StatesError(
                "States.Runtime",
                f"Resource {resource!r}: cannot import {module_name}: {type(exc).__name__}: {exc}",
            ) from exc
        fn = getattr(module, attr, None)
        if fn is None or not callable(fn) or isinstance(fn, type):
            raise StatesError(
                "States.Runtime", f"Resource {resource!r}: {module_name} has no function {attr}"
            )
        # A name imported into an allowed module (``from os import system``) must not
        # become a way out of the allowed packages.
        owner = getattr(fn, "__module__", None) or ""
        if not in_packages(owner, self.policy.allowed_python_packages):
            raise StatesError(
                "States.Runtime",
                f"Resource {resource!r} is not allowed: {attr} is defined in {owner or 'an '}"
                "unknown module, outside the allowed packages",
            )
        handler = Tool(f"{module_name}:{attr}", fn)
        with self._lock:
            self._python[base] = handler
        return handler

    # -- AWS ---------------------------------------------------------------------------------

    def _arn(self, base: str) -> Handler:
        if is_lambda_invoke(base):
            return self._lambda_invoke
        function = lambda_function(base)
        if function is not None:
            name, qualifier = function

            def invoke_function(payload: JSON, ctx: TaskContext) -> JSON:
                handler = self.lambda_handler(name, qualifier, display=base)
                return invoke_lambda(handler, payload, ctx, qualifier=qualifier, envelope=False)

            return invoke_function
        target = self.lambda_map.get(base)
        if target is not None:
            return self._target(target, base)
        raise StatesError(
            "States.Runtime",
            f"No local handler is mapped for {base!r}: add it to the dispatcher's lambda_map",
        )

    def _lambda_invoke(self, params: JSON, ctx: TaskContext) -> JSON:
        """``lambda:invoke``: Parameters ``FunctionName``, ``Payload``, ``Qualifier``,
        ``InvocationType`` (Lambda Invoke API names)."""
        if not isinstance(params, Mapping) or not isinstance(params.get("FunctionName"), str):
            raise StatesError(
                "States.Runtime", "lambda:invoke needs Parameters with a FunctionName string"
            )
        given = params["FunctionName"]
        parsed = function_name(given)
        if parsed is None:
            raise TaskError(
                "Lambda.InvalidParameterValueException", f"Invalid FunctionName: {given}"
            )
        name, qualifier = parsed
        qualifier = params.get("Qualifier") or qualifier
        handler = self.lambda_handler(name, qualifier, display=given)
        return invoke_lambda(
            handler,
            params.get("Payload", {}),
            ctx,
            qualifier=qualifier,
            envelope=True,
            invocation_type=params.get("InvocationType") or "RequestResponse",
        )

    def lambda_handler(self, name: str, qualifier: str | None, *, display: str) -> Handler:
        """The local handler standing in for Lambda function ``name``."""
        keys = ([f"{name}:{qualifier}"] if qualifier else []) + [name, display]
        for key in keys:
            target = self.lambda_map.get(key)
            if target is not None:
                return self._target(target, display)
        for key in keys[:-1]:
            found = self.registry.lambda_tool(key)
            if found is not None:
                return found
        raise TaskError(
            "Lambda.ResourceNotFoundException",
            f"Function not found: {display} (no local handler is mapped to it; use the "
            "dispatcher's lambda_map or @tool(aws_lambda=...))",
        )

    def _target(self, target: LambdaTarget, what: str) -> Handler:
        if callable(target):
            return target if isinstance(target, Tool) else Tool(what, target)
        if target.startswith("python:"):
            return self.python_handler(target)
        name = target.removeprefix("tool:")
        found = self.registry.get(name)
        if found is None:
            raise StatesError(
                "States.Runtime", f"{what} is mapped to tool {name!r}, which is not registered"
            )
        return found

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the model client's connections."""
        self.llm.close()

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def parse_lambda_map(text: str) -> dict[str, str]:
    """``"Charge=charge_card, Notify:prod=python:ops.notify:send"`` -> a lambda_map."""
    out: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip() and value.strip():
            out[key.strip()] = value.strip()
    return out


def default_dispatcher(
    environ: Mapping[str, str] | None = None,
    *,
    registry: ToolRegistry | None = None,
    entry_points: bool = True,
    usage_hook: UsageHook | None = None,
) -> Dispatcher:
    """A dispatcher configured from the environment: ``OPENAI_API_KEY`` /
    ``OPENAI_BASE_URL`` (and the rest of :meth:`LLMConfig.from_env`),
    ``STATEMACHINE_PYTHON_ALLOW`` (comma-separated packages),
    ``STATEMACHINE_LAMBDA_MAP`` (``NAME=TARGET,...``), plus the tools of installed
    packages' ``statemachine.tools`` entry points."""
    env = os.environ if environ is None else environ
    target = registry if registry is not None else default_registry
    if entry_points:
        load_entry_points(target)
    return Dispatcher(
        target,
        LLMConfig.from_env(env),
        parse_package_list(env.get(PYTHON_ALLOW_ENV, "")),
        parse_lambda_map(env.get(LAMBDA_MAP_ENV, "")),
        usage_hook=usage_hook,
    )
