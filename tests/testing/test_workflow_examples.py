"""Every example in ``definitions/`` has a test file, and ``statemachine test`` runs them
(this is how CI runs the examples' cases: the repository's own pytest run only collects
``tests/``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from statemachine.cli import main
from statemachine.testing import load_case_file

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = ROOT / "definitions"
EXAMPLES = sorted(
    p for p in DEFINITIONS.iterdir() if p.name.endswith((".asl.yaml", ".asl.yml", ".asl.json"))
)


@pytest.mark.parametrize("definition", EXAMPLES, ids=lambda p: p.name)
def test_every_example_has_a_test_file(definition: Path) -> None:
    stem = definition.name.split(".asl.")[0]
    test_file = definition.with_name(f"{stem}.test.yaml")
    assert test_file.is_file(), (
        f"{definition.name} has no test file: add {test_file.name} with at least three cases "
        '(a happy path, a retried failure, a caught failure); see README, "Testing your workflows"'
    )
    cases = load_case_file(test_file).cases
    assert len(cases) >= 3, f"{test_file.name} has {len(cases)} cases; write at least three"


def test_the_examples_pass(capsys: pytest.CaptureFixture[str]) -> None:
    # Files that call real tools (the agents' pure demo tools) say so with `handlers:`;
    # the others set `strict_mocks: true`.
    code = main(["test", str(DEFINITIONS)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert " passed in " in out
    assert "failed" not in out
