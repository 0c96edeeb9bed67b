"""The 18 ASL intrinsic functions, declared in one table.

Every function is a :class:`Signature`: its parameters with the JSON kind (and optional
rule) each accepts, an optional repeated trailing parameter, and a plain Python
implementation. Arity is checked by :meth:`Signature.check_arity` and arguments by
:meth:`Signature.checker`, and nowhere else: the parser runs them on literal arguments at
compile time, :meth:`Signature.prepared` runs the argument checks on evaluated values at
run time.

Where AWS Step Functions and the ASL specification disagree, AWS wins (DESIGN.md). The AWS
behaviours below were taken from the Step Functions developer guide ("Intrinsic functions for
JSONPath states") and from executions recorded against AWS; each docstring says which.

AWS runs on the JVM, so its rendering of values is Java's: :func:`to_json_text` writes compact
JSON the way Jackson does and :func:`format_value` writes values the way ``String.valueOf``
does (``1.0E7``, ``{a=1, b=[x, y]}``); Python's ``repr`` and ``json.dumps`` differ from both.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from statemachine.expressions.context import JSON
from statemachine.expressions.intrinsic_values import (
    _COERCE,
    FunctionError,
    Kind,
    _canonical,
    coerce,
    format_value,
    java_double,
    json_equal,
    to_json_text,
)
from statemachine.expressions.intrinsic_values import (
    java_round as java_round,
)

__all__ = [
    "FUNCTIONS",
    "FunctionError",
    "Kind",
    "Param",
    "Signature",
    "coerce",
    "format_value",
    "java_double",
    "json_equal",
    "to_json_text",
]

#: AWS caps the string given to States.Base64Encode/Base64Decode/Hash at 10,000 characters.
MAX_STRING_INPUT: Final = 10_000
#: AWS caps the array built by States.ArrayRange at 1,000 items.
MAX_RANGE_ITEMS: Final = 1_000
#: The digests States.Hash accepts, by the exact names AWS documents.
HASH_ALGORITHMS: Final = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


# --------------------------------------------------------------------------- signatures


@dataclass(frozen=True, slots=True)
class Param:
    """One declared parameter.

    ``rule`` is an extra constraint on the coerced value (returns the problem, or None);
    like the kind it is checked on literals at compile time and on other values at run time.
    ``literal=False`` means the argument must be a path or a nested call (the spec requires a
    Path for States.JsonToString). ``raw=True`` means a string literal reaches the function
    with its backslash escapes still in it (States.Format gives ``\\{`` a meaning).
    """

    name: str
    kind: Kind = Kind.ANY
    rule: Callable[[Any], str | None] | None = None
    literal: bool = True
    raw: bool = False


@dataclass(frozen=True, slots=True)
class Signature:
    """A function: ``params`` (the last ``optional`` of them may be omitted), an optional
    repeated ``rest`` parameter, the implementation, and whether it draws randomness
    (``uses_rng``: the implementation receives ``ctx.rng`` first and is never evaluated
    ahead of time)."""

    name: str
    params: tuple[Param, ...]
    impl: Callable[..., JSON]
    optional: int = 0
    rest: Param | None = None
    uses_rng: bool = False
    check_literals: Callable[[Sequence[Any]], tuple[int, str] | None] | None = None

    @property
    def min_args(self) -> int:
        return len(self.params) - self.optional

    @property
    def max_args(self) -> int | None:
        return None if self.rest is not None else len(self.params)

    def param(self, index: int) -> Param | None:
        if index < len(self.params):
            return self.params[index]
        return self.rest

    def arity_text(self) -> str:
        low, high = self.min_args, self.max_args
        if high is None:
            return f"at least {low} argument{'s' * (low != 1)}"
        if low == high:
            return f"exactly {low} argument{'s' * (low != 1)}"
        return f"{low} to {high} arguments"

    def check_arity(self, count: int) -> str | None:
        high = self.max_args
        if count < self.min_args or (high is not None and count > high):
            return f"{self.name} takes {self.arity_text()}, got {count}"
        return None

    def checker(self, index: int) -> Callable[[JSON], JSON] | None:
        """The check of argument ``index`` (0-based): kind, then rule; None if the parameter
        accepts anything. The single definition of argument checking: the parser runs it on
        literals, compiled calls run it on everything else."""
        param = self.param(index)
        assert param is not None
        convert, rule = _COERCE[param.kind], param.rule
        if convert is None and rule is None:
            return None
        label = f"argument {index + 1} ({param.name})"

        def check(value: JSON) -> JSON:
            if convert is not None:
                try:
                    value = convert(value)
                except FunctionError as exc:
                    raise FunctionError(f"{label}: {exc.detail}") from None
            if rule is not None:
                problem = rule(value)
                if problem is not None:
                    raise FunctionError(f"{label}: {problem}")
            return value

        return check

    def check_kind(self, index: int, value: JSON) -> JSON:
        """Only the type half of :meth:`checker` (a string where a number is due): what the
        parser rejects in literals. Value rules (a zero step, a placeholder count) are left
        to run time, where AWS reports them."""
        param = self.param(index)
        assert param is not None
        convert = _COERCE[param.kind]
        if convert is None:
            return value
        try:
            return convert(value)
        except FunctionError as exc:
            raise FunctionError(f"argument {index + 1} ({param.name}): {exc.detail}") from None

    def check_argument(self, index: int, value: JSON) -> JSON:
        """Run :meth:`checker` for one argument; FunctionError if refused."""
        check = self.checker(index)
        return value if check is None else check(value)

    def prepared(self, count: int) -> Callable[[list[JSON], random.Random], JSON]:
        """A call taking ``count`` evaluated arguments (already known to be a valid count):
        checks each argument, runs the implementation, and names the function in errors."""
        problem = self.check_arity(count)
        if problem is not None:
            raise ValueError(problem)
        checks = tuple(
            (index, check) for index in range(count) if (check := self.checker(index)) is not None
        )
        impl, uses_rng, name = self.impl, self.uses_rng, self.name

        def call(values: list[JSON], rng: random.Random) -> JSON:
            try:
                for index, check in checks:
                    values[index] = check(values[index])
                if uses_rng:
                    return impl(rng, *values)
                return impl(*values)
            except FunctionError as exc:
                raise FunctionError(f"Invalid arguments in {name}: {exc.detail}") from None

        return call

    def apply(self, values: Sequence[JSON], rng: random.Random) -> JSON:
        """Check the count and the arguments, then call; FunctionError if refused."""
        problem = self.check_arity(len(values))
        if problem is not None:
            raise FunctionError(f"Invalid arguments in {self.name}: {problem}")
        return self.prepared(len(values))(list(values), rng)


# --------------------------------------------------------------------------- helpers


def _utf16_length(text: str) -> int:
    """String length as Java counts it (UTF-16 code units), which is what AWS limits."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _max_length(text: str) -> str | None:
    if _utf16_length(text) > MAX_STRING_INPUT:
        return f"the string must be at most {MAX_STRING_INPUT} characters long"
    return None


def _positive(value: int) -> str | None:
    return None if value > 0 else f"must be a positive integer, got {value}"


def _non_zero(value: int) -> str | None:
    return None if value != 0 else "the step must not be zero"


def _hash_name(value: str) -> str | None:
    if value in HASH_ALGORITHMS:
        return None
    return f"unsupported algorithm '{value}'; use one of {', '.join(HASH_ALGORITHMS)}"


def _shallow_only(value: bool) -> str | None:
    return None if value is False else "deep merge is not supported; pass false"


# --------------------------------------------------------------------------- States.Format


@lru_cache(maxsize=512)
def parse_format_template(template: str) -> tuple[str | None, ...]:
    """Split a States.Format template into literal text and ``None`` for each ``{}``.

    ``\\{``, ``\\}``, ``\\'`` and ``\\\\`` stand for the character itself (AWS reserves
    these four); a backslash before anything else is kept as written (only reachable for a
    template taken from the input, since the parser rejects such escapes in literals). A
    ``{`` not followed by ``}``, or a lone ``}``, is an error: write ``\\{`` for a brace.
    """
    parts: list[str | None] = []
    text: list[str] = []
    index, end = 0, len(template)
    while index < end:
        char = template[index]
        if char == "\\" and index + 1 < end and template[index + 1] in "{}'\\":
            text.append(template[index + 1])
            index += 2
            continue
        if char == "{":
            if index + 1 < end and template[index + 1] == "}":
                parts.append("".join(text))
                parts.append(None)
                text.clear()
                index += 2
                continue
            raise FunctionError(
                f"unescaped '{{' at offset {index} of the template is not followed by '}}' "
                "(write \\{ for a literal brace)"
            )
        if char == "}":
            raise FunctionError(
                f"unmatched '}}' at offset {index} of the template (write \\}} for a literal brace)"
            )
        text.append(char)
        index += 1
    parts.append("".join(text))
    return tuple(p for p in parts if p != "")


@lru_cache(maxsize=512)
def _format_pattern(template: str) -> tuple[int, str]:
    """(number of ``{}``, the template as a ``str.format`` pattern)."""
    parts = parse_format_template(template)
    pattern = "".join(
        "{}" if part is None else part.replace("{", "{{").replace("}", "}}") for part in parts
    )
    return parts.count(None), pattern


def _format(template: str, *values: JSON) -> str:
    """States.Format: the template with each ``{}`` replaced, in order, by the rendering of
    the next argument (:func:`format_value`). There must be exactly as many arguments after
    the template as there are ``{}``."""
    holes, pattern = _format_pattern(template)
    if holes != len(values):
        given = len(values)
        raise FunctionError(
            f"the template has {holes} placeholder{'s' * (holes != 1)} '{{}}' "
            f"but {given} value{' was' if given == 1 else 's were'} given"
        )
    return pattern.format(*map(format_value, values))


def _check_format_literals(args: Sequence[Any]) -> tuple[int, str] | None:
    template = args[0]
    if not isinstance(template, str):
        return None
    try:
        parts = parse_format_template(template)
    except FunctionError as exc:
        return 0, exc.detail
    holes = parts.count(None)
    if holes != len(args) - 1:
        return 0, (
            f"the template has {holes} placeholder{'s' * (holes != 1)} '{{}}' "
            f"but {len(args) - 1} value{'s follow' if len(args) != 2 else ' follows'} it"
        )
    return None


# --------------------------------------------------------------------------- implementations


def _reject_constant(name: str) -> JSON:
    raise ValueError(f"{name} is not valid JSON")


def _string_to_json(text: str) -> JSON:
    """States.StringToJson: parse the string as JSON. AWS returns null for an empty or
    all-whitespace string (recorded executions); anything else must be one JSON text."""
    if not text.strip(" \t\r\n"):
        return None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise FunctionError(f"the string is not valid JSON ({exc})") from None


def _json_to_string(value: JSON) -> str:
    """States.JsonToString: compact JSON text of the value (AWS: ``{"a":1,"b":[]}``)."""
    return to_json_text(value)


def _array(*values: JSON) -> list[JSON]:
    """States.Array: the arguments, in order, as an array."""
    return list(values)


def _array_partition(array: list[JSON], size: int) -> list[list[JSON]]:
    """States.ArrayPartition: consecutive chunks of ``size`` items; the last may be shorter."""
    return [array[i : i + size] for i in range(0, len(array), size)]


def _array_contains(array: list[JSON], value: JSON) -> bool:
    """States.ArrayContains: whether some item equals ``value`` (structural equality)."""
    wanted = _canonical(value)
    return any(_canonical(item) == wanted for item in array)


def _array_range(start: int, end: int, step: int) -> list[int]:
    """States.ArrayRange: start, start+step, ... up to and including ``end`` (AWS example:
    (1, 9, 2) -> [1, 3, 5, 7, 9]); arguments rounded to integers; step non-zero; at most
    1,000 items. A step pointing away from ``end`` gives an empty array."""
    count = 0 if (end - start) * step < 0 else (end - start) // step + 1
    if count > MAX_RANGE_ITEMS:
        raise FunctionError(
            f"the range would have {count} items; at most {MAX_RANGE_ITEMS} are allowed"
        )
    return list(range(start, end + (1 if step > 0 else -1), step))


def _array_get_item(array: list[JSON], index: int) -> JSON:
    """States.ArrayGetItem: the item at a 0-based index."""
    if not 0 <= index < len(array):
        raise FunctionError(f"index {index} is out of bounds for an array of length {len(array)}")
    return array[index]


def _array_length(array: list[JSON]) -> int:
    """States.ArrayLength: the number of items."""
    return len(array)


def _array_unique(array: list[JSON]) -> list[JSON]:
    """States.ArrayUnique: the items without repeats, first occurrence kept, order kept."""
    seen: set[Any] = set()
    unique: list[JSON] = []
    for item in array:
        key = _canonical(item)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _base64_encode(text: str) -> str:
    """States.Base64Encode: Base64 of the UTF-8 bytes, one line, padded."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


_NOT_BASE64: Final = re.compile(r"[^A-Za-z0-9+/]")


def _base64_decode(text: str) -> str:
    """States.Base64Decode: decode (MIME rules: characters outside the alphabet are skipped,
    padding optional) and read the bytes as UTF-8."""
    body = _NOT_BASE64.sub("", text.split("=", 1)[0])
    if len(body) % 4 == 1:
        raise FunctionError("the string is not valid Base64")
    try:
        data = base64.b64decode(body + "=" * (-len(body) % 4))
    except binascii.Error:
        raise FunctionError("the string is not valid Base64") from None
    return data.decode("utf-8", errors="replace")


def _hash(text: str, algorithm: str) -> str:
    """States.Hash: lower-case hex digest of the UTF-8 bytes."""
    import hashlib  # imported on use: it and uuid cost ~8 ms at startup

    return hashlib.new(HASH_ALGORITHMS[algorithm], text.encode("utf-8")).hexdigest()


def _json_merge(first: dict[str, JSON], second: dict[str, JSON], deep: bool) -> dict[str, JSON]:
    """States.JsonMerge: shallow merge, keys of the second object win; nested objects are
    replaced, not merged. AWS only supports ``false`` for the third argument."""
    return first | second


def _math_random(rng: random.Random, start: int, end: int, seed: int | None = None) -> int:
    """States.MathRandom: an integer with start <= n < end (Java's convention; AWS does not
    document whether ``end`` is included). Bounds and seed are rounded to integers. With a
    seed the result is a pure function of (start, end, seed); without one it comes from the
    execution's own random source, so a resumed run computes the same number."""
    if end <= start:
        raise FunctionError(f"the end ({end}) must be greater than the start ({start})")
    source = rng if seed is None else random.Random(seed)
    return source.randrange(start, end)


def _math_add(first: int, second: int) -> int:
    """States.MathAdd: the sum; each operand is first rounded to an integer (AWS)."""
    return first + second


@lru_cache(maxsize=128)
def _delimiter_pattern(delimiters: str) -> re.Pattern[str]:
    return re.compile("[" + re.escape(delimiters) + "]")


def _string_split(text: str, delimiters: str) -> list[str]:
    """States.StringSplit: split on *any* character of the second argument and drop empty
    pieces, like Java's ``StringTokenizer``. AWS recorded: ("This.is+a,test=string", ".+,=")
    -> [This, is, a, test, string]; (",,,,", ",") -> []; (" , ", ",") -> [" ", " "]."""
    if not delimiters:
        return [text] if text else []
    if len(delimiters) == 1:
        return [piece for piece in text.split(delimiters) if piece]
    return [piece for piece in _delimiter_pattern(delimiters).split(text) if piece]


def _uuid(rng: random.Random) -> str:
    """States.UUID: a version 4 UUID drawn from the execution's random source."""
    import uuid

    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# --------------------------------------------------------------------------- the table

_STR = Kind.STRING
_ARR = Kind.ARRAY


def _sig(name: str, *params: Param, **options: Any) -> tuple[str, Signature]:
    full = f"States.{name}"
    return full, Signature(full, params, **options)


#: Every intrinsic by its full name. The parser looks names up here and nowhere else.
FUNCTIONS: Final[dict[str, Signature]] = dict(
    [
        _sig(
            "Format",
            Param("template", _STR, raw=True),
            impl=_format,
            rest=Param("value"),
            check_literals=_check_format_literals,
        ),
        _sig("StringToJson", Param("string", _STR), impl=_string_to_json),
        _sig("JsonToString", Param("value", literal=False), impl=_json_to_string),
        _sig("Array", impl=_array, rest=Param("item")),
        _sig(
            "ArrayPartition",
            Param("array", _ARR),
            Param("chunk size", Kind.INTEGER, _positive),
            impl=_array_partition,
        ),
        _sig("ArrayContains", Param("array", _ARR), Param("value"), impl=_array_contains),
        _sig(
            "ArrayRange",
            Param("start", Kind.ROUNDED),
            Param("end", Kind.ROUNDED),
            Param("step", Kind.ROUNDED, _non_zero),
            impl=_array_range,
        ),
        _sig(
            "ArrayGetItem",
            Param("array", _ARR),
            Param("index", Kind.INTEGER),
            impl=_array_get_item,
        ),
        _sig("ArrayLength", Param("array", _ARR), impl=_array_length),
        _sig("ArrayUnique", Param("array", _ARR), impl=_array_unique),
        _sig("Base64Encode", Param("string", _STR, _max_length), impl=_base64_encode),
        _sig("Base64Decode", Param("string", _STR, _max_length), impl=_base64_decode),
        _sig(
            "Hash",
            Param("data", _STR, _max_length),
            Param("algorithm", _STR, _hash_name),
            impl=_hash,
        ),
        _sig(
            "JsonMerge",
            Param("first object", Kind.OBJECT),
            Param("second object", Kind.OBJECT),
            Param("deep merge", Kind.BOOLEAN, _shallow_only),
            impl=_json_merge,
        ),
        _sig(
            "MathRandom",
            Param("start", Kind.ROUNDED),
            Param("end", Kind.ROUNDED),
            Param("seed", Kind.ROUNDED),
            impl=_math_random,
            optional=1,
            uses_rng=True,
        ),
        _sig(
            "MathAdd", Param("first", Kind.ROUNDED), Param("second", Kind.ROUNDED), impl=_math_add
        ),
        _sig("StringSplit", Param("string", _STR), Param("delimiters", _STR), impl=_string_split),
        _sig("UUID", impl=_uuid, uses_rng=True),
    ]
)
