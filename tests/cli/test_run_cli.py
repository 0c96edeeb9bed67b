"""`statemachine run` as a subprocess: input, handlers, --json, --time-skip, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FLOW = """\
StartAt: Greet
States:
  Greet:
    Type: Task
    Resource: tool:greet
    Retry: [{ErrorEquals: [Flaky], IntervalSeconds: 30, MaxAttempts: 2}]
    Next: Nap
  Nap:
    Type: Wait
    Seconds: 86400
    Next: Stamp
  Stamp:
    Type: Pass
    Parameters:
      greeting.$: $.greeting
      woke.$: $$.State.EnteredTime
    End: true
"""

HANDLERS = """\
import statemachine

calls = {"n": 0}

@statemachine.tool("greet")
def greet(payload, ctx):
    calls["n"] += 1
    if calls["n"] == 1:
        raise statemachine.TaskError("Flaky", "first call fails")
    return {"greeting": f"hello {payload['name']}"}
"""


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "statemachine", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_run_with_handlers_retry_and_time_skip(tmp_path: Path) -> None:
    (tmp_path / "flow.asl.yaml").write_text(FLOW)
    (tmp_path / "tools.py").write_text(HANDLERS)
    result = cli(
        "run",
        "flow.asl.yaml",
        "--input",
        '{"name": "Ada"}',
        "--handlers",
        "tools.py",
        "--json",
        "--time-skip",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["status"] == "SUCCEEDED"
    assert out["output"]["greeting"] == "hello Ada"
    assert out["error"] is None and out["cause"] is None


def test_failed_execution_exits_one_with_error_and_cause(tmp_path: Path) -> None:
    (tmp_path / "fail.asl.yaml").write_text(
        "StartAt: F\nStates:\n  F: {Type: Fail, Error: Boom, Cause: it broke}\n"
    )
    result = cli("run", "fail.asl.yaml", "--json", cwd=tmp_path)
    assert result.returncode == 1
    assert json.loads(result.stdout) == {
        "status": "FAILED",
        "output": None,
        "error": "Boom",
        "cause": "it broke",
    }


def test_usage_and_definition_errors_exit_two(tmp_path: Path) -> None:
    (tmp_path / "bad.asl.yaml").write_text("StartAt: Nope\nStates:\n  A: {Type: Succeed}\n")
    (tmp_path / "ok.asl.yaml").write_text("StartAt: A\nStates:\n  A: {Type: Succeed}\n")
    bad_def = cli("run", "bad.asl.yaml", cwd=tmp_path)
    assert bad_def.returncode == 2
    assert "bad.asl.yaml:1:" in bad_def.stderr
    assert cli("run", "missing.asl.yaml", cwd=tmp_path).returncode == 2
    bad_input = cli("run", "ok.asl.yaml", "--input", "{nope", cwd=tmp_path)
    assert bad_input.returncode == 2
    assert "not valid JSON" in bad_input.stderr
    assert "Traceback" not in bad_input.stderr


def test_input_file_and_query(tmp_path: Path) -> None:
    (tmp_path / "p.asl.yaml").write_text(
        "StartAt: P\nStates:\n  P: {Type: Pass, ResultPath: $.copy, End: true}\n"
    )
    (tmp_path / "in.json").write_text('{"a": [1, 2, 3]}')
    result = cli(
        "run", "p.asl.yaml", "--input-file", "in.json", "--query", "output.copy.a[1]", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == 2
