"""Handlers for the agent-loop crash test: the demo tools of
``definitions/handlers/agent_tools.py``, each wrapped so that a call that completes
appends ``done KEY NAME`` (its idempotency key) to ``$AGENT_CALLS`` (a ``start`` line is
written first). ``$AGENT_TOOL_DELAY`` seconds pass inside every call, so a kill can land
while a tool runs."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from statemachine import tool
from statemachine.handlers.registry import ToolRegistry, call_handler, load_handlers

DEMO = Path(__file__).resolve().parents[2] / "definitions" / "handlers" / "agent_tools.py"


def _log(line: str) -> None:
    fd = os.open(os.environ["AGENT_CALLS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def _wrap(original: Any) -> Any:
    def wrapped(payload: Any, ctx: Any) -> Any:
        _log(f"start {ctx.idempotency_key} {original.name}")
        time.sleep(float(os.environ.get("AGENT_TOOL_DELAY", "0")))
        result = call_handler(original, payload, ctx)
        _log(f"done {ctx.idempotency_key} {original.name}")
        return result

    return wrapped


_demo = ToolRegistry()
load_handlers(str(DEMO), registry=_demo)
for _name in _demo.names():
    _original = _demo.get(_name)
    assert _original is not None
    tool(_name, description=_original.description, schema=_original.json_schema())(_wrap(_original))
