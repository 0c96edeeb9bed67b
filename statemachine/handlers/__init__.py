"""Task handlers: the tool registry and (later) the LLM handler."""

from statemachine.handlers.registry import (
    TaskContext,
    ToolRegistry,
    default_registry,
    load_handlers,
    tool,
)

__all__ = ["TaskContext", "ToolRegistry", "default_registry", "load_handlers", "tool"]
