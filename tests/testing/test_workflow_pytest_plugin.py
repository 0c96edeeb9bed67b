"""The pytest plugin collects ``*.test.yaml`` files, one item per case."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

# The write_case fixture (conftest.py): (definition, cases, name=..., **fields) -> file.
WriteCase = Callable[..., Path]


ROOT = Path(__file__).resolve().parents[2]
FLOW = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "tool:t", "End": True}}}


def pytest_run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest in a subprocess, with only this plugin (autoload off, so an installed
    copy of the plugin is not registered twice) and no ini file of the repository."""
    (folder / "pytest.ini").write_text("[pytest]\n")
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONPATH": path}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "statemachine.pytest_plugin",
         "-p", "no:cacheprovider", "-rA", str(folder), *args],
        capture_output=True, text=True, env=env, cwd=folder, timeout=120,
    )  # fmt: skip


def test_cases_become_items(write_case: WriteCase, tmp_path: Path) -> None:
    expect = {"status": "SUCCEEDED", "output": 1}
    write_case(
        FLOW,
        [
            {"name": "ok", "mocks": {"T": {"result": 1}}, "expect": expect},
            {"name": "wrong", "mocks": {"T": {"result": 2}}, "expect": expect},
            {"name": "later", "skip": "not ready", "expect": {"status": "SUCCEEDED"}},
        ],
    )
    proc = pytest_run(tmp_path)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "PASSED flow.test.yaml::ok" in out
    assert "FAILED flow.test.yaml::wrong" in out
    assert "SKIPPED [1] flow.test.yaml:" in out
    assert "output at $: expected 2" not in out  # want is the expectation, got the output
    assert "output at $: expected 1, got 2" in out
    assert "1 failed, 1 passed, 1 skipped" in out


def test_k_and_strict_mocks(write_case: WriteCase, tmp_path: Path) -> None:
    write_case(
        FLOW,
        [
            {"name": "unmocked", "expect": {"status": "FAILED"}},
            {"name": "other", "mocks": {"T": {"result": 1}}, "expect": {"status": "SUCCEEDED"}},
        ],
    )
    proc = pytest_run(tmp_path, "-k", "unmocked", "--statemachine-strict-mocks")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "has no mock, and strict mocks are on" in proc.stdout
    assert "1 failed, 1 deselected" in proc.stdout


def test_a_broken_test_file_is_a_collection_error(tmp_path: Path) -> None:
    (tmp_path / "flow.asl.yaml").write_text("StartAt: P\nStates:\n  P: {Type: Pass, End: true}\n")
    (tmp_path / "flow.test.yaml").write_text("cases:\n  - name: x\n")
    proc = pytest_run(tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "ERROR collecting flow.test.yaml" in proc.stdout
    assert "flow.test.yaml:2:5: error [test-schema] 'expect' is a required property" in proc.stdout
