"""Task handlers: the tool registry, the LLM handler and the dispatcher drivers call.

Names load on first access, so ``import statemachine`` (which needs only ``tool`` and
``TaskContext``) stays light; ``openai`` and ``pydantic`` load only when used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from statemachine.handlers.dispatch import Dispatcher, default_dispatcher
    from statemachine.handlers.llm import LLMConfig
    from statemachine.handlers.llm_errors import ProviderError
    from statemachine.handlers.registry import (
        TaskContext,
        Tool,
        ToolRegistry,
        call_handler,
        default_registry,
        load_entry_points,
        load_handlers,
        to_json,
        tool,
    )
    from statemachine.handlers.resources import (
        ResourcePolicy,
        check_resource_allowed,
        is_activity,
        is_callback,
    )
    from statemachine.handlers.timeouts import run_with_timeout

_WHERE = {
    "Dispatcher": "dispatch",
    "default_dispatcher": "dispatch",
    "LLMConfig": "llm",
    "ProviderError": "llm_errors",
    "TaskContext": "registry",
    "Tool": "registry",
    "ToolRegistry": "registry",
    "call_handler": "registry",
    "default_registry": "registry",
    "load_entry_points": "registry",
    "load_handlers": "registry",
    "to_json": "registry",
    "tool": "registry",
    "ResourcePolicy": "resources",
    "check_resource_allowed": "resources",
    "is_activity": "resources",
    "is_callback": "resources",
    "run_with_timeout": "timeouts",
}

__all__ = [
    "Dispatcher",
    "LLMConfig",
    "ProviderError",
    "ResourcePolicy",
    "TaskContext",
    "Tool",
    "ToolRegistry",
    "call_handler",
    "check_resource_allowed",
    "default_dispatcher",
    "default_registry",
    "is_activity",
    "is_callback",
    "load_entry_points",
    "load_handlers",
    "run_with_timeout",
    "to_json",
    "tool",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'statemachine.handlers' has no attribute {name!r}")
    return getattr(importlib.import_module(f"statemachine.handlers.{module}"), name)
