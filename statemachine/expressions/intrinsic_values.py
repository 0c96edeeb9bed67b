"""Value handling shared by the ASL intrinsic functions (and the JSONPath engine).

AWS runs on the JVM, so its rendering of values is Java's: :func:`to_json_text` writes compact
JSON the way Jackson does and :func:`format_value` writes values the way ``String.valueOf``
does (``1.0E7``, ``{a=1, b=[x, y]}``); Python's ``repr`` and ``json.dumps`` differ from both.
:func:`java_double` is ``Double.toString``. The second half is the argument-kind machinery:
:class:`Kind`, :func:`coerce` and :func:`java_round`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import Enum
from typing import Any, Final

from statemachine.expressions.context import JSON

__all__ = [
    "FunctionError",
    "Kind",
    "coerce",
    "format_value",
    "java_double",
    "java_round",
    "json_equal",
    "to_json_text",
]


class FunctionError(Exception):
    """An intrinsic refused its arguments. ``Intrinsic.evaluate`` turns it into
    ``States.IntrinsicFailure``; the parser turns it into an ``ExpressionError`` when the
    argument is a literal."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


# --------------------------------------------------------------------------- Java rendering


def java_double(value: float) -> str:
    """``Double.toString``: plain notation for 1e-3 <= |x| < 1e7, else ``d.dddE±n``; always
    at least one fractional digit. Digits are the shortest round-trip ones, as in Python's
    ``repr`` (and Java since JDK 19)."""
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    text = repr(value)
    sign = ""
    if text[0] == "-":
        sign, text = "-", text[1:]
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    exp10 = point - 1
    if -3 <= exp10 < 7:
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return f"{sign}{digits}{'0' * (point - len(digits))}.0"
        return f"{sign}{digits[:point]}.{digits[point:]}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exp10}"


# Jackson escapes '"', '\\' and every control character; \b \t \n \f \r get their short form,
# the rest \u00XX with upper-case hex. Non-ASCII text and '/' are written as they are.
_JSON_ESCAPES: Final = {i: f"\\u{i:04X}" for i in range(0x20)} | {
    ord('"'): '\\"',
    ord("\\"): "\\\\",
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0C: "\\f",
    0x0D: "\\r",
}


def _json_parts(value: JSON, out: list[str]) -> None:
    if isinstance(value, str):
        out.append('"' + value.translate(_JSON_ESCAPES) + '"')
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(java_double(value))
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append('"' + str(key).translate(_JSON_ESCAPES) + '":')
            _json_parts(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _json_parts(item, out)
        out.append("]")
    else:
        raise TypeError(f"not a JSON value: {type(value).__name__}")


def to_json_text(value: JSON) -> str:
    """Compact JSON as Jackson writes it: no spaces, Java number text, raw Unicode. Used by
    States.JsonToString and by every error cause that quotes an input."""
    out: list[str] = []
    _json_parts(value, out)
    return "".join(out)


def format_value(value: JSON) -> str:
    """How States.Format renders a value: strings bare, ``null``/``true``/``false``, Java
    number text, and arrays/objects as Java's ``List``/``Map.toString`` (``[1, x]``,
    ``{a=1, b=[]}``). AWS executions recorded by LocalStack show objects rendered this way;
    the ASL specification instead says such arguments are invalid -- AWS wins (DESIGN.md)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={format_value(v)}" for k, v in value.items()) + "}"
    return "[" + ", ".join(format_value(v) for v in value) + "]"


# --------------------------------------------------------------------------- JSON equality

_BOOL: Final = object()
_ARRAY: Final = object()
_OBJECT: Final = object()


def _canonical(value: JSON) -> Any:
    """A hashable stand-in: equal JSON values (object key order ignored, 1 == 1.0, but
    ``true`` != 1) get equal stand-ins."""
    if isinstance(value, bool):
        return (_BOOL, value)
    if isinstance(value, list):
        return (_ARRAY, tuple(_canonical(v) for v in value))
    if isinstance(value, dict):
        return (_OBJECT, frozenset((k, _canonical(v)) for k, v in value.items()))
    return value


def json_equal(left: JSON, right: JSON) -> bool:
    """Structural JSON equality (booleans are not numbers)."""
    return _canonical(left) == _canonical(right)


# --------------------------------------------------------------------------- kinds


def _describe(value: JSON) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _is_number(value: JSON) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def java_round(value: int | float) -> int:
    """``Math.round``: halves go up (towards positive infinity): 2.5 -> 3, -2.5 -> -2.
    AWS recorded MathAdd(1.5, 1.51) = 4 and MathAdd(-1.49, -1.5) = -2, i.e. each operand
    rounded this way, and documents the same rounding for MathRandom and ArrayRange."""
    if isinstance(value, int):
        return value
    if not math.isfinite(value):
        raise FunctionError(f"expected a finite number, got {java_double(value)}")
    return math.floor(value + 0.5)


class Kind(Enum):
    """What a parameter accepts. ``ROUNDED`` takes any number and rounds it to an integer;
    ``INTEGER`` takes only integral numbers (``2.0`` passes as 2)."""

    ANY = "any"
    STRING = "string"
    NUMBER = "number"
    INTEGER = "integer"
    ROUNDED = "rounded"
    BOOLEAN = "boolean"
    ARRAY = "array"
    OBJECT = "object"

    @property
    def description(self) -> str:
        return _KIND_TEXT[self]


_KIND_TEXT: Final = {
    Kind.ANY: "any value",
    Kind.STRING: "a string",
    Kind.NUMBER: "a number",
    Kind.INTEGER: "an integer",
    Kind.ROUNDED: "a number",
    Kind.BOOLEAN: "a boolean",
    Kind.ARRAY: "an array",
    Kind.OBJECT: "an object",
}


def _mismatch(kind: Kind, value: JSON) -> FunctionError:
    return FunctionError(f"expected {kind.description}, got {_describe(value)}")


def _as_string(value: JSON) -> JSON:
    if isinstance(value, str):
        return value
    raise _mismatch(Kind.STRING, value)


def _as_boolean(value: JSON) -> JSON:
    if isinstance(value, bool):
        return value
    raise _mismatch(Kind.BOOLEAN, value)


def _as_array(value: JSON) -> JSON:
    if isinstance(value, list):
        return value
    raise _mismatch(Kind.ARRAY, value)


def _as_object(value: JSON) -> JSON:
    if isinstance(value, dict):
        return value
    raise _mismatch(Kind.OBJECT, value)


def _as_number(value: JSON) -> JSON:
    if _is_number(value):
        return value
    raise _mismatch(Kind.NUMBER, value)


def _as_rounded(value: JSON) -> JSON:
    if _is_number(value):
        return java_round(value)
    raise _mismatch(Kind.ROUNDED, value)


def _as_integer(value: JSON) -> JSON:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _mismatch(Kind.INTEGER, value)


_COERCE: Final[dict[Kind, Callable[[JSON], JSON] | None]] = {
    Kind.ANY: None,
    Kind.STRING: _as_string,
    Kind.NUMBER: _as_number,
    Kind.INTEGER: _as_integer,
    Kind.ROUNDED: _as_rounded,
    Kind.BOOLEAN: _as_boolean,
    Kind.ARRAY: _as_array,
    Kind.OBJECT: _as_object,
}


def coerce(kind: Kind, value: JSON) -> JSON:
    """Check ``value`` against ``kind`` and return the value the implementation receives
    (``ROUNDED``/``INTEGER`` give an int); FunctionError if it does not fit."""
    convert = _COERCE[kind]
    return value if convert is None else convert(value)
