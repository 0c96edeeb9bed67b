"""Running test cases: each case is one in-memory execution on a virtual clock.

The definition is loaded once per file; every case gets a fresh :class:`VirtualClock`
at the case's start time, a :class:`MockDispatcher` and a seed derived from the case
name, so task tokens and ``JitterStrategy: FULL`` delays are the same on every run and
a case never depends on timing luck.
"""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from statemachine.errors import DefinitionError
from statemachine.handlers.registry import ToolRegistry, default_registry, load_handlers
from statemachine.model import StateMachine
from statemachine.runner import ExecutionResult
from statemachine.testing.cases import Case, CaseFile, CaseFileError, load_case_file
from statemachine.testing.expect import check
from statemachine.testing.mocks import MockDispatcher, MockSetupError, bind_mocks

JSON = Any
Outcome = Literal["passed", "failed", "error", "skipped"]

_loaded_handlers: set[str] = set()


@dataclass(slots=True)
class CaseResult:
    """What happened to one case. ``outcome`` "error" means the case could not run (bad
    test file, invalid definition, mocks that do not fit); "failed" means it ran and an
    expectation did not hold."""

    file: Path
    name: str
    outcome: Outcome
    messages: list[str] = field(default_factory=list)
    seconds: float = 0.0
    line: int | None = None
    execution: ExecutionResult | None = None
    path: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    unmocked: list[str] = field(default_factory=list)

    @property
    def nodeid(self) -> str:
        return f"{self.file.as_posix()}::{self.name}"

    @property
    def ok(self) -> bool:
        return self.outcome in ("passed", "skipped")

    def details(self) -> str:
        """The messages plus what helps to read them: states entered, real tools called."""
        lines = list(self.messages)
        if self.execution is not None and self.outcome == "failed":
            lines.append("states entered: " + (" -> ".join(self.path) or "(none)"))
            if self.unmocked:
                lines.append("called real tools (no mock): " + ", ".join(self.unmocked))
        return "\n".join(lines)


@dataclass(slots=True)
class Report:
    results: list[CaseResult]
    seconds: float

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


def run_paths(
    files: Sequence[Path],
    *,
    strict_mocks: bool = False,
    keyword: str | None = None,
    registry: ToolRegistry | None = None,
) -> Report:
    """Run every case of every file (``keyword``: only cases whose id contains it)."""
    start = time.perf_counter()
    results: list[CaseResult] = []
    for path in files:
        results.extend(
            run_file(path, strict_mocks=strict_mocks, keyword=keyword, registry=registry)
        )
    return Report(results, time.perf_counter() - start)


def run_file(
    path: Path,
    *,
    strict_mocks: bool = False,
    keyword: str | None = None,
    registry: ToolRegistry | None = None,
) -> list[CaseResult]:
    try:
        case_file = load_case_file(path)
    except CaseFileError as exc:
        return [CaseResult(path, "(test file)", "error", [p.format() for p in exc.problems])]
    cases = [c for c in case_file.cases if not keyword or keyword in f"{path}::{c.name}"]
    if not cases:
        return []
    try:
        machine = prepare(case_file)
    except CaseFileError as exc:
        messages = [p.format() for p in exc.problems]
        return [CaseResult(path, c.name, "error", messages, line=c.line) for c in cases]
    return [
        run_case(case_file, case, machine, strict_mocks=strict_mocks, registry=registry)
        for case in cases
    ]


def prepare(case_file: CaseFile) -> StateMachine:
    """Load the handlers a file names, then its definition."""
    from statemachine.definition import load
    from statemachine.validation.problem import Problem

    where = str(case_file.path)
    for spec in case_file.handlers:
        if spec in _loaded_handlers:
            continue
        try:
            load_handlers(spec)
        except Exception as exc:
            message = f"cannot load handlers {spec!r}: {type(exc).__name__}: {exc}"
            raise CaseFileError([Problem("test-handlers", message, ("handlers",), where)]) from exc
        _loaded_handlers.add(spec)
    try:
        return load(case_file.definition)
    except DefinitionError as exc:
        raise CaseFileError(exc.problems) from exc


def run_case(
    case_file: CaseFile,
    case: Case,
    machine: StateMachine,
    *,
    strict_mocks: bool = False,
    registry: ToolRegistry | None = None,
) -> CaseResult:
    from statemachine.clock import VirtualClock
    from statemachine.runner import Runner

    result = CaseResult(case_file.path, case.name, "passed", line=case.line)
    if case.skip:
        result.outcome = "skipped"
        result.messages.append(case.skip)
        return result
    start = time.perf_counter()
    try:
        mocks = bind_mocks(machine, case.mocks)
    except MockSetupError as exc:
        result.outcome = "error"
        result.messages.append(str(exc))
        return result
    dispatcher = MockDispatcher(
        mocks, registry or default_registry, strict=strict_mocks or case_file.strict_mocks
    )
    runner = Runner(
        machine,
        dispatcher=dispatcher,
        clock=VirtualClock(case.start_time),
        state_machine_name=_machine_name(case_file.definition),
        seed=zlib.crc32(f"{case_file.path.name}::{case.name}".encode()),
    )
    dispatcher.runner = runner
    execution = runner.run(case.input, name=_execution_name(case.name))
    result.seconds = time.perf_counter() - start
    result.execution = execution
    result.path, entered = _states_entered(machine, execution.history)
    result.calls = dict(dispatcher.calls)
    result.unmocked = list(dispatcher.unmocked)
    duration = None
    if execution.start is not None and execution.stop is not None:
        duration = (execution.stop - execution.start).total_seconds()
    result.messages = [*dispatcher.violations]
    result.messages += check(
        case.expect,
        status=execution.status,
        output=execution.output,
        error=execution.error,
        cause=execution.cause,
        path=result.path,
        entered=entered,
        calls=result.calls,
        variables=execution.variables,
        duration=duration,
    )
    if result.messages:
        result.outcome = "failed"
    return result


def _states_entered(
    machine: StateMachine, history: Iterable[dict[str, JSON]]
) -> tuple[list[str], set[str]]:
    """The top-level states entered in order, and every state entered at any depth."""
    top = machine.root.states
    path: list[str] = []
    entered: set[str] = set()
    for event in history:
        if event["type"].endswith("StateEntered"):
            name = event["name"]
            entered.add(name)
            if name in top:
                path.append(name)
    return path, entered


def _machine_name(definition: Path) -> str:
    name = definition.name
    for suffix in (".asl.yaml", ".asl.yml", ".asl.json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return definition.stem


def _execution_name(case_name: str) -> str:
    """AWS execution names: letters, digits, - and _, at most 80 characters."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", case_name).strip("-")[:80] or "test"
