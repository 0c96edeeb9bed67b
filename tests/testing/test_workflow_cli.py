"""``statemachine test`` and ``statemachine test-state`` from the command line."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from statemachine.cli import main

# The write_case fixture (conftest.py): (definition, cases, name=..., **fields) -> file.
WriteCase = Callable[..., Path]

FLOW = {
    "StartAt": "Charge",
    "States": {
        "Charge": {
            "Type": "Task",
            "Resource": "tool:charge",
            "ResultPath": "$.charge",
            "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 2}],
            "Catch": [{"ErrorEquals": ["Declined"], "ResultPath": "$.error", "Next": "Refused"}],
            "End": True,
        },
        "Refused": {"Type": "Fail", "Error": "Order.Refused", "CausePath": "$.error.Cause"},
    },
}
CASES = [
    {
        "name": "charged",
        "input": {"amount": 5},
        "mocks": {"Charge": {"result": {"id": "c1"}}},
        "expect": {"status": "SUCCEEDED", "output": {"amount": 5, "charge": {"id": "c1"}}},
    },
    {
        "name": "declined",
        "mocks": {"Charge": {"error": "Declined", "cause": "card expired"}},
        "expect": {"status": "FAILED", "error": "Order.Refused", "cause": "card expired"},
    },
    {
        "name": "wrong on purpose",
        "mocks": {"Charge": {"sequence": [{"error": "Busy"}, {"result": {"id": "c2"}}]}},
        "expect": {"status": "SUCCEEDED", "calls": {"Charge": 1}},
    },
]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_text_report_summary_and_exit_code(
    write_case: WriteCase, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_case(FLOW, CASES)
    code, out, _ = run(capsys, "test", str(path.parent))
    assert code == 1
    assert f"{path} ..F" in out
    assert "calls: Charge was called 2 times, expected 1" in out
    assert "states entered: Charge" in out
    assert f"FAILED {path.as_posix()}::wrong on purpose - calls:" in out
    assert out.rstrip().splitlines()[-1].startswith("=")
    assert " 1 failed, 2 passed in " in out


def test_all_passing_exits_0_and_k_selects_cases(
    write_case: WriteCase, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_case(FLOW, CASES)
    code, out, _ = run(capsys, "test", str(path), "-k", "charged", "-v")
    assert code == 0
    assert f"{path.as_posix()}::charged PASSED" in out
    assert "1 passed in" in out


def test_github_annotations(write_case: WriteCase, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_case(FLOW, CASES)
    code, out, _ = run(capsys, "test", str(path), "--format", "github")
    assert code == 1
    [annotation] = [line for line in out.splitlines() if line.startswith("::error ")]
    assert annotation.startswith(f"::error file={path},line=")
    assert "title=statemachine test%3A wrong on purpose::calls: Charge was called 2" in annotation
    assert out.splitlines()[-1].startswith("1 failed, 2 passed in ")


def test_junit_xml(
    write_case: WriteCase, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write_case(FLOW, CASES)
    report = tmp_path / "reports" / "junit.xml"
    code, _, _ = run(capsys, "test", str(path), "--junit", str(report))
    assert code == 1
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "0")
    cases = root.findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == ["charged", "declined", "wrong on purpose"]
    failure = cases[2].find("failure")
    assert failure is not None
    assert failure.get("message") == "calls: Charge was called 2 times, expected 1"
    assert cases[0].find("failure") is None


def test_json_format_and_query(write_case: WriteCase, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_case(FLOW, CASES)
    code, out, _ = run(
        capsys, "test", str(path), "--format", "json", "--query", "cases[?outcome=='failed'].name"
    )
    assert code == 1
    assert json.loads(out) == ["wrong on purpose"]


def test_strict_mocks_flag(write_case: WriteCase, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_case(FLOW, [{"name": "unmocked", "expect": {"status": "FAILED"}}])
    code, out, _ = run(capsys, "test", str(path), "--strict-mocks")
    assert code == 1
    assert "Task Charge (tool:charge) has no mock, and strict mocks are on" in out


def test_an_invalid_test_file_is_an_error_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.asl.yaml").write_text("StartAt: P\nStates:\n  P: {Type: Pass, End: true}\n")
    (tmp_path / "bad.test.yaml").write_text(
        "cases:\n  - name: x\n    expect:\n      status: DONE\n"
    )
    code, out, _ = run(capsys, "test", str(tmp_path))
    assert code == 1
    assert f"{tmp_path / 'bad.test.yaml'}:4:7: error [test-schema]" in out
    assert "'DONE' is not one of ['SUCCEEDED', 'FAILED', 'TIMED_OUT']" in out
    assert "1 error in" in out


def test_a_test_file_without_a_definition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "lonely.test.yaml").write_text(
        "cases:\n  - name: x\n    expect: {status: SUCCEEDED}\n"
    )
    code, out, _ = run(capsys, "test", str(tmp_path / "lonely.test.yaml"))
    assert code == 1
    assert "no definition next to the test file (lonely.asl.yaml" in out


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "test", str(tmp_path / "missing"))
    assert code == 2
    assert "no such file or folder" in err
    code, _, err = run(capsys, "test", str(tmp_path))
    assert code == 2
    assert "no test files found" in err


def test_discovery_skips_hidden_folders_and_virtualenvs(
    write_case: WriteCase, tmp_path: Path
) -> None:
    from statemachine.testing import discover

    path = write_case(FLOW, CASES)
    for folder in (".hidden", "venv"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.test.yaml").write_text("cases: []\n")
    (tmp_path / "venv" / "pyvenv.cfg").write_text("")
    files, missing = discover([tmp_path])
    assert (files, missing) == ([path], [])


# -- test-state ------------------------------------------------------------------------------

PIPELINE: dict[str, Any] = {
    "StartAt": "Price",
    "States": {
        "Price": {
            "Type": "Task",
            "Resource": "tool:price",
            "InputPath": "$.order",
            "Parameters": {"sku.$": "$.sku", "qty.$": "$.qty"},
            "ResultSelector": {"total.$": "$.amount"},
            "ResultPath": "$.price",
            "OutputPath": "$.price",
            "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 3}],
            "Catch": [{"ErrorEquals": ["NoPrice"], "ResultPath": "$.error", "Next": "Fallback"}],
            "Next": "Done",
        },
        "Fallback": {"Type": "Pass", "End": True},
        "Done": {"Type": "Succeed"},
    },
}
ORDER = '{"order": {"sku": "mug", "qty": 2}, "who": "ana"}'


def test_state_shows_every_stage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.asl.json"
    path.write_text(json.dumps(PIPELINE))
    code, out, _ = run(
        capsys, "test-state", str(path), "Price", "--input", ORDER, "--mock", '{"amount": 9}'
    )
    assert code == 0
    titles = [line for line in out.splitlines() if line and not line.startswith(" ")]
    assert titles == [
        "Price (Task, JSONPath)",
        "input",
        "after InputPath  [InputPath: $.order]",
        "after Parameters  [Parameters]",
        "result  [mock]",
        "after ResultSelector  [ResultSelector]",
        "after ResultPath  [ResultPath: $.price]",
        "output  [OutputPath: $.price]",
        "status: SUCCEEDED",
        "next state: Done",
    ]


def test_state_json_is_shaped_like_test_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.asl.json"
    path.write_text(json.dumps(PIPELINE))
    code, out, _ = run(
        capsys,
        "test-state",
        str(path),
        "Price",
        "--input",
        ORDER,
        "--mock",
        '{"amount": 9}',
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["status"] == "SUCCEEDED"
    assert data["nextState"] == "Done"
    assert data["output"] == {"total": 9}
    inspection = data["inspectionData"]
    assert inspection["afterInputPath"] == {"sku": "mug", "qty": 2}
    assert inspection["afterParameters"] == {"sku": "mug", "qty": 2}
    assert inspection["result"] == {"amount": 9}
    assert inspection["afterResultSelector"] == {"total": 9}
    assert inspection["afterResultPath"] == {
        "order": {"sku": "mug", "qty": 2},
        "who": "ana",
        "price": {"total": 9},
    }


@pytest.mark.parametrize(
    ("error", "status", "code", "extra"),
    [
        ("NoPrice", "CAUGHT_ERROR", 0, {"nextState": "Fallback"}),
        ("Busy", "RETRIABLE", 0, {"retryBackoffIntervalSeconds": 3.0}),
        ("Other", "FAILED", 1, {}),
    ],
)
def test_state_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    error: str,
    status: str,
    code: int,
    extra: dict[str, Any],
) -> None:
    path = tmp_path / "p.asl.json"
    path.write_text(json.dumps(PIPELINE))
    got, out, _ = run(
        capsys, "test-state", str(path), "Price", "--input", ORDER, "--error", error,
        "--cause", "why", "--json",
    )  # fmt: skip
    assert got == code
    data = json.loads(out)
    assert (data["status"], data["error"], data["cause"]) == (status, error, "why")
    for key, value in extra.items():
        assert data[key] == value
    if status == "CAUGHT_ERROR":
        assert data["output"]["error"] == {"Error": "NoPrice", "Cause": "why"}


def test_state_names_the_field_that_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.asl.json"
    path.write_text(json.dumps(PIPELINE))
    code, out, _ = run(capsys, "test-state", str(path), "Price", "--input", '{"order": {}}')
    assert code == 1
    assert "error raised by Parameters" in out
    assert "status: FAILED" in out
    assert "error: States.Runtime" in out


def test_state_jsonata(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Quote",
        "States": {
            "Quote": {
                "Type": "Task",
                "Resource": "tool:quote",
                "Arguments": {"kg": "{% $states.input.weight * 2 %}"},
                "Output": {"price": "{% $states.result.eur %}", "who": "{% $who %}"},
                "Assign": {"last": "{% $states.result.eur %}"},
                "End": True,
            }
        },
    }
    path = tmp_path / "q.asl.json"
    path.write_text(json.dumps(definition))
    code, out, _ = run(
        capsys, "test-state", str(path), "Quote", "--input", '{"weight": 3}',
        "--mock", '{"eur": 7}', "--variables", '{"who": "ana"}', "--json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert data["inspectionData"]["afterArguments"] == {"kg": 6}
    assert data["inspectionData"]["variables"] == {"who": "ana", "last": 7}
    assert data["output"] == {"price": 7, "who": "ana"}
    assert "nextState" not in data


def test_state_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.asl.json"
    path.write_text(json.dumps(PIPELINE))
    code, _, err = run(capsys, "test-state", str(path), "Nope", "--input", "{}")
    assert code == 2
    assert "no state named 'Nope' (states: Done, Fallback, Price)" in err
    code, _, err = run(capsys, "test-state", str(path), "Price", "--cause", "x", "--input", "{}")
    assert code == 2
    assert "--cause needs --error" in err


def test_state_without_a_mock_calls_the_real_tool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.asl.json"
    path.write_text(json.dumps(PIPELINE))
    code, out, _ = run(capsys, "test-state", str(path), "Price", "--input", ORDER)
    assert code == 1  # like calling a function that does not exist
    assert "No handler is registered for resource 'tool:price'" in out
    tools = tmp_path / "tools.py"
    tools.write_text(
        "import statemachine\n\n"
        "@statemachine.tool('price')\n"
        "def price(payload):\n"
        "    return {'amount': payload['qty'] * 4}\n"
    )
    code, out, _ = run(
        capsys, "test-state", str(path), "Price", "--input", ORDER, "--handlers", str(tools)
    )
    assert code == 0
    assert "result  [tool:price]" in out
    assert '"total": 8' in out
