"""Intrinsic function calls (``States.Format('{}', $.name)``): parse once, evaluate many.

Syntax, as the ASL specification and the AWS developer guide describe it:

* a call is ``States.Name(arg, ...)``; whitespace may surround arguments;
* an argument is a string literal in single quotes, a JSON number, ``true``, ``false``,
  ``null``, a path (``$...``, ``$$...`` for the Context object, ``$name...`` for a
  variable) or another call;
* inside a string literal ``'``, ``{``, ``}`` and ``\\`` are reserved and written ``\\'``,
  ``\\{``, ``\\}``, ``\\\\``; AWS calls any other backslash an "open escape" and fails, so
  here it does not compile;
* AWS allows intrinsic calls nested up to 10 deep within a field.

Names, arity and argument types come from the table in :mod:`intrinsic_functions`; literal
arguments are type-checked while compiling, everything else when evaluated. A call whose
arguments are all literals and which draws no randomness is evaluated once, at compile time.

Runtime failures raise ``StatesError("States.IntrinsicFailure", cause)`` where the cause
follows AWS's wording: ``The function '<expression>' had the following error: <detail>``.
A path argument that matches nothing raises the path evaluator's ``PathNotFound`` unchanged;
the payload-template layer turns it into its own error with AWS's cause text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, cast

from statemachine.errors import ExpressionError, StatesError
from statemachine.expressions.context import JSON, EvalContext
from statemachine.expressions.intrinsic_functions import FUNCTIONS, FunctionError, Signature
from statemachine.expressions.jsonpath import JsonPath, compile_path

__all__ = [
    "INTRINSIC_FAILURE",
    "MAX_NESTING",
    "Intrinsic",
    "compile_intrinsic",
    "looks_like_intrinsic",
]

#: AWS: "You can nest up to 10 intrinsic functions within a field".
MAX_NESTING: Final = 10
INTRINSIC_FAILURE: Final = "States.IntrinsicFailure"

_LOOKS_LIKE: Final = re.compile(r"States\.[A-Za-z0-9]+\s*\(")
_NAME: Final = re.compile(r"States\.[A-Za-z0-9]*")
_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_WORD: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS: Final = {"true": True, "false": False, "null": None}
_ESCAPABLE: Final = "'{}\\\""
_SPACE: Final = " \t\r\n"

Evaluator = Callable[[JSON, EvalContext], JSON]


def looks_like_intrinsic(text: str) -> bool:
    """True when ``text`` starts like a call (``States.Xxx(``): such a string in a ``.$``
    field is compiled as an intrinsic, so a misspelt name is reported, not ignored."""
    return _LOOKS_LIKE.match(text) is not None


# --------------------------------------------------------------------------- syntax tree


@dataclass(frozen=True, slots=True)
class _Literal:
    value: JSON
    column: int
    raw: str | None = None  # a string literal's text between the quotes, escapes kept


@dataclass(frozen=True, slots=True)
class _PathArg:
    path: JsonPath
    column: int


@dataclass(frozen=True, slots=True)
class _Call:
    signature: Signature
    args: tuple[_Literal | _PathArg | _Call, ...]
    column: int


_Node = _Literal | _PathArg | _Call


class _Parser:
    """Recursive descent over one expression; every error carries the column it is about."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.paths: list[JsonPath] = []

    def fail(self, message: str, column: int | None = None) -> ExpressionError:
        return ExpressionError(message, self.text, self.pos if column is None else column)

    def skip_space(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in _SPACE:
            pos += 1
        self.pos = pos

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse(self) -> _Call:
        self.skip_space()
        if not self.text.startswith("States.", self.pos):
            raise self.fail("an intrinsic function call must start with 'States.'")
        call = self.call(depth=1)
        self.skip_space()
        if self.pos != len(self.text):
            raise self.fail(f"unexpected {self.peek()!r} after the end of the call")
        return call

    def call(self, depth: int) -> _Call:
        start = self.pos
        match = _NAME.match(self.text, start)
        assert match is not None
        name = match.group()
        signature = FUNCTIONS.get(name)
        if signature is None:
            known = ", ".join(sorted(FUNCTIONS))
            raise self.fail(f"unknown intrinsic function '{name}' (known: {known})", start)
        if depth > MAX_NESTING:
            raise self.fail(f"intrinsic functions are nested more than {MAX_NESTING} deep", start)
        self.pos = match.end()
        self.skip_space()
        if self.peek() != "(":
            raise self.fail(f"expected '(' after {name}")
        self.pos += 1
        args: list[_Node] = []
        self.skip_space()
        if self.peek() == ")":
            self.pos += 1
        else:
            while True:
                self.skip_space()
                args.append(self.argument(depth))
                self.skip_space()
                char = self.peek()
                if char == ",":
                    self.pos += 1
                    continue
                if char == ")":
                    self.pos += 1
                    break
                if not char:
                    raise self.fail(f"missing ')' to close {name}(", len(self.text))
                raise self.fail(f"expected ',' or ')' in the arguments of {name}, got {char!r}")
        return self.check_call(_Call(signature, tuple(args), start), self.pos - 1)

    def argument(self, depth: int) -> _Node:
        start = self.pos
        char = self.peek()
        if char == "'":
            return self.string()
        if char == "$":
            return self.path()
        if self.text.startswith("States.", start):
            return self.call(depth + 1)
        if char == "-" or char.isdigit():
            match = _NUMBER.match(self.text, start)
            if match is None:
                raise self.fail("malformed number")
            self.pos = match.end()
            literal = match.group()
            is_integer = not any(c in literal for c in ".eE")
            return _Literal(int(literal) if is_integer else float(literal), start)
        word = _WORD.match(self.text, start)
        if word is not None and word.group() in _KEYWORDS:
            self.pos = word.end()
            return _Literal(_KEYWORDS[word.group()], start)
        if not char or char in ",)":
            raise self.fail("expected an argument")
        if word is not None:
            raise self.fail(f"unexpected word '{word.group()}': string literals need single quotes")
        raise self.fail(f"unexpected {char!r} where an argument was expected")

    def string(self) -> _Literal:
        start = self.pos
        text = self.text
        pos = start + 1
        chars: list[str] = []
        while True:
            if pos >= len(text):
                raise self.fail("unterminated string literal", start)
            char = text[pos]
            if char == "'":
                break
            if char == "\\":
                if pos + 1 >= len(text):
                    raise self.fail("unterminated string literal", start)
                escaped = text[pos + 1]
                if escaped not in _ESCAPABLE:
                    raise self.fail(
                        f"invalid escape '\\{escaped}': only \\' \\{{ \\}} and \\\\ are allowed",
                        pos,
                    )
                chars.append(escaped)
                pos += 2
                continue
            chars.append(char)
            pos += 1
        self.pos = pos + 1
        return _Literal("".join(chars), start, raw=text[start + 1 : pos])

    def path(self) -> _PathArg:
        """A path runs to the first ``,`` or ``)`` outside brackets, parentheses and quotes
        (so ``$['a,b']`` and filters like ``$[?(@.x)]`` stay whole)."""
        start = self.pos
        text = self.text
        pos, depth, quote = start, 0, ""
        while pos < len(text):
            char = text[pos]
            if quote:
                if char == "\\":
                    pos += 1
                elif char == quote:
                    quote = ""
            elif char in "'\"" and depth:
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                break
            pos += 1
        source = text[start:pos].rstrip(_SPACE)
        try:
            path = compile_path(source)
        except ExpressionError as exc:
            raise self.fail(exc.message, start + exc.column) from None
        self.pos = start + len(source)
        self.paths.append(path)
        return _PathArg(path, start)

    def check_call(self, call: _Call, close: int) -> _Call:
        """Arity and literal arguments, against the table -- the compile-time half of the
        one signature check (``Signature.checker`` also runs at run time)."""
        signature, args = call.signature, call.args
        problem = signature.check_arity(len(args))
        if problem is not None:
            high = signature.max_args
            column = args[high].column if high is not None and len(args) > high else close
            raise self.fail(problem, column)
        literal_values: list[JSON] = []
        for index, arg in enumerate(args):
            param = signature.param(index)
            assert param is not None
            if not isinstance(arg, _Literal):
                literal_values.append(_UNKNOWN)
                continue
            if not param.literal:
                raise self.fail(
                    f"argument {index + 1} ({param.name}) of {signature.name} must be a path "
                    "or a nested intrinsic, not a literal",
                    arg.column,
                )
            # A literal of the wrong type fails now; literal *values* (a zero step, a
            # deep-merge flag, a placeholder count) are checked at run time, as AWS does:
            # it accepts such definitions and fails the state with States.IntrinsicFailure.
            try:
                signature.check_kind(index, arg.value)
            except FunctionError as exc:
                raise self.fail(f"{signature.name}: {exc.detail}", arg.column) from None
            literal_values.append(arg.raw if param.raw and arg.raw is not None else arg.value)
        return call


class _Unknown:
    """Stands for a non-literal argument when literal-only checks run at compile time."""

    def __repr__(self) -> str:
        return "<unknown>"


_UNKNOWN: Final = _Unknown()


# --------------------------------------------------------------------------- compilation


def _compile(node: _Node, raw: bool = False) -> tuple[bool, JSON | Evaluator]:
    """(True, value) for a constant, (False, evaluator) otherwise."""
    if isinstance(node, _Literal):
        if raw and node.raw is not None:
            return True, node.raw
        return True, node.value
    if isinstance(node, _PathArg):
        return False, node.path.find
    signature = node.signature
    parts = [
        _compile(arg, raw=(param := signature.param(i)) is not None and param.raw)
        for i, arg in enumerate(node.args)
    ]
    if not signature.uses_rng and all(constant for constant, _ in parts):
        values = [value for _, value in parts]
        try:
            return True, signature.apply(values, _NO_RNG)
        except FunctionError:
            pass  # fails at run time, with the runtime error and cause
    return False, _call_evaluator(signature, parts)


def _call_evaluator(signature: Signature, parts: Sequence[tuple[bool, JSON]]) -> Evaluator:
    call = signature.prepared(len(parts))
    if not any(constant for constant, _ in parts):
        evaluators = tuple(part for _, part in parts)

        def run_dynamic(data: JSON, ctx: EvalContext) -> JSON:
            return call([evaluate(data, ctx) for evaluate in evaluators], ctx.rng)

        return run_dynamic
    frozen = tuple(parts)

    def run(data: JSON, ctx: EvalContext) -> JSON:
        return call(
            [value if constant else value(data, ctx) for constant, value in frozen], ctx.rng
        )

    return run


class _NoRandom:
    """Stands in for ``ctx.rng`` when folding constants; never used (random functions are
    not folded)."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError("constant folding must not draw random numbers")


_NO_RNG: Final = _NoRandom()


@dataclass(frozen=True, slots=True)
class Intrinsic:
    """A compiled intrinsic call. ``text`` is the expression as written (AWS quotes it in
    error causes); ``paths`` are the path arguments anywhere in the call tree."""

    text: str
    function: str
    paths: tuple[JsonPath, ...]
    is_constant: bool
    _value: JSON = field(repr=False)
    _run: Evaluator | None = field(repr=False)

    def evaluate(self, data: JSON, ctx: EvalContext) -> JSON:
        """The call's value. The result may share structure with ``data`` (and a constant
        result is shared between calls): callers must not mutate it."""
        if self._run is None:
            return self._value
        try:
            return self._run(data, ctx)
        except FunctionError as exc:
            raise StatesError(INTRINSIC_FAILURE, self.failure_cause(exc.detail)) from None

    def failure_cause(self, detail: str) -> str:
        return f"The function '{self.text}' had the following error: {detail}"


def compile_intrinsic(text: str) -> Intrinsic:
    """Parse and type-check ``text``; ExpressionError with the column of the problem."""
    parser = _Parser(text)
    call = parser.parse()
    constant, compiled = _compile(call)
    name, paths = call.signature.name, tuple(parser.paths)
    if constant:
        return Intrinsic(text, name, paths, True, compiled, None)
    return Intrinsic(text, name, paths, False, None, cast(Evaluator, compiled))
