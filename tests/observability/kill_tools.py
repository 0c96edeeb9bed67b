"""Tools for the kill -9 test (loaded by ``statemachine worker --handlers``). ``gate``
writes ``$GATE.started`` and then waits until ``$GATE.open`` exists, so the test can kill
the worker while the task is in flight."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from statemachine import tool


@tool("gate")
def gate(payload: Any, ctx: Any) -> Any:
    base = os.environ["GATE"]
    Path(base + ".started").write_text(str(os.getpid()))
    while not Path(base + ".open").exists():
        time.sleep(0.02)
    return {"passed": True}


@tool("work")
def work(payload: Any, ctx: Any) -> Any:
    return payload * 10
