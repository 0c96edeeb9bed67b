"""A TaskContext for calling handlers directly in tests (a module, not conftest, so the
import cannot resolve to another folder's conftest)."""

from __future__ import annotations

from typing import Any

from statemachine.handlers.registry import TaskContext

EXECUTION_ID = "arn:aws:states:local:000000000000:execution:m:e1"


def context(state: str = "Task", resource: str = "tool:x", **fields: Any) -> TaskContext:
    fields.setdefault("execution_id", EXECUTION_ID)
    return TaskContext(state_name=state, resource=resource, **fields)
