"""JSONata expressions and templates: compile-time rejections, evaluation, AWS functions."""

from __future__ import annotations

import copy
import hashlib
import random
import re
import threading
import uuid

import pytest

from statemachine.errors import ExpressionError, StatesError
from statemachine.expressions import jsonata_expr
from statemachine.expressions.context import EvalContext
from statemachine.expressions.jsonata_expr import (
    UNDEFINED,
    JsonataExpression,
    compile_jsonata,
    compile_jsonata_template,
    is_jsonata,
)

CONTEXT = {
    "Execution": {"Name": "run-1", "StartTime": "2025-12-31T23:59:00.000Z"},
    "State": {"Name": "S", "EnteredTime": "2026-01-01T00:00:00.250Z"},
}
INPUT = {
    "a": 2,
    "f": 1.5,
    "s": "héllo",
    "n": None,
    "arr": [1, 2, 3],
    "one": [7],
    "empty": [],
    "obj": {"k": "v", "nested": {"deep": True}},
    "items": [{"price": 4, "name": "x"}, {"price": 9, "name": "y"}],
    "big": 2**70,
}


def ctx(seed: int = 1, context: object = CONTEXT, **variables: object) -> EvalContext:
    return EvalContext(context=context, variables=variables, rng=random.Random(seed))


def states(**extra: object) -> dict[str, object]:
    return {"input": INPUT, "context": CONTEXT, **extra}


def run(text: str, context: EvalContext | None = None, **extra: object) -> object:
    return compile_jsonata(text).evaluate(states(**extra), context or ctx())


def failure(text: str, context: EvalContext | None = None, field: str | None = None) -> str:
    with pytest.raises(StatesError) as info:
        compile_jsonata(text).evaluate(states(), context or ctx(), field=field)
    assert info.value.error == "States.QueryEvaluationError"
    assert info.value.cause is not None
    return info.value.cause


# ------------------------------------------------------------------------ is_jsonata


@pytest.mark.parametrize("value", ["{%%}", "{% 1 %}", "{%$x%}", "{%\n  $states.input\n%}"])
def test_is_jsonata(value: str) -> None:
    assert is_jsonata(value)


@pytest.mark.parametrize(
    "value", [" {% 1 %}", "{% 1 %} ", "{% 1", "1 %}", "{%}", "{ % 1 % }", "", None, 1, ["{% 1 %}"]]
)
def test_is_not_jsonata(value: object) -> None:
    assert not is_jsonata(value)


# ------------------------------------------------------------------------- compiling


def test_compile_keeps_text_and_trimmed_source() -> None:
    expression = compile_jsonata("{%  $states.input.a + 1  %}")
    assert expression.text == "{%  $states.input.a + 1  %}"
    assert expression.source == "$states.input.a + 1"


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("{% 1 + %}", 7, "Unexpected end of expression"),
        ("{% $states.input.a[1,2) %}", 20, 'Expected "]", got ","'),
        ("{% foo bar %}", 7, 'Syntax error: "bar"'),
        ("{% 'unterminated %}", 17, "String literal must be terminated by a matching quote"),
        ("{% $match('a', /abc %}", 20, "No terminating / in regular expression"),
        ("{%  %}", 4, "Unexpected end of expression"),
    ],
)
def test_syntax_errors_point_into_the_full_text(text: str, column: int, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_jsonata(text)
    assert info.value.expression == text
    assert info.value.column == column
    assert info.value.message == message
    assert "^" in str(info.value)


def test_library_crash_on_unterminated_comment_is_a_syntax_error() -> None:
    with pytest.raises(ExpressionError):
        compile_jsonata("{% /* comment %}")


def test_not_a_jsonata_string() -> None:
    with pytest.raises(ExpressionError):
        compile_jsonata("$states.input")


@pytest.mark.parametrize(
    ("text", "column"),
    [("{% $states.input.a ?? 1 %}", 19), ("{% $states.input.a ?: 1 %}", 19)],
)
def test_jsonata_2_1_operators_are_rejected(text: str, column: int) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_jsonata(text)
    assert "2.0.6" in info.value.message
    assert info.value.column == column


def test_a_question_mark_in_a_string_is_not_an_operator() -> None:
    assert run("{% '??' & '?:' %}") == "???:"
    assert run("{% true ? 1 : 2 %}") == 1


@pytest.mark.parametrize(
    ("text", "label", "column"),
    [
        ("{% phone %}", "phone", 3),
        ("{% customer.phone %}", "customer", 3),
        ("{% $count(items) %}", "items", 10),
        ("{% {'a': b} %}", "b", 9),
        ("{% 1 + x %}", "x", 7),
        ("{% $ %}", "$", 3),
        ("{% $.a %}", "$", 3),
        ("{% * %}", "*", 3),
        ("{% ** %}", "**", 3),
        ("{% ($x := a; $x) %}", "a", 10),
    ],
)
def test_top_level_references_are_rejected(text: str, label: str, column: int) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_jsonata(text)
    assert info.value.message == f"Reference to '{label}' at the top level is not supported."
    assert info.value.column == column


@pytest.mark.parametrize("text", ["{% $$ %}", "{% $states.input.items[$$.a = 1] %}"])
def test_double_dollar_is_rejected(text: str) -> None:
    with pytest.raises(ExpressionError, match=r"\$\$"):
        compile_jsonata(text)


@pytest.mark.parametrize(
    "text",
    [
        "{% $states.input.items[price > 5].name %}",
        "{% $states.input.items.(price * 2) %}",
        "{% $states.input.items^(price).name %}",
        "{% $states.input.items{name: price} %}",
        "{% $map($states.input.arr, function($v) { $v * 2 }) %}",
        "{% $states.input.arr[$ > 1] %}",
        "{% $states.input ~> |obj|{'k': 'w'}| %}",
        "{% [1, 2, 3][$ > 1] %}",
        "{% $x %}",
        "{% $count($states.input.arr) %}",
    ],
)
def test_nested_context_references_are_allowed(text: str) -> None:
    compile_jsonata(text)


def test_references_lists_the_states_fields_read() -> None:
    expression = compile_jsonata("{% $states.result.x & $states.input.y & $states.context.z %}")
    assert expression.references() == {"result", "input", "context"}
    assert compile_jsonata("{% $states.errorOutput.Cause %}").references() == {"errorOutput"}
    assert compile_jsonata("{% $lookup($states, 'result') %}").references() == {"*"}
    assert compile_jsonata("{% $states %}").references() == {"*"}
    assert compile_jsonata("{% $x %}").references() == set()
    nested = "{% $map($states.input.arr, function($v) { $v + $states.result }) %}"
    assert compile_jsonata(nested).references() == {"input", "result"}


def test_variables_lists_free_variables() -> None:
    expression = compile_jsonata(
        "{% ($total := $sum($prices); $map($items, function($i) { $i * $rate + $total })) %}"
    )
    assert expression.variables() == {"sum", "prices", "map", "items", "rate"}


# ------------------------------------------------------------------------ evaluation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{% 1 + 2 %}", 3),
        ("{% 10 / 4 %}", 2.5),
        ("{% 2.0 * 3 %}", 6),
        ("{% $states.input.f * 2 %}", 3),
        ("{% $states.input.a + 1 %}", 3),
        ("{% $states.input.s & '!' %}", "héllo!"),
        ("{% $uppercase($states.input.s) %}", "HÉLLO"),
        ("{% $states.input.arr %}", [1, 2, 3]),
        ("{% $states.input.one %}", [7]),
        ("{% $states.input.empty %}", []),
        ("{% $states.input.arr[0] %}", 1),
        ("{% $states.input.items.name %}", ["x", "y"]),
        ("{% $states.input.items[price > 5].name %}", "y"),
        ("{% $states.input.obj %}", {"k": "v", "nested": {"deep": True}}),
        ("{% $states.input.obj.nested.deep %}", True),
        ("{% $states.input.n %}", None),
        ("{% null %}", None),
        ("{% [1, null, 'a'] %}", [1, None, "a"]),
        ("{% {'a': null, 'b': [true, false]} %}", {"a": None, "b": [True, False]}),
        ("{% $states.context.Execution.Name %}", "run-1"),
        ("{% $exists($states.input.n) %}", True),
        ("{% $type($states.input.n) %}", "null"),
        ("{% $string({'x': 1.0}) %}", '{"x":1}'),
        ("{% $states.input.arr ~> $sum %}", 6),
        ("{% 9007199254740993 %}", 9007199254740992),  # JSONata numbers are doubles
        ("{% 1e300 * 10 %}", 1e301),
        ("{% $states.input.big %}", 1.1805916207174113e21),  # 2**70 as a double
    ],
)
def test_evaluate(text: str, expected: object) -> None:
    result = run(text)
    assert result == expected
    assert type(result) is type(expected)


def test_results_are_plain_json_types() -> None:
    text = "{% {'list': [1, 2], 'seq': $states.input.items.price, 'map': $map([1, 2], $string)} %}"
    result = run(text)
    assert result == {"list": [1, 2], "seq": [4, 9], "map": ["1", "2"]}
    assert type(result["list"]) is list and type(result["seq"]) is list
    assert type(result["map"]) is list


@pytest.mark.parametrize(
    "text",
    [
        "{% $states.input.missing %}",
        "{% $states.input.obj.k.deeper %}",
        "{% $states.input.items[price > 100] %}",
        "{% $undefinedVariable %}",
        "{% $states.result %}",
        "{% function($x) { $x } %}",
        "{% $count %}",
        "{% $states.input.empty[0] %}",
    ],
)
def test_undefined(text: str) -> None:
    assert run(text) is UNDEFINED


def test_undefined_is_falsy_and_unique() -> None:
    assert not UNDEFINED
    assert repr(UNDEFINED) == "UNDEFINED"
    assert type(UNDEFINED)() is UNDEFINED


def test_functions_inside_results_follow_json_stringify() -> None:
    result = run("{% {'f': function() { 1 }, 'g': [function() { 1 }, 2], 'r': /ab/} %}")
    assert result == {"g": [None, 2], "r": {}}


def test_variables_are_bound() -> None:
    context = ctx(customer={"name": "María"}, n=None, count=3, flag=False)
    assert run("{% $customer.name %}", context) == "María"
    assert run("{% $n %}", context) is None
    assert run("{% $n = null %}", context) is True
    assert run("{% $exists($n) %}", context) is True
    assert run("{% $flag ? 'y' : 'n' %}", context) == "n"
    assert run("{% $count + 1 %}", context) == 4  # a variable shadows the function


def test_result_and_error_output_are_bound_when_given() -> None:
    assert run("{% $states.result.Payload %}", result={"Payload": 5}) == 5
    error = {"Error": "E", "Cause": "c"}
    assert run("{% $states.errorOutput.Error %}", errorOutput=error) == "E"
    assert run("{% $states.result %}", result=None) is None


def test_evaluation_does_not_mutate_its_inputs() -> None:
    data = copy.deepcopy(INPUT)
    variables = {"v": {"list": [3, 1, 2], "o": {"a": 1}}}
    snapshot = (copy.deepcopy(data), copy.deepcopy(variables))
    context = EvalContext(context=CONTEXT, variables=variables)
    for text in [
        "{% $states.input ~> |obj|{'k': 'changed'}, ['nested']| %}",
        "{% $sort($v.list) %}",
        "{% $reverse($v.list) %}",
        "{% $merge([$v.o, {'b': 2}]) %}",
        "{% $append($v.list, 4) %}",
        "{% $shuffle($v.list) %}",
        "{% $sift($states.input.obj, function($x) { true }) %}",
        "{% $states.input.items^(>price) %}",
    ]:
        compile_jsonata(text).evaluate({"input": data}, context)
    assert (data, variables) == snapshot


def test_result_may_share_unchanged_input_but_not_converted_parts() -> None:
    data = {"obj": {"x": 1}, "f": {"y": 2.0}}
    same = compile_jsonata("{% $states.input.obj %}").evaluate({"input": data}, ctx())
    assert same is data["obj"]
    converted = compile_jsonata("{% $states.input.f %}").evaluate({"input": data}, ctx())
    assert converted == {"y": 2} and converted is not data["f"]
    assert data["f"] == {"y": 2.0} and type(data["f"]["y"]) is float


# ------------------------------------------------------------------------- fast path

FAST_CASES = [
    "{% $states.input %}",
    "{% $states.input.a %}",
    "{% $states.input.obj.nested %}",
    "{% $states.input.obj.nested.deep %}",
    "{% $states.input.n %}",
    "{% $states.input.big %}",
    "{% $states.input.arr %}",
    "{% $states.input.one %}",
    "{% $states.input.empty %}",
    "{% $states.input.items.name %}",
    "{% $states.input.missing %}",
    "{% $states.input.a.b %}",
    "{% $states.input.obj.k.x %}",
    "{% $states.context.State.Name %}",
    "{% $v %}",
    "{% $v.a %}",
    "{% $v.list.x %}",
    "{% $v.f %}",
    "{% $nothing %}",
    "{% $nothing.a %}",
    "{% $string %}",
    "{% $n %}",
]


@pytest.mark.parametrize("text", FAST_CASES)
def test_fast_path_agrees_with_the_library(text: str) -> None:
    context = ctx(v={"a": 1, "f": 2.0, "list": [{"x": 1}, {"x": 2}]}, n=None)
    expression = compile_jsonata(text)
    fast = expression.evaluate(states(), context)
    slow = JsonataExpression(
        expression.text, expression.source, expression._ast, expression._analysis, 10**6
    )
    slow._fast = None
    expected = slow.evaluate(states(), context)
    assert fast == expected
    assert type(fast) is type(expected)


def test_fast_path_is_used_for_plain_paths() -> None:
    assert compile_jsonata("{% $states.input.a.b %}")._fast == ("states", ("input", "a", "b"))
    assert compile_jsonata("{% $x %}")._fast == ("x", ())
    assert compile_jsonata("{% $states.input.arr[0] %}")._fast is None
    assert compile_jsonata("{% $states.input.a + 1 %}")._fast is None
    assert compile_jsonata("{% $f() %}")._fast is None


# ------------------------------------------------------------------------------ errors


def test_error_cause_names_expression_field_and_code() -> None:
    cause = failure("{% $states.input.a + 'x' %}", field="Output/total")
    assert cause == (
        "The JSONata expression '$states.input.a + 'x'' specified for the field "
        "'Output/total' threw an error during evaluation. "
        'T2002: The right side of the "+" operator must evaluate to a number'
    )


def test_error_cause_without_field() -> None:
    cause = failure("{% $nope() %}")
    assert cause == (
        "The JSONata expression '$nope()' threw an error during evaluation. "
        "T1006: Attempted to invoke a non-function"
    )


def test_error_messages_use_jsonata_wording() -> None:
    cause = failure("{% $uppercase(1) %}")
    assert cause.endswith(
        'T0410: Argument 1 of function "uppercase" does not match function signature'
    )
    assert failure("{% $sum('a') %}").endswith(
        'T0412: Argument 1 of function "sum" must be an array of "n"'
    )


def test_singleton_sequences_are_unwrapped_like_jsonata() -> None:
    assert run("{% $map([1], $string) %}") == "1"
    assert run("{% $states.input.items[price > 5].price %}") == 9


def test_error_from_the_error_function() -> None:
    assert failure("{% $error('boom') %}").endswith("D3137: boom")


def test_undefined_error_message() -> None:
    expression = compile_jsonata("{% $states.input.missing %}")
    error = expression.undefined_error("Output/v")
    assert error.error == "States.QueryEvaluationError"
    assert error.cause == (
        "The JSONata expression '$states.input.missing' specified for the field 'Output/v' "
        "returned nothing (undefined)."
    )


def test_infinite_tail_recursion_stops_at_the_step_budget() -> None:
    expression = compile_jsonata(
        "{% ($f := function($n) { $f($n + 1) }; $f(0)) %}", max_steps=20_000
    )
    with pytest.raises(StatesError) as info:
        expression.evaluate(states(), ctx())
    assert "D1012: Evaluation exceeded 20000 steps" in str(info.value.cause)


def test_budget_allows_ordinary_work() -> None:
    assert run("{% $count($map([1..10000], function($v) { $v * 2 })) %}") == 10000


def test_deep_recursion_is_a_stack_overflow_error() -> None:
    cause = failure("{% ($g := function($n) { $n > 0 ? 1 + $g($n - 1) : 0 }; $g(100000)) %}")
    assert "D1011: Stack overflow" in cause


def test_recursion_within_limits_works() -> None:
    assert run("{% ($f := function($n) { $n <= 1 ? 1 : $n * $f($n - 1) }; $f(10)) %}") == 3628800


def test_huge_range_operator_is_refused_by_the_library() -> None:
    assert "D2014" in failure("{% [1..10000001] %}")


# ---------------------------------------------------------------- AWS extra functions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{% $partition([1, 2, 3, 4, 5, 6, 7, 8, 9], 3) %}", [[1, 2, 3], [4, 5, 6], [7, 8, 9]]),
        ("{% $partition([1, 2, 3, 4, 5], 2) %}", [[1, 2], [3, 4], [5]]),
        ("{% $partition([0], 1) %}", [[0]]),  # AWS: a one-chunk result stays nested
        ("{% $partition([0, 1, 2, 3], 5) %}", [[0, 1, 2, 3]]),
        ("{% $partition([], 2) %}", []),
        ("{% $partition($states.input.arr, 2) %}", [[1, 2], [3]]),
    ],
)
def test_partition(text: str, expected: object) -> None:
    assert run(text) == expected


@pytest.mark.parametrize("text", ["{% $partition([1], 0) %}", "{% $partition([1], 1.5) %}"])
def test_partition_rejects_bad_sizes(text: str) -> None:
    assert "$partition" in failure(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{% $range(0, 10, 2) %}", [0, 2, 4, 6, 8, 10]),
        ("{% $range(0, 9, 3) %}", [0, 3, 6, 9]),
        ("{% $range(0, 10, 3) %}", [0, 3, 6, 9]),
        ("{% $range(1, 9, 2) %}", [1, 3, 5, 7, 9]),
        ("{% $range(1, 9, 9) %}", 1),  # recorded on AWS: a single value, not [1]
        ("{% $range(5, 1, -2) %}", [5, 3, 1]),
        ("{% $range(0, 999, 1) ~> $count %}", 1000),
    ],
)
def test_range(text: str, expected: object) -> None:
    assert run(text) == expected


def test_range_with_nothing_in_it_is_undefined() -> None:
    assert run("{% $range(5, 1, 1) %}") is UNDEFINED


@pytest.mark.parametrize(
    "text",
    ["{% $range(0, 10, 0) %}", "{% $range(0, 1000, 1) %}", "{% $range(0.5, 2, 1) %}"],
)
def test_range_rejects(text: str) -> None:
    assert "$range" in failure(text)


@pytest.mark.parametrize(
    ("algorithm", "name"),
    [
        ("MD5", "md5"),
        ("SHA-1", "sha1"),
        ("SHA-256", "sha256"),
        ("SHA-384", "sha384"),
        ("SHA-512", "sha512"),
    ],
)
def test_hash(algorithm: str, name: str) -> None:
    expected = hashlib.new(name, "héllo".encode()).hexdigest()
    assert run(f"{{% $hash($states.input.s, '{algorithm}') %}}") == expected


def test_hash_rejects_unknown_algorithms_and_wrong_types() -> None:
    assert "SHA-3" in failure("{% $hash('a', 'SHA-3') %}")
    assert "T0410" in failure("{% $hash(1, 'MD5') %}")


def test_random_uses_the_context_rng() -> None:
    first = run("{% $random() %}", ctx(seed=7))
    assert first == run("{% $random() %}", ctx(seed=7)) == random.Random(7).random()
    assert 0 <= first < 1


def test_random_with_a_seed_is_repeatable_and_ignores_the_rng() -> None:
    a = run("{% $random(42) %}", ctx(seed=1))
    b = run("{% $random(42) %}", ctx(seed=2))
    assert a == b
    assert a != run("{% $random(43) %}")
    assert "seed" in failure("{% $random(1.5) %}")


def test_uuid_is_version_4_and_repeatable_with_the_same_rng() -> None:
    value = run("{% $uuid() %}", ctx(seed=3))
    assert isinstance(value, str)
    parsed = uuid.UUID(value)
    assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", value
    )
    assert value == run("{% $uuid() %}", ctx(seed=3))
    assert value != run("{% $uuid() %}", ctx(seed=4))


def test_two_draws_in_one_expression_differ() -> None:
    first, second = run("{% [$uuid(), $uuid()] %}")  # type: ignore[misc]
    assert first != second


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("""{% $parse('{"a": [1, 2.0, null, "x"]}') %}""", {"a": [1, 2, None, "x"]}),
        ("{% $parse('3') %}", 3),
        ("""{% $parse('"s"') %}""", "s"),
        ("{% $parse('null') %}", None),
    ],
)
def test_parse(text: str, expected: object) -> None:
    assert run(text) == expected


@pytest.mark.parametrize("text", ["{% $parse('{') %}", "{% $parse('NaN') %}", "{% $parse('') %}"])
def test_parse_rejects_invalid_json(text: str) -> None:
    assert "$parse" in failure(text)


def test_shuffle_uses_the_context_rng() -> None:
    a = run("{% $shuffle([1, 2, 3, 4, 5, 6, 7, 8]) %}", ctx(seed=5))
    assert a == run("{% $shuffle([1, 2, 3, 4, 5, 6, 7, 8]) %}", ctx(seed=5))
    assert sorted(a) == [1, 2, 3, 4, 5, 6, 7, 8]  # type: ignore[arg-type]


def test_now_and_millis_read_the_state_entered_time() -> None:
    assert run("{% $now() %}") == "2026-01-01T00:00:00.250Z"
    assert run("{% $millis() %}") == 1767225600250
    assert run("{% $now('[Y0001]-[M01]-[D01]') %}") == "2026-01-01"


def test_now_falls_back_to_the_execution_start_time() -> None:
    context = ctx(context={"Execution": {"StartTime": "2025-12-31T23:59:00.000Z"}})
    assert run("{% $now() %}", context) == "2025-12-31T23:59:00.000Z"


def test_now_without_a_time_in_the_context_fails() -> None:
    assert "EnteredTime" in failure("{% $now() %}", ctx(context={}))


def test_eval_is_not_supported() -> None:
    assert "$parse" in failure("{% $eval('1 + 1') %}")


# ---------------------------------------------------------------------------- threads


def test_one_expression_evaluated_from_many_threads() -> None:
    expression = compile_jsonata("{% $sum($map($states.input.values, function($v) { $v * $k })) %}")
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(200):
                data = {"input": {"values": [i, 1, 2]}}
                assert expression.evaluate(data, EvalContext(variables={"k": k})) == (i + 3) * k
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(1, 6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


# -------------------------------------------------------------------------- templates


def test_static_template_is_shared_and_static() -> None:
    source = {"a": 1, "b": ["x", {"c": "$.not.jsonpath"}], "d": "{ % not % }"}
    template = compile_jsonata_template(source)
    assert template.is_static
    assert template.evaluate(states(), ctx()) is source
    assert list(template.iter_expressions()) == []


def test_template_with_expressions() -> None:
    template = compile_jsonata_template(
        {
            "static": "Hello",
            "title": "{% $states.input.s %}",
            "not-evaluated": "$customerName",
            "list": [1, "{% $states.input.a * 10 %}", {"deep": "{% $customerName %}"}],
            "keep": {"x": [1, 2]},
        }
    )
    assert not template.is_static
    result = template.evaluate(states(), ctx(customerName="María"))
    assert result == {
        "static": "Hello",
        "title": "héllo",
        "not-evaluated": "$customerName",
        "list": [1, 20, {"deep": "María"}],
        "keep": {"x": [1, 2]},
    }
    paths = [path for path, _ in template.iter_expressions()]
    assert paths == [("title",), ("list", 1), ("list", 2, "deep")]


def test_whole_value_template() -> None:
    template = compile_jsonata_template("{% $states.input.arr %}")
    assert not template.is_static
    assert template.evaluate(states(), ctx()) == [1, 2, 3]
    assert [path for path, _ in template.iter_expressions()] == [()]


@pytest.mark.parametrize("value", [None, 1, "plain", True, [], {}])
def test_literal_templates(value: object) -> None:
    template = compile_jsonata_template(value)
    assert template.is_static and template.evaluate(states(), ctx()) == value


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"v": "{% $states.input.missing %}"}, "Output/v"),
        ({"a": {"b": "{% $states.input.missing %}"}}, "Output/a/b"),
        ("{% $states.input.missing %}", "Output"),
        ({"arr": [1, "{% $states.input.missing %}"]}, "Output/arr[1]"),
    ],
)
def test_template_undefined_names_the_field(value: object, field: str) -> None:
    with pytest.raises(StatesError) as info:
        compile_jsonata_template(value).evaluate(states(), ctx(), field="Output")
    assert info.value.error == "States.QueryEvaluationError"
    assert info.value.cause == (
        f"The JSONata expression '$states.input.missing' specified for the field '{field}' "
        "returned nothing (undefined)."
    )


def test_template_errors_name_the_field() -> None:
    template = compile_jsonata_template({"x": {"y": "{% 1 + 'a' %}"}})
    with pytest.raises(StatesError) as info:
        template.evaluate(states(), ctx(), field="Arguments")
    assert "specified for the field 'Arguments/x/y' threw an error" in str(info.value.cause)


def test_template_null_result_is_kept() -> None:
    result = compile_jsonata_template({"v": "{% null %}"}).evaluate(states(), ctx())
    assert result == {"v": None}


def test_template_compile_error_reports_the_bad_expression() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_jsonata_template({"ok": "{% 1 %}", "bad": ["{% 1 + %}"]})
    assert info.value.expression == "{% 1 + %}"


def test_max_steps_constant_is_exported() -> None:
    assert jsonata_expr.MAX_STEPS >= 100_000
