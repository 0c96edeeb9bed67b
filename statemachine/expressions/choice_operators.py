"""The Choice-rule comparison operators of JSONPath mode, in one table.

Every data-test operator is a row of :data:`OPERATORS`: what its operand in the
definition must be (checked once, when the rule is compiled) and how it tests the value
the rule's ``Variable`` selects. The rules the rows encode, from the ASL spec and the AWS
developer guide:

* A value of the wrong JSON type makes a comparison false; nothing is coerced, no error
  is raised. Booleans are not numbers (Python's ``True == 1`` is not allowed to leak in).
* Strings compare like Java's ``String.compareTo`` (AWS cites it): by UTF-16 code unit,
  case-sensitively, with no Unicode normalization.
* Numbers compare as IEEE binary64 doubles, as AWS warns: integers beyond 2**53 may
  compare "wrongly", the same way they do there.
* Timestamps must be RFC 3339 strings with uppercase ``T``/``Z`` (see
  :mod:`statemachine.expressions.timestamps`); they compare as instants, so the same
  moment written with two offsets is equal. A string that is not such a timestamp makes
  a ``Timestamp*`` comparison false (it can still match ``StringEquals``).
* ``StringMatches``: ``*`` matches any run of characters (newlines included); ``\\*`` in
  the JSON text is a literal star and ``\\\\`` a literal backslash; no other character
  is special, and any other backslash is a malformed pattern.
* Every comparison has a ``...Path`` twin (except ``StringMatches``) whose operand is a
  Reference Path resolved against the same input.
* ``Is*`` operators take ``true`` or ``false``: ``"IsNull": false`` holds for a value
  that is not null. ``IsPresent`` is the only operator that tolerates a missing
  ``Variable`` (see :mod:`statemachine.expressions.choice`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from statemachine.expressions.context import JSON
from statemachine.expressions.timestamps import timestamp_key

__all__ = ["OPERATORS", "Operand", "Operator", "StarPattern", "compile_star_pattern"]


class Operand(Enum):
    """What an operator's operand must be in the definition."""

    STRING = "a string"
    NUMBER = "a number"
    BOOLEAN = "a boolean (true or false)"
    TIMESTAMP = "a timestamp string such as 2016-08-18T17:33:00Z"
    PATTERN = "a string pattern"
    PATH = "a reference path string"
    FLAG = "true or false"


# ------------------------------------------------------------------ value coercions
# Each returns a comparison key, or None when the value is not of the operator's type.


def _string_key(value: JSON) -> str | None:
    return value if isinstance(value, str) else None


def _number_key(value: JSON) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer beyond the double range compares as infinity
        return math.inf if value > 0 else -math.inf


def _boolean_key(value: JSON) -> bool | None:
    return value if isinstance(value, bool) else None


def _timestamp_key(value: JSON) -> tuple[int, int] | None:
    return timestamp_key(value) if isinstance(value, str) else None


def _utf16_order(a: str, b: str) -> int:
    """Java ``String.compareTo`` order; differs from code points only beyond the BMP."""
    if a == b:
        return 0
    if not (a.isascii() and b.isascii()) and max(a + b) > "\uffff":
        a16, b16 = a.encode("utf-16-be"), b.encode("utf-16-be")
        return (a16 > b16) - (a16 < b16)
    return (a > b) - (a < b)


def _natural_order(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


# ---------------------------------------------------------------- StringMatches


@dataclass(frozen=True, slots=True)
class StarPattern:
    """A ``StringMatches`` pattern split at its wildcards into literal pieces.

    Matching is the classic greedy glob walk (anchor the first and last pieces, find the
    middle ones left to right), linear in practice and free of the catastrophic
    backtracking a ``.*a.*a.*b`` regular expression can fall into.
    """

    pieces: tuple[str, ...]  # len == number of stars + 1

    def matches(self, text: str) -> bool:
        pieces = self.pieces
        if len(pieces) == 1:
            return text == pieces[0]
        first, last = pieces[0], pieces[-1]
        if len(text) < len(first) + len(last) or not text.startswith(first):
            return False
        if not text.endswith(last):
            return False
        position, end = len(first), len(text) - len(last)
        for piece in pieces[1:-1]:
            found = text.find(piece, position, end)
            if found < 0:
                return False
            position = found + len(piece)
        return True


def compile_star_pattern(pattern: str) -> StarPattern:
    """Split ``pattern``; raise ``ValueError(message, column)`` on a stray backslash."""
    pieces: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            pieces.append("".join(current))
            current = []
        elif char == "\\":
            following = pattern[i + 1 : i + 2]
            if following not in ("*", "\\"):
                raise ValueError(
                    "a backslash in a StringMatches pattern must escape '*' or '\\'", i
                )
            current.append(following)
            i += 1
        else:
            current.append(char)
        i += 1
    pieces.append("".join(current))
    return StarPattern(tuple(pieces))


# ------------------------------------------------------------------------- table

_RELATIONS: Final[dict[str, Callable[[int], bool]]] = {
    "Equals": lambda order: order == 0,
    "LessThan": lambda order: order < 0,
    "GreaterThan": lambda order: order > 0,
    "LessThanEquals": lambda order: order <= 0,
    "GreaterThanEquals": lambda order: order >= 0,
}


@dataclass(frozen=True, slots=True)
class Operator:
    """One data-test operator.

    ``operand`` is what the definition must give; ``key`` turns a JSON value into a
    comparable key (``None``: wrong type, the test is false); ``test`` decides from the
    variable's key and the operand's key (or, for ``Is*``/``StringMatches``, from the raw
    variable value and the compiled operand).
    """

    name: str
    operand: Operand
    key: Callable[[JSON], Any] | None
    test: Callable[[Any, Any], bool]
    operand_key: Callable[[JSON], Any] | None = None

    @property
    def is_path(self) -> bool:
        return self.operand is Operand.PATH


def _comparison(
    type_name: str, relation: str, operand: Operand, key: Callable[[JSON], Any]
) -> list[Operator]:
    order = _utf16_order if type_name == "String" else _natural_order
    holds = _RELATIONS[relation]

    def test(left: Any, right: Any) -> bool:
        return holds(order(left, right))

    name = f"{type_name}{relation}"
    return [
        Operator(name, operand, key, test, key),
        Operator(f"{name}Path", Operand.PATH, key, test, key),
    ]


def _is(predicate: Callable[[JSON], bool]) -> Callable[[Any, Any], bool]:
    def test(value: Any, expected: Any) -> bool:
        return predicate(value) is expected

    return test


def _matches(value: Any, pattern: Any) -> bool:
    return isinstance(value, str) and pattern.matches(value)


def _build_table() -> dict[str, Operator]:
    rows: list[Operator] = []
    for relation in _RELATIONS:
        rows += _comparison("String", relation, Operand.STRING, _string_key)
        rows += _comparison("Numeric", relation, Operand.NUMBER, _number_key)
        rows += _comparison("Timestamp", relation, Operand.TIMESTAMP, _timestamp_key)
    rows += _comparison("Boolean", "Equals", Operand.BOOLEAN, _boolean_key)
    rows += [
        Operator("StringMatches", Operand.PATTERN, None, _matches),
        Operator("IsNull", Operand.FLAG, None, _is(lambda v: v is None)),
        Operator("IsPresent", Operand.FLAG, None, _is(lambda v: True)),
        Operator("IsNumeric", Operand.FLAG, None, _is(lambda v: _number_key(v) is not None)),
        Operator("IsString", Operand.FLAG, None, _is(lambda v: isinstance(v, str))),
        Operator("IsBoolean", Operand.FLAG, None, _is(lambda v: isinstance(v, bool))),
        Operator("IsTimestamp", Operand.FLAG, None, _is(lambda v: _timestamp_key(v) is not None)),
    ]
    return {row.name: row for row in rows}


OPERATORS: Final[dict[str, Operator]] = _build_table()
"""Every JSONPath-mode data-test operator by name (39 rows)."""
