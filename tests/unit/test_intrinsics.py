"""Intrinsic functions: parser errors, the 18 functions, AWS rendering and causes.

Expected values marked "AWS" come from the AWS developer guide examples or from executions
recorded against AWS (LocalStack's snapshot corpus); the rest pin our own choices.
"""

from __future__ import annotations

import hashlib
import random
import uuid

import pytest

from statemachine.errors import ExpressionError, StatesError
from statemachine.expressions.context import EvalContext
from statemachine.expressions.intrinsic_functions import (
    FUNCTIONS,
    format_value,
    java_double,
    json_equal,
    to_json_text,
)
from statemachine.expressions.intrinsics import (
    MAX_NESTING,
    compile_intrinsic,
    looks_like_intrinsic,
)
from statemachine.expressions.jsonpath import PathNotFound

CONTEXT = {
    "Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:machine:run-1"},
    "StateMachine": {"Name": "my-state-machine"},
}


def ctx(seed: int = 7, **variables: object) -> EvalContext:
    return EvalContext(context=CONTEXT, variables=variables, rng=random.Random(seed))


def run(text: str, data: object = None, context: EvalContext | None = None) -> object:
    return compile_intrinsic(text).evaluate(data, context or ctx())


def failure(text: str, data: object = None) -> StatesError:
    with pytest.raises(StatesError) as info:
        run(text, data)
    assert info.value.error == "States.IntrinsicFailure"
    assert info.value.cause is not None
    assert info.value.cause.startswith(f"The function '{text}' had the following error: ")
    return info.value


def compile_error(text: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        compile_intrinsic(text)
    return info.value


def test_all_eighteen_functions_are_declared() -> None:
    assert len(FUNCTIONS) == 18
    assert all(name.startswith("States.") for name in FUNCTIONS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Format('x')", True),
        ("States.Nope(1)", True),
        ("States.Format ('x')", True),
        ("States.Format", False),
        ("$.a", False),
        ("states.Format('x')", False),
        (" States.Format('x')", False),
    ],
)
def test_looks_like_intrinsic(text: str, expected: bool) -> None:
    assert looks_like_intrinsic(text) is expected


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("States.Nope(1)", 0, "unknown intrinsic function 'States.Nope'"),
        ("States.ArrayLength()", 19, "takes exactly 1 argument, got 0"),
        ("States.ArrayLength($.a, $.b)", 24, "takes exactly 1 argument, got 2"),
        ("States.MathRandom(1)", 19, "takes 2 to 3 arguments, got 1"),
        ("States.Format()", 14, "takes at least 1 argument, got 0"),
        ("States.UUID(1)", 12, "takes exactly 0 arguments, got 1"),
        ("States.JsonToString('a')", 20, "must be a path or a nested intrinsic"),
        ("States.ArrayLength('abc')", 19, "expected an array, got a string"),
        ("States.MathAdd('1', 2)", 15, "expected a number, got a string"),
        ("States.ArrayGetItem($.a, 1.5)", 25, "expected an integer, got a number"),
        ("States.JsonMerge($.a, $.b, 'false')", 27, "expected a boolean, got a string"),
        ("States.Format('abc", 14, "unterminated string literal"),
        ("States.Format('abc\\", 14, "unterminated string literal"),
        ("States.Format('a\\x')", 16, "invalid escape '\\x'"),
        ("States.Format('a\\n')", 16, "invalid escape '\\n'"),
        ("States.Array(1) x", 16, "unexpected 'x' after the end of the call"),
        ("States.Array(1)States.Array()", 15, "after the end of the call"),
        ("States.Array(foo)", 13, "string literals need single quotes"),
        ('States.Array("a")', 13, "unexpected '\"'"),
        ("States.Array(1,)", 15, "expected an argument"),
        ("States.Array(,1)", 13, "expected an argument"),
        ("States.Array(1", 14, "missing ')'"),
        ("States.Array(1 2)", 15, "expected ',' or ')'"),
        ("States.Array(-)", 13, "malformed number"),
        ("States.Array(.5)", 13, "unexpected '.'"),
        ("States.Array", 12, "expected '('"),
        ("Foo.Array()", 0, "must start with 'States.'"),
        ("States.Array(True)", 13, "string literals need single quotes"),
    ],
)
def test_compile_errors_point_at_the_column(text: str, column: int, fragment: str) -> None:
    error = compile_error(text)
    assert fragment in error.message
    assert error.expression == text
    assert error.column == column
    assert str(error).splitlines()[-1] == "  " + " " * column + "^"


def test_nesting_up_to_ten_is_allowed() -> None:
    text = "States.Array(" * MAX_NESTING + ")" * MAX_NESTING
    value = run(text)
    for _ in range(MAX_NESTING - 1):
        assert isinstance(value, list) and len(value) == 1
        value = value[0]
    assert value == []


def test_nesting_deeper_than_ten_fails_at_the_eleventh_call() -> None:
    text = "States.Array(" * (MAX_NESTING + 1) + ")" * (MAX_NESTING + 1)
    error = compile_error(text)
    assert "nested more than 10 deep" in error.message
    assert error.column == len("States.Array(") * MAX_NESTING


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("States.ArrayPartition($.a, 0)", "must be a positive integer"),
        ("States.ArrayRange(1, 5, 0)", "the step must not be zero"),
        ("States.Hash('a', 'SHA-3')", "unsupported algorithm 'SHA-3'"),
        ("States.Hash('a', 'sha-256')", "unsupported algorithm"),
        ("States.JsonMerge($.b, $.b, true)", "deep merge is not supported"),
        ("States.Format('{} {}', 1)", "2 placeholders '{}' but 1 value was given"),
        ("States.Format('{}')", "1 placeholder '{}' but 0 values were given"),
        ("States.Format('{')", "unescaped '{'"),
        ("States.Format('}')", "unmatched '}'"),
    ],
)
def test_bad_literal_values_fail_at_run_time(text: str, fragment: str) -> None:
    """AWS accepts these definitions and fails the state when the call runs, so literal
    values are checked at run time (States.IntrinsicFailure), not at validation."""
    intrinsic = compile_intrinsic(text)
    with pytest.raises(StatesError) as info:
        intrinsic.evaluate({"a": [1, 2], "b": {}}, EvalContext())
    assert info.value.error == "States.IntrinsicFailure"
    assert fragment in (info.value.cause or "")


def test_aws_nine_function_example() -> None:
    """AWS's example of a field with nine nested intrinsics has three '{}' but two values;
    it compiles (as on AWS) and fails when run. With a third value it works."""
    arn = "$.ImageRecipe.Arn"
    part = (
        f"States.ArrayGetItem(States.StringSplit(States.ArrayGetItem("
        f"States.StringSplit({arn}, '/'), 2), '.'), {{}})"
    )
    aws_text = f"States.Format('{{}}.{{}}.{{}}', {part.format(0)}, {part.format(1)})"
    with pytest.raises(StatesError) as info:
        run(
            aws_text,
            {"ImageRecipe": {"Arn": "arn:aws:imagebuilder:us-east-1:1:image-recipe/x/1.2.3"}},
        )
    assert "2 values were given" in (info.value.cause or "")
    fixed = f"States.Format('{{}}.{{}}.{{}}', {part.format(0)}, {part.format(1)}, {part.format(2)})"
    data = {"ImageRecipe": {"Arn": "arn:aws:imagebuilder:us-east-1:1:image-recipe/x/1.2.3"}}
    assert run(fixed, data) == "1.2.3"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "States.Array(1, -2, 0, 1.5, -0.25, 1e3, 2E-2, true, false, null, 'a')",
            [1, -2, 0, 1.5, -0.25, 1000.0, 0.02, True, False, None, "a"],
        ),
        ("States.Array( 1 ,\t'a' ,\n$.x )", [1, "a", 5]),
        ("States.Array(123456789012345678901234567890)", [123456789012345678901234567890]),
        ("States.Array('')", [""]),
        ("States.Array('it\\'s', '\\{\\}', 'back\\\\slash')", ["it's", "{}", "back\\slash"]),
        ("States.Array('multi\nline', 'ünïcødé ✓ 🎉')", ["multi\nline", "ünïcødé ✓ 🎉"]),
        ("States.Array('a,b)c', 'States.Array(1)')", ["a,b)c", "States.Array(1)"]),
        ("States.Array()", []),
        ("  States.Array(1)  ", [1]),
    ],
)
def test_literals(text: str, expected: object) -> None:
    assert run(text, {"x": 5}) == expected


def test_number_literal_types() -> None:
    value = run("States.Array(1, 1.0, 1e2)")
    assert [type(v) for v in value] == [int, float, float]  # type: ignore[union-attr]


def test_path_arguments_input_context_and_variables() -> None:
    data = {"a": {"b": [10, 20]}}
    context = ctx(v={"w": "var"})
    assert run("States.Array($, $.a.b[1], $$.StateMachine.Name, $v.w)", data, context) == [
        data,
        20,
        "my-state-machine",
        "var",
    ]


def test_path_argument_with_comma_and_paren_inside_brackets() -> None:
    data = {"a,b": 1, "c)": 2}
    assert run("States.Array($['a,b'], $['c)'])", data) == [1, 2]


def test_bad_path_argument_reports_column_in_the_whole_expression() -> None:
    error = compile_error("States.Array(1, $.a[)")
    assert error.expression == "States.Array(1, $.a[)"
    assert error.column >= len("States.Array(1, ")


def test_missing_path_argument_raises_path_not_found() -> None:
    intrinsic = compile_intrinsic("States.Format('{}', $.nope)")
    with pytest.raises(PathNotFound):
        intrinsic.evaluate({"other": 1}, ctx())


def test_paths_are_listed() -> None:
    intrinsic = compile_intrinsic("States.Format('{}{}', $.a, States.Array($$.Execution.Id))")
    assert [p.text for p in intrinsic.paths] == ["$.a", "$$.Execution.Id"]
    assert intrinsic.function == "States.Format"


def test_literal_only_calls_are_computed_once() -> None:
    intrinsic = compile_intrinsic("States.ArrayRange(1, 5, 2)")
    assert intrinsic.is_constant
    assert intrinsic.evaluate({"ignored": True}, ctx()) == [1, 3, 5]
    assert not compile_intrinsic("States.UUID()").is_constant
    assert not compile_intrinsic("States.MathRandom(1, 5, 3)").is_constant
    assert not compile_intrinsic("States.Array($.a)").is_constant


def test_literal_only_call_that_fails_still_fails_at_run_time() -> None:
    intrinsic = compile_intrinsic("States.ArrayGetItem(States.Array(1), 5)")
    assert not intrinsic.is_constant
    with pytest.raises(StatesError, match="out of bounds"):
        intrinsic.evaluate(None, ctx())


# --------------------------------------------------------------------------- States.Format


def test_format_aws_examples() -> None:
    data = {"name": "Arnav", "template": "Hello, my name is {}."}
    assert run("States.Format('Hello, my name is {}.', $.name)", data) == "Hello, my name is Arnav."
    assert run("States.Format($.template, $.name)", data) == "Hello, my name is Arnav."
    assert (
        run("States.Format('Your name is {}, we are in the year {}', $.name, 2020)", data)
        == "Your name is Arnav, we are in the year 2020"
    )


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("", ""),
        (" ", " "),
        ("HelloWorld", "HelloWorld"),
        (None, "null"),
        (True, "true"),
        (1, "1"),
        (1.1, "1.1"),
        (1.0, "1.0"),
        ('{"Arg1": 1, "Arg2": []}', '{"Arg1": 1, "Arg2": []}'),
        ({"Arg1": 1, "Arg2": []}, "{Arg1=1, Arg2=[]}"),  # AWS: Java Map.toString
        ([1, "a", None, {"b": [True]}], "[1, a, null, {b=[true]}]"),
        (12345678.0, "1.2345678E7"),
        (10**20, "100000000000000000000"),
        ("ünï {} 🎉", "ünï {} 🎉"),
    ],
)
def test_format_renders_values_like_aws(value: object, rendered: str) -> None:
    assert run("States.Format('<{}>', $.v)", {"v": value}) == f"<{rendered}>"


def test_format_escapes() -> None:
    assert run("States.Format('\\{\\} {} \\'q\\' \\\\', 1)") == "{} 1 'q' \\"
    assert run("States.Format('{}{}', 'a', 'b')") == "ab"
    assert run("States.Format('no placeholders')") == "no placeholders"


def test_format_builds_json_with_escaped_braces() -> None:
    assert run('States.Format(\'\\{"id": "{}"\\}\', $.id)', {"id": 7}) == '{"id": "7"}'


def test_format_template_from_the_input() -> None:
    assert run("States.Format($.t, 1, 2)", {"t": "{}+{}"}) == "1+2"
    assert run("States.Format($.t, 1)", {"t": "\\{{}\\}"}) == "{1}"
    assert run("States.Format($.t)", {"t": "C:\\dir"}) == "C:\\dir"


def test_format_runtime_failures() -> None:
    cause = failure("States.Format($.t, 1)", {"t": "{} {}"}).cause
    assert cause == (
        "The function 'States.Format($.t, 1)' had the following error: Invalid arguments in "
        "States.Format: the template has 2 placeholders '{}' but 1 value was given"
    )
    failure("States.Format($.t)", {"t": "{"})
    failure("States.Format($.t)", {"t": 5})


def test_format_value_of_nested_structures() -> None:
    assert format_value({"a": {"b": None}, "c": [1.5, "x"]}) == "{a={b=null}, c=[1.5, x]}"


# --------------------------------------------------------------------------- JSON functions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),  # AWS
        (" ", None),  # AWS
        ("null", None),  # AWS
        ("-0", 0),  # AWS
        ("1", 1),
        ("1.1", 1.1),
        ("true", True),
        ('"HelloWorld"', "HelloWorld"),
        ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
        ('{"Arg1": 1, "Arg2": []}', {"Arg1": 1, "Arg2": []}),
        ('"\\u00fc"', "ü"),
    ],
)
def test_string_to_json(text: str, expected: object) -> None:
    assert run("States.StringToJson($.s)", {"s": text}) == expected


@pytest.mark.parametrize("text", ["{", "NaN", "Infinity", "[1,]", "tru"])
def test_string_to_json_rejects_invalid_json(text: str) -> None:
    assert "not valid JSON" in (failure("States.StringToJson($.s)", {"s": text}).cause or "")


def test_string_to_json_literal_argument() -> None:
    """AWS accepts a literal (recorded JsonMerge + StringToJson execution)."""
    assert run("States.StringToJson('{\"a\": [1]}')") == {"a": [1]}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),  # AWS
        (0, "0"),  # AWS
        (1, "1"),  # AWS
        (1.1, "1.1"),  # AWS
        (True, "true"),  # AWS
        ("HelloWorld", '"HelloWorld"'),  # AWS
        ([1, 2, "HelloWorld"], '[1,2,"HelloWorld"]'),  # AWS
        ({"Arg1": 1, "Arg2": []}, '{"Arg1":1,"Arg2":[]}'),  # AWS
        (1e20, "1.0E20"),
        (1.0, "1.0"),
        (-0.0, "-0.0"),
        (0.0001, "1.0E-4"),
        ("ünï/🎉", '"ünï/🎉"'),
        ('q"b\\\n\t\r\b\f\x01\x1f\x7f', '"q\\"b\\\\\\n\\t\\r\\b\\f\\u0001\\u001F\x7f"'),
        (10**30, "1000000000000000000000000000000"),
    ],
)
def test_json_to_string(value: object, text: str) -> None:
    assert run("States.JsonToString($.v)", {"v": value}) == text


def test_json_to_string_of_a_nested_call() -> None:
    assert run("States.JsonToString(States.Array(1, 'a'))") == '[1,"a"]'


def test_json_merge_aws_example() -> None:
    data = {
        "json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
        "json2": {"a": {"a3": 1, "a4": 2}, "c": 3},
    }
    merged = run("States.JsonMerge($.json1, $.json2, false)", data)
    assert merged == {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}
    assert data["json1"] == {"a": {"a1": 1, "a2": 2}, "b": 2}  # inputs untouched


def test_json_merge_failures() -> None:
    failure("States.JsonMerge($.a, $.b, $.deep)", {"a": {}, "b": {}, "deep": True})
    failure("States.JsonMerge($.a, $.b, false)", {"a": [], "b": {}})
    failure("States.JsonMerge($.a, $.b, false)", {"a": {}, "b": None})


# --------------------------------------------------------------------------- arrays


def test_array_aws_example() -> None:
    data = {"someJson": {"random": "abcdefg"}, "Id": 123456}
    assert run("States.Array('Foo', 2020, $.someJson, null)", data) == [
        "Foo",
        2020,
        {"random": "abcdefg"},
        None,
    ]
    assert run("States.Array($.Id)", data) == [123456]


@pytest.mark.parametrize(
    ("array", "size", "expected"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8, 9], 4, [[1, 2, 3, 4], [5, 6, 7, 8], [9]]),  # AWS
        ([], 1, []),
        ([0, 1, 2], 5, [[0, 1, 2]]),
        ([0, 1, 2], 1, [[0], [1], [2]]),
        ([0, 1, 2, 3], 2.0, [[0, 1], [2, 3]]),
    ],
)
def test_array_partition(array: list[object], size: object, expected: object) -> None:
    assert run("States.ArrayPartition($.a, $.n)", {"a": array, "n": size}) == expected


@pytest.mark.parametrize("size", [0, -1, 1.5, "2", None])
def test_array_partition_bad_size(size: object) -> None:
    failure("States.ArrayPartition($.a, $.n)", {"a": [1], "n": size})


@pytest.mark.parametrize(
    ("array", "value", "expected"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8, 9], 5, True),  # AWS
        ([], None, False),
        ([None], None, True),
        ([[1, 2, 3], 2], [1, 2, 3], True),
        ([{"b": 1, "a": [2]}], {"a": [2], "b": 1}, True),
        ([{"a": 1}], {"a": 1, "b": 2}, False),
        ([True, False], True, True),
        ([1], True, False),
        ([True], 1, False),
        ([0], False, False),
        (["1"], 1, False),
        ([1.0], 1, True),
    ],
)
def test_array_contains(array: list[object], value: object, expected: bool) -> None:
    assert run("States.ArrayContains($.a, $.v)", {"a": array, "v": value}) is expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("1, 9, 2", [1, 3, 5, 7, 9]),  # AWS
        ("0, 9, 3", [0, 3, 6, 9]),
        ("0, 10, 3", [0, 3, 6, 9]),
        ("1, 9, 9", [1]),
        ("5, 5, 1", [5]),
        ("9, 1, -2", [9, 7, 5, 3, 1]),
        ("1, 9, -1", []),
        ("9, 1, 1", []),
        ("-3, 3, 3", [-3, 0, 3]),
        ("1.5, 3.4, 0.6", [2, 3]),  # rounded half up: 2, 3, 1
        ("1, 1000, 1", list(range(1, 1001))),
    ],
)
def test_array_range(args: str, expected: list[int]) -> None:
    assert run(f"States.ArrayRange({args})") == expected


def test_array_range_limits() -> None:
    assert "at most 1000" in (failure("States.ArrayRange(0, 1000, 1)").cause or "")
    failure("States.ArrayRange(0, 1000000000, 1)")
    failure("States.ArrayRange(1, 2, $.s)", {"s": 0})
    failure("States.ArrayRange(1, 2, $.s)", {"s": 0.4})  # rounds to 0
    failure("States.ArrayRange($.s, 2, 1)", {"s": "1"})


def test_array_get_item() -> None:
    data = {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5}
    assert run("States.ArrayGetItem($.inputArray, $.index)", data) == 6  # AWS
    assert run("States.ArrayGetItem($.inputArray, 0)", data) == 1
    assert run("States.ArrayGetItem($.inputArray, 8.0)", data) == 9
    cause = failure("States.ArrayGetItem($.inputArray, 9)", data).cause or ""
    assert "index 9 is out of bounds for an array of length 9" in cause
    failure("States.ArrayGetItem($.inputArray, -1)", data)
    failure("States.ArrayGetItem($.inputArray, $.f)", {**data, "f": 1.5})
    failure("States.ArrayGetItem($.inputArray, $.f)", {**data, "f": True})
    failure("States.ArrayGetItem($.index, 0)", data)


def test_array_length() -> None:
    assert run("States.ArrayLength($.a)", {"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]}) == 9  # AWS
    assert run("States.ArrayLength($.a)", {"a": []}) == 0
    cause = failure("States.ArrayLength($.a)", {"a": "abc"}).cause
    assert cause == (
        "The function 'States.ArrayLength($.a)' had the following error: Invalid arguments in "
        "States.ArrayLength: argument 1 (array): expected an array, got a string"
    )


def test_array_unique() -> None:
    assert run("States.ArrayUnique($.a)", {"a": [1, 2, 3, 3, 3, 3, 3, 3, 4]}) == [1, 2, 3, 4]
    mixed = [
        None,
        None,
        True,
        1,
        1,
        1.0,
        False,
        0,
        "1",
        [],
        [],
        [None],
        {"a": 1, "b": 2},
        {"b": 2, "a": 1},
        {"a": 1, "b": 1},
    ]
    assert run("States.ArrayUnique($.a)", {"a": mixed}) == [
        None,
        True,
        1,
        False,
        0,
        "1",
        [],
        [None],
        {"a": 1, "b": 2},
        {"a": 1, "b": 1},
    ]
    assert run("States.ArrayUnique($.a)", {"a": []}) == []


def test_json_equal() -> None:
    assert json_equal({"a": [1, {"b": None}]}, {"a": [1.0, {"b": None}]})
    assert not json_equal(True, 1)
    assert not json_equal([1, 2], [2, 1])


# --------------------------------------------------------------------------- encoding, hashing


def test_base64_aws_examples() -> None:
    assert (
        run("States.Base64Encode($.input)", {"input": "Data to encode"}) == "RGF0YSB0byBlbmNvZGU="
    )
    assert run("States.Base64Decode($.b)", {"b": "RGF0YSB0byBlbmNvZGU="}) == "Data to encode"


@pytest.mark.parametrize("text", ["", "a", "ünïcødé ✓ 🎉", "x" * 7_500, "line\nbreak"])
def test_base64_round_trip(text: str) -> None:
    encoded = run("States.Base64Encode($.s)", {"s": text})
    assert isinstance(encoded, str) and "\n" not in encoded
    assert run("States.Base64Decode($.s)", {"s": encoded}) == text


def test_base64_decode_is_lenient_like_mime() -> None:
    assert run("States.Base64Decode($.s)", {"s": "RGF0YQ"}) == "Data"  # no padding
    assert run("States.Base64Decode($.s)", {"s": "RGF0\r\nYQ=="}) == "Data"  # line break


def test_base64_limits_and_bad_input() -> None:
    assert run("States.Base64Encode($.s)", {"s": "x" * 10_000})
    failure("States.Base64Encode($.s)", {"s": "x" * 10_001})
    failure("States.Base64Encode($.s)", {"s": "🎉" * 5_001})  # 10,002 UTF-16 units
    failure("States.Base64Decode($.s)", {"s": "A" * 10_004})
    failure("States.Base64Decode($.s)", {"s": "RGF0Y"})
    failure("States.Base64Encode($.s)", {"s": 1})


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
    data = {"Data": "input data", "Algorithm": algorithm}
    expected = hashlib.new(name, b"input data").hexdigest()
    assert run("States.Hash($.Data, $.Algorithm)", data) == expected
    assert expected == expected.lower()


def test_hash_known_value_and_failures() -> None:
    assert run("States.Hash('input data', 'SHA-1')") == "aaff4a450a104cd177d28d18d74485e8cae074b7"
    assert run("States.Hash('', 'MD5')") == "d41d8cd98f00b204e9800998ecf8427e"
    assert run("States.Hash($.s, 'MD5')", {"s": "x" * 10_000})
    failure("States.Hash($.s, 'MD5')", {"s": "x" * 10_001})
    failure("States.Hash('x', $.a)", {"a": "SHA-224"})
    failure("States.Hash($.s, 'MD5')", {"s": {"a": 1}})


# --------------------------------------------------------------------------- math


@pytest.mark.parametrize(
    ("first", "second", "total"),
    [
        (-9, 3, -6),  # AWS
        (1.49, 1.5, 3),  # AWS
        (1.5, 1.51, 4),  # AWS
        (-1.49, -1.5, -2),  # AWS
        (111, -1, 110),  # AWS doc
        (0.5, 0, 1),
        (2.5, 0, 3),
        (-0.5, 0, 0),
        (-2.5, 0, -2),
        (-0.5, 0.5, 1),
        (2**63, 2**63, 2**64),
    ],
)
def test_math_add(first: float, second: float, total: int) -> None:
    result = run("States.MathAdd($.a, $.b)", {"a": first, "b": second})
    assert result == total and type(result) is int


def test_math_add_failures() -> None:
    failure("States.MathAdd($.a, 1)", {"a": "1"})
    failure("States.MathAdd($.a, 1)", {"a": None})
    failure("States.MathAdd($.a, 1)", {"a": True})


def test_math_random_uses_the_context_rng() -> None:
    first = run("States.MathRandom(1, 1000)", None, ctx(seed=42))
    again = run("States.MathRandom(1, 1000)", None, ctx(seed=42))
    assert first == again
    assert isinstance(first, int) and 1 <= first < 1000


def test_math_random_with_seed_ignores_the_context_rng() -> None:
    values = {run("States.MathRandom(0, 999, 3)", None, ctx(seed=s)) for s in range(5)}
    assert len(values) == 1
    assert run("States.MathRandom(0, 999, $.s)", {"s": 3}) in values


def test_math_random_bounds() -> None:
    rng = EvalContext(rng=random.Random(1))
    seen = {run("States.MathRandom(-2, 2)", None, rng) for _ in range(300)}
    assert seen == {-2, -1, 0, 1}
    assert run("States.MathRandom(12.5, 14.4)", None, ctx()) == 13  # bounds round to 13, 14
    failure("States.MathRandom(5, 5)")
    failure("States.MathRandom($.a, 1)", {"a": 10})
    failure("States.MathRandom($.a, 10)", {"a": "1"})


# --------------------------------------------------------------------------- strings, UUID


@pytest.mark.parametrize(
    ("text", "delimiters", "expected"),
    [
        ("1,2,3,4,5", ",", ["1", "2", "3", "4", "5"]),  # AWS
        ("This.is+a,test=string", ".+,=", ["This", "is", "a", "test", "string"]),  # AWS
        (" , ", ",", [" ", " "]),  # AWS
        (", , ,", ",", [" ", " "]),  # AWS
        (",,,,", ",", []),  # AWS
        ("split on T and \nnew line", "T\n", ["split on ", " and ", "new line"]),  # AWS
        ("", ",", []),
        ("abc", "", ["abc"]),
        ("a]b^c-d\\e", "]^-\\", ["a", "b", "c", "d", "e"]),
        ("ü🎉ü", "🎉", ["ü", "ü"]),
    ],
)
def test_string_split(text: str, delimiters: str, expected: list[str]) -> None:
    assert run("States.StringSplit($.s, $.d)", {"s": text, "d": delimiters}) == expected


def test_string_split_literal_newline_and_context() -> None:
    assert run("States.StringSplit('Hello\nWorld', '\n')") == ["Hello", "World"]  # AWS
    assert run("States.ArrayGetItem(States.StringSplit($$.Execution.Id, ':'), 3)") == "us-east-1"
    assert (
        run(
            "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), "
            "States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))"
        )
        == "machine"
    )


def test_uuid_is_v4_and_comes_from_the_rng() -> None:
    first = run("States.UUID()", None, ctx(seed=3))
    assert first == run("States.UUID()", None, ctx(seed=3))
    assert first != run("States.UUID()", None, ctx(seed=4))
    parsed = uuid.UUID(str(first))
    assert parsed.version == 4 and str(parsed) == first


# --------------------------------------------------------------------------- rendering helpers


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1.0, "1.0"),
        (-1.5, "-1.5"),
        (100.0, "100.0"),
        (0.001, "0.001"),
        (0.0009, "9.0E-4"),
        (1234567.0, "1234567.0"),
        (9999999.0, "9999999.0"),
        (10000000.0, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (1e20, "1.0E20"),
        (1.5e-10, "1.5E-10"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1.7976931348623157e308, "1.7976931348623157E308"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
        (float("nan"), "NaN"),
    ],
)
def test_java_double(value: float, text: str) -> None:
    assert java_double(value) == text


def test_to_json_text_rejects_non_json() -> None:
    with pytest.raises(TypeError):
        to_json_text({"a": object()})
