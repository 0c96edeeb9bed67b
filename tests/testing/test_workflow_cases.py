"""Reading test files: the schema, friendly messages with file:line, defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from statemachine.testing import CaseFileError, Mock, Response, load_case_file
from statemachine.testing.expect import check, same

PASS = "StartAt: P\nStates:\n  P: {Type: Pass, End: true}\n"


def problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "f.asl.yaml").write_text(PASS)
    path = tmp_path / "f.test.yaml"
    path.write_text(text)
    with pytest.raises(CaseFileError) as info:
        load_case_file(path)
    return [p.format().removeprefix(f"{path}:") for p in info.value.problems]


def test_mock_shapes_get_messages_about_the_intended_shape(tmp_path: Path) -> None:
    text = """\
mocks:
  A: {result: 1, error: X}
  B: {result: 1, cause: x}
  C: {sequence: [{result: 1}, {error: 3}]}
  D: {iterations: {"1-": {result: 1}}}
  E: {iterations: {"0": {sequence: [{reslt: 1}]}}}
cases:
  - {name: x, expect: {status: SUCCEEDED}}
"""
    assert problems(tmp_path, text) == [
        "2:3: error [test-schema] a mock response needs exactly one of result, error, llm, "
        "no_answer (found: result, error) (at $.mocks.A)",
        "3:3: error [test-schema] 'cause' goes with 'error' only (at $.mocks.B)",
        "4:32: error [test-schema] 3 is not of type 'string' (at $.mocks.C.sequence[1].error)",
        "5:7: error [test-schema] '1-' is not an iteration key: use an index (\"3\"), an "
        'inclusive range ("2-5") or "*" for every other iteration (at $.mocks.D.iterations)',
        "6:37: error [test-schema] a mock response needs exactly one of result, error, llm, "
        "no_answer (found: none); unknown key: reslt "
        "(at $.mocks.E.iterations['0'].sequence[0])",
    ]


def test_duplicate_names_and_unknown_expectations(tmp_path: Path) -> None:
    assert problems(
        tmp_path, "cases:\n  - {name: a, expect: {status: SUCCEEDED, outptu: 1}}\n"
    ) == [
        "2:15: error [test-schema] Additional properties are not allowed ('outptu' was "
        "unexpected) (at $.cases[0].expect)"
    ]
    assert problems(
        tmp_path,
        "cases:\n"
        "  - {name: a, expect: {status: FAILED}}\n"
        "  - {name: a, expect: {status: FAILED}}\n",
    ) == ["3:6: error [test-duplicate] two cases are named 'a' (at $.cases[1].name)"]


def test_defaults_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "main.asl.json").write_text('{"StartAt": "P", "States": {}}')
    path = tmp_path / "main.test.yaml"
    path.write_text(
        """\
definition: flows/main.asl.json
handlers: [tools/mine.py, some.module]
start_time: "2026-06-01T10:00:00+02:00"
mocks:
  A: {result: shared}
  B: {result: shared}
cases:
  - name: first
    mocks:
      B: {error: Oops, after: 5}
    expect: {status: SUCCEEDED}
  - name: second
    start_time: "2027-01-01T00:00:00Z"
    input: [1]
    expect: {status: FAILED}
"""
    )
    case_file = load_case_file(path)
    assert case_file.definition == tmp_path / "flows" / "main.asl.json"
    assert case_file.handlers == (str(tmp_path / "tools" / "mine.py"), "some.module")
    first, second = case_file.cases
    assert first.mocks["A"] == Mock(sequence=(Response("result", result="shared"),))
    assert first.mocks["B"] == Mock(sequence=(Response("error", error="Oops", after=5.0),))
    assert first.start_time == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    assert (first.input, first.line) == ({}, 8)
    assert second.start_time == datetime(2027, 1, 1, tzinfo=UTC)
    assert second.mocks["B"].sequence[0].result == "shared"


def test_a_definition_is_found_by_name(tmp_path: Path) -> None:
    (tmp_path / "x.asl.json").write_text('{"StartAt": "P", "States": {}}')
    (tmp_path / "x.test.yml").write_text("cases:\n  - {name: a, expect: {status: FAILED}}\n")
    assert load_case_file(tmp_path / "x.test.yml").definition == tmp_path / "x.asl.json"


def test_mock_pick() -> None:
    one, two = Response("result", result=1), Response("result", result=2)
    seq = Mock(sequence=(one, two))
    assert [seq.pick(n, None) for n in (1, 2, 3)] == [one, two, two]
    per = Mock(iterations=((0, 0, Mock(sequence=(one,))), (2, 4, seq)))
    assert per.pick(1, 0) == one
    assert per.pick(1, 1) is None
    assert per.pick(2, 3) == two
    assert per.pick(1, None) is None


def test_same_does_not_confuse_booleans_and_numbers() -> None:
    assert same({"a": [1, 2.0]}, {"a": [1.0, 2]})
    assert not same(True, 1)
    assert not same({"a": 1}, {"a": 1, "b": 2})


def test_check_reports_where_outputs_differ() -> None:
    common = {
        "status": "SUCCEEDED",
        "error": None,
        "cause": None,
        "path": ["A", "B"],
        "entered": {"A", "B", "Inner"},
        "calls": {"A": 2},
        "variables": {"n": 1},
        "duration": 3.0,
    }
    output = {"a": {"b": [1, {"c": True}]}, "extra": 1}
    expect = {
        "status": "SUCCEEDED",
        "output_contains": {"a": {"b": [1, {"c": 1}]}},
        "path": ["A", "B"],
        "visited": ["Inner"],
        "not_visited": ["C"],
        "calls": {"A": 2, "C": 0},
        "variables": {"n": 1},
        "duration": 3,
    }
    messages = check(expect, output=output, **common)
    assert messages == [
        "output_contains at $.a.b[1].c: expected 1, got true\n"
        '  full output: {"a": {"b": [1, {"c": true}]}, "extra": 1}'
    ]
    expect = {"status": "FAILED", "output": {"a": {"b": [1, {"c": True}]}}, "variables": {"m": 1}}
    messages = check(expect, output=output, **common)
    assert messages[0] == "status: expected FAILED, got SUCCEEDED"
    assert messages[1].startswith("output at $: unexpected key extra")
    assert messages[2].startswith("variables: $m is not set")
