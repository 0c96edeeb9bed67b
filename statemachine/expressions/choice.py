"""Choice Rules of JSONPath mode, compiled once and evaluated against a state's input.

A rule is either a *boolean expression* (``And`` / ``Or``: a non-empty list of rules;
``Not``: one rule) or a *data test*: ``Variable`` (a Reference Path, which may start with
``$``, ``$$`` or ``$name``) plus exactly one operator from
:data:`~statemachine.expressions.choice_operators.OPERATORS`. Only top-level rules carry
``Next`` (and may carry ``Assign``); nested ones must not.

Runtime behaviour follows AWS:

* rules short-circuit (``And`` stops at the first false, ``Or`` at the first true);
* a ``Variable`` that selects nothing fails the execution with ``States.Runtime``,
  cause ``Invalid path '$.x': The choice state's condition path references an invalid
  value.``, except under ``IsPresent``, which is simply false (or true for
  ``"IsPresent": false``);
* a ``...Path`` operand that selects nothing fails the same way, naming its own path;
* a value of the wrong type makes the test false.

Compile errors are :class:`ChoiceRuleError` (a ``ValueError``) for malformed rules and
:class:`~statemachine.errors.ExpressionError` for a bad path or pattern; both say where
in the rule the problem is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from statemachine.errors import ExpressionError, StatesError
from statemachine.expressions.choice_operators import (
    OPERATORS,
    Operand,
    Operator,
    compile_star_pattern,
)
from statemachine.expressions.context import JSON, EvalContext
from statemachine.expressions.jsonpath import JsonPath, PathNotFound, compile_reference_path
from statemachine.expressions.timestamps import timestamp_key

__all__ = [
    "INVALID_PATH_CAUSE",
    "BooleanRule",
    "ChoiceRule",
    "ChoiceRuleError",
    "DataTestRule",
    "compile_choice_rule",
]

RUNTIME_ERROR: Final = "States.Runtime"
INVALID_PATH_CAUSE: Final = (
    "Invalid path '{path}': The choice state's condition path references an invalid value."
)

Location = tuple[str | int, ...]

_BOOLEAN_OPERATORS: Final = ("And", "Or", "Not")
_TOP_LEVEL_ONLY: Final = ("Next", "Assign")
_ANYWHERE: Final = ("Comment",)


class ChoiceRuleError(ValueError):
    """A Choice Rule is malformed. ``location`` is where inside the rule, e.g.
    ``("And", 1, "NumericEquals")``; ``message`` says what is wrong."""

    def __init__(self, message: str, location: Location = ()) -> None:
        self.message = message
        self.location = location
        super().__init__(f"{_where(location)}: {message}" if location else message)


def _where(location: Location) -> str:
    """``("And", 1, "Variable")`` -> ``And[1].Variable``."""
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location)
    return text.lstrip(".")


def _path_failure(path: JsonPath) -> StatesError:
    return StatesError(RUNTIME_ERROR, INVALID_PATH_CAUSE.format(path=path.text))


class ChoiceRule:
    """A compiled rule. ``next`` is set on top-level rules only."""

    __slots__ = ("assign", "comment", "next")

    def __init__(self, next: str | None, assign: JSON, comment: str | None) -> None:
        self.next = next
        self.assign = assign
        """The rule's raw ``Assign`` value (top-level rules only), for the caller to compile."""
        self.comment = comment

    def evaluate(self, data: JSON, ctx: EvalContext) -> bool:
        """Whether the rule holds for ``data`` (the state's effective input)."""
        raise NotImplementedError

    def iter_paths(self) -> Iterator[tuple[Location, JsonPath]]:
        """Every path the rule reads (``Variable`` and ``...Path`` operands), with where."""
        raise NotImplementedError


class BooleanRule(ChoiceRule):
    """``And`` / ``Or`` over several rules, or ``Not`` over one."""

    __slots__ = ("operator", "rules")

    def __init__(
        self,
        operator: str,
        rules: tuple[ChoiceRule, ...],
        next: str | None = None,
        assign: JSON = None,
        comment: str | None = None,
    ) -> None:
        super().__init__(next, assign, comment)
        self.operator = operator
        self.rules = rules

    def __repr__(self) -> str:
        return f"BooleanRule({self.operator}, {list(self.rules)!r}, next={self.next!r})"

    def evaluate(self, data: JSON, ctx: EvalContext) -> bool:
        if self.operator == "And":
            return all(rule.evaluate(data, ctx) for rule in self.rules)
        if self.operator == "Or":
            return any(rule.evaluate(data, ctx) for rule in self.rules)
        return not self.rules[0].evaluate(data, ctx)

    def iter_paths(self) -> Iterator[tuple[Location, JsonPath]]:
        for index, rule in enumerate(self.rules):
            prefix: Location = (
                (self.operator,) if self.operator == "Not" else (self.operator, index)
            )
            for location, path in rule.iter_paths():
                yield (*prefix, *location), path


class DataTestRule(ChoiceRule):
    """``Variable`` compared by one operator with a literal, a path's value, or a flag."""

    __slots__ = ("operand", "operand_path", "operator", "variable")

    def __init__(
        self,
        variable: JsonPath,
        operator: Operator,
        operand: Any,
        operand_path: JsonPath | None,
        next: str | None = None,
        assign: JSON = None,
        comment: str | None = None,
    ) -> None:
        super().__init__(next, assign, comment)
        self.variable = variable
        self.operator = operator
        self.operand = operand
        """The compiled literal operand: a comparison key, a pattern, or a flag."""
        self.operand_path = operand_path

    def __repr__(self) -> str:
        shown = self.operand_path.text if self.operand_path is not None else self.operand
        return (
            f"DataTestRule({self.variable.text} {self.operator.name} {shown!r}, next={self.next!r})"
        )

    def evaluate(self, data: JSON, ctx: EvalContext) -> bool:
        operator = self.operator
        try:
            value = self.variable.find(data, ctx)
        except PathNotFound:
            if operator.name == "IsPresent":
                return self.operand is False
            raise _path_failure(self.variable) from None
        key = operator.key
        if key is None:  # Is* and StringMatches look at the raw value
            return operator.test(value, self.operand)
        left = key(value)
        if self.operand_path is None:
            right = self.operand
        else:
            try:
                other = self.operand_path.find(data, ctx)
            except PathNotFound:
                raise _path_failure(self.operand_path) from None
            right = key(other)
        if left is None or right is None:
            return False
        return operator.test(left, right)

    def iter_paths(self) -> Iterator[tuple[Location, JsonPath]]:
        yield ("Variable",), self.variable
        if self.operand_path is not None:
            yield (self.operator.name,), self.operand_path


# ---------------------------------------------------------------------- compile


def _compile_path(text: JSON, location: Location) -> JsonPath:
    if not isinstance(text, str):
        raise ChoiceRuleError("must be a reference path string", location)
    try:
        return compile_reference_path(text)
    except ExpressionError as exc:
        message = f"{_where(location)}: {exc.message}"
        raise ExpressionError(message, exc.expression, exc.column) from None


def _compile_operand(
    operator: Operator, raw: JSON, location: Location
) -> tuple[Any, JsonPath | None]:
    """The operand in the form :meth:`DataTestRule.evaluate` wants, checked for type."""
    kind = operator.operand
    if kind is Operand.PATH:
        return None, _compile_path(raw, location)
    if kind in (Operand.FLAG, Operand.BOOLEAN):
        if not isinstance(raw, bool):
            raise ChoiceRuleError(f"must be {kind.value}", location)
        return raw, None
    if kind is Operand.NUMBER:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or raw != raw:
            raise ChoiceRuleError(f"must be {kind.value}", location)
        return operator.operand_key(raw), None  # type: ignore[misc]
    if not isinstance(raw, str):
        raise ChoiceRuleError(f"must be {kind.value}", location)
    if kind is Operand.TIMESTAMP:
        key = timestamp_key(raw)
        if key is None:
            raise ChoiceRuleError(
                f"{raw!r} is not a timestamp: use RFC 3339 with an uppercase T and Z or a "
                "numeric offset, e.g. 2016-08-18T17:33:00Z",
                location,
            )
        return key, None
    if kind is Operand.PATTERN:
        try:
            return compile_star_pattern(raw), None
        except ValueError as exc:
            message, column = exc.args
            raise ExpressionError(f"{_where(location)}: {message}", raw, column) from None
    return raw, None  # Operand.STRING


def _compile(raw: JSON, top_level: bool, location: Location) -> ChoiceRule:
    if not isinstance(raw, dict):
        raise ChoiceRuleError("a Choice Rule must be an object", location)
    operators = [name for name in raw if name in OPERATORS or name in _BOOLEAN_OPERATORS]
    unknown = [
        name
        for name in raw
        if name not in OPERATORS
        and name not in _BOOLEAN_OPERATORS
        and name not in _TOP_LEVEL_ONLY
        and name not in _ANYWHERE
        and name != "Variable"
    ]
    if unknown:
        raise ChoiceRuleError(f"unknown field {unknown[0]!r}", (*location, unknown[0]))
    if len(operators) != 1:
        found = ", ".join(operators) if operators else "none"
        raise ChoiceRuleError(f"a Choice Rule needs exactly one operator (found {found})", location)
    name = operators[0]

    next_state = raw.get("Next")
    if top_level:
        if not isinstance(next_state, str) or not next_state:
            raise ChoiceRuleError("a top-level Choice Rule needs a Next state name", location)
    else:
        for field in _TOP_LEVEL_ONLY:
            if field in raw:
                raise ChoiceRuleError(
                    f"{field} is only allowed in a top-level Choice Rule", (*location, field)
                )
    comment = raw.get("Comment")
    if comment is not None and not isinstance(comment, str):
        raise ChoiceRuleError("must be a string", (*location, "Comment"))
    assign = raw.get("Assign")

    if name in _BOOLEAN_OPERATORS:
        if "Variable" in raw:
            raise ChoiceRuleError(f"{name} does not take a Variable", (*location, "Variable"))
        value = raw[name]
        if name == "Not":
            rules: tuple[ChoiceRule, ...] = (_compile(value, False, (*location, "Not")),)
        else:
            if not isinstance(value, list) or not value:
                raise ChoiceRuleError(
                    f"{name} must be a non-empty array of Choice Rules", (*location, name)
                )
            rules = tuple(
                _compile(item, False, (*location, name, i)) for i, item in enumerate(value)
            )
        return BooleanRule(name, rules, next_state, assign, comment)

    if "Variable" not in raw:
        raise ChoiceRuleError(f"{name} needs a Variable", location)
    variable = _compile_path(raw["Variable"], (*location, "Variable"))
    operator = OPERATORS[name]
    operand, operand_path = _compile_operand(operator, raw[name], (*location, name))
    return DataTestRule(
        variable,
        operator,
        operand,
        operand_path,
        next_state if top_level else None,
        assign,
        comment,
    )


def compile_choice_rule(raw: dict[str, JSON], *, top_level: bool = True) -> ChoiceRule:
    """Compile one entry of a Choice state's ``Choices`` (or a nested rule).

    Raises :class:`ChoiceRuleError` or :class:`~statemachine.errors.ExpressionError`.
    """
    return _compile(raw, top_level, ())
