"""Time skipping in workflow tests: a week of Wait plus a day of unanswered approval.

    python bench/testing.py [--runs 50]

The workflow waits seven days, asks for an approval that nobody answers, times out after
one day, escalates, and this time gets an answer after two hours: 8 days and 2 hours of
virtual time. Three figures, wall-clock:

* cold: ``statemachine test`` on its test file in-process, with the modules imported but
  nothing cached: reading and checking the test file against its schema, loading and
  validating the definition, running the three cases. Asserted under one second.
* warm: one case, once the definition is loaded (median of ``--runs``).
* cli: the same through a fresh ``python -m statemachine test`` process (interpreter start
  and imports included), printed for reference only.

The figures are printed; the assertion is the benchmark's check, not a timed unit test
(which would depend on the machine's load).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WEEK = 7 * 86_400
DAY = 86_400
LIMIT_SECONDS = 1.0

DEFINITION: dict[str, Any] = {
    "Comment": "Cool off for a week, then get an approval within a day, else escalate.",
    "StartAt": "CoolingOff",
    "States": {
        "CoolingOff": {"Type": "Wait", "Seconds": WEEK, "Next": "Approve"},
        "Approve": {
            "Type": "Task",
            "Resource": "tool:ask.waitForTaskToken",
            "Parameters": {"token.$": "$$.Task.Token", "who": "lead"},
            "TimeoutSeconds": DAY,
            "ResultPath": "$.decision",
            "Catch": [
                {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": "Escalate"}
            ],
            "Next": "Done",
        },
        "Escalate": {
            "Type": "Task",
            "Resource": "tool:ask.waitForTaskToken",
            "Parameters": {"token.$": "$$.Task.Token", "who": "director"},
            "TimeoutSeconds": DAY,
            "ResultPath": "$.decision",
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}

CASES: dict[str, Any] = {
    "strict_mocks": True,
    "cases": [
        {
            "name": "lead answers on the last day",
            "mocks": {"Approve": {"result": {"approved": True}, "after": DAY - 60}},
            "expect": {
                "status": "SUCCEEDED",
                "path": ["CoolingOff", "Approve", "Done"],
                "duration": WEEK + DAY - 60,
            },
        },
        {
            "name": "nobody answers in a day, the director does",
            "mocks": {
                "Approve": {"no_answer": True},
                "Escalate": {"result": {"approved": False}, "after": 7200},
            },
            "expect": {
                "status": "SUCCEEDED",
                "path": ["CoolingOff", "Approve", "Escalate", "Done"],
                "output_contains": {"timeout": {"Error": "States.Timeout"}},
                "duration": WEEK + DAY + 7200,
            },
        },
        {
            "name": "nobody answers at all",
            "mocks": {"Approve": {"no_answer": True}, "Escalate": {"no_answer": True}},
            "expect": {"status": "FAILED", "error": "States.Timeout", "duration": WEEK + 2 * DAY},
        },
    ],
}


def write_files(folder: Path) -> Path:
    (folder / "approval.asl.json").write_text(json.dumps(DEFINITION))
    test_file = folder / "approval.test.json"
    test_file.write_text(json.dumps(CASES))
    return test_file


def cold(test_file: Path) -> tuple[float, float, Any]:
    """(import seconds, test seconds, report): the test part starts with nothing cached
    (test-file schema, definition) but with the modules imported."""
    start = time.perf_counter()
    import jsonschema  # noqa: F401  (the modules the first run would import lazily)

    import statemachine.model.build
    import statemachine.validation.rules
    import statemachine.validation.schema  # noqa: F401
    from statemachine.testing import run_paths

    imported = time.perf_counter()
    report = run_paths([test_file])
    return imported - start, time.perf_counter() - imported, report


def warm(test_file: Path, runs: int) -> float:
    from statemachine.testing.cases import load_case_file
    from statemachine.testing.execute import prepare, run_case

    case_file = load_case_file(test_file)
    machine = prepare(case_file)
    case = case_file.cases[1]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = run_case(case_file, case, machine)
        times.append(time.perf_counter() - start)
        assert result.outcome == "passed", result.details()
    return statistics.median(times)


def cli(test_file: Path) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "statemachine", "test", str(test_file)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return elapsed, proc.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="warm runs (median is shown)")
    parser.add_argument("--no-cli", action="store_true", help="skip the subprocess figure")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        test_file = write_files(Path(tmp))
        imports, seconds, report = cold(test_file)
        assert report.ok, [r.details() for r in report.results if not r.ok]
        virtual = sum(
            (r.execution.stop - r.execution.start).total_seconds()
            for r in report.results
            if r.execution is not None
        )
        show = "{:52} {:9.2f} ms".format
        print(f"{len(report.results)} cases passed, {virtual / DAY:.1f} virtual days in all")
        print(show("imports (statemachine.testing and what it loads)", imports * 1e3))
        print(show("cold: load test file + definition, run 3 cases", seconds * 1e3))
        print(show(f"warm: one case (median of {args.runs})", warm(test_file, args.runs) * 1e3))
        if not args.no_cli:
            elapsed, summary = cli(test_file)
            print(show("cli: python -m statemachine test (new process)", elapsed * 1e3))
            print(f"     {summary.strip('= ')}")
        assert seconds < LIMIT_SECONDS, f"took {seconds:.3f} s, more than {LIMIT_SECONDS} s"
        print(f"OK: under {LIMIT_SECONDS:g} s")


if __name__ == "__main__":
    main()
