"""The tool of bench/durable.py's chain, for worker subprocesses (``--handlers``)."""

from typing import Any

from statemachine import tool


@tool("inc")
def inc(payload: Any, ctx: Any) -> Any:
    return payload.get("n", 0) + 1
