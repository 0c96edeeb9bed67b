"""`statemachine validate` as a user runs it: a subprocess, files/folders/globs, formats,
exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
StartAt: A
States:
  A: {Type: Pass, End: true}
"""

BAD = """\
StartAt: A
States:
  A:
    Type: Pass
    Next: Nowhere
  B:
    Type: Task
    Resource: tool:x
    Parameters:
      v.$: "$.a[?"
    End: true
"""


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "statemachine", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=120,
    )


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "good.asl.yaml").write_text(GOOD)
    (tmp_path / "bad.asl.yaml").write_text(BAD)
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "other.asl.json").write_text(
        json.dumps({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}})
    )
    (tmp_path / "notes.yaml").write_text("not: a definition\n")
    return tmp_path


def test_valid_file_exits_zero(files: Path) -> None:
    result = cli("validate", str(files / "good.asl.yaml"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_every_problem_is_printed_with_file_line_column(files: Path) -> None:
    result = cli("validate", str(files / "bad.asl.yaml"))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    target = [line for line in lines if "Nowhere" in line]
    assert target, result.stdout
    assert target[0].startswith(f"{files / 'bad.asl.yaml'}:5:")
    assert "error [" in target[0] and "(at $.States.A.Next)" in target[0]
    # the unreachable state and the bad JSONPath are reported too, not only the first
    assert any("$.a[?" in line for line in lines), result.stdout
    assert len([line for line in lines if "error [" in line]) >= 3
    # the expression error draws a caret under the column
    assert "^" in result.stdout


def test_folders_are_searched_recursively_for_definitions(files: Path) -> None:
    result = cli("validate", str(files), "--format", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    names = sorted(Path(f["file"]).name for f in report["files"])
    assert names == ["bad.asl.yaml", "good.asl.yaml", "other.asl.json"]
    assert report["valid"] is False


def test_globs_and_query(files: Path) -> None:
    pattern = str(files / "**" / "*.asl.json")
    result = cli("validate", pattern, "--format", "json", "--query", "files[].valid")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [True]


def test_github_annotations(files: Path) -> None:
    result = cli("validate", str(files / "bad.asl.yaml"), "--format", "github")
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith("::error file=") and ",line=" in first and ",col=" in first


def test_usage_errors_exit_two(files: Path) -> None:
    assert cli("validate", str(files / "missing.asl.yaml")).returncode == 2
    assert cli("validate").returncode == 2
    assert cli("validate", str(files), "--format", "xml").returncode == 2
    bad_query = cli("validate", str(files), "--format", "json", "--query", "files[")
    assert bad_query.returncode == 2
    assert "Traceback" not in bad_query.stderr


def test_unparseable_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "broken.asl.yaml").write_text("StartAt: [unclosed\n")
    (tmp_path / "binary.asl.json").write_bytes(b"\x00\xff\xfe")
    result = cli("validate", str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert "broken.asl.yaml:" in result.stdout and "binary.asl.json:" in result.stdout


def test_examples_are_valid() -> None:
    result = cli("validate", "definitions/")
    assert result.returncode == 0, result.stdout + result.stderr


def test_python_resources_outside_the_allowed_packages_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "sys.asl.yaml").write_text(
        "StartAt: T\nStates:\n  T: {Type: Task, Resource: 'python:os:system', End: true}\n"
    )
    result = cli("validate", str(tmp_path / "sys.asl.yaml"))
    assert result.returncode == 1
    assert "[resource-allowed]" in result.stdout and "(at $.States.T.Resource)" in result.stdout
    (tmp_path / "ok.asl.yaml").write_text(
        "StartAt: T\nStates:\n  T: {Type: Task, Resource: 'python:json:dumps', End: true}\n"
    )
    allowed = subprocess.run(
        [sys.executable, "-m", "statemachine", "validate", str(tmp_path / "ok.asl.yaml")],
        capture_output=True,
        text=True,
        env={**os.environ, "STATEMACHINE_PYTHON_ALLOW": "json"},
        timeout=120,
    )
    assert allowed.returncode == 0, allowed.stdout
