"""Choice Rules (JSONPath mode): operators, type rules, missing paths, compile errors."""

from __future__ import annotations

import time

import pytest

from statemachine.errors import ExpressionError, StatesError
from statemachine.expressions.choice import (
    BooleanRule,
    ChoiceRuleError,
    DataTestRule,
    compile_choice_rule,
)
from statemachine.expressions.choice_operators import OPERATORS, compile_star_pattern
from statemachine.expressions.context import EvalContext

CONTEXT = {"Execution": {"Name": "run-1"}, "Map": {"Item": {"Index": 2}}}


def ctx(**variables: object) -> EvalContext:
    return EvalContext(context=CONTEXT, variables=variables)


def holds(
    operator: str, variable: object, operand: object, context: EvalContext | None = None
) -> bool:
    """Evaluate ``{"Variable": "$.v", operator: operand}`` against ``{"v": variable}``."""
    rule = compile_choice_rule({"Variable": "$.v", operator: operand}, top_level=False)
    return rule.evaluate({"v": variable}, context or ctx())


def holds_path(operator: str, variable: object, other: object) -> bool:
    """The ``...Path`` form: the operand is ``$.o`` in the same input."""
    rule = compile_choice_rule({"Variable": "$.v", f"{operator}Path": "$.o"}, top_level=False)
    return rule.evaluate({"v": variable, "o": other}, ctx())


def runtime_failure(
    rule: dict[str, object], data: object, context: EvalContext | None = None
) -> str:
    compiled = compile_choice_rule(rule, top_level=False)
    with pytest.raises(StatesError) as info:
        compiled.evaluate(data, context or ctx())
    assert info.value.error == "States.Runtime"
    assert info.value.cause is not None
    return info.value.cause


# ---------------------------------------------------------------------------- table

AWS_OPERATORS = {
    f"{kind}{relation}{suffix}"
    for kind in ("String", "Numeric", "Timestamp")
    for relation in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
    for suffix in ("", "Path")
} | {
    "BooleanEquals",
    "BooleanEqualsPath",
    "StringMatches",
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "IsBoolean",
    "IsTimestamp",
}


def test_table_has_every_aws_operator_and_nothing_else() -> None:
    assert set(OPERATORS) == AWS_OPERATORS
    assert len(OPERATORS) == 39


# -------------------------------------------------------------------------- strings


@pytest.mark.parametrize(
    ("operator", "variable", "operand", "expected"),
    [
        ("StringEquals", "abc", "abc", True),
        ("StringEquals", "abc", "ABC", False),  # case-sensitive
        ("StringEquals", "", "", True),
        ("StringEquals", "é", "e\u0301", False),  # no Unicode normalization
        ("StringEquals", "2016-08-18T17:33:00Z", "2016-08-18T17:33:00Z", True),
        ("StringLessThan", "abc", "abd", True),
        ("StringLessThan", "B", "a", True),  # code units: uppercase first
        ("StringLessThan", "abc", "abc", False),
        ("StringLessThan", "ab", "abc", True),
        ("StringGreaterThan", "b", "abc", True),
        ("StringGreaterThan", "MyStringABD", "MyStringABC", True),
        ("StringLessThanEquals", "abc", "abc", True),
        ("StringLessThanEquals", "abd", "abc", False),
        ("StringGreaterThanEquals", "abc", "abc", True),
        ("StringGreaterThanEquals", "abb", "abc", False),
        # Java compareTo works on UTF-16 code units: an astral character (surrogates
        # D800-DFFF) sorts before U+FFFF, although its code point is larger.
        ("StringLessThan", "\U0001f600", "\uffff", True),
        ("StringGreaterThan", "\U0001f600", "\uffff", False),
        ("StringLessThan", "\U0001f600", "\U0001f601", True),
        ("StringLessThan", "z", "\u00e9", True),
    ],
)
def test_string_comparisons(operator: str, variable: str, operand: str, expected: bool) -> None:
    assert holds(operator, variable, operand) is expected
    assert holds_path(operator, variable, operand) is expected


@pytest.mark.parametrize("value", [None, 1, 1.5, True, False, [], ["a"], {}, {"a": "b"}])
@pytest.mark.parametrize(
    "operator",
    [
        "StringEquals",
        "StringLessThan",
        "StringGreaterThan",
        "StringLessThanEquals",
        "StringGreaterThanEquals",
    ],
)
def test_string_operators_are_false_for_non_strings(operator: str, value: object) -> None:
    assert holds(operator, value, "a") is False
    assert holds_path(operator, value, "a") is False
    assert holds_path(operator, "a", value) is False


def test_string_equals_does_not_coerce_numbers() -> None:
    assert holds("StringEquals", 1, "1") is False
    assert holds("StringEquals", "true", "true") is True
    assert holds("StringEquals", True, "true") is False


# -------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("operator", "variable", "operand", "expected"),
    [
        ("NumericEquals", 1, 1, True),
        ("NumericEquals", 1, 1.0, True),
        ("NumericEquals", 0, -0.0, True),
        ("NumericEquals", 1.1, 1.1, True),
        ("NumericEquals", 0.1 + 0.2, 0.3, False),  # doubles, as on AWS
        ("NumericEquals", 2**53 + 1, 2**53, True),  # beyond 2**53 precision is lost (AWS warns)
        ("NumericEquals", 10**400, 10**400 + 1, True),  # beyond the double range: infinity
        ("NumericLessThan", -1, 0, True),
        ("NumericLessThan", 1, 1, False),
        ("NumericGreaterThan", 1.5, 1, True),
        ("NumericGreaterThan", -(10**400), -1e308, False),
        ("NumericLessThanEquals", 1, 1.0, True),
        ("NumericLessThanEquals", 2, 1, False),
        ("NumericGreaterThanEquals", 1e308, 1e307, True),
        ("NumericGreaterThanEquals", 0, 1, False),
    ],
)
def test_numeric_comparisons(
    operator: str, variable: float, operand: float, expected: bool
) -> None:
    assert holds(operator, variable, operand) is expected
    assert holds_path(operator, variable, operand) is expected


@pytest.mark.parametrize("value", [None, "1", "", True, False, [1], {"a": 1}])
def test_numeric_operators_are_false_for_non_numbers(value: object) -> None:
    # True == 1 in Python; in ASL a boolean is never a number.
    assert holds("NumericEquals", value, 1) is False
    assert holds("NumericGreaterThanEquals", value, 0) is False
    assert holds_path("NumericEquals", value, 1) is False
    assert holds_path("NumericEquals", 1, value) is False


# ------------------------------------------------------------------------- booleans


@pytest.mark.parametrize(
    ("variable", "operand", "expected"),
    [(True, True, True), (False, False, True), (True, False, False), (False, True, False)],
)
def test_boolean_equals(variable: bool, operand: bool, expected: bool) -> None:
    assert holds("BooleanEquals", variable, operand) is expected
    assert holds_path("BooleanEquals", variable, operand) is expected


@pytest.mark.parametrize("value", [1, 0, 1.0, "true", None, [], {}])
def test_boolean_equals_is_false_for_non_booleans(value: object) -> None:
    assert holds("BooleanEquals", value, True) is False
    assert holds("BooleanEquals", value, False) is False
    assert holds_path("BooleanEquals", True, value) is False


# ----------------------------------------------------------------------- timestamps

T0, T1 = "2012-10-09T19:00:55Z", "2012-10-09T19:00:56Z"


@pytest.mark.parametrize(
    ("operator", "variable", "operand", "expected"),
    [
        ("TimestampEquals", T0, T0, True),
        ("TimestampEquals", T0, T1, False),
        ("TimestampEquals", "2012-10-09T20:00:55+01:00", T0, True),  # same instant
        ("TimestampEquals", "2012-10-09T19:00:55.000Z", T0, True),
        ("TimestampEquals", "2012-10-09T19:00:55.000000001Z", T0, False),
        ("TimestampLessThan", T0, T1, True),
        ("TimestampLessThan", T1, T0, False),
        ("TimestampLessThan", "2012-10-09T19:00:56+01:00", T0, True),
        ("TimestampGreaterThan", T1, T0, True),
        ("TimestampGreaterThan", T0, T0, False),
        ("TimestampLessThanEquals", T0, T0, True),
        ("TimestampLessThanEquals", T1, T0, False),
        ("TimestampGreaterThanEquals", T0, T0, True),
        ("TimestampGreaterThanEquals", T0, T1, False),
    ],
)
def test_timestamp_comparisons(operator: str, variable: str, operand: str, expected: bool) -> None:
    assert holds(operator, variable, operand) is expected
    assert holds_path(operator, variable, operand) is expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        0,
        0.0,
        1,
        1.1,
        "",
        " ",
        "2023-02-24 12:15:56.832957",
        "2012-10-09T19:00:55",
        "2012-10-09t19:00:55Z",
        "2012-10-09T19:00:55z",
        [],
        [""],
        {},
        {"A": 0},
        False,
        True,
    ],
)
def test_timestamp_operators_are_false_for_non_timestamps(value: object) -> None:
    # the TYPE_COMPARISONS AWS was run with for TimestampEquals (all false) plus case
    assert holds("TimestampEquals", value, T0) is False
    assert holds("TimestampLessThanEquals", value, T0) is False
    assert holds_path("TimestampEquals", T0, value) is False


# -------------------------------------------------------------------- StringMatches


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("foo*.log", "foo23.log", True),
        ("*.log", "zebra.log", True),
        ("foo*.*", "foobar.zebra", True),
        ("foo*.log", "foo.log", True),
        ("foo*.log", "foo.log.gz", False),
        ("foo*.log", "xfoo.log", False),
        ("log-*-*.txt", "log-a-b.txt", True),
        ("log-*-*.txt", "log-ab.txt", False),
        ("*", "", True),
        ("*", "anything\nwith newlines", True),
        ("", "", True),
        ("", "a", False),
        ("abc", "abc", True),
        ("abc", "ABC", False),
        ("a.c", "abc", False),  # '.' is not special
        ("a?c", "abc", False),
        ("[ab]", "a", False),
        ("a*a", "a", False),
        ("a*a", "aa", True),
        ("**", "x", True),
        ("\\*", "*", True),  # JSON "\\*": a literal star
        ("\\*", "x", False),
        ("a\\*b*", "a*bcd", True),
        ("a\\*b*", "axbcd", False),
        ("back\\\\slash", "back\\slash", True),  # JSON "\\\\": a literal backslash
        ("\\\\*", "\\anything", True),
        ("é*ü", "éàü", True),
        ("\U0001f600*", "\U0001f600!", True),
    ],
)
def test_string_matches(pattern: str, value: str, expected: bool) -> None:
    assert holds("StringMatches", value, pattern) is expected


@pytest.mark.parametrize("value", [None, 1, True, [], {}, ["foo.log"]])
def test_string_matches_is_false_for_non_strings(value: object) -> None:
    assert holds("StringMatches", value, "*") is False


@pytest.mark.parametrize(("pattern", "column"), [("a\\b", 1), ("trailing\\", 8), ("\\n", 0)])
def test_string_matches_rejects_stray_backslashes(pattern: str, column: int) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_choice_rule({"Variable": "$.v", "StringMatches": pattern, "Next": "N"})
    assert info.value.expression == pattern
    assert info.value.column == column


def test_string_matches_has_no_catastrophic_backtracking() -> None:
    pattern = compile_star_pattern("*a*a*a*a*a*a*a*a*b")
    text = "a" * 20_000
    started = time.perf_counter()
    assert pattern.matches(text) is False
    assert pattern.matches(text + "b") is True
    assert time.perf_counter() - started < 1.0


# ----------------------------------------------------------------------- Is* tests

# Inputs and outcomes recorded on AWS for "IsX": true (LocalStack's validated snapshots);
# "IsX": false gives the opposite.
IS_CASES: list[tuple[object, dict[str, bool]]] = [
    (None, {"IsNull": True, "IsNumeric": False, "IsString": False, "IsBoolean": False}),
    (0, {"IsNull": False, "IsNumeric": True, "IsString": False, "IsBoolean": False}),
    (0.0, {"IsNull": False, "IsNumeric": True, "IsString": False, "IsBoolean": False}),
    (1, {"IsNull": False, "IsNumeric": True, "IsString": False, "IsBoolean": False}),
    (1.1, {"IsNull": False, "IsNumeric": True, "IsString": False, "IsBoolean": False}),
    ("", {"IsNull": False, "IsNumeric": False, "IsString": True, "IsBoolean": False}),
    (" ", {"IsNull": False, "IsNumeric": False, "IsString": True, "IsBoolean": False}),
    ("HelloWorld", {"IsNull": False, "IsNumeric": False, "IsString": True, "IsBoolean": False}),
    ("2012-10-09T19:00:55", {"IsNumeric": False, "IsString": True, "IsTimestamp": False}),
    ("2012-10-09T19:00:55Z", {"IsString": True, "IsTimestamp": True}),
    ("2012-10-09T19:00:55+01:00", {"IsString": True, "IsTimestamp": True}),
    ("2023-02-24", {"IsString": True, "IsTimestamp": False}),
    ([], {"IsNull": False, "IsNumeric": False, "IsString": False, "IsBoolean": False}),
    ([""], {"IsNull": False, "IsNumeric": False, "IsString": False, "IsBoolean": False}),
    ({}, {"IsNull": False, "IsNumeric": False, "IsString": False, "IsBoolean": False}),
    ({"A": 0}, {"IsNull": False, "IsNumeric": False, "IsString": False, "IsBoolean": False}),
    (True, {"IsNull": False, "IsNumeric": False, "IsString": False, "IsBoolean": True}),
    (False, {"IsNull": False, "IsNumeric": False, "IsString": False, "IsTimestamp": False}),
]


@pytest.mark.parametrize(("value", "outcomes"), IS_CASES)
def test_is_operators(value: object, outcomes: dict[str, bool]) -> None:
    for operator, expected in outcomes.items():
        assert holds(operator, value, True) is expected, operator
        assert holds(operator, value, False) is (not expected), operator
    assert holds("IsPresent", value, True) is True
    assert holds("IsPresent", value, False) is False


def test_is_present_on_missing_paths() -> None:
    present = compile_choice_rule({"Variable": "$.a.b", "IsPresent": True}, top_level=False)
    absent = compile_choice_rule({"Variable": "$.a.b", "IsPresent": False}, top_level=False)
    for data in ({}, {"a": {}}, {"a": 5}, {"a": []}, None, []):
        assert present.evaluate(data, ctx()) is False
        assert absent.evaluate(data, ctx()) is True
    assert present.evaluate({"a": {"b": None}}, ctx()) is True
    undefined = compile_choice_rule({"Variable": "$nope", "IsPresent": True}, top_level=False)
    assert undefined.evaluate({}, ctx()) is False


# --------------------------------------------------------------- missing variables

MISSING = "Invalid path '{}': The choice state's condition path references an invalid value."


@pytest.mark.parametrize(
    "operator_and_operand",
    [
        ("NumericEquals", 1),
        ("StringEquals", "a"),
        ("BooleanEquals", True),
        ("TimestampEquals", T0),
        ("StringMatches", "*"),
        ("IsNull", True),
        ("IsNull", False),
        ("IsString", False),
        ("IsTimestamp", True),
        ("NumericEqualsPath", "$.o"),
    ],
)
def test_missing_variable_is_a_runtime_error(operator_and_operand: tuple[str, object]) -> None:
    operator, operand = operator_and_operand
    rule = {"Variable": "$.missing", operator: operand}
    assert runtime_failure(rule, {"o": 1}) == MISSING.format("$.missing")


@pytest.mark.parametrize(
    ("variable", "data"),
    [
        ("$.a.b", {"a": 1}),
        ("$.a[3]", {"a": [1]}),
        ("$.a['x y']", {"a": {}}),
        ("$.a", None),
        ("$$.Execution.Missing", {}),
        ("$undefinedVariable", {}),
        ("$known.missing", {}),
    ],
)
def test_missing_variable_paths_of_every_kind(variable: str, data: object) -> None:
    rule = {"Variable": variable, "StringEquals": "x"}
    assert runtime_failure(rule, data, ctx(known={})) == MISSING.format(variable)


def test_missing_operand_path_names_the_operand() -> None:
    rule = {"Variable": "$.left", "NumericGreaterThanPath": "$.right"}
    assert runtime_failure(rule, {"left": 8}) == MISSING.format("$.right")


def test_null_value_is_present_not_missing() -> None:
    assert holds("NumericEquals", None, 1) is False
    assert holds("IsNull", None, True) is True


# ---------------------------------------------------------- other roots and paths


def test_variable_from_context_and_workflow_variables() -> None:
    by_context = compile_choice_rule(
        {"Variable": "$$.Map.Item.Index", "NumericEquals": 2}, top_level=False
    )
    assert by_context.evaluate({}, ctx()) is True
    by_variable = compile_choice_rule(
        {"Variable": "$order.total", "NumericGreaterThanPath": "$limits.max"}, top_level=False
    )
    assert by_variable.evaluate({}, ctx(order={"total": 10}, limits={"max": 5})) is True
    assert by_variable.evaluate({}, ctx(order={"total": 1}, limits={"max": 5})) is False
    mixed = compile_choice_rule(
        {"Variable": "$.name", "StringEqualsPath": "$$.Execution.Name"}, top_level=False
    )
    assert mixed.evaluate({"name": "run-1"}, ctx()) is True


def test_bracket_and_index_paths() -> None:
    rule = compile_choice_rule({"Variable": "$['a b'][1].c", "StringEquals": "x"}, top_level=False)
    assert rule.evaluate({"a b": [{}, {"c": "x"}]}, ctx()) is True


# ----------------------------------------------------------------- boolean rules


def test_and_or_not() -> None:
    rule = compile_choice_rule(
        {
            "And": [
                {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                {"Variable": "$.value", "NumericLessThan": 30},
                {"Not": {"Variable": "$.type", "StringEquals": "Private"}},
            ],
            "Next": "ValueInTwenties",
        }
    )
    assert isinstance(rule, BooleanRule) and rule.next == "ValueInTwenties"
    assert rule.evaluate({"value": 22, "type": "Public"}, ctx()) is True
    assert rule.evaluate({"value": 22, "type": "Private"}, ctx()) is False
    assert rule.evaluate({"value": 30, "type": "Public"}, ctx()) is False
    either = compile_choice_rule(
        {
            "Or": [
                {"Variable": "$.a", "BooleanEquals": True},
                {"Variable": "$.b", "BooleanEquals": True},
            ]
        },
        top_level=False,
    )
    assert either.evaluate({"a": False, "b": True}, ctx()) is True
    assert either.evaluate({"a": False, "b": False}, ctx()) is False


def test_and_or_short_circuit() -> None:
    guarded_and = compile_choice_rule(
        {
            "And": [
                {"Variable": "$.x", "IsPresent": True},
                {"Variable": "$.x", "NumericEquals": 1},
            ]
        },
        top_level=False,
    )
    assert guarded_and.evaluate({}, ctx()) is False  # the second rule would raise
    guarded_or = compile_choice_rule(
        {
            "Or": [
                {"Variable": "$.x", "IsPresent": False},
                {"Variable": "$.x", "NumericEquals": 1},
            ]
        },
        top_level=False,
    )
    assert guarded_or.evaluate({}, ctx()) is True
    unguarded = compile_choice_rule(
        {"Or": [{"Variable": "$.y", "IsNull": True}, {"Variable": "$.x", "IsNull": True}]},
        top_level=False,
    )
    with pytest.raises(StatesError):
        unguarded.evaluate({"y": 1}, ctx())


def test_deeply_nested_rules() -> None:
    rule: dict[str, object] = {"Variable": "$.v", "NumericEquals": 1}
    for _ in range(20):
        rule = {"Not": {"Not": rule}}
    compiled = compile_choice_rule({**rule, "Next": "N"})
    assert compiled.evaluate({"v": 1}, ctx()) is True


def test_top_level_fields() -> None:
    rule = compile_choice_rule(
        {
            "Variable": "$.v",
            "StringEquals": "a",
            "Next": "Next",
            "Comment": "why",
            "Assign": {"seen.$": "$.v"},
        }
    )
    assert isinstance(rule, DataTestRule)
    assert (rule.next, rule.comment, rule.assign) == ("Next", "why", {"seen.$": "$.v"})
    nested = compile_choice_rule({"Variable": "$.v", "StringEquals": "a"}, top_level=False)
    assert nested.next is None and nested.assign is None


def test_iter_paths_reports_every_path_with_its_location() -> None:
    rule = compile_choice_rule(
        {
            "Or": [
                {"Variable": "$.a", "NumericEqualsPath": "$$.Map.Item.Index"},
                {"Not": {"Variable": "$v", "IsNull": True}},
            ],
            "Next": "N",
        }
    )
    found = [(location, path.text) for location, path in rule.iter_paths()]
    assert found == [
        (("Or", 0, "Variable"), "$.a"),
        (("Or", 0, "NumericEqualsPath"), "$$.Map.Item.Index"),
        (("Or", 1, "Not", "Variable"), "$v"),
    ]


# ----------------------------------------------------------------- compile errors


@pytest.mark.parametrize(
    ("raw", "location", "fragment"),
    [
        ("not a rule", (), "must be an object"),
        ({"Variable": "$.a", "Next": "N"}, (), "exactly one operator (found none)"),
        (
            {"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1, "Next": "N"},
            (),
            "exactly one operator (found StringEquals, NumericEquals)",
        ),
        ({"And": [], "Next": "N"}, ("And",), "non-empty array"),
        ({"Or": {"Variable": "$.a", "IsNull": True}, "Next": "N"}, ("Or",), "non-empty array"),
        (
            {"Not": [{"Variable": "$.a", "IsNull": True}], "Next": "N"},
            ("Not",),
            "must be an object",
        ),
        (
            {"Not": {"Variable": "$.a", "IsNull": True, "Next": "X"}, "Next": "N"},
            ("Not", "Next"),
            "top-level",
        ),
        (
            {"And": [{"Variable": "$.a", "IsNull": True, "Assign": {}}], "Next": "N"},
            ("And", 0, "Assign"),
            "top-level",
        ),
        (
            {"And": [{"Variable": "$.a", "IsNull": True}], "Variable": "$.a", "Next": "N"},
            ("Variable",),
            "Variable",
        ),
        ({"NumericEquals": 1, "Next": "N"}, (), "needs a Variable"),
        ({"Variable": "$.a", "NumericEquals": 1}, (), "needs a Next"),
        ({"Variable": "$.a", "NumericEquals": 1, "Next": ""}, (), "needs a Next"),
        (
            {"Variable": "$.a", "NumericEquals": 1, "Next": "N", "Default": "X"},
            ("Default",),
            "unknown field",
        ),
        ({"Variable": "$.a", "numericEquals": 1, "Next": "N"}, ("numericEquals",), "unknown field"),
        (
            {"Variable": "$.a", "StringEquals": 1, "Next": "N"},
            ("StringEquals",),
            "must be a string",
        ),
        ({"Variable": "$.a", "StringMatches": None, "Next": "N"}, ("StringMatches",), "pattern"),
        (
            {"Variable": "$.a", "NumericEquals": "1", "Next": "N"},
            ("NumericEquals",),
            "must be a number",
        ),
        (
            {"Variable": "$.a", "NumericEquals": True, "Next": "N"},
            ("NumericEquals",),
            "must be a number",
        ),
        (
            {"Variable": "$.a", "NumericEquals": float("nan"), "Next": "N"},
            ("NumericEquals",),
            "number",
        ),
        ({"Variable": "$.a", "BooleanEquals": 1, "Next": "N"}, ("BooleanEquals",), "boolean"),
        ({"Variable": "$.a", "BooleanEquals": "true", "Next": "N"}, ("BooleanEquals",), "boolean"),
        ({"Variable": "$.a", "IsNull": "true", "Next": "N"}, ("IsNull",), "true or false"),
        ({"Variable": "$.a", "IsPresent": 1, "Next": "N"}, ("IsPresent",), "true or false"),
        (
            {"Variable": "$.a", "TimestampEquals": "2016-08-18", "Next": "N"},
            ("TimestampEquals",),
            "not a timestamp",
        ),
        (
            {"Variable": "$.a", "TimestampLessThan": "2016-08-18t17:33:00Z", "Next": "N"},
            ("TimestampLessThan",),
            "uppercase",
        ),
        ({"Variable": "$.a", "TimestampEquals": 0, "Next": "N"}, ("TimestampEquals",), "timestamp"),
        ({"Variable": 5, "IsNull": True, "Next": "N"}, ("Variable",), "reference path"),
        (
            {"Variable": "$.a", "StringEqualsPath": 5, "Next": "N"},
            ("StringEqualsPath",),
            "reference path",
        ),
        (
            {"Variable": "$.a", "Comment": 5, "StringEquals": "x", "Next": "N"},
            ("Comment",),
            "string",
        ),
    ],
)
def test_malformed_rules(raw: object, location: tuple[object, ...], fragment: str) -> None:
    with pytest.raises(ChoiceRuleError) as info:
        compile_choice_rule(raw)  # type: ignore[arg-type]
    assert info.value.location == location
    assert fragment in info.value.message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("raw", "expression", "column"),
    [
        ({"Variable": "a", "IsNull": True, "Next": "N"}, "a", 0),
        ({"Variable": "$.a[*]", "IsNull": True, "Next": "N"}, "$.a[*]", 3),
        ({"Variable": "$..a", "IsNull": True, "Next": "N"}, "$..a", 1),
        ({"Variable": "$.a", "NumericEqualsPath": "$.b[?(@.c)]", "Next": "N"}, "$.b[?(@.c)]", 3),
    ],
)
def test_bad_paths_are_expression_errors(
    raw: dict[str, object], expression: str, column: int
) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_choice_rule(raw)
    assert info.value.expression == expression
    assert info.value.column == column


def test_error_messages_say_where() -> None:
    with pytest.raises(ChoiceRuleError) as info:
        compile_choice_rule(
            {
                "And": [
                    {"Variable": "$.a", "IsNull": True},
                    {"Variable": "$.a", "NumericEquals": "x"},
                ],
                "Next": "N",
            }
        )
    assert str(info.value) == "And[1].NumericEquals: must be a number"
    with pytest.raises(ExpressionError) as path_info:
        compile_choice_rule({"Not": {"Variable": "$.a[*]", "IsNull": True}, "Next": "N"})
    assert path_info.value.message.startswith("Not.Variable: ")
