"""Payload templates (JSONPath mode): compilation rules, evaluation, error causes."""

from __future__ import annotations

import random

import pytest

from statemachine.errors import ExpressionError, StatesError
from statemachine.expressions.context import EvalContext
from statemachine.expressions.templates import Template, TemplateError, compile_template

CONTEXT = {
    "Execution": {"Id": "arn:aws:states:us-east-1:1:execution:m:e", "Name": "e"},
    "Map": {"Item": {"Index": 2, "Value": {"id": "x"}}},
}


def ctx(**variables: object) -> EvalContext:
    return EvalContext(context=CONTEXT, variables=variables, rng=random.Random(1))


def evaluate(template: object, data: object, context: EvalContext | None = None) -> object:
    return compile_template(template).evaluate(data, context or ctx())


def path_failure(template: object, data: object) -> str:
    with pytest.raises(StatesError) as info:
        evaluate(template, data)
    assert info.value.error == "States.Runtime"  # as AWS reports it
    assert info.value.cause is not None
    return info.value.cause


# --------------------------------------------------------------------------- evaluation


def test_static_template_returns_one_shared_value() -> None:
    source = {"a": 1, "b": [{"c": "$.not.a.path"}, "$.x"], "d.e": None}
    template = compile_template(source)
    assert template.is_static
    first = template.evaluate({"x": 1}, ctx())
    assert first == source
    assert template.evaluate(None, ctx()) is first
    assert list(template.iter_expressions()) == []


def test_compiling_detaches_from_the_source() -> None:
    source = {"a": {"b": 1}, "c.$": "$.c"}
    template = compile_template(source)
    source["a"]["b"] = 2
    assert template.evaluate({"c": 3}, ctx()) == {"a": {"b": 1}, "c": 3}


@pytest.mark.parametrize("value", [None, 1, "text", "$.looks.like.a.path", [1, "$.a"], True])
def test_non_object_templates_are_static(value: object) -> None:
    template = compile_template(value)
    assert template.is_static
    assert template.evaluate({"a": 1}, ctx()) == value


def test_dot_dollar_fields_are_evaluated_and_renamed() -> None:
    data = {"name": "Ann", "n": [1, 2], "deep": {"k": True}}
    template = {
        "greeting.$": "States.Format('hi {}', $.name)",
        "all.$": "$",
        "first.$": "$.n[0]",
        "plain": "$.name",
        "k.$": "$.deep.k",
    }
    assert evaluate(template, data) == {
        "greeting": "hi Ann",
        "all": data,
        "first": 1,
        "plain": "$.name",
        "k": True,
    }


def test_key_order_is_kept() -> None:
    result = evaluate({"z": 1, "y.$": "$.y", "x": 3}, {"y": 2})
    assert list(result) == ["z", "y", "x"]  # type: ignore[arg-type]


def test_nested_objects_and_arrays() -> None:
    template = {
        "outer": {
            "inner.$": "$.a",
            "list": [
                "$.a",
                {"fromList.$": "$.b"},
                [{"deeper.$": "States.Array($.a, $.b)"}],
                {"static": 1},
                5,
            ],
        },
        "static": {"x": [1, 2]},
    }
    assert evaluate(template, {"a": "A", "b": "B"}) == {
        "outer": {
            "inner": "A",
            "list": [
                "$.a",
                {"fromList": "B"},
                [{"deeper": ["A", "B"]}],
                {"static": 1},
                5,
            ],
        },
        "static": {"x": [1, 2]},
    }


def test_static_subtrees_are_shared_between_evaluations() -> None:
    template = compile_template({"s": {"big": [1, 2, 3]}, "d.$": "$.d"})
    first = template.evaluate({"d": 1}, ctx())
    second = template.evaluate({"d": 2}, ctx())
    assert first["s"] is second["s"]  # type: ignore[index]
    assert first["d"] == 1 and second["d"] == 2  # type: ignore[index]


def test_context_and_variable_paths() -> None:
    template = {
        "index.$": "$$.Map.Item.Index",
        "value.$": "$$.Map.Item.Value",
        "execution.$": "$$.Execution.Id",
        "var.$": "$counter",
        "varField.$": "$config.limit",
        "both.$": "States.Format('{}-{}', $$.Execution.Name, $counter)",
    }
    context = ctx(counter=3, config={"limit": 10})
    assert evaluate(template, {}, context) == {
        "index": 2,
        "value": {"id": "x"},
        "execution": "arn:aws:states:us-east-1:1:execution:m:e",
        "var": 3,
        "varField": 10,
        "both": "e-3",
    }


def test_path_results_are_not_copied_and_input_is_not_mutated() -> None:
    data = {"obj": {"a": [1]}}
    result = evaluate({"o.$": "$.obj"}, data)
    assert result == {"o": {"a": [1]}}
    assert data == {"obj": {"a": [1]}}


def test_constant_intrinsics_make_a_static_template() -> None:
    template = compile_template({"r.$": "States.ArrayRange(1, 3, 1)", "s": "x"})
    assert template.is_static
    assert template.evaluate(None, ctx()) == {"r": [1, 2, 3], "s": "x"}
    assert list(template.iter_expressions()) == [(("r.$",), "States.ArrayRange(1, 3, 1)")]


def test_random_intrinsics_are_evaluated_every_time() -> None:
    template = compile_template({"id.$": "States.UUID()"})
    assert not template.is_static
    context = ctx()
    assert template.evaluate(None, context) != template.evaluate(None, context)


def test_iter_expressions_lists_every_path_and_intrinsic_in_order() -> None:
    template = compile_template(
        {
            "a.$": "$.a",
            "b": [{"c.$": "$$.Execution.Id"}, {"d": {"e.$": "States.Array($v)"}}],
            "f": "$.not",
        }
    )
    assert list(template.iter_expressions()) == [
        (("a.$",), "$.a"),
        (("b", 0, "c.$"), "$$.Execution.Id"),
        (("b", 1, "d", "e.$"), "States.Array($v)"),
    ]


def test_repr() -> None:
    assert "static" in repr(compile_template({"a": 1}))
    assert "1 expressions" in repr(compile_template({"a.$": "$"}, field="ResultSelector"))


# --------------------------------------------------------------------------- runtime errors


def test_missing_path_cause_matches_aws() -> None:
    cause = path_failure({"x.$": "$.missing"}, {"a": 1})
    assert cause == (
        "The JSONPath '$.missing' specified for the field 'x.$' "
        "could not be found in the input '{\"a\":1}'"
    )


def test_missing_nested_path_names_the_nested_field() -> None:
    cause = path_failure({"outer": [{"inner.$": "$.a.b"}]}, {"a": {"c": [1.0, "ü"]}})
    assert cause == (
        "The JSONPath '$.a.b' specified for the field 'inner.$' "
        'could not be found in the input \'{"a":{"c":[1.0,"ü"]}}\''
    )


def test_missing_variable_and_context_paths_fail_the_same_way() -> None:
    assert "'$nope'" in path_failure({"v.$": "$nope"}, {})
    assert "'$$.Task.Token'" in path_failure({"t.$": "$$.Task.Token"}, {})


def test_missing_path_inside_an_intrinsic_cause_matches_aws() -> None:
    cause = path_failure({"v.$": "States.Format('{}', $.nope)"}, {"other": 1})
    assert cause == (
        "The function 'States.Format('{}', $.nope)' had the following error: "
        "The JsonPath argument for the field '$.nope' could not be found in the input "
        "'{\"other\":1}'"
    )


def test_missing_path_in_a_nested_intrinsic_names_the_whole_expression() -> None:
    cause = path_failure({"v.$": "States.Array(States.Array($.nope))"}, {})
    assert cause.startswith("The function 'States.Array(States.Array($.nope))' had")
    assert "for the field '$.nope'" in cause


def test_intrinsic_failure() -> None:
    with pytest.raises(StatesError) as info:
        evaluate({"v.$": "States.ArrayLength($.a)"}, {"a": "not an array"})
    assert info.value.error == "States.IntrinsicFailure"
    assert info.value.cause == (
        "The function 'States.ArrayLength($.a)' had the following error: Invalid arguments in "
        "States.ArrayLength: argument 1 (array): expected an array, got a string"
    )


# --------------------------------------------------------------------------- compile errors


def compile_failure(template: object, field: str = "Parameters") -> TemplateError:
    with pytest.raises(TemplateError) as info:
        compile_template(template, field=field)
    assert isinstance(info.value, ExpressionError)
    return info.value


def test_renamed_key_collides_with_sibling() -> None:
    error = compile_failure({"a": {"x": 1, "x.$": "$.x"}})
    assert error.path == ("a", "x.$")
    assert "'x.$' would replace its sibling 'x'" in error.message
    assert "(at Parameters.a.x.$)" in error.message


def test_collision_is_found_whatever_the_key_order() -> None:
    assert compile_failure({"x.$": "$.x", "x": 1}).path == ("x.$",)


def test_collision_inside_an_array_item() -> None:
    error = compile_failure({"l": [0, {"k.$": "$", "k": 1}]}, field="ItemSelector")
    assert error.path == ("l", 1, "k.$")
    assert error.field == "ItemSelector"
    assert "(at ItemSelector.l[1].k.$)" in error.message


@pytest.mark.parametrize("value", [1, None, True, ["$.a"], {"a": "$.a"}])
def test_dot_dollar_value_must_be_a_string(value: object) -> None:
    error = compile_failure({"k.$": value})
    assert "must be a string" in error.message
    assert error.path == ("k.$",)


@pytest.mark.parametrize("value", ["", "a.b", "missing", "States.Format", "states.Array()", " $.a"])
def test_dot_dollar_value_must_be_a_path_or_intrinsic(value: str) -> None:
    error = compile_failure({"k.$": value})
    assert "must be a valid JSONPath or a valid intrinsic function call" in error.message


def test_intrinsic_compile_error_keeps_expression_and_column() -> None:
    error = compile_failure({"a": {"k.$": "States.MathAdd('1', $.x)"}})
    assert error.expression == "States.MathAdd('1', $.x)"
    assert error.column == len("States.MathAdd(")
    assert error.path == ("a", "k.$")
    assert str(error).splitlines()[-1].index("^") == 2 + error.column


def test_unknown_intrinsic_is_reported() -> None:
    error = compile_failure({"k.$": "States.Nope($.a)"})
    assert "unknown intrinsic function 'States.Nope'" in error.message


def test_bad_path_is_reported_with_path() -> None:
    error = compile_failure({"k.$": "$.a["})
    assert error.path == ("k.$",)
    assert error.expression == "$.a["


def test_template_type() -> None:
    assert isinstance(compile_template({}), Template)
    assert compile_template({}).evaluate(1, ctx()) == {}
