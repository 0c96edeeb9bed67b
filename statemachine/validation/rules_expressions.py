"""Rules that compile every expression of a definition now, not when a state first runs.

Each problem carries the compiler's message and its caret drawing (``str(ExpressionError)``)
so the user sees the expression and the column at fault. One entry each in
:data:`statemachine.validation.rules.RULES`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Final

from statemachine.errors import ExpressionError, StatesError
from statemachine.expressions.choice import ChoiceRuleError, compile_choice_rule
from statemachine.expressions.choice_operators import OPERATORS, Operand
from statemachine.expressions.intrinsics import compile_intrinsic, looks_like_intrinsic
from statemachine.expressions.jsonata_expr import compile_jsonata, is_jsonata
from statemachine.expressions.jsonpath import compile_path, compile_reference_path
from statemachine.expressions.templates import compile_template
from statemachine.expressions.timestamps import parse_timestamp
from statemachine.validation.problem import Problem
from statemachine.validation.rules_context import JSON, Path, RuleContext, StateInfo, issue
from statemachine.validation.rules_fields import template_fields

# JSONPath fields holding a Path, per state type (null allowed only for InputPath/OutputPath).
PATH_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "Pass": ("InputPath", "OutputPath"),
    "Task": ("InputPath", "OutputPath", "TimeoutSecondsPath", "HeartbeatSecondsPath"),
    "Choice": ("InputPath", "OutputPath"),
    "Wait": ("InputPath", "OutputPath", "SecondsPath", "TimestampPath"),
    "Succeed": ("InputPath", "OutputPath"),
    "Fail": (),
    "Parallel": ("InputPath", "OutputPath"),
    "Map": (
        "InputPath",
        "OutputPath",
        "ItemsPath",
        "MaxConcurrencyPath",
        "ToleratedFailurePercentagePath",
        "ToleratedFailureCountPath",
    ),
}
NULLABLE_PATHS: Final = frozenset({"InputPath", "OutputPath"})
MAP_NESTED_PATHS: Final = (
    ("ItemReader", "ReaderConfig", "MaxItemsPath"),
    ("ItemBatcher", "MaxItemsPerBatchPath"),
    ("ItemBatcher", "MaxInputBytesPerBatchPath"),
)
# Fail ErrorPath/CausePath take a path or an intrinsic that yields a string (AWS).
STRING_INTRINSICS: Final = frozenset(
    {
        "States.Format",
        "States.JsonToString",
        "States.ArrayGetItem",
        "States.Base64Encode",
        "States.Base64Decode",
        "States.Hash",
        "States.UUID",
    }
)

# Fields of a JSONata state whose string leaves may be {% %} expressions.
JSONATA_FIELDS: Final = (
    "Arguments",
    "Output",
    "Assign",
    "Items",
    "ItemSelector",
    "Credentials",
    "TimeoutSeconds",
    "HeartbeatSeconds",
    "Seconds",
    "Timestamp",
    "MaxConcurrency",
    "ToleratedFailurePercentage",
    "ToleratedFailureCount",
    "Error",
    "Cause",
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
)
# Keys inside ItemReader/ResultWriter that are names, not values.
_CONSTANT_KEYS: Final = frozenset({"Resource"})

_URI_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_NAME: Final = r"[A-Za-z0-9_.-]+"
_IDENT: Final = r"[A-Za-z_][A-Za-z0-9_]*"
RESOURCE_FORMS: Final[dict[str, tuple[re.Pattern[str], str]]] = {
    "tool": (re.compile(rf"tool:{_NAME}"), "tool:NAME (NAME made of letters, digits, _ . -)"),
    "llm": (re.compile(rf"llm:{_NAME}"), "llm:NAME, e.g. llm:chat"),
    "python": (
        re.compile(rf"python:{_IDENT}(?:\.{_IDENT})*:{_IDENT}"),
        "python:package.module:function",
    ),
    "activity": (re.compile(rf"activity:{_NAME}"), "activity:NAME"),
}
_ARN: Final = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):"
    r"(?P<account>[0-9]*):(?P<resource>.+)"
)
_INTEGRATION: Final = re.compile(
    r"[a-z0-9-]+(?::[A-Za-z0-9_-]+)+(?:\.sync(?::2)?|\.waitForTaskToken)?"
)
_LAMBDA: Final = re.compile(r"function:[A-Za-z0-9_.-]+(?::(?:\$LATEST|[A-Za-z0-9_-]+))?")


def _compile_problem(err: ExpressionError, path: Path, what: str) -> Problem:
    return issue(f"{what}: {err}", path)


def _strings(value: JSON, path: Path) -> Iterator[tuple[str, Path]]:
    """Every string leaf of a JSON value with its path."""
    if isinstance(value, str):
        yield value, path
    elif isinstance(value, Mapping):
        for key, child in value.items():
            if key not in _CONSTANT_KEYS:
                yield from _strings(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _strings(child, (*path, i))


# --------------------------------------------------------------------------- JSONPath


def path_syntax(ctx: RuleContext) -> Iterator[Problem]:
    """InputPath, OutputPath, ItemsPath and every ``...Path`` field compiles as a JSONPath."""
    for state in ctx.states:
        if state.is_jsonata:
            continue  # these fields are query-language-field errors there
        body = state.body
        for name in PATH_FIELDS.get(state.type or "", ()):
            if name not in body or (body[name] is None and name in NULLABLE_PATHS):
                continue
            yield from _path(body[name], state.at(name), name)
        if state.type == "Map":
            for keys in MAP_NESTED_PATHS:
                holder = body
                for key in keys[:-1]:
                    holder = holder.get(key) if isinstance(holder, Mapping) else None
                if isinstance(holder, Mapping) and keys[-1] in holder:
                    yield from _path(holder[keys[-1]], state.at(*keys), keys[-1])
        if state.type == "Fail":
            for name in ("ErrorPath", "CausePath"):
                if isinstance(body.get(name), str):
                    yield from _string_source(body[name], state.at(name), name)


def _path(value: JSON, path: Path, name: str) -> Iterator[Problem]:
    if not isinstance(value, str):
        return  # a schema problem
    try:
        compile_path(value)
    except ExpressionError as err:
        yield _compile_problem(err, path, f"{name} is not a valid JSONPath")


def _string_source(text: str, path: Path, name: str) -> Iterator[Problem]:
    if not looks_like_intrinsic(text):
        yield from _path(text, path, name)
        return
    try:
        intrinsic = compile_intrinsic(text)
    except ExpressionError as err:
        yield _compile_problem(err, path, f"{name} is not a valid intrinsic function call")
        return
    if intrinsic.function not in STRING_INTRINSICS:
        yield issue(f"{name} must yield a string; {intrinsic.function} does not return one", path)


def result_path(ctx: RuleContext) -> Iterator[Problem]:
    """ResultPath (state and catcher) is a Reference Path into the input: no $$, no $var."""
    for state in ctx.states:
        if state.is_jsonata:
            continue
        body = state.body
        if "ResultPath" in body:
            yield from _reference_path(body["ResultPath"], state.at("ResultPath"))
        catchers = body.get("Catch")
        if isinstance(catchers, list):
            for i, catcher in enumerate(catchers):
                if isinstance(catcher, Mapping) and "ResultPath" in catcher:
                    yield from _reference_path(
                        catcher["ResultPath"], state.at("Catch", i, "ResultPath")
                    )


def _reference_path(value: JSON, path: Path) -> Iterator[Problem]:
    if not isinstance(value, str):
        return  # null discards the result; other types are schema problems
    if value.startswith("$$"):
        yield issue(
            f"ResultPath {value!r} points into the Context object; it must be a Reference "
            "Path into the state input (starting with $)",
            path,
        )
        return
    if value.startswith("$") and len(value) > 1 and value[1] not in ".[":
        yield issue(
            f"ResultPath {value!r} refers to a variable; variables cannot be used in "
            "ResultPath (use Assign to set one)",
            path,
        )
        return
    try:
        compile_reference_path(value)
    except ExpressionError as err:
        yield _compile_problem(err, path, "ResultPath is not a valid Reference Path")


def payload_template(ctx: RuleContext) -> Iterator[Problem]:
    """Every ``.$`` field of a payload template holds a valid path or intrinsic call."""
    for state in ctx.states:
        if state.is_jsonata:
            continue
        for value, path, field in template_fields(state):
            yield from _template_leaves(value, path, field)


def _template_leaves(value: JSON, path: Path, field: str) -> Iterator[Problem]:
    """Compile each dynamic field on its own, so that every bad one is reported at its own
    path (a key collision is payload-key-collision's business, not this rule's)."""
    if isinstance(value, list):
        for i, child in enumerate(value):
            yield from _template_leaves(child, (*path, i), field)
        return
    if not isinstance(value, Mapping):
        return
    for key, child in value.items():
        here = (*path, key)
        if not (isinstance(key, str) and key.endswith(".$")):
            yield from _template_leaves(child, here, field)
            continue
        try:
            compile_template({key: child}, field=field)
        except ExpressionError as err:
            message = re.sub(r" \(at [^()]*\)$", "", getattr(err, "message", str(err)))
            shown = ExpressionError(message, err.expression, err.column)
            yield issue(f"{field} field {key!r} does not compile: {shown}", here)
        except StatesError as err:  # a constant intrinsic that always fails
            yield issue(f"{field} field {key!r} always fails: {err}", here)


def choice_rule(ctx: RuleContext) -> Iterator[Problem]:
    """Each JSONPath Choice rule compiles: Variable and ``...Path`` operands are Reference
    Paths, StringMatches patterns are well-formed, Timestamp operands are RFC 3339.

    Malformed rules (operator count, unknown fields, operand types, Next placement) are
    reported by the schema and by choice-nested-next/query-language-field, not again here.
    """
    for state in ctx.states:
        if state.type != "Choice" or state.is_jsonata:
            continue
        choices = state.body.get("Choices")
        if not isinstance(choices, list):
            continue
        for i, rule in enumerate(choices):
            if not isinstance(rule, Mapping):
                continue
            here = state.at("Choices", i)
            try:
                compile_choice_rule(dict(rule), top_level=True)
            except ExpressionError as err:
                yield issue(f"Choice rule does not compile: {err}", here)
            except ChoiceRuleError as err:
                field = err.location[-1] if err.location else None
                operator = OPERATORS.get(field) if isinstance(field, str) else None
                if operator is not None and operator.operand is Operand.TIMESTAMP:
                    yield issue(
                        f"Choice rule does not compile: {err.message}", (*here, *err.location)
                    )


def wait_timestamp(ctx: RuleContext) -> Iterator[Problem]:
    """A literal Wait Timestamp is an RFC 3339 date-time with uppercase T and Z."""
    for state in ctx.states:
        if state.type != "Wait":
            continue
        value = state.body.get("Timestamp")
        if not isinstance(value, str) or (state.is_jsonata and is_jsonata(value)):
            continue
        if parse_timestamp(value) is None:
            err = ExpressionError(
                "not an RFC 3339 timestamp such as 2016-03-14T01:59:00Z "
                "(uppercase T and Z, a real date and time)",
                value,
                0,
            )
            yield issue(f"Timestamp is invalid: {err}", state.at("Timestamp"))


# --------------------------------------------------------------------------- JSONata


def jsonata_values(state: StateInfo) -> Iterator[tuple[str, Path, str]]:
    """``(text, path, where)`` for every string that may hold JSONata in a JSONata state.

    ``where`` names the place for the ``$states`` access rules: ``Output``/``Assign`` at
    the top level, ``Catch.Output``/``Catch.Assign`` in catchers, or the field name.
    """
    body = state.body
    for name in JSONATA_FIELDS:
        if name in body:
            for text, path in _strings(body[name], state.at(name)):
                yield text, path, name
    nested = (("Choices", ("Condition", "Output", "Assign")), ("Catch", ("Output", "Assign")))
    for field, keys in nested:
        entries = body.get(field)
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                continue
            for key in keys:
                if key in entry:
                    for text, path in _strings(entry[key], state.at(field, i, key)):
                        yield text, path, f"{field}.{key}"


def jsonata_wrapping(ctx: RuleContext) -> Iterator[Problem]:
    """A JSONata value is a whole ``{% ... %}`` string: no half-open delimiters."""
    for state in ctx.states:
        if not state.is_jsonata:
            continue
        for text, path, _ in jsonata_values(state):
            opens, closes = text.startswith("{%"), text.endswith("%}")
            if (opens or closes) and not is_jsonata(text):
                missing = "%}" if opens else "{%"
                yield issue(
                    f"JSONata expression {text!r} is missing {missing}: a JSONata value must "
                    "start with {% and end with %}, with nothing outside them",
                    path,
                )


def jsonata_syntax(ctx: RuleContext) -> Iterator[Problem]:
    """Every ``{% ... %}`` expression of a JSONata state compiles."""
    for state in ctx.states:
        if not state.is_jsonata:
            continue
        for text, path, _ in jsonata_values(state):
            if is_jsonata(text):
                try:
                    compile_jsonata(text)
                except ExpressionError as err:
                    yield _compile_problem(err, path, "JSONata expression does not compile")


RESULT_PLACES: Final = frozenset({"Output", "Assign"})
ERROR_OUTPUT_PLACES: Final = frozenset({"Catch.Output", "Catch.Assign"})
RESULT_TYPES: Final = frozenset({"Task", "Map", "Parallel"})


def jsonata_states_access(ctx: RuleContext) -> Iterator[Problem]:
    """``$states.result`` only in Output/Assign of Task, Map and Parallel; ``$states.errorOutput``
    only in a catcher's Output/Assign (AWS rejects other uses when the machine is created)."""
    for state in ctx.states:
        if not state.is_jsonata:
            continue
        for text, path, place in jsonata_values(state):
            if not is_jsonata(text):
                continue
            try:
                fields = compile_jsonata(text).references()
            except ExpressionError:
                continue  # jsonata-syntax reports it
            if "result" in fields and not (place in RESULT_PLACES and state.type in RESULT_TYPES):
                yield issue(
                    f"$states.result is not available in {place} of a {state.type} state; "
                    "only the Output and Assign of Task, Map and Parallel states can read it",
                    path,
                )
            if "errorOutput" in fields and place not in ERROR_OUTPUT_PLACES:
                yield issue(
                    f"$states.errorOutput is not available in {place}; only a Catch's "
                    "Output and Assign can read it",
                    path,
                )


# --------------------------------------------------------------------------- resources


def resource_uri(ctx: RuleContext) -> Iterator[Problem]:
    """Task Resource is a URI; the schemes statemachine runs are checked for their form."""
    for state in ctx.states:
        if state.type != "Task":
            continue
        value = state.body.get("Resource")
        if isinstance(value, str):
            yield from _resource(value, state.at("Resource"))


def _resource(value: str, path: Path) -> Iterator[Problem]:
    if "${" in value:
        if re.search(r"\$\{[^}]*\}", value):
            yield issue(
                f"Resource {value!r} holds an unresolved ${{...}} substitution; it must be "
                "replaced (e.g. by CloudFormation or SAM) before the machine can run",
                path,
                severity="warning",
            )
        else:
            yield issue(f"Resource {value!r} has an unterminated ${{ substitution", path)
        return
    scheme = _URI_SCHEME.match(value)
    if scheme is None:
        yield issue(
            f"Resource {value!r} is not a URI; use tool:NAME, llm:chat, "
            "python:package.module:function, activity:NAME or an arn:aws:... ARN",
            path,
        )
        return
    name = scheme.group()[:-1]
    if name == "arn":
        problem = _arn_problem(value)
        if problem:
            yield issue(f"Resource {value!r} is not a well-formed ARN: {problem}", path)
        return
    form = RESOURCE_FORMS.get(name)
    if form is None:
        yield issue(
            f"Resource scheme {name!r} is not one statemachine runs "
            "(tool, llm, python, activity, arn); no handler can serve it",
            path,
            severity="warning",
        )
        return
    pattern, expected = form
    bad_suffix = name == "llm" and value.endswith((".waitForTaskToken", ".sync"))
    if pattern.fullmatch(value) is None or bad_suffix:
        yield issue(f"Resource {value!r} does not have the form {expected}", path)


def _arn_problem(value: str) -> str | None:
    match = _ARN.fullmatch(value)
    if match is None:
        return "expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE"
    resource = match["resource"]
    if resource.endswith((":", "/")):
        return "the resource part must not end with ':' or '/'"
    service = match["service"]
    integration = service == "states" and not match["region"] and not match["account"]
    if integration and _INTEGRATION.fullmatch(resource) is None:
        return "expected arn:aws:states:::SERVICE:ACTION[.sync|.waitForTaskToken]"
    function = service == "lambda" and resource.startswith("function:")
    if function and _LAMBDA.fullmatch(resource) is None:
        return "expected function:NAME[:VERSION_OR_ALIAS]"
    return None
