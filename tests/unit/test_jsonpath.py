"""JSONPath with Jayway semantics, as AWS Step Functions evaluates it.

Expected values follow the Jayway JsonPath source (tokens, evaluators, scan walk) and
the AWS Step Functions developer guide; see the module docstring of
``statemachine.expressions.jsonpath`` for the decisions tested here.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from statemachine.errors import ExpressionError, StatesError
from statemachine.expressions.context import EvalContext
from statemachine.expressions.jsonpath import (
    RESULT_PATH_ERROR,
    JsonPath,
    PathNotFound,
    compile_path,
    compile_reference_path,
    set_path,
)

STORE: dict[str, Any] = {
    "store": {
        "book": [
            {"category": "reference", "author": "Nigel Rees", "title": "Sayings", "price": 8.95},
            {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword", "price": 12.99},
            {
                "category": "fiction",
                "author": "Herman Melville",
                "title": "Moby Dick",
                "isbn": "0-553-21311-3",
                "price": 8.99,
            },
            {
                "category": "fiction",
                "author": "J. R. R. Tolkien",
                "title": "The Lord of the Rings",
                "isbn": "0-395-19395-8",
                "price": 22.99,
            },
        ],
        "bicycle": {"color": "red", "price": 19.95},
    },
    "expensive": 10,
}
BOOKS = STORE["store"]["book"]
LETTERS = ["a", "b", "c", "d", "e"]


def find(path: str, data: Any, ctx: EvalContext | None = None) -> Any:
    return compile_path(path).find(data, ctx)


def not_found(path: str, data: Any, ctx: EvalContext | None = None) -> PathNotFound:
    with pytest.raises(PathNotFound) as info:
        find(path, data, ctx)
    return info.value


# ------------------------------------------------------------------- compiled shape


@pytest.mark.parametrize(
    ("text", "normalized", "definite", "reference"),
    [
        ("$", "$", True, True),
        ("$.a", "$['a']", True, True),
        ("$.a.b[0]", "$['a']['b'][0]", True, True),
        ("$['a']['b']", "$['a']['b']", True, True),
        ('$["a"]', '$["a"]', True, True),
        ("$.['a']", "$['a']", True, True),
        ("$[-1]", "$[-1]", True, True),
        ("$[ 2 ]", "$[2]", True, True),
        ("$.a[0,1]", "$['a'][0,1]", False, False),
        ("$.a[ 0 , 1 ]", "$['a'][0,1]", False, False),
        ("$['a','b']", "$['a','b']", True, False),
        ("$['a', 'b'].c", "$['a','b']['c']", False, False),
        ("$.a[*]", "$['a'][*]", False, False),
        ("$.a.*", "$['a'][*]", False, False),
        ("$.a[ * ]", "$['a'][*]", False, False),
        ("$..a", "$..['a']", False, False),
        ("$..*", "$..[*]", False, False),
        ("$..[0]", "$..[0]", False, False),
        ("$.a[1:3]", "$['a'][1:3]", False, False),
        ("$.a[1:]", "$['a'][1:]", False, False),
        ("$.a[:2]", "$['a'][:2]", False, False),
        ("$.a[-2:]", "$['a'][-2:]", False, False),
        ("$.a[0:4:2]", "$['a'][0:4]", False, False),
        ("$.a[?(@.b)]", "$['a'][?]", False, False),
        ("$.a[?(@.b)].c", "$['a'][?]['c']", False, False),
        ("$['it\\'s']", "$['it\\'s']", True, True),
        ("$['back\\\\slash']", "$['back\\\\slash']", True, True),
        ("  $.a  ", "$['a']", True, True),
    ],
)
def test_compiled_shape(text: str, normalized: str, definite: bool, reference: bool) -> None:
    path = compile_path(text)
    assert path.text == text
    assert path.normalized == normalized
    assert path.is_definite is definite
    assert path.is_reference is reference
    assert path.root == "input"
    assert path.variable is None


@pytest.mark.parametrize(
    ("text", "root", "variable", "normalized"),
    [
        ("$", "input", None, "$"),
        ("$.x", "input", None, "$['x']"),
        ("$[0]", "input", None, "$[0]"),
        ("$$", "context", None, "$"),
        ("$$.Execution.Id", "context", None, "$['Execution']['Id']"),
        ("$$.Map.Item.Value", "context", None, "$['Map']['Item']['Value']"),
        ("$$['Execution']", "context", None, "$['Execution']"),
        ("$myVar", "variable", "myVar", "$"),
        ("$myVar.field[0]", "variable", "myVar", "$['field'][0]"),
        ("$my_var2['a']", "variable", "my_var2", "$['a']"),
        ("$_x", "variable", "_x", "$"),
        ("$ñame.a", "variable", "ñame", "$['a']"),
    ],
)
def test_roots(text: str, root: str, variable: str | None, normalized: str) -> None:
    path = compile_path(text)
    assert (path.root, path.variable, path.normalized) == (root, variable, normalized)


def test_paths_compare_by_text_and_are_cached() -> None:
    assert compile_path("$.a") == compile_path("$.a")
    assert compile_path("$.a") != compile_path("$['a']")
    assert hash(compile_path("$.a")) == hash("$.a")
    assert compile_path("$.a") is compile_path("$.a")
    assert isinstance(compile_path("$.a"), JsonPath)
    assert compile_path("$.a") != "$.a"


# -------------------------------------------------------------------- compile errors


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("", 0, "empty"),
        ("   ", 0, "empty"),
        ("a.b", 0, "must start with '$'"),
        ("@.a", 0, "must start with '$'"),
        ("$.", 1, "must not end with '.'"),
        ("$.a.", 3, "must not end with '.'"),
        ("$..", 2, "must not end with '.'"),
        ("$...a", 3, "'.' is not valid"),
        ("$.a b", 3, "bracket notation"),
        ("$a b", 2, "expected '.' or '['"),
        ("$x!", 2, "expected '.' or '['"),
        ("$$x", 2, "expected '.' or '['"),
        ("$!", 1, "after '$'"),
        ("$[a]", 2, "after '['"),
        ("$[]", 2, "after '['"),
        ("$['a", 2, "unterminated"),
        ("$['a'", 5, "expected ',' or ']'"),
        ("$['a' 'b']", 6, "expected ',' or ']'"),
        ("$['a',\"b\"]", 6, "quoted with '"),
        ("$[1", 1, "missing ']'"),
        ("$[1,]", 4, "invalid index"),
        ("$[1 2]", 2, "invalid index"),
        ("$[--1]", 2, "invalid index"),
        ("$[1:2:x]", 6, "expected digits"),
        ("$[1:2, 3]", 6, "blanks"),
        ("$[:]", 2, "start or an end"),
        ("$[::2]", 2, "start or an end"),
        ("$[99999999999]", 2, "out of range"),
        ("$[*", 3, "']' after '[*'"),
        ("$.*a", 3, "after '*'"),
        ("$['a']b", 6, "expected '.' or '['"),
        ("$.length()", 8, "functions"),
        ("$.a.min()", 7, "functions"),
        ("$[?@.a]", 3, "'(' after '[?'"),
        ("$[?(@.a)", 8, "']' to close"),
        ("$[?(@.a]", 8, "')' to close"),
        ("$[?(@.a == )]", 11, "expected a value"),
        ("$[?(@.a == abc)]", 11, "expected a value"),
        ("$[?(@.a 'x')]", 8, "operator"),
        ("$[?(@.a <> 1)]", 8, "unknown operator"),
        ("$[?(1)]", 4, "literal alone"),
        ("$[?('x')]", 4, "literal alone"),
        ("$[?(!@.a == 1)]", 4, "'!' before a comparison"),
        ("$[?(@.a =~ /x/)]", 8, "regular expressions"),
        ("$[?(@.a == /x/)]", 11, "regular expressions"),
        ("$[?(@.a in ['x'])]", 8, "'in'"),
        ("$[?(@.a nin ['x'])]", 8, "'nin'"),
        ("$[?(@.a subsetof ['x'])]", 8, "'subsetof'"),
        ("$[?(@.a size 2)]", 8, "'size'"),
        ("$[?($.a)]", 4, "referencing other values"),
        ("$[?(@.a == $.b)]", 11, "referencing other values"),
        ("$[?(@.a == 'x)]", 11, "unterminated string"),
        ("$[?(@.a == [1,2)]", 11, "JSON literal"),
        ("$[?(@.a == [tru])]", 11, "JSON literal"),
        ("$[?(@x)]", 5, "after '@'"),
        ("$[?(@.a && )]", 11, "expected a value"),
        ("$[?(@.)]", 6, "after '.'"),
        ("$[?(@..)]", 7, "'..' must be followed"),
    ],
)
def test_compile_errors_point_at_the_bad_character(text: str, column: int, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_path(text)
    error = info.value
    assert fragment in error.message
    assert error.expression == text
    assert error.column == column


def test_compile_error_draws_a_caret() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_path("$.a b")
    assert str(info.value).splitlines()[1:] == ["  $.a b", "     ^"]


def test_non_string_path_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError):
        compile_path(123)  # type: ignore[arg-type]
    with pytest.raises(ExpressionError):
        compile_path(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text", ["$", "$.a", "$['a'].b[0]", "$.a[-1]", "$$.Execution.Id", "$v.x[2]"]
)
def test_reference_paths(text: str) -> None:
    assert compile_reference_path(text).is_reference


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("$.a[*]", 3),
        ("$.a.*", 4),
        ("$..a", 1),
        ("$.a[0,1]", 3),
        ("$.a[1:]", 3),
        ("$['a','b']", 1),
        ("$.x[?(@.b)]", 3),
        ("$$.Map..Value", 6),
    ],
)
def test_reference_paths_reject_operators(text: str, column: int) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_reference_path(text)
    assert info.value.column == column
    assert "reference path" in info.value.message


def test_reference_path_still_reports_syntax_errors() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_reference_path("$.a b")
    assert info.value.column == 3


# ---------------------------------------------------------- Jayway README examples


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$.store.book[*].author", [b["author"] for b in BOOKS]),
        ("$..author", [b["author"] for b in BOOKS]),
        ("$.store.*", [BOOKS, STORE["store"]["bicycle"]]),
        ("$.store..price", [8.95, 12.99, 8.99, 22.99, 19.95]),
        ("$..book[2]", [BOOKS[2]]),
        ("$..book[-2]", [BOOKS[2]]),
        ("$..book[0,1]", BOOKS[:2]),
        ("$..book[:2]", BOOKS[:2]),
        ("$..book[1:2]", BOOKS[1:2]),
        ("$..book[-2:]", BOOKS[-2:]),
        ("$..book[2:]", BOOKS[2:]),
        ("$..book[?(@.isbn)]", BOOKS[2:]),
        ("$.store.book[?(@.price < 10)]", [BOOKS[0], BOOKS[2]]),
        ("$..book[?(@.price <= 10 && @.category == 'fiction')]", [BOOKS[2]]),
        ("$..book[?(@.author == 'Nigel Rees' || @.price > 20)]", [BOOKS[0], BOOKS[3]]),
        ("$..book[?(!@.isbn)]", BOOKS[:2]),
        ("$.store.book[0]", BOOKS[0]),
        ("$.store.book[0].author", "Nigel Rees"),
        ("$['store']['bicycle']['color', 'price']", {"color": "red", "price": 19.95}),
        ("$.expensive", 10),
    ],
)
def test_jayway_readme_examples(text: str, expected: Any) -> None:
    assert find(text, STORE) == expected


def test_dollar_alone_returns_the_data_itself() -> None:
    data = {"a": [1]}
    assert find("$", data) is data
    assert find("$", None) is None
    assert find("$", "text") == "text"


def test_results_are_the_original_objects_not_copies() -> None:
    data = {"a": {"b": [1, 2]}}
    assert find("$.a", data) is data["a"]
    assert find("$.a.b", data) is data["a"]["b"]
    assert find("$.a[*]", data)[0] is data["a"]["b"]


# --------------------------------------------------------- definite paths and misses


def test_missing_leaf_reports_no_results_with_normalized_path() -> None:
    error = not_found("$.Payload", {"Payload2": 1})
    assert str(error) == "Invalid path '$.Payload' : No results for path: $['Payload']"
    assert error.detail == "No results for path: $['Payload']"
    assert error.path.text == "$.Payload"
    assert isinstance(error, LookupError)


def test_missing_intermediate_reports_missing_property() -> None:
    assert not_found("$.a.b", {}).detail == "Missing property in path $['a']"
    assert not_found("$.a.b.c", {"a": {}}).detail == "Missing property in path $['a']['b']"


def test_name_on_non_object_reports_the_java_type() -> None:
    detail = not_found("$.a.b", {"a": 1}).detail
    assert detail.startswith(
        "Expected to find an object with property ['b'] in path $['a'] "
        "but found 'java.lang.Integer'."
    )
    assert "java.lang.String" in not_found("$.a.b", {"a": "x"}).detail
    assert "java.util.ArrayList" in not_found("$.a.b", {"a": []}).detail
    assert "found 'null'" in not_found("$.a.b", {"a": None}).detail
    assert "java.lang.Boolean" in not_found("$.a.b", {"a": True}).detail
    assert "java.lang.Double" in not_found("$.a.b", {"a": 1.5}).detail
    assert "java.lang.Long" in not_found("$.a.b", {"a": 2**40}).detail
    assert "in path $ but" in not_found("$.a", [1]).detail


def test_index_on_non_array() -> None:
    assert not_found("$.a[0]", {"a": {"x": 1}}).detail == (
        "Filter: [0] can only be applied to arrays. Current context is: {x=1}"
    )
    assert not_found("$.a[0].b", {"a": "s"}).detail == (
        "Filter: [0]['b'] can only be applied to arrays. Current context is: s"
    )
    assert not_found("$.a[0]", {"a": None}).detail == "The path $['a'] is null"
    assert not_found("$.a[1:]", {"a": 3}).detail.startswith("Filter: [1:]")


def test_index_out_of_range_is_no_result_not_an_error_in_lists() -> None:
    assert not_found("$.a[5]", {"a": [1]}).detail == "No results for path: $['a'][5]"
    assert not_found("$.a[-2]", {"a": [1]}).detail == "No results for path: $['a'][-2]"
    assert not_found("$.a[0]", {"a": []}).detail == "No results for path: $['a'][0]"
    assert find("$.a[5,0,-1]", {"a": [1, 2]}) == [1, 2]


def test_null_values_are_found() -> None:
    assert find("$.a", {"a": None}) is None
    assert find("$.a[1]", {"a": [0, None]}) is None
    assert find("$.a[*]", {"a": [None, None]}) == [None, None]


def test_falsy_values_are_found() -> None:
    data = {"zero": 0, "empty": "", "no": False, "list": [], "obj": {}}
    for key, value in data.items():
        assert find(f"$.{key}", data) == value


def test_null_input() -> None:
    error = not_found("$.a", None)
    assert str(error) == "Unable to apply Path transformation to null or empty input."
    assert find("$", None) is None


def test_scalar_input() -> None:
    assert find("$", 5) == 5
    assert "java.lang.Integer" in not_found("$.a", 5).detail
    assert find("$[*]", 5) == []
    assert find("$..a", 5) == []


def test_negative_indexes_count_from_the_end() -> None:
    assert find("$[-1]", LETTERS) == "e"
    assert find("$[-5]", LETTERS) == "a"
    assert find("$[-1,0]", LETTERS) == ["e", "a"]
    with pytest.raises(PathNotFound):
        find("$[-6]", LETTERS)


def test_index_union_keeps_order_and_duplicates() -> None:
    assert find("$[2,0,2]", LETTERS) == ["c", "a", "c"]


def test_multi_value_path_yields_an_array() -> None:
    # ASL-NOTES 5: InputPath "$.a[0,1]" gives an array of the matches
    assert find("$.a[0,1]", {"a": [{"x": 1}, {"x": 2}, {"x": 3}]}) == [{"x": 1}, {"x": 2}]


# -------------------------------------------------------------- indefinite paths


def test_indefinite_path_with_no_match_is_an_empty_list() -> None:
    assert find("$.a[?(@.x == 1)]", {"a": [{"x": 2}]}) == []
    assert find("$.a[*]", {"a": []}) == []
    assert find("$.a[*]", {"a": {}}) == []
    assert find("$..nothing", STORE) == []
    assert find("$[*].type", {}) == []


def test_indefinite_path_fails_when_its_definite_prefix_is_missing() -> None:
    # Jayway raises for a missing property looked up before any wildcard/filter/scan
    assert not_found("$.a[*]", {}).detail == "Missing property in path $['a']"
    assert not_found("$.a.b[*]", {"a": {}}).detail == "Missing property in path $['a']['b']"
    assert not_found("$.a[?(@.x)]", {}).detail == "Missing property in path $['a']"
    assert not_found("$.a[1:]", {}).detail == "Missing property in path $['a']"


def test_wildcard_on_a_scalar_matches_nothing() -> None:
    assert find("$.a[*]", {"a": 5}) == []
    assert find("$.a.*", {"a": None}) == []
    assert find("$.a[*]", {"a": "text"}) == []


def test_after_a_wildcard_missing_data_is_skipped() -> None:
    data = {"a": [{"b": 1}, {}, {"b": None}, 5, {"b": {"c": 2}}]}
    assert find("$.a[*].b", data) == [1, None, {"c": 2}]
    assert find("$.a[*].b.c", data) == [2]
    assert find("$.a[*][0]", {"a": [[1], [], "x", [2, 3]]}) == [1, 2]


def test_wildcard_on_object_and_array() -> None:
    assert find("$.*", {"x": 1, "y": [2]}) == [1, [2]]
    assert find("$[*]", [1, {"a": 2}]) == [1, {"a": 2}]
    assert find("$.*.a", {"x": {"a": 1}, "y": {"b": 2}, "z": {"a": 3}}) == [1, 3]


def test_filter_on_a_primitive_fails_on_the_definite_prefix() -> None:
    assert not_found("$.a[?(@.x)]", {"a": 5}).detail == (
        "Filter: [?] can not be applied to primitives. Current context is: 5"
    )
    assert find("$.*[?(@.x)]", {"a": 5, "b": [{"x": 1}]}) == [{"x": 1}]


def test_filter_on_an_object_tests_the_object_itself() -> None:
    assert find("$.a[?(@.x == 1)]", {"a": {"x": 1}}) == [{"x": 1}]
    assert find("$.a[?(@.x == 2)]", {"a": {"x": 1}}) == []


def test_filter_followed_by_more_steps() -> None:
    assert find("$..book[?(@.price > 20)].title", STORE) == ["The Lord of the Rings"]
    assert find("$.store.book[?(@.isbn)].isbn", STORE) == ["0-553-21311-3", "0-395-19395-8"]


# ------------------------------------------------------------------------- slices


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$[1:3]", ["b", "c"]),
        ("$[1:]", ["b", "c", "d", "e"]),
        ("$[:2]", ["a", "b"]),
        ("$[-2:]", ["d", "e"]),
        ("$[:-1]", ["a", "b", "c", "d"]),
        ("$[:-7]", []),
        ("$[-7:]", LETTERS),
        ("$[7:]", []),
        ("$[:10]", LETTERS),
        ("$[0:10]", LETTERS),
        ("$[3:1]", []),
        ("$[2:2]", []),
        # Jayway does not normalise the start of [a:b]: these are its results
        ("$[1:-1]", []),
        ("$[-3:-1]", ["c", "d"]),
        ("$[-7:2]", ["a", "b", "c", "d", "e", "a", "b"]),
        # a third ':step' part is parsed and ignored by Jayway
        ("$[0:4:2]", ["a", "b", "c", "d"]),
        ("$[1:3: ]", ["b", "c"]),
    ],
)
def test_slices(text: str, expected: list[str]) -> None:
    assert find(text, LETTERS) == expected


def test_slices_on_empty_and_non_arrays() -> None:
    assert find("$.a[1:]", {"a": []}) == []
    assert find("$.a[:1]", {"a": []}) == []
    assert find("$.*[0:1]", {"a": "xyz", "b": [1, 2]}) == [1]


# --------------------------------------------------------------------- name unions


def test_name_union_as_last_step_merges_into_one_object() -> None:
    data = {"a": 1, "b": None, "c": 3}
    path = compile_path("$['a','b','missing']")
    assert path.is_definite
    assert path.find(data) == {"a": 1, "b": None}
    assert find("$['x','y']", data) == {}
    assert find('$["c", "a"]', data) == {"c": 3, "a": 1}


def test_name_union_in_the_middle_iterates() -> None:
    data = {"a": {"v": 1}, "b": {"w": 2}, "c": {"v": 3}}
    assert find("$['a','b','c','zz'].v", data) == [1, 3]


def test_name_union_on_non_object_fails_on_the_definite_prefix() -> None:
    assert "property ['a','b'] in path $" in not_found("$['a','b']", [1]).detail


# ---------------------------------------------------------------------- deep scan


def test_deep_scan_is_pre_order() -> None:
    data = {"a": {"a": 1, "b": {"a": 2}}, "c": [{"a": 3}, [{"a": 4}]]}
    assert find("$..a", data) == [{"a": 1, "b": {"a": 2}}, 1, 2, 3, 4]


def test_deep_scan_wildcard() -> None:
    assert find("$..*", {"a": {"b": 1}, "c": [2]}) == [{"b": 1}, [2], 1, 2]
    assert find("$..*", 7) == []


def test_deep_scan_index_and_slice() -> None:
    data = {"a": [[1, 2], [3]], "b": {"c": [4]}}
    assert find("$..[0]", data) == [[1, 2], 1, 3, 4]
    assert find("$..[1:]", data) == [[3], 2]


def test_deep_scan_index_then_name_keeps_the_jayway_quirk() -> None:
    # Jayway's walkArray applies the step *after* [0] to every item
    data = {"a": [{"x": 1}, {"x": 2}]}
    assert find("$..[0].x", data) == [1, 2]


def test_deep_scan_filter_and_union() -> None:
    data = {"p": {"price": 5, "q": [{"price": 15}, {"price": 1}]}}
    assert find("$..[?(@.price < 10)]", data) == [
        {"price": 5, "q": [{"price": 15}, {"price": 1}]},
        {"price": 1},
    ]
    assert find("$..['price','q']", data) == [{"price": 5, "q": [{"price": 15}, {"price": 1}]}]
    assert find("$..['price','x'].y", {"price": {"y": 1}, "x": {"y": 2}}) == [1, 2]


def test_deep_scan_then_name_with_missing_data() -> None:
    assert find("$..a.b", {"a": 1, "c": {"a": {"b": 2}}}) == [2]


# ------------------------------------------------------------------- field names


@pytest.mark.parametrize(
    ("text", "data", "expected"),
    [
        ("$.my-key", {"my-key": 1}, 1),
        ("$.a:b", {"a:b": 2}, 2),
        ("$.a@b$c", {"a@b$c": 3}, 3),
        ("$.a)", {"a)": 4}, 4),
        ("$.über.日本", {"über": {"日本": 5}}, 5),
        ("$.1", {"1": 6}, 6),
        ("$['1']", {"1": 7}, 7),
        ("$.a.0", {"a": {"0": 8}}, 8),
        ("$['a.b']", {"a.b": 9, "a": {"b": 0}}, 9),
        ("$['a b']", {"a b": 10}, 10),
        ("$['']", {"": 11}, 11),
        ("$['it\\'s']", {"it's": 12}, 12),
        ('$["say \\"hi\\""]', {'say "hi"': 13}, 13),
        ('$["it\'s"]', {"it's": 14}, 14),
        ("$['back\\\\slash']", {"back\\slash": 15}, 15),
        ("$['caf\\u00e9']", {"café": 16}, 16),
        ("$['tab\\there']", {"tab\there": 17}, 17),
        ("$['[*]']", {"[*]": 18}, 18),
        ("$['a','b'].x", {"a": {"x": 19}}, [19]),
        ("$.a['b'].c", {"a": {"b": {"c": 20}}}, 20),
        ("$.😀", {"😀": 21}, 21),
    ],
)
def test_field_names(text: str, data: Any, expected: Any) -> None:
    assert find(text, data) == expected


def test_numeric_looking_keys_are_not_indexes() -> None:
    assert find("$.a[1]", {"a": ["x", "y"]}) == "y"
    with pytest.raises(PathNotFound):
        find("$.a[1]", {"a": {"1": "y"}})
    with pytest.raises(PathNotFound):
        find("$.a.1", {"a": ["x", "y"]})


def test_quote_escaping_in_normalized_form() -> None:
    assert compile_path('$["it\'s"]').normalized == '$["it\\\'s"]'
    assert compile_path("$['a\\\\b']").normalized == "$['a\\\\b']"


# ------------------------------------------------------------------------- filters

ITEMS: list[Any] = [
    {"id": 1, "n": 1, "s": "apple", "flag": True, "tags": ["x", "y"]},
    {"id": 2, "n": 2.5, "s": "banana", "flag": False, "tags": []},
    {"id": 3, "n": None, "s": "cherry", "tags": ["x"]},
    {"id": 4, "s": "10"},
    {"id": 5, "n": "1", "s": "Apple"},
]


def ids(text: str, data: Any = None) -> list[int]:
    return [item["id"] for item in find(text, ITEMS if data is None else data)]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("@.n", [1, 2, 3, 5]),
        ("!@.n", [4]),
        ("@.n == 1", [1, 5]),
        ("@.n == 1.0", [1]),  # "1" (string, left) vs 1.0 -> "1" != "1.0"
        ("@.n == 2.5", [2]),
        ("@.n == 25e-1", [2]),
        ("@.n != 1", [2, 3, 4]),
        ("@.n > 1", [2]),
        ("@.n >= 1", [1, 2, 5]),
        ("@.n < 2", [1, 5]),
        ("@.n <= 2.5", [1, 2, 5]),
        ("@.n == null", [3]),
        ("@.n != null", [1, 2, 4, 5]),
        ("@.flag == true", [1]),
        ("@.flag == false", [2]),
        ("@.flag != true", [2, 3, 4, 5]),
        ("@.flag == 1", []),
        ("@.s == 'apple'", [1]),
        ('@.s == "apple"', [1]),
        ("@.s != 'apple'", [2, 3, 4, 5]),
        ("@.s > 'b'", [2, 3]),
        ("@.s < 'B'", [4, 5]),
        ("@.s >= 'cherry'", [3]),
        ("@.id > 1 && @.id < 4", [2, 3]),
        ("@.id == 1 || @.id == 4", [1, 4]),
        ("@.id == 1 || @.id == 2 && @.s == 'nope'", [1]),
        ("(@.id == 1 || @.id == 2) && @.s == 'banana'", [2]),
        ("!(@.id > 2)", [1, 2]),
        ("!(@.id > 2) || !(@.id < 5)", [1, 2, 5]),
        ("!!(@.id == 3)", [3]),
        ("@.tags[0] == 'x'", [1, 3]),
        ("@.tags[-1] == 'x'", [3]),
        ("@.tags[1]", [1]),
        ("@['s'] == 'cherry'", [3]),
        ("@.tags", [1, 2, 3]),
        ("@.tags[*]", [1, 2, 3]),
        ("@.tags == ['x']", [3]),
        ('@.tags == ["x", "y"]', [1]),
        ("@.missing == @.missing", []),
        ("@.missing != 1", [1, 2, 3, 4, 5]),
        ("@.missing < 1", []),
        ("@.n === 1", [1]),
        ("@.n !== 1", [2, 3, 4, 5]),
        ("@.id==2", [2]),
        ("  @.id  ==  2  ", [2]),
        ("@.id == 2 ||@.id == 3", [2, 3]),
    ],
)
def test_filter_conditions(condition: str, expected: list[int]) -> None:
    assert ids(f"$[?({condition})]") == expected


def test_number_and_string_equality_follows_jayway_asymmetry() -> None:
    data = [{"id": 1, "v": 1}, {"id": 2, "v": "1"}, {"id": 3, "v": "1.0"}, {"id": 4, "v": 1.0}]
    # number on the left: the string is parsed as a decimal
    assert ids("$[?(@.v == '1')]", data) == [1, 2, 4]
    assert ids("$[?(@.v == '1.0')]", data) == [1, 3, 4]
    # string on the left: compared with the number's decimal text
    assert ids("$[?(@.v == 1)]", data) == [1, 2, 4]
    assert ids("$[?(@.v == 1.0)]", data) == [1, 3, 4]
    assert ids("$[?(@.v === '1')]", data) == [2]


def test_string_versus_number_ordering_compares_texts() -> None:
    data = [{"id": 1, "v": "9"}, {"id": 2, "v": "10"}, {"id": 3, "v": 9}]
    assert ids("$[?(@.v < 10)]", data) == [3]  # "9" > "10" as text
    assert ids("$[?(@.v > '10')]", data) == [1, 3]


def test_string_ordering_uses_utf16_code_units() -> None:
    # U+1F600 is a surrogate pair (D83D DE00) and sorts before U+FF5E in Java
    data = [{"id": 1, "v": "\U0001f600"}, {"id": 2, "v": "\uff5e"}]
    assert ids("$[?(@.v < '\uff5e')]", data) == [1]
    assert ids("$[?(@.v > '\U0001f600')]", data) == [2]


def test_float_values_compare_by_their_decimal_text() -> None:
    data = [{"id": 1, "v": 0.1}, {"id": 2, "v": 0.30000000000000004}, {"id": 3, "v": 1e20}]
    assert ids("$[?(@.v == 0.1)]", data) == [1]
    assert ids("$[?(@.v > 0.3)]", data) == [2, 3]
    assert ids("$[?(@.v == 100000000000000000000)]", data) == [3]
    assert ids("$[?(@.v == '1.0E+20')]", data) == [3]


def test_filter_string_escapes() -> None:
    data = [{"id": 1, "v": "it's"}, {"id": 2, "v": 'say "hi"'}, {"id": 3, "v": "a\\b"}]
    assert ids("$[?(@.v == 'it\\'s')]", data) == [1]
    assert ids('$[?(@.v == "say \\"hi\\"")]', data) == [2]
    assert ids("$[?(@.v == 'a\\\\b')]", data) == [3]
    assert ids("$[?(@.v == 'with ) and ] inside')]", data) == []


def test_at_does_not_match_scalar_items() -> None:
    # AWS: "The @ operator ... does not match scalar values. It only matches objects."
    assert find("$[?(@ > 1)]", [1, 2, 3]) == []
    assert find("$[?(@)]", [1, "x", None, {"a": 1}, [1]]) == [{"a": 1}]
    assert find("$[?(@.a)]", [[{"a": 1}], {"a": 2}]) == [{"a": 2}]


def test_at_alone_is_the_item() -> None:
    assert find('$[?(@ == {"a": 1})]', [{"a": 1}, {"a": 2}]) == [{"a": 1}]


def test_filter_existence_of_null_and_nested_values() -> None:
    data = [{"id": 1, "a": None}, {"id": 2, "a": {"b": None}}, {"id": 3}]
    assert ids("$[?(@.a)]", data) == [1, 2]
    assert ids("$[?(@.a.b)]", data) == [2]
    assert ids("$[?(!@.a.b)]", data) == [1, 3]


def test_nested_filters() -> None:
    data = [
        {"id": 1, "items": [{"c": 1}, {"c": 2}]},
        {"id": 2, "items": [{"c": 3}]},
        {"id": 3},
    ]
    # an indefinite relative path exists whenever it evaluates (Jayway), even with no match
    assert ids("$[?(@.items[?(@.c == 2)])]", data) == [1, 2]
    assert find("$[*].items[?(@.c > 1)].c", data) == [2, 3]


def test_json_literal_comparisons() -> None:
    data = [{"id": 1, "v": {"a": [1, 2]}}, {"id": 2, "v": {"a": [1, 2.0]}}, {"id": 3, "v": [True]}]
    assert ids('$[?(@.v == {"a": [1, 2]})]', data) == [1, 2]
    assert ids("$[?(@.v == [true])]", data) == [3]
    assert ids("$[?(@.v == [1])]", data) == []
    assert ids('$[?(@.v != {"a": [1, 2]})]', data) == [3]
    assert ids("$[?(@.v == {'a': [1, 2]})]", data) == [1, 2]  # permissive quotes, as Jayway


def test_booleans_and_numbers_never_equal() -> None:
    data = [{"id": 1, "v": True}, {"id": 2, "v": 1}, {"id": 3, "v": [True]}, {"id": 4, "v": [1]}]
    assert ids("$[?(@.v == true)]", data) == [1]
    assert ids("$[?(@.v == 1)]", data) == [2]
    assert ids("$[?(@.v == [1])]", data) == [4]
    assert ids("$[?(@.v > 0)]", data) == [2]


# ------------------------------------------------------------- variables and context


def test_variables() -> None:
    ctx = EvalContext(variables={"v": {"a": [10, 20]}, "n": None, "ñ": 1})
    assert find("$v", None, ctx) == {"a": [10, 20]}
    assert find("$v.a[1]", None, ctx) == 20
    assert find("$v.a[*]", None, ctx) == [10, 20]
    assert find("$n", None, ctx) is None
    assert find("$ñ", None, ctx) == 1
    error = not_found("$missing.a", {}, ctx)
    assert "'$missing' is not defined" in error.detail
    assert not_found("$v.b", None, ctx).detail == "No results for path: $['b']"
    assert not compile_path("$missing").exists({}, ctx)
    assert not_found("$v", None).path.variable == "v"


def test_context_object() -> None:
    ctx = EvalContext(
        context={"Execution": {"Id": "arn:x"}, "Map": {"Item": {"Index": 0, "Value": {"k": 1}}}}
    )
    assert find("$$.Execution.Id", {"ignored": 1}, ctx) == "arn:x"
    assert find("$$.Map.Item.Value", None, ctx) == {"k": 1}
    assert find("$$.Map.Item.Value.k", None, ctx) == 1
    assert find("$$", None, ctx) is ctx.context
    assert find("$$..Index", None, ctx) == [0]
    error = not_found("$$.Task.Token", None, ctx)
    assert str(error) == "Invalid path '$$.Task.Token' : Missing property in path $['Task']"
    assert "found 'null'" in not_found("$$.Execution", None).detail


def test_input_root_ignores_context_and_variables() -> None:
    ctx = EvalContext(context={"a": 1}, variables={"a": 2})
    assert find("$.a", {"a": 3}, ctx) == 3


# -------------------------------------------------------------------------- exists


@pytest.mark.parametrize(
    ("text", "data", "expected"),
    [
        ("$.a", {"a": None}, True),
        ("$.a", {"a": False}, True),
        ("$.a", {}, False),
        ("$.a.b", {"a": 1}, False),
        ("$.a[0]", {"a": []}, False),
        ("$.a[0]", {"a": [0]}, True),
        ("$", None, True),
        ("$.a", None, False),
        ("$.a[*]", {"a": []}, True),
        ("$.a[*]", {}, False),
        ("$.a[?(@.x)]", {"a": [{"y": 1}]}, True),
    ],
)
def test_exists(text: str, data: Any, expected: bool) -> None:
    assert compile_path(text).exists(data) is expected


def test_exists_on_context_and_variables() -> None:
    ctx = EvalContext(context={"State": {"Name": "s"}}, variables={"x": {"y": 1}})
    assert compile_path("$$.State.Name").exists(None, ctx)
    assert not compile_path("$$.State.RetryCount").exists(None, ctx)
    assert compile_path("$x.y").exists(None, ctx)
    assert not compile_path("$x.z").exists(None, ctx)


# -------------------------------------------------------------------- ResultPath


def test_set_path_dollar_replaces_everything() -> None:
    data = {"a": 1}
    assert set_path(data, compile_path("$"), "result") == "result"
    assert data == {"a": 1}


def test_set_path_adds_a_field_without_mutating_the_input() -> None:
    data = {"comment": "x", "nested": {"k": [1, 2]}}
    before = copy.deepcopy(data)
    out = set_path(data, compile_path("$.taskresult"), {"r": 1})
    assert out == {"comment": "x", "nested": {"k": [1, 2]}, "taskresult": {"r": 1}}
    assert data == before
    assert out is not data
    assert out["nested"] is data["nested"]  # untouched subtrees are shared


def test_set_path_creates_missing_intermediate_objects() -> None:
    data: dict[str, Any] = {"a": {"keep": 1}, "other": [1]}
    out = set_path(data, compile_path("$.a.b.c"), 5)
    assert out == {"a": {"keep": 1, "b": {"c": 5}}, "other": [1]}
    assert data == {"a": {"keep": 1}, "other": [1]}
    assert out["other"] is data["other"]
    assert set_path({}, compile_path("$['x y']['z']"), None) == {"x y": {"z": None}}


def test_set_path_overwrites_existing_values() -> None:
    data = {"a": {"b": [1, 2]}}
    out = set_path(data, compile_path("$.a.b"), "new")
    assert out == {"a": {"b": "new"}}
    assert data == {"a": {"b": [1, 2]}}


def test_set_path_array_indexes() -> None:
    data = {"list": [{"x": 1}, {"x": 2}], "sibling": {"s": 1}}
    before = copy.deepcopy(data)
    out = set_path(data, compile_path("$.list[1].y"), 9)
    assert out == {"list": [{"x": 1}, {"x": 2, "y": 9}], "sibling": {"s": 1}}
    assert data == before
    assert out["list"][0] is data["list"][0]
    assert out["sibling"] is data["sibling"]
    assert set_path([1, 2, 3], compile_path("$[-1]"), 0) == [1, 2, 0]
    assert set_path([1, 2, 3], compile_path("$[0]"), [9]) == [[9], 2, 3]


def test_set_path_keeps_the_value_by_reference() -> None:
    value = {"big": [1, 2, 3]}
    assert set_path({}, compile_path("$.r"), value)["r"] is value


def test_set_path_on_a_scalar_input_fails_like_aws() -> None:
    with pytest.raises(StatesError) as info:
        set_path("input1", compile_path("$.someTaskResult"), 1)
    assert info.value.error == RESULT_PATH_ERROR == "States.ResultPathMatchFailure"
    assert info.value.cause == 'Unable to apply ReferencePath $.someTaskResult to input "input1"'
    for scalar, text in [(None, "null"), (5, "5"), (True, "true"), (1.5, "1.5")]:
        with pytest.raises(StatesError) as info:
            set_path(scalar, compile_path("$.x"), 1)
        assert info.value.cause == f"Unable to apply ReferencePath $.x to input {text}"


@pytest.mark.parametrize(
    ("data", "path", "step"),
    [
        ([1, 2], "$.x", "x"),
        ({"a": 1}, "$.a.b", "b"),
        ({"a": "s"}, "$.a.b", "b"),
        ({"a": None}, "$.a.b", "b"),
        ({"a": [1]}, "$.a.b", "b"),
        ({"a": {"x": 1}}, "$.a[0]", "0"),
        ({"a": [1]}, "$.a[1]", "1"),
        ({"a": [1]}, "$.a[-2]", "-2"),
        ({"a": []}, "$.a[0]", "0"),
        ({}, "$.a[0]", "0"),
        ({"a": [1, [2]]}, "$.a[0][0]", "0"),
    ],
)
def test_set_path_conflicts(data: Any, path: str, step: str) -> None:
    before = copy.deepcopy(data)
    with pytest.raises(StatesError) as info:
        set_path(data, compile_path(path), "v")
    assert info.value.error == RESULT_PATH_ERROR
    assert info.value.cause is not None
    assert info.value.cause.startswith(f'Unable to apply step "{step}" to input ')
    assert data == before


def test_set_path_conflict_cause_prints_compact_json() -> None:
    with pytest.raises(StatesError) as info:
        set_path({"a": 1, "ü": [True, None]}, compile_path("$.a.b"), 0)
    assert info.value.cause == 'Unable to apply step "b" to input {"a":1,"ü":[true,null]}'


@pytest.mark.parametrize("path", ["$$.Execution", "$v.x", "$.a[*]", "$..a", "$['a','b']"])
def test_set_path_rejects_paths_that_are_not_input_reference_paths(path: str) -> None:
    with pytest.raises(ValueError):
        set_path({}, compile_path(path), 1)


def test_set_path_round_trips_with_find() -> None:
    path = compile_path("$.a[0]['b c'].d")
    out = set_path({"a": [{}]}, path, 42)
    assert path.find(out) == 42


@pytest.mark.parametrize(
    "data",
    [None, 0, "s", [], {}, [1, {"a": [None]}], {"a": None}, {"a": [{"b": 1}], "b": {"0": 2}}],
)
@pytest.mark.parametrize("text", ["$", "$.a", "$.a[0]", "$.a[0].b", "$[1].a[-1]", "$.b.0", "$[0]"])
def test_exists_agrees_with_find(text: str, data: Any) -> None:
    path = compile_path(text)
    try:
        path.find(data)
        found = True
    except PathNotFound:
        found = False
    assert path.exists(data) is found
