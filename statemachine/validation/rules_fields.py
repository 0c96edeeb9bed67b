"""Rules about which fields a state may carry, together and per query language.

One entry each in :data:`statemachine.validation.rules.RULES`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from statemachine.validation.problem import Problem
from statemachine.validation.rules_context import (
    JSON,
    Path,
    RuleContext,
    ScopeInfo,
    StateInfo,
    issue,
)

# ``X`` and ``XPath`` (and a few synonyms) may not be set together: (state type, a, b).
EXCLUSIVE_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("Task", "TimeoutSeconds", "TimeoutSecondsPath"),
    ("Task", "HeartbeatSeconds", "HeartbeatSecondsPath"),
    ("Fail", "Error", "ErrorPath"),
    ("Fail", "Cause", "CausePath"),
    ("Map", "MaxConcurrency", "MaxConcurrencyPath"),
    ("Map", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath"),
    ("Map", "ToleratedFailureCount", "ToleratedFailureCountPath"),
    ("Map", "ItemSelector", "Parameters"),  # Parameters is the deprecated name
)
# The same pairs inside the Map's ItemReader.ReaderConfig and ItemBatcher objects.
NESTED_EXCLUSIVE_FIELDS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("ItemReader", "ReaderConfig"), "MaxItems", "MaxItemsPath"),
    (("ItemBatcher",), "MaxItemsPerBatch", "MaxItemsPerBatchPath"),
    (("ItemBatcher",), "MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath"),
)
WAIT_FIELDS = ("Seconds", "SecondsPath", "Timestamp", "TimestampPath")

# AWS ValidateStateMachineDefinition: these exist only for JSONPath states ...
JSONPATH_ONLY = frozenset(
    {
        "InputPath",
        "OutputPath",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "Result",
        "ItemsPath",
        "SecondsPath",
        "TimestampPath",
        "ErrorPath",
        "CausePath",
        "TimeoutSecondsPath",
        "HeartbeatSecondsPath",
        "MaxConcurrencyPath",
        "ToleratedFailurePercentagePath",
        "ToleratedFailureCountPath",
    }
)
# ... and these only for JSONata states.
JSONATA_ONLY = frozenset({"Arguments", "Output", "Items"})
# Choice rule fields of JSONPath (a Variable plus one comparison, or And/Or/Not).
CHOICE_JSONPATH_FIELDS = frozenset({"Variable", "And", "Or", "Not"})
CHOICE_JSONATA_FIELDS = frozenset({"Condition", "Output"})
# Sub-objects of Map with per-language fields: (container path, JSONPath-only, JSONata-only).
MAP_NESTED_LANGUAGE_FIELDS: tuple[tuple[tuple[str, ...], frozenset[str], frozenset[str]], ...] = (
    (("ItemReader",), frozenset({"Parameters"}), frozenset({"Arguments"})),
    (("ItemReader", "ReaderConfig"), frozenset({"MaxItemsPath"}), frozenset()),
    (
        ("ItemBatcher",),
        frozenset({"MaxItemsPerBatchPath", "MaxInputBytesPerBatchPath"}),
        frozenset(),
    ),
    (("ResultWriter",), frozenset({"Parameters"}), frozenset({"Arguments"})),
)

MAX_VARIABLE_NAME = 80
RESERVED_VARIABLES = frozenset({"states"})


def _get(obj: JSON, keys: tuple[str, ...]) -> JSON:
    for key in keys:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _is_number(value: JSON) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --------------------------------------------------------------------------- field sets


def exclusive_fields(ctx: RuleContext) -> Iterator[Problem]:
    """A static field and its ``...Path`` twin (or Map ItemSelector/Parameters) are exclusive."""
    for state in ctx.states:
        body = state.body
        for kind, a, b in EXCLUSIVE_FIELDS:
            if state.type == kind and a in body and b in body:
                yield issue(f"{a} and {b} cannot both be set; keep one", state.at(b))
        if state.type != "Map":
            continue
        for keys, a, b in NESTED_EXCLUSIVE_FIELDS:
            holder = _get(body, keys)
            if isinstance(holder, Mapping) and a in holder and b in holder:
                yield issue(f"{a} and {b} cannot both be set; keep one", state.at(*keys, b))


def wait_duration(ctx: RuleContext) -> Iterator[Problem]:
    """A Wait state has exactly one of Seconds, SecondsPath, Timestamp, TimestampPath."""
    for state in ctx.states:
        if state.type != "Wait":
            continue
        present = [name for name in WAIT_FIELDS if name in state.body]
        if not present:
            yield issue(
                "a Wait state needs one of Seconds, SecondsPath, Timestamp or TimestampPath",
                state.path,
            )
        elif len(present) > 1:
            yield issue(
                f"a Wait state takes exactly one of {', '.join(WAIT_FIELDS)}; "
                f"found {', '.join(present)}",
                state.at(present[1]),
            )


def map_processor(ctx: RuleContext) -> Iterator[Problem]:
    """A Map state does not have both ItemProcessor and its deprecated name Iterator."""
    for state in ctx.states:
        if state.type == "Map" and "ItemProcessor" in state.body and "Iterator" in state.body:
            yield issue(
                "ItemProcessor and Iterator cannot both be set (Iterator is its old name)",
                state.at("Iterator"),
            )


def map_items(ctx: RuleContext) -> Iterator[Problem]:
    """A JSONata Map's ``Items`` is a JSON array or a ``{% %}`` expression that yields one.

    AWS documents ``Items`` as an array or an expression evaluating to an array; a literal
    JSON object would fail every run (the interpreter only iterates arrays), so it is
    reported now. (In a JSONPath state ``Items`` is already a query-language-field error.)
    """
    for state in ctx.states:
        items = state.body.get("Items")
        if state.type == "Map" and state.is_jsonata and isinstance(items, Mapping):
            yield issue(
                "Items must be a JSON array or a {% %} JSONata expression that yields one; "
                "a JSON object is not a list of items",
                state.at("Items"),
            )


def heartbeat_timeout(ctx: RuleContext) -> Iterator[Problem]:
    """A static HeartbeatSeconds is smaller than a static TimeoutSeconds."""
    for state in ctx.states:
        if state.type != "Task":
            continue
        heartbeat = state.body.get("HeartbeatSeconds")
        timeout = state.body.get("TimeoutSeconds")
        if _is_number(heartbeat) and _is_number(timeout) and heartbeat >= timeout:
            yield issue(
                f"HeartbeatSeconds ({heartbeat}) must be smaller than TimeoutSeconds ({timeout})",
                state.at("HeartbeatSeconds"),
            )


def machine_version(ctx: RuleContext) -> Iterator[Problem]:
    """The machine's Version, when given, is "1.0" (TimeoutSeconds is a schema check)."""
    version = ctx.raw.get("Version")
    if isinstance(version, str) and version != "1.0":
        yield issue(f'Version must be "1.0", not {version!r}', ("Version",))


# --------------------------------------------------------------------------- query language


def query_language_field(ctx: RuleContext) -> Iterator[Problem]:
    """JSONPath-only fields are errors in JSONata states and JSONata-only ones in JSONPath."""
    for state in ctx.states:
        body = state.body
        wrong, other = (
            (JSONPATH_ONLY, "JSONPath") if state.is_jsonata else (JSONATA_ONLY, "JSONata")
        )
        for name in body:
            if name in wrong:
                yield _wrong_language(state, name, other, state.at(name))
        yield from _catcher_language(state)
        if state.type == "Choice":
            yield from _choice_language(state)
        if state.type == "Map":
            for keys, path_only, ata_only in MAP_NESTED_LANGUAGE_FIELDS:
                holder = _get(body, keys)
                if not isinstance(holder, Mapping):
                    continue
                bad = path_only if state.is_jsonata else ata_only
                for name in holder:
                    if name in bad:
                        yield _wrong_language(state, name, other, state.at(*keys, name))


def _wrong_language(state: StateInfo, name: str, other: str, path: Path) -> Problem:
    return issue(
        f"{name} is only supported for the {other} query language, "
        f"but state {state.name!r} uses {state.language}",
        path,
    )


def _catcher_language(state: StateInfo) -> Iterator[Problem]:
    catchers = state.body.get("Catch")
    if not isinstance(catchers, list):
        return
    bad, other = ("ResultPath", "JSONPath") if state.is_jsonata else ("Output", "JSONata")
    for i, catcher in enumerate(catchers):
        if isinstance(catcher, Mapping) and bad in catcher:
            yield _wrong_language(state, bad, other, state.at("Catch", i, bad))


def _choice_language(state: StateInfo) -> Iterator[Problem]:
    choices = state.body.get("Choices")
    if not isinstance(choices, list):
        return
    for i, rule in enumerate(choices):
        if not isinstance(rule, Mapping):
            continue
        if state.is_jsonata:
            bad = [k for k in rule if k in CHOICE_JSONPATH_FIELDS or _is_comparison(k)]
            other = "JSONPath"
        else:
            bad = [k for k in rule if k in CHOICE_JSONATA_FIELDS]
            other = "JSONata"
        for name in bad:
            yield _wrong_language(state, name, other, state.at("Choices", i, name))


def _is_comparison(key: str) -> bool:
    return key.startswith(("String", "Numeric", "Boolean", "Timestamp")) or key in (
        "IsNull",
        "IsPresent",
        "IsNumeric",
        "IsString",
        "IsBoolean",
        "IsTimestamp",
    )


def query_language_value(ctx: RuleContext) -> Iterator[Problem]:
    """No JSONPath state in a JSONata machine; no QueryLanguage on ItemProcessor/Iterator."""
    if ctx.machine_language == "JSONata":
        for state in ctx.states:
            if state.body.get("QueryLanguage") == "JSONPath":
                yield issue(
                    "QueryLanguage cannot be JSONPath on a state when the whole state machine "
                    "uses JSONata",
                    state.at("QueryLanguage"),
                )
    for scope in ctx.scopes:
        inside_map = scope.kind in ("processor", "iterator")
        if inside_map and isinstance(scope.raw, Mapping) and "QueryLanguage" in scope.raw:
            yield issue(
                "QueryLanguage is not allowed here: states inside a Map take the state "
                "machine's query language unless they set their own",
                (*scope.path, "QueryLanguage"),
            )


# --------------------------------------------------------------------------- variables


def assign_blocks(state: StateInfo) -> Iterator[tuple[Mapping[str, Any], Path]]:
    """Every Assign object of a state: top level, Choice rules and catchers."""
    body = state.body
    if isinstance(body.get("Assign"), Mapping):
        yield body["Assign"], state.at("Assign")
    for field in ("Choices", "Catch"):
        entries = body.get(field)
        if isinstance(entries, list):
            for i, entry in enumerate(entries):
                if isinstance(entry, Mapping) and isinstance(entry.get("Assign"), Mapping):
                    yield entry["Assign"], state.at(field, i, "Assign")


def assigned_names(state: StateInfo) -> Iterator[tuple[str, Path]]:
    for block, path in assign_blocks(state):
        for key in block:
            if isinstance(key, str):
                name = key[:-2] if not state.is_jsonata and key.endswith(".$") else key
                yield name, (*path, key)


def variable_name(ctx: RuleContext) -> Iterator[Problem]:
    """Assigned names are Unicode identifiers of at most 80 characters; ``states`` is reserved."""
    for state in ctx.states:
        for name, path in assigned_names(state):
            if name in RESERVED_VARIABLES:
                yield issue(f"${name} is reserved and cannot be assigned", path)
            elif not name.isidentifier():
                yield issue(
                    f"{name!r} is not a valid variable name (letters, digits and _, "
                    "not starting with a digit; a part of a variable cannot be assigned)",
                    path,
                )
            elif len(name) > MAX_VARIABLE_NAME:
                yield issue(
                    f"variable name is {len(name)} characters long; the limit is "
                    f"{MAX_VARIABLE_NAME}",
                    path,
                )


def variable_scope(ctx: RuleContext) -> Iterator[Problem]:
    """A Map/Parallel scope may not assign a variable that an outer scope assigns (AWS)."""
    assigned: dict[int, dict[str, Path]] = {}
    for state in ctx.states:
        names = assigned.setdefault(id(state.scope), {})
        for name, path in assigned_names(state):
            names.setdefault(name, path)
    for state in ctx.states:
        outer: list[ScopeInfo] = list(state.scope.ancestors())
        if not outer:
            continue
        for name, path in assigned_names(state):
            for scope in outer:
                if name in assigned.get(id(scope), {}):
                    yield issue(
                        f"variable ${name} is also assigned in {scope.describe()}; a state "
                        "inside a Parallel branch or Map processor cannot assign a variable "
                        "of an outer scope",
                        path,
                    )
                    break


# --------------------------------------------------------------------------- payload templates


def template_fields(state: StateInfo) -> Iterator[tuple[JSON, Path, str]]:
    """JSONPath payload templates of a state: ``(value, path, field name)``."""
    body = state.body
    kind = state.type
    names: tuple[str, ...] = ()
    if kind in ("Pass", "Task", "Parallel"):
        names = ("Parameters", "ResultSelector")
    elif kind == "Map":
        names = ("ItemSelector", "Parameters", "ResultSelector")
    for name in names:
        if name in body and (name != "ResultSelector" or kind != "Pass"):
            yield body[name], state.at(name), name
    if kind == "Task" and "Credentials" in body:
        yield body["Credentials"], state.at("Credentials"), "Credentials"
    if kind == "Map":
        for keys in (("ItemReader", "Parameters"), ("ResultWriter", "Parameters")):
            value = _get(body, keys)
            if value is not None:
                yield value, state.at(*keys), ".".join(keys)
        batch_input = _get(body, ("ItemBatcher", "BatchInput"))
        if batch_input is not None:
            yield batch_input, state.at("ItemBatcher", "BatchInput"), "ItemBatcher.BatchInput"
    for block, path in assign_blocks(state):
        yield block, path, "Assign"


def colliding_keys(value: JSON, path: Path) -> Iterator[tuple[str, Path]]:
    """Keys ``x.$`` whose renamed form ``x`` is also present in the same object."""
    if isinstance(value, Mapping):
        for key, child in value.items():
            if isinstance(key, str) and key.endswith(".$") and key[:-2] in value:
                yield key, (*path, key)
            yield from colliding_keys(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from colliding_keys(child, (*path, i))


def payload_key_collision(ctx: RuleContext) -> Iterator[Problem]:
    """A template must not hold both ``x`` and ``x.$``: both become ``x`` after evaluation."""
    for state in ctx.states:
        if state.is_jsonata:
            continue
        for value, path, field in template_fields(state):
            for key, key_path in colliding_keys(value, path):
                yield issue(
                    f"{field} has both {key[:-2]!r} and {key!r}; after evaluation both "
                    f"would be {key[:-2]!r}",
                    key_path,
                )
