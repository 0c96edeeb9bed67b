"""The conformance corpus (tests/conformance/**/*.yaml), one parametrized test.

See tests/conformance/README.md for the case format and the fixed environment.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from statemachine.clock import VirtualClock
from statemachine.definition import load
from statemachine.errors import DefinitionError, StatesError
from statemachine.handlers.registry import TaskContext
from statemachine.runner import Runner

ROOT = Path(__file__).parent / "conformance"
START = datetime(2026, 1, 1, tzinfo=UTC)


def _cases() -> list[Any]:
    params = []
    for path in sorted(ROOT.rglob("*.yaml")):
        doc = yaml.safe_load(path.read_text()) or {}
        rel = path.relative_to(ROOT).as_posix()
        for case in doc.get("cases") or []:
            marks = []
            if case.get("skip"):
                marks.append(pytest.mark.skip(reason=str(case["skip"])))
            params.append(
                pytest.param(rel, doc.get("rule"), case, id=f"{rel}::{case['name']}", marks=marks)
            )
    return params


class Script:
    """Scripted task results by resource; unscripted resources echo their payload."""

    def __init__(self, tasks: dict[str, list[dict[str, Any]]] | None) -> None:
        self.tasks = tasks or {}
        self.calls: dict[str, list[Any]] = {}

    def __call__(self, resource: str, payload: Any, ctx: TaskContext) -> Any:
        seen = self.calls.setdefault(resource, [])
        seen.append(payload)
        script = self.tasks.get(resource)
        if not script:
            return payload
        entry = script[min(len(seen), len(script)) - 1]
        if "error" in entry:
            raise StatesError(entry["error"], entry.get("cause"))
        return entry.get("result")


def same(a: Any, b: Any) -> bool:
    """JSON equality that does not confuse booleans with numbers (Python's True == 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def run_case(case: dict[str, Any]) -> tuple[Any, Script]:
    machine = load(case["definition"])
    script = Script(case.get("tasks"))
    runner = Runner(machine, dispatcher=script, clock=VirtualClock(START))
    return runner.run(case.get("input", {}), name="exec"), script


@pytest.mark.parametrize(("file", "rule", "case"), _cases())
def test_conformance(file: str, rule: str | None, case: dict[str, Any]) -> None:
    expect = case["expect"]
    if expect.get("status") == "INVALID":
        with pytest.raises(DefinitionError):
            load(case["definition"])
        return
    result, script = run_case(case)
    detail = f"{case.get('rule') or rule}: got {result.to_json()}"
    assert result.status == expect["status"], detail
    if "output" in expect:
        assert same(result.output, expect["output"]), detail
    if "error" in expect:
        assert result.error == expect["error"], detail
    if "cause" in expect:
        assert result.cause == expect["cause"], detail
    if "cause_contains" in expect:
        assert expect["cause_contains"] in (result.cause or ""), detail
    if "calls" in expect:
        calls = {resource: script.calls.get(resource, []) for resource in expect["calls"]}
        assert same(calls, expect["calls"]), detail
