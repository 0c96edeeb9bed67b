"""JSONPath filter comparisons, the way Jayway JsonPath (used by AWS) performs them.

Operands of a filter such as ``[?(@.price < 10)]`` become ``(kind, value)`` pairs mirroring
Jayway's ValueNode classes, and :func:`_compare` applies an operator to two of them: numbers
compare as ``BigDecimal``, strings as Java's ``String.compareTo``, a string equals a number
when it reads as the same ``BigDecimal``, and JSON arrays/objects only compare for equality.
Evaluating the operands themselves (``@...`` paths) stays in :mod:`.jsonpath`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from statemachine.expressions.context import JSON
from statemachine.expressions.intrinsic_values import java_double

# Operands become (kind, value) pairs mirroring Jayway's ValueNode classes:
# "undef", "null", "bool", "num" (Decimal), "str", "json" (list or dict).

_UNDEF: tuple[str, Any] = ("undef", None)
_BIG_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _value_node(value: JSON) -> tuple[str, Any]:
    if value is None:
        return "null", None
    if value is True or value is False:
        return "bool", value
    if isinstance(value, str):
        return "str", value
    if isinstance(value, int):
        return "num", value  # ints compare exactly with Decimal; no conversion needed
    if isinstance(value, float):
        return "num", Decimal(java_double(value))
    return "json", value


def _compare(op: str, left: tuple[str, Any], right: tuple[str, Any]) -> bool:
    if op == "==":
        return _equals(left, right)
    if op == "!=":
        return not _equals(left, right)
    if op == "===":
        return left[0] == right[0] and _equals(left, right)
    if op == "!==":
        return not (left[0] == right[0] and _equals(left, right))
    order = _order(left, right)
    if order is None:
        return False
    if op == "<":
        return order < 0
    if op == "<=":
        return order <= 0
    if op == ">":
        return order > 0
    return order >= 0  # ">="


def _equals(left: tuple[str, Any], right: tuple[str, Any]) -> bool:
    lk, lv = left
    rk, rv = right
    if lk == "json":
        return rk == "json" and _json_equal(lv, rv)
    if lk == "str":
        if rk == "str":
            return lv == rv
        return rk == "num" and lv == str(rv)  # Jayway: number as BigDecimal text
    if lk == "num":
        if rk == "num":
            return lv == rv
        return rk == "str" and _BIG_DECIMAL.fullmatch(rv) is not None and lv == Decimal(rv)
    if lk == "bool":
        return rk == "bool" and lv == rv
    return lk == "null" and rk == "null"


def _order(left: tuple[str, Any], right: tuple[str, Any]) -> int | None:
    lk, lv = left
    rk, rv = right
    if lk == "num" and rk == "num":
        return (lv > rv) - (lv < rv)
    if lk == "str" and rk == "str":
        return _java_compare(lv, rv)
    if lk == "str" and rk == "num":
        return _java_compare(lv, str(rv))
    if lk == "num" and rk == "str":
        return _java_compare(str(lv), rv)
    return None


def _java_compare(a: str, b: str) -> int:
    """Java ``String.compareTo``: UTF-16 code units, which differs from code points
    only when a character outside the Basic Multilingual Plane is involved."""
    if a == b:
        return 0
    if not (a.isascii() and b.isascii()) and max(a + b) > "\uffff":
        a8, b8 = a.encode("utf-16-be"), b.encode("utf-16-be")
        return (a8 > b8) - (a8 < b8)
    return (a > b) - (a < b)


def _json_equal(a: JSON, b: JSON) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(_json_equal(v, b[k]) for k, v in a.items())
        )
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_json_equal, a, b))
    return type(a) is type(b) and a == b
