"""statemachine: a durable, self-hosted engine for Amazon States Language workflows.

The public surface is small: ``load``, ``validate``, ``tool``, ``TaskError`` and the
errors; everything else is internal. Heavy parts load lazily so that importing this
package (and ``statemachine validate``) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from statemachine.errors import (
    Conflict,
    DefinitionError,
    ExecutionAlreadyExists,
    ExpressionError,
    LoadError,
    NotFound,
    StateMachineError,
    StatesError,
    TaskError,
)

if TYPE_CHECKING:
    from statemachine.definition import load, validate
    from statemachine.handlers.registry import TaskContext, tool
    from statemachine.runner import Runner

__version__ = "0.1.0"

__all__ = [
    "Conflict",
    "DefinitionError",
    "ExecutionAlreadyExists",
    "ExpressionError",
    "LoadError",
    "NotFound",
    "Runner",
    "StateMachineError",
    "StatesError",
    "TaskContext",
    "TaskError",
    "__version__",
    "load",
    "tool",
    "validate",
]


def __getattr__(name: str) -> Any:
    # PEP 562: resolved on first access, so ``import statemachine`` (and with it
    # ``statemachine validate``) never loads the handler registry and what it imports.
    if name in {"load", "validate"}:
        from statemachine import definition

        return getattr(definition, name)
    if name == "Runner":
        from statemachine.runner import Runner

        return Runner
    if name in {"tool", "TaskContext"}:
        from statemachine.handlers import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'statemachine' has no attribute {name!r}")
