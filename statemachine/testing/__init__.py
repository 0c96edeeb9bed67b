"""Workflow tests: ``*.test.yaml`` files with inputs, mocked Task results and expectations,
run offline on a virtual clock by ``statemachine test`` and by the pytest plugin.

Modules: ``cases`` (reading and discovering test files), ``mocks`` (the dispatcher that
answers Tasks from mocks), ``execute`` (running cases), ``expect`` (checking results),
``reporters`` (text, GitHub annotations, JUnit XML, JSON) and ``state_test`` (one state,
stage by stage, for ``statemachine test-state``).
"""

from statemachine.testing.cases import (
    Case,
    CaseFile,
    CaseFileError,
    Mock,
    Response,
    discover,
    is_test_file,
    load_case_file,
)
from statemachine.testing.execute import CaseResult, Report, run_case, run_file, run_paths
from statemachine.testing.mocks import MockDispatcher, llm_result

__all__ = [
    "Case",
    "CaseFile",
    "CaseFileError",
    "CaseResult",
    "Mock",
    "MockDispatcher",
    "Report",
    "Response",
    "discover",
    "is_test_file",
    "llm_result",
    "load_case_file",
    "run_case",
    "run_file",
    "run_paths",
]
