"""The JSON Schema pass of the validator: shape errors, worded for the person who wrote them.

The schema itself (``schemas/asl.schema.json``) is data shared with editors, so it stays
plain Draft 2020-12 with a description on every field. This module loads it once, builds
one compiled yes/no check (the fast path, see the end of the module) and, only for a
document that check rejects, one ``Draft202012Validator``; it turns each jsonschema error
into a :class:`Problem` with a message a reader can act on ("unknown field 'Nxt' in Pass
state 'Start'; did you mean 'Next'?") and the JSON path of the offending node. File lines
are added by the caller from the loader's source map.

Semantic rules (transitions, reachability, ``States.ALL`` placement, ``X`` vs ``XPath``,
fields that do not belong to the state's query language) live in ``rules.py``; the
schema only says which fields exist and what shape their values have.
"""

from __future__ import annotations

import json
import numbers
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from statemachine.validation.problem import PathPart, Problem

if TYPE_CHECKING:
    # Imported for real only when a document is invalid: jsonschema (with referencing,
    # attrs, rpds and its format checkers) is the largest import a validate run could
    # make, ~70 ms, and the compiled check answers for valid documents on its own.
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

__all__ = ["JSON", "iter_schema_problems", "load_schema"]

JSON: TypeAlias = dict[str, "JSON"] | list["JSON"] | str | int | float | bool | None
Check = Callable[[Any], bool]
Found = tuple[tuple[PathPart, ...], str]  # (path, message) before it becomes a Problem

_SCHEMA_FILE = "asl.schema.json"
_PACKAGE_DIR = Path(__file__).resolve().parent.parent

# How each kind of value is named in a message, by JSON Schema type.
_TYPE_PHRASES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "an array",
    "null": "null",
}

# What a value must look like, by $defs name, for defs whose failure would otherwise be
# reported as a bare regex or as "not valid under any of the given schemas".
_EXPECTED = {
    "jsonata": "a {% %} JSONata expression (a string starting with {% and ending with %})",
    "timestamp": "an RFC 3339 timestamp such as 2016-03-14T01:59:00Z (uppercase T and Z)",
    "timestampOrJsonata": "an RFC 3339 timestamp such as 2016-03-14T01:59:00Z "
    "(or a {% %} JSONata expression)",
    "positiveIntegerOrJsonata": "a positive integer (or a {% %} JSONata expression)",
    "nonNegativeIntegerOrJsonata": "an integer of 0 or more (or a {% %} JSONata expression)",
    "percentageOrJsonata": "a number from 0 to 100 (or a {% %} JSONata expression)",
    "objectOrJsonata": "an object (or a {% %} JSONata expression)",
}

_TERMINAL = "{where} cannot have '{field}': Succeed and Fail states are always terminal"
_NESTED = "{where} cannot have '{field}': only the top-level rules in Choices pick the next state"
_NO_TEST = (
    "{where} has no test: add a comparison such as StringEquals with a Variable, And/Or/Not, "
    "or a JSONata Condition"
)
_INHERITED = (
    "{where} cannot set 'QueryLanguage': the states inside use the machine's query language "
    "unless each state sets its own"
)

# Fields that are misplaced rather than misspelled: say where they belong instead.
_MISPLACED = {
    ("choiceState", "Next"): "{where} cannot have 'Next': each Choice rule names its own Next, "
    "and Default covers the case where no rule matches",
    ("choiceState", "End"): "{where} cannot have 'End': route a rule or Default to a Succeed "
    "or Fail state instead",
    ("succeedState", "Next"): _TERMINAL,
    ("succeedState", "End"): _TERMINAL,
    ("failState", "Next"): _TERMINAL,
    ("failState", "End"): _TERMINAL,
    ("nestedChoiceRule", "Next"): _NESTED,
    ("nestedChoiceRule", "Assign"): _NESTED,
    ("nestedChoiceRule", "Output"): _NESTED,
    ("branch", "QueryLanguage"): _INHERITED,
    ("itemProcessor", "QueryLanguage"): _INHERITED,
    ("iterator", "QueryLanguage"): _INHERITED,
}


def _schema_path() -> Path:
    """The packaged copy (wheel: ``statemachine/_schemas``) wins over the source tree."""
    candidates = (
        _PACKAGE_DIR / "_schemas" / _SCHEMA_FILE,
        _PACKAGE_DIR.parent / "schemas" / _SCHEMA_FILE,
    )
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"ASL schema {_SCHEMA_FILE} not found (looked in {looked})")


@cache
def load_schema() -> dict[str, Any]:
    """The ASL JSON Schema as a dict, read once. Shared: treat it as read-only."""
    with _schema_path().open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


@dataclass(frozen=True)
class _Index:
    """Everything built once from the schema: the fast check and the facts for messages."""

    is_valid: Check | None  # the compiled fast path, None if the schema outgrew it
    def_names: Mapping[int, str]  # id(subschema) -> its $defs name ("machine" for the root)
    state_fields: Mapping[str, frozenset[str]]  # state Type -> fields its def allows
    state_defs: frozenset[str]  # $defs names of the per-type state schemas
    rule_operators: frozenset[str]  # every Choice rule operator (comparisons, And, Condition...)

    @property
    def validator(self) -> Draft202012Validator:
        """jsonschema's validator, for the detailed errors; built on first use."""
        return _validator()


@cache
def _index() -> _Index:
    schema = load_schema()
    defs: dict[str, Any] = schema["$defs"]
    def_names = {id(sub): name for name, sub in defs.items()}
    def_names[id(schema)] = "machine"
    state_fields: dict[str, frozenset[str]] = {}
    state_defs = set()
    branch: dict[str, Any] | None = defs["state"]  # an if/then/else chain keyed on Type
    while branch is not None:
        state_type = branch["if"]["properties"]["Type"]["const"]
        def_name = branch["then"]["$ref"].rsplit("/", 1)[-1]
        state_fields[state_type] = frozenset(defs[def_name]["properties"])
        state_defs.add(def_name)
        branch = branch.get("else")
    order = defs["state"]["properties"]["Type"]["enum"]  # name types in the usual order
    state_fields = {t: state_fields[t] for t in order}
    try:
        is_valid: Check | None = _Compiler(schema).compile(schema)
    except _Unsupported:
        is_valid = None
    return _Index(
        is_valid=is_valid,
        def_names=def_names,
        state_fields=state_fields,
        state_defs=frozenset(state_defs),
        rule_operators=frozenset(defs["choiceRuleWithoutOperator"]["properties"]),
    )


@cache
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema())


def iter_schema_problems(definition: JSON) -> Iterator[Problem]:
    """Yield one ``Problem(rule="schema")`` per shape error in ``definition``.

    ``path`` points at the offending node: the unknown field itself, the value of a field
    with the wrong type, or the object that misses a required field.
    """
    index = _index()
    if index.is_valid is not None and index.is_valid(definition):
        return
    found: dict[Found, None] = {}  # ordered and without duplicates
    for error in index.validator.iter_errors(definition):
        found.update(dict.fromkeys(_describe(error, definition)))
    # jsonschema visits the states of a States object in set order; report in file order.
    for path, message in sorted(found, key=lambda item: _document_order(definition, item[0])):
        yield Problem(rule="schema", message=message, path=path)


def _document_order(root: JSON, path: tuple[PathPart, ...]) -> tuple[int, ...]:
    """Position of each step of ``path`` among its siblings, as written in the file."""
    order = []
    node: Any = root
    for part in path:
        if isinstance(node, dict) and part in node:
            order.append(list(node).index(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            order.append(part)
            node = node[part]
        else:
            order.append(-1)
            node = None
    return tuple(order)


# ---------------------------------------------------------------- wording


def _describe(error: ValidationError, root: JSON) -> Iterator[Found]:
    path = tuple(error.absolute_path)
    keyword = error.validator
    instance = error.instance
    def_name = _index().def_names.get(id(error.schema), "")
    schema_path = error.relative_schema_path
    if "dependentSchemas" in schema_path:
        # A Choice rule operator limits the rule's field names (propertyNames + enum);
        # the error's instance is the offending field name.
        found = _choice_rule_field_message(path, instance, root)
        if found:
            yield found
    elif "propertyNames" in schema_path:
        # jsonschema checks each key as the instance, without adding it to the path.
        yield (*path, instance), _state_name_message(instance, error)
    elif keyword == "additionalProperties":
        allowed = error.schema.get("properties", {})
        for name in instance:
            if name not in allowed:
                yield (*path, name), _unknown_field(error, def_name, name)
    elif keyword == "required":
        for name in error.validator_value:
            if name not in instance:
                yield path, f"{_where(error, def_name)} is missing required field '{name}'"
    elif keyword == "dependentRequired":
        for name, needs in error.validator_value.items():
            if name in instance and any(need not in instance for need in needs):
                yield path, f"{_where(error, def_name)} uses {name} but has no Variable to compare"
    elif keyword == "not" and def_name in ("choiceRule", "nestedChoiceRule"):
        yield path, _NO_TEST.format(where=_where(error, def_name))
    elif keyword in ("anyOf", "oneOf"):
        yield from _describe_alternatives(error, def_name, root)
    else:
        yield path, _simple_message(error, def_name)


def _choice_rule_field_message(path: tuple[PathPart, ...], name: str, root: JSON) -> Found | None:
    rule = _lookup(root, path)
    if not isinstance(rule, dict):
        return None
    where = "Choice rule" if len(path) >= 2 and path[-2] == "Choices" else "nested Choice rule"
    operators = [key for key in rule if key in _index().rule_operators]
    if name in _index().rule_operators:
        return path, (
            f"{where} has {len(operators)} operators ({', '.join(operators)}); a rule takes "
            "exactly one, so combine tests with And/Or"
        )
    if name == "Variable":
        return (*path, name), f"{where} cannot have a Variable with {operators[0]}"
    return None  # an unknown field: additionalProperties reports it


def _lookup(root: JSON, path: tuple[PathPart, ...]) -> JSON:
    node: Any = root
    for part in path:
        node = node[part]
    return node


def _simple_message(error: ValidationError, def_name: str) -> str:
    field = _field(tuple(error.absolute_path))
    keyword, value, instance = error.validator, error.validator_value, error.instance
    got = _show(instance)
    if keyword == "type":
        types = [value] if isinstance(value, str) else list(value)
        expected = " or ".join(_TYPE_PHRASES.get(t, t) for t in types)
        return f"{field} must be {expected}, got {got}"
    if keyword == "enum":
        message = f"{field} must be one of {', '.join(map(str, value))}; got {got}"
        return message + _did_you_mean(instance, [str(v) for v in value])
    if keyword == "const":
        return f"{field} must be {json.dumps(value)}, got {got}"
    if keyword in ("minimum", "exclusiveMinimum"):
        bound = "at least" if keyword == "minimum" else "more than"
        return f"{field} must be {bound} {value}, got {got}"
    if keyword in ("maximum", "exclusiveMaximum"):
        bound = "at most" if keyword == "maximum" else "less than"
        return f"{field} must be {bound} {value}, got {got}"
    if keyword == "minProperties" and def_name == "states":
        return f"{field} must define at least one state"
    if keyword in ("minItems", "minProperties", "minLength") and value == 1:
        return f"{field} must not be empty"
    if keyword in ("minItems", "minProperties"):
        return f"{field} must have at least {value} entries"
    if keyword == "minLength":
        return f"{field} must be at least {value} characters long"
    if keyword == "maxLength":
        return f"{field} must be at most {value} characters long (it has {len(instance)})"
    if keyword == "pattern" and def_name in _EXPECTED:
        return f"{field} must be {_EXPECTED[def_name]}, got {got}"
    return f"{field}: {error.message}"


def _describe_alternatives(error: ValidationError, def_name: str, root: JSON) -> Iterator[Found]:
    """anyOf/oneOf: name the one alternative the author was evidently aiming at."""
    path = tuple(error.absolute_path)
    instance = error.instance
    if def_name == "mapState":
        yield path, f"{_where(error, def_name)} needs an ItemProcessor (the states run per item)"
        return
    alternatives: list[Any] = error.validator_value
    by_alternative: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        by_alternative.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    candidates = [
        index
        for index, subs in by_alternative.items()
        if not any(s.validator == "type" and not s.relative_path for s in subs)
        and not _jsonata_not_attempted(alternatives[index], instance)
    ]
    if len(candidates) == 1:
        from jsonschema.exceptions import best_match

        yield from _describe(best_match(by_alternative[candidates[0]]), root)
        return
    expected = _EXPECTED.get(def_name) or " or ".join(_phrase(alt) for alt in alternatives)
    yield path, f"{_field(path)} must be {expected}, got {_show(instance)}"


def _jsonata_not_attempted(alternative: Any, instance: Any) -> bool:
    """A plain string failing the JSONata pattern was not meant as JSONata."""
    is_jsonata = isinstance(alternative, dict) and alternative.get("$ref", "").endswith("/jsonata")
    return is_jsonata and not (isinstance(instance, str) and instance.startswith("{%"))


def _unknown_field(error: ValidationError, def_name: str, name: str) -> str:
    where = _where(error, def_name)
    misplaced = _MISPLACED.get((def_name, name))
    if misplaced:
        return misplaced.format(where=where, field=name)
    message = f"unknown field '{name}' in {where}"
    hint = _did_you_mean(name, error.schema.get("properties", {}))
    if hint:
        return message + hint
    if def_name in _index().state_defs:
        owners = [t for t, fields in _index().state_fields.items() if name in fields]
        if owners:
            return message + f" (only {_join(owners)} states have '{name}')"
    return message


def _where(error: ValidationError, def_name: str) -> str:
    """A noun phrase for the object an error is about: "Pass state 'Start'", "retrier"."""
    title = str(error.schema.get("title", "object"))
    path = tuple(error.absolute_path)
    is_state = def_name == "state" or def_name in _index().state_defs
    if is_state and len(path) >= 2 and path[-2] == "States":
        return f"{title} '{path[-1]}'"
    return title


def _field(path: tuple[PathPart, ...]) -> str:
    """``('States', 'A', 'Retry', 0, 'ErrorEquals', 1)`` -> ``'ErrorEquals[1]'``."""
    if not path:
        return "the definition"
    if len(path) >= 2 and path[-2] == "States":
        return f"state '{path[-1]}'"
    suffix = ""
    for part in reversed(path):
        if isinstance(part, int):
            suffix = f"[{part}]{suffix}"
        else:
            return f"'{part}{suffix}'"
    return f"item {suffix}"


def _state_name_message(name: Any, error: ValidationError) -> str:
    if error.validator == "maxLength":
        return (
            f"state name '{name}' is {len(name)} characters long; "
            f"names are limited to {error.validator_value}"
        )
    return "state names must not be empty"


def _phrase(alternative: Any) -> str:
    if isinstance(alternative, dict) and "$ref" in alternative:
        name = alternative["$ref"].rsplit("/", 1)[-1]
        return _EXPECTED.get(name, name)
    if isinstance(alternative, dict) and isinstance(alternative.get("type"), str):
        return _TYPE_PHRASES.get(alternative["type"], alternative["type"])
    return "another shape"


def _did_you_mean(word: Any, choices: Iterable[str]) -> str:
    if not isinstance(word, str):
        return ""
    options = list(choices)
    by_lower = {option.lower(): option for option in options}
    if word.lower() in by_lower:
        return f"; did you mean '{by_lower[word.lower()]}'?"
    import difflib  # only messages need it

    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _show(value: Any) -> str:
    """A short rendering of a value with its JSON type: ``"30" (a string)``."""
    kinds = (
        (bool, "a boolean"),
        (str, "a string"),
        (int, "an integer"),
        (float, "a number"),
        (dict, "an object"),
        (list, "an array"),
    )
    kind = "null" if value is None else type(value).__name__
    for python_type, name in kinds:
        if isinstance(value, python_type):
            kind = name
            break
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > 40:
        text = text[:39] + "…"
    return text if value is None else f"{text} ({kind})"


# ---------------------------------------------------------------- fast path
#
# jsonschema spends ~8 µs per schema node it visits, which adds up to tens of
# milliseconds for a 50-state machine. Most definitions are valid, so a yes/no answer
# is all that is needed first: the schema is compiled once into nested closures (one
# small compile function per keyword, the jsonschema way), and jsonschema only runs,
# for its detailed errors, when that answer is no. The compiler knows exactly the
# keywords the schema uses and refuses anything else, so it can never pass a document
# that jsonschema would reject; a test compares the two on valid and broken definitions.


class _Unsupported(Exception):
    """The schema uses something the fast path does not implement."""


_ANNOTATIONS = frozenset(
    {"$schema", "$defs", "$comment", "title", "description", "default", "examples"}
)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


# The JSON Schema types as jsonschema's Draft 2020-12 type checker defines them.
_TYPES: dict[str, Check] = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
    "number": _is_number,
    "integer": _is_integer,
}


def _always(_: Any) -> bool:
    return True


def _never(_: Any) -> bool:
    return False


class _Compiler:
    """Compiles the subset of Draft 2020-12 used by the ASL schema into a predicate."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, list[Check]] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return _always
        if schema is False:
            return _never
        checks: list[Check] = []
        for keyword, value in schema.items():
            if keyword in _ANNOTATIONS or keyword in ("then", "else"):
                continue
            method = getattr(self, f"k_{keyword.lstrip('$')}", None)
            if method is None:
                raise _Unsupported(keyword)
            checks.append(method(value, schema))
        if not checks:
            return _always
        if len(checks) == 1:
            return checks[0]

        def every(value: Any) -> bool:
            for check in checks:  # noqa: SIM110 - a plain loop beats all() over a generator
                if not check(value):
                    return False
            return True

        return every

    # -- one method per keyword; each returns a predicate over one instance

    def k_ref(self, ref: str, _: Any) -> Check:
        if not ref.startswith("#/"):
            raise _Unsupported(ref)
        if ref not in self.refs:
            cell: list[Check] = []
            self.refs[ref] = cell  # registered first: the schema is recursive
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            cell.append(self.compile(target))
        cell = self.refs[ref]
        return lambda value: cell[0](value)

    def k_type(self, names: str | list[str], _: Any) -> Check:
        if isinstance(names, str):
            return _TYPES[names]
        checks = [_TYPES[name] for name in names]
        return lambda value: any(check(value) for check in checks)

    def k_enum(self, options: list[Any], _: Any) -> Check:
        if not all(isinstance(option, str) for option in options):
            raise _Unsupported("enum of non-strings")
        allowed = frozenset(options)
        return lambda value: isinstance(value, str) and value in allowed

    def k_const(self, expected: Any, _: Any) -> Check:
        if not isinstance(expected, str):
            raise _Unsupported("const of a non-string")
        return lambda value: isinstance(value, str) and value == expected

    def k_required(self, names: list[str], _: Any) -> Check:
        return lambda value: not isinstance(value, dict) or all(n in value for n in names)

    def k_properties(self, properties: dict[str, Any], _: Any) -> Check:
        checks = {name: self.compile(sub) for name, sub in properties.items()}

        def properties_hold(value: Any) -> bool:
            if isinstance(value, dict):
                for name, item in value.items():  # instances are smaller than the schema
                    check = checks.get(name)
                    if check is not None and not check(item):
                        return False
            return True

        return properties_hold

    def k_additionalProperties(self, extra: Any, schema: dict[str, Any]) -> Check:
        if "patternProperties" in schema:
            raise _Unsupported("patternProperties")
        known = frozenset(schema.get("properties", ()))
        if extra is False:
            return lambda value: not isinstance(value, dict) or known.issuperset(value)
        check = self.compile(extra)
        return lambda value: (
            not isinstance(value, dict)
            or all(check(item) for name, item in value.items() if name not in known)
        )

    def k_propertyNames(self, names: Any, _: Any) -> Check:
        check = self.compile(names)
        return lambda value: not isinstance(value, dict) or all(check(n) for n in value)

    def k_dependentRequired(self, needs: dict[str, list[str]], _: Any) -> Check:
        pairs = list(needs.items())
        return lambda value: (
            not isinstance(value, dict)
            or all(
                all(need in value for need in required) for name, required in pairs if name in value
            )
        )

    def k_dependentSchemas(self, schemas: dict[str, Any], _: Any) -> Check:
        checks = [(name, self.compile(sub)) for name, sub in schemas.items()]
        return lambda value: (
            not isinstance(value, dict)
            or all(check(value) for name, check in checks if name in value)
        )

    def k_items(self, items: Any, _: Any) -> Check:
        check = self.compile(items)
        return lambda value: not isinstance(value, list) or all(check(item) for item in value)

    def k_minItems(self, bound: int, _: Any) -> Check:
        return lambda value: not isinstance(value, list) or len(value) >= bound

    def k_minProperties(self, bound: int, _: Any) -> Check:
        return lambda value: not isinstance(value, dict) or len(value) >= bound

    def k_minLength(self, bound: int, _: Any) -> Check:
        return lambda value: not isinstance(value, str) or len(value) >= bound

    def k_maxLength(self, bound: int, _: Any) -> Check:
        return lambda value: not isinstance(value, str) or len(value) <= bound

    def k_minimum(self, bound: float, _: Any) -> Check:
        return lambda value: not _is_number(value) or value >= bound

    def k_maximum(self, bound: float, _: Any) -> Check:
        return lambda value: not _is_number(value) or value <= bound

    def k_pattern(self, pattern: str, _: Any) -> Check:
        regex = re.compile(pattern)  # jsonschema uses re.search too
        return lambda value: not isinstance(value, str) or regex.search(value) is not None

    def k_anyOf(self, schemas: list[Any], _: Any) -> Check:
        checks = [self.compile(sub) for sub in schemas]
        return lambda value: any(check(value) for check in checks)

    def k_oneOf(self, schemas: list[Any], _: Any) -> Check:
        checks = [self.compile(sub) for sub in schemas]
        return lambda value: sum(1 for check in checks if check(value)) == 1

    def k_allOf(self, schemas: list[Any], _: Any) -> Check:
        checks = [self.compile(sub) for sub in schemas]
        return lambda value: all(check(value) for check in checks)

    def k_not(self, schema: Any, _: Any) -> Check:
        check = self.compile(schema)
        return lambda value: not check(value)

    def k_if(self, condition: Any, schema: dict[str, Any]) -> Check:
        test = self.compile(condition)
        then = self.compile(schema.get("then", True))
        otherwise = self.compile(schema.get("else", True))
        return lambda value: then(value) if test(value) else otherwise(value)
