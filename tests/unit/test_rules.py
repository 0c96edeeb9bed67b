"""The semantic rules: the case corpus in tests/validation, plus properties of the table."""

from __future__ import annotations

import copy
import inspect
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from statemachine.validation.problem import Problem
from statemachine.validation.rules import RULES, RuleContext, iter_rule_problems

CORPUS = Path(__file__).resolve().parents[1] / "validation"


def _load_cases() -> list[Any]:
    params = []
    for file in sorted(CORPUS.glob("*.yaml")):
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        names: set[str] = set()
        for case in data.get("cases", []):
            name = case["name"]
            assert name not in names, f"duplicate case name {name!r} in {file.name}"
            names.add(name)
            marks = [pytest.mark.skip(reason=case["skip"])] if "skip" in case else []
            params.append(pytest.param(case, id=f"{file.stem}::{name}", marks=marks))
    return params


def _key(problem: Problem) -> tuple[str, str, str]:
    return problem.rule, problem.json_path, problem.severity


@pytest.mark.parametrize("case", _load_cases())
def test_corpus(case: dict[str, Any]) -> None:
    if "external" in case:
        _check_calibration(case)
        return
    expected = sorted(
        (p["rule"], p["path"], p.get("severity", "error")) for p in case.get("problems", [])
    )
    if case.get("valid"):
        assert not expected, "a case is either valid or lists problems"
    definition = case["definition"]
    pristine = copy.deepcopy(definition)
    problems = list(iter_rule_problems(definition))
    assert definition == pristine, "rules must not mutate the definition"
    actual = sorted(_key(p) for p in problems)
    details = "\n".join(f"{p.rule} {p.json_path}: {p.message}" for p in problems)
    assert actual == expected, f"rule problems differ; got:\n{details}"


def _check_calibration(case: dict[str, Any]) -> None:
    """A verdict of a public validator's suite: the whole validator (schema + rules) agrees,
    or the case says why we follow AWS instead."""
    from statemachine.validation.schema import iter_schema_problems

    definition = case["definition"]
    problems = [*iter_schema_problems(definition), *iter_rule_problems(definition)]
    errors = [p for p in problems if p.severity == "error"]
    ours = "invalid" if errors else "valid"
    details = "\n".join(f"{p.rule} {p.json_path}: {p.message}" for p in errors)
    if "differs" in case:
        assert ours != case["external"], f"agrees with the external verdict now:\n{details}"
    else:
        assert ours == case["external"], f"verdict {ours}, external {case['external']}:\n{details}"


def test_rule_ids_are_kebab_case_and_documented() -> None:
    for rule_id, rule in RULES.items():
        assert rule_id == rule_id.lower() and " " not in rule_id and "_" not in rule_id
        assert inspect.getdoc(rule), f"{rule_id} needs a docstring: the table is the docs"


def test_every_rule_is_exercised_by_the_corpus() -> None:
    seen: set[str] = set()
    for param in _load_cases():
        case = param.values[0]
        seen.update(p["rule"] for p in case.get("problems", []))
    assert set(RULES) - seen == set()


def test_problems_carry_the_rule_id_and_a_path() -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}
    (problem,) = iter_rule_problems(definition)
    assert problem.rule == "transition-target"
    assert problem.path == ("States", "A", "Next")
    assert "'B'" in problem.message


def test_expression_problems_draw_a_caret() -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "InputPath": "$.a..", "End": True}},
    }
    (problem,) = iter_rule_problems(definition)
    assert problem.rule == "path-syntax"
    assert "\n  $.a..\n" in problem.message and problem.message.rstrip().endswith("^")


def test_query_language_inheritance() -> None:
    """States inside Map/Parallel take the machine's language, not the enclosing state's."""
    definition = {
        "QueryLanguage": "JSONPath",
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "QueryLanguage": "JSONata",
                "End": True,
                "ItemProcessor": {
                    "StartAt": "In",
                    "States": {
                        "In": {"Type": "Pass", "Next": "Own"},
                        "Own": {"Type": "Pass", "QueryLanguage": "JSONata", "End": True},
                    },
                },
            }
        },
    }
    ctx = RuleContext.build(definition)
    languages = {state.name: state.language for state in ctx.states}
    assert languages == {"M": "JSONata", "In": "JSONPath", "Own": "JSONata"}
    scopes = {scope.kind: scope for scope in ctx.scopes}
    assert scopes["processor"].owner is not None and scopes["processor"].owner.name == "M"
    assert scopes["processor"].parent is scopes["machine"]


@pytest.mark.parametrize("definition", [None, 3, "x", [], {}, {"States": None}, {"StartAt": []}])
def test_non_object_definitions_do_not_crash(definition: Any) -> None:
    assert [p for p in iter_rule_problems(definition) if "internal error" in p.message] == []


_JUNK: list[Any] = [None, True, 0, -1, 1.5, "", "x", "$", "{% %}", [], {}, [1, "a"], {"a": 1}]


def _mutations(value: Any, rng: random.Random) -> Any:
    """Replace one random node of ``value`` with junk (returns a new value)."""
    value = copy.deepcopy(value)
    holders: list[tuple[Any, Any]] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for key in list(node):
                holders.append((node, key))
                collect(node[key])
        elif isinstance(node, list):
            for i, item in enumerate(node):
                holders.append((node, i))
                collect(item)

    collect(value)
    if holders:
        holder, key = rng.choice(holders)
        holder[key] = rng.choice(_JUNK)
    return value


def test_rules_survive_random_shape_damage() -> None:
    """Whatever the schema pass lets through, no rule crashes (a crash shows up as an
    'internal error' warning)."""
    rng = random.Random(1234)
    bases = [param.values[0]["definition"] for param in _load_cases()]
    for _ in range(1500):
        damaged = _mutations(rng.choice(bases), rng)
        crashes = [p for p in iter_rule_problems(damaged) if "internal error" in p.message]
        assert crashes == [], (damaged, crashes)
