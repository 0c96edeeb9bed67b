"""pytest plugin: ``pytest`` collects ``*.test.yaml`` workflow tests like test modules.

Installed with the package (entry point ``pytest11: statemachine``); disable it with
``-p no:statemachine``. Each case of a test file is one pytest item, so ``-k``, ``-x``,
JUnit XML, xdist and IDE runners work as usual. Only the paths pytest is asked to
collect are searched: with ``testpaths = ["tests"]`` a project's ``definitions/`` is not
collected unless named (``pytest definitions/``) or added to ``testpaths``.

Strict mocks (a Task without a mock fails the case): ``--statemachine-strict-mocks``, the
ini option ``statemachine_strict_mocks = true``, or ``strict_mocks: true`` in a file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from statemachine.testing.cases import Case, CaseFile, CaseFileError, is_test_file


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("statemachine", "statemachine workflow tests (*.test.yaml)")
    group.addoption(
        "--statemachine-strict-mocks",
        action="store_true",
        default=False,
        help="fail a workflow case when a Task has no mock, instead of calling the real tool",
    )
    parser.addini(
        "statemachine_strict_mocks",
        type="bool",
        default=False,
        help="fail a workflow case when a Task has no mock",
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if is_test_file(file_path.name):
        return WorkflowTestFile.from_parent(parent, path=file_path)
    return None


class WorkflowCaseFailed(Exception):
    """Raised by an item whose case failed; carries the :class:`CaseResult`."""

    def __init__(self, result: Any) -> None:
        self.result = result
        super().__init__(result.details())


class WorkflowTestFile(pytest.File):
    """One ``*.test.yaml``; its definition is loaded once, on the first case that runs."""

    case_file: CaseFile
    _machine: Any = None

    def collect(self) -> Iterator[pytest.Item]:
        from statemachine.testing.cases import load_case_file

        try:
            self.case_file = load_case_file(self.path)
        except CaseFileError as exc:
            raise self.CollectError(str(exc)) from exc
        for case in self.case_file.cases:
            yield WorkflowCase.from_parent(self, name=case.name, case=case)

    def machine(self) -> Any:
        if self._machine is None:
            from statemachine.testing.execute import prepare

            self._machine = prepare(self.case_file)
        return self._machine


class WorkflowCase(pytest.Item):
    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        if case.skip:
            self.add_marker(pytest.mark.skip(reason=case.skip))

    def runtest(self) -> None:
        from statemachine.testing.execute import run_case

        parent = self.parent
        assert isinstance(parent, WorkflowTestFile)
        strict = bool(
            self.config.getoption("statemachine_strict_mocks")
            or self.config.getini("statemachine_strict_mocks")
        )
        result = run_case(parent.case_file, self.case, parent.machine(), strict_mocks=strict)
        if not result.ok:
            raise WorkflowCaseFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        error = excinfo.value
        if isinstance(error, WorkflowCaseFailed):
            line = f"{self.path}:{self.case.line}: " if self.case.line else ""
            return f"{line}case {self.case.name!r} {error.result.outcome}\n{error.result.details()}"
        if isinstance(error, CaseFileError):
            return str(error)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.case.line - 1 if self.case.line else None
        return self.path, line, f"workflow case: {self.case.name}"
