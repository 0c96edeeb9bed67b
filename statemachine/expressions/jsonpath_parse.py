"""Parse JSONPath text into a tuple of steps (the compile half of :mod:`.jsonpath`).

The step and filter-expression classes it builds live in :mod:`.jsonpath_ast` and are
re-exported here.

The grammar is the one of Jayway JsonPath, the Java library AWS Step Functions uses,
minus what AWS documents as unsupported (path functions such as ``length()``, regular
expressions and word operators such as ``in``/``subsetof`` in filters, and filters
that reference the document root ``$``). Places where Jayway accepts odd input by
accident are rejected here with a caret instead of being guessed at; each one is
listed in the module docstring of :mod:`.jsonpath`.

Roots: ``$`` is the state input, ``$$`` the Context object, ``$name`` a workflow
variable (a ``$`` followed by an identifier start). Steps::

    .name  ['name']  ["name"]  ['a','b']   property, property union
    [0]  [-1]  [0,2]                       index, index union
    [1:3]  [1:]  [:2]  [-2:]               slice (a third ``:step`` part is ignored, as in Jayway)
    .*  [*]                                wildcard
    ..name  ..*  ..[0]  ..[?(...)]         deep scan followed by a step
    [?(<expr>)]                            filter on ``@``: == != < <= > >= === !==, && || ! ( )
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from statemachine.errors import ExpressionError
from statemachine.expressions.jsonpath_ast import (
    And,
    Compare,
    Const,
    Exists,
    Filter,
    FilterExpr,
    Index,
    Indexes,
    Name,
    Names,
    Not,
    Or,
    ParsedPath,
    RelPath,
    Root,
    Scan,
    Slice,
    Step,
    Wildcard,
    reference_keys,
    step_is_definite,
    steps_definite,
    upstream_flags,
)

__all__ = [
    "And",
    "Compare",
    "Const",
    "Exists",
    "Filter",
    "FilterExpr",
    "Index",
    "Indexes",
    "Name",
    "Names",
    "Not",
    "Or",
    "ParsedPath",
    "RelPath",
    "Root",
    "Scan",
    "Slice",
    "Step",
    "Wildcard",
    "parse",
    "reference_keys",
    "step_is_definite",
    "steps_definite",
    "upstream_flags",
]


_INT_MIN = -(2**31)
_INT_MAX = 2**31 - 1


# ------------------------------------------------------------------------- helpers


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


def _unescape(raw: str) -> str:
    """Java-style unescaping of a quoted name or string literal (as Jayway's Utils)."""
    if "\\" not in raw:
        return raw
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        ch = raw[i]
        if ch != "\\" or i + 1 == n:
            out.append(ch)
            i += 1
            continue
        nxt = raw[i + 1]
        hexdigits = raw[i + 2 : i + 6]
        if (
            nxt == "u"
            and len(hexdigits) == 4
            and all(c in "0123456789abcdefABCDEF" for c in hexdigits)
        ):
            out.append(chr(int(hexdigits, 16)))
            i += 6
            continue
        out.append(_ESCAPES.get(nxt, nxt))
        i += 2
    return "".join(out)


def _single_to_double_quotes(raw: str) -> str:
    """Jayway parses JSON literals permissively; accept 'single-quoted' strings too."""
    if "'" not in raw:
        return raw
    out: list[str] = []
    i, n, quote = 0, len(raw), ""
    while i < n:
        ch = raw[i]
        if quote == '"':
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(raw[i + 1])
                i += 1
            elif ch == '"':
                quote = ""
        elif ch == '"':
            quote = '"'
            out.append(ch)
        elif ch == "'":
            end = i + 1
            while end < n and raw[end] != "'":
                end += 2 if raw[end] == "\\" else 1
            out.append(json.dumps(_unescape(raw[i + 1 : end])))
            i = end
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _is_ident_start(ch: str) -> bool:
    return ch.isidentifier()


def _is_ident_part(ch: str) -> bool:
    return ("a" + ch).isidentifier()


# --------------------------------------------------------------------------- parser

_FILTER_STOP = frozenset("<>=~!)&|")
_OP_CHARS = frozenset("<>=~!")
_SUPPORTED_OPS = frozenset({"==", "!=", "<", "<=", ">", ">=", "===", "!=="})
_WORD_OPS = frozenset(
    {"in", "nin", "subsetof", "anyof", "noneof", "size", "empty", "contains", "all", "matches"}
)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.end = len(text)

    # -- small utilities
    def fail(self, message: str, column: int | None = None) -> ExpressionError:
        return ExpressionError(message, self.text, self.pos if column is None else column)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < self.end else ""

    def skip_ws(self) -> str:
        while self.pos < self.end and self.text[self.pos].isspace():
            self.pos += 1
        return self.peek()

    # -- whole path
    def parse_path(self) -> ParsedPath:
        text = self.text
        while self.end > 0 and text[self.end - 1].isspace():
            self.end -= 1  # Jayway trims the path before compiling it
        self.skip_ws()
        if self.pos >= self.end:
            raise self.fail("empty JSONPath; a path starts with '$'")
        if text[self.pos] != "$":
            raise self.fail("a JSONPath must start with '$'")
        if text[self.end - 1] == ".":
            raise self.fail("a JSONPath must not end with '.' or '..'", self.end - 1)
        self.pos += 1
        root: Root = "input"
        variable: str | None = None
        ch = self.peek()
        if ch == "$":
            root = "context"
            self.pos += 1
        elif ch and ch not in ".[" and _is_ident_start(ch):
            start = self.pos
            while self.pos < self.end and _is_ident_part(text[self.pos]):
                self.pos += 1
            root, variable = "variable", text[start : self.pos]
        elif ch and ch not in ".[":
            raise self.fail("expected '.', '[', '$' or a variable name after '$'")
        if self.pos < self.end and self.peek() not in ".[":
            raise self.fail("expected '.' or '['")
        steps = self.parse_steps(in_filter=False)
        return ParsedPath(root, variable, tuple(steps))

    def parse_steps(self, *, in_filter: bool) -> list[Step]:
        steps: list[Step] = []
        text = self.text
        while self.pos < self.end:
            ch = text[self.pos]
            if ch == ".":
                col = self.pos
                if self.pos + 1 < self.end and text[self.pos + 1] == ".":
                    steps.append(Scan(col))
                    self.pos += 2
                    nxt = self.peek()
                    if nxt == ".":
                        raise self.fail("'.' is not valid here; use '..name'")
                    if nxt == "" or (in_filter and (nxt.isspace() or nxt in _FILTER_STOP)):
                        raise self.fail("'..' must be followed by a name, '*' or '['")
                    if nxt == "[":
                        steps.append(self.parse_bracket(in_filter=in_filter))
                    else:
                        steps.append(self.parse_dot_token(in_filter=in_filter))
                    continue
                self.pos += 1
                nxt = self.peek()
                if nxt == "[":  # Jayway accepts "$.['a']" as "$['a']"
                    steps.append(self.parse_bracket(in_filter=in_filter))
                    continue
                if nxt == "" or (in_filter and (nxt.isspace() or nxt in _FILTER_STOP)):
                    raise self.fail("expected a name or '*' after '.'")
                steps.append(self.parse_dot_token(in_filter=in_filter))
            elif ch == "[":
                steps.append(self.parse_bracket(in_filter=in_filter))
            elif in_filter and (ch.isspace() or ch in _FILTER_STOP):
                break
            else:
                raise self.fail("expected '.' or '['")
        return steps

    def parse_dot_token(self, *, in_filter: bool) -> Step:
        """A name or ``*`` in dot notation; Jayway reads any character up to '.' or '['."""
        text = self.text
        start = self.pos
        if text[start] == "*":
            self.pos += 1
            nxt = self.peek()
            if (
                nxt
                and nxt not in ".["
                and not (in_filter and (nxt.isspace() or nxt in _FILTER_STOP))
            ):
                raise self.fail("expected '.' or '[' after '*'")
            return Wildcard(start)
        while self.pos < self.end:
            ch = text[self.pos]
            if ch in ".[":
                break
            if in_filter and (ch.isspace() or ch in _FILTER_STOP):
                break
            if ch.isspace():
                raise self.fail("use bracket notation ['my name'] for a name with blanks")
            if ch == "(":
                raise self.fail("path functions such as length() are not supported")
            self.pos += 1
        return Name(text[start : self.pos], "'", start)

    def parse_bracket(self, *, in_filter: bool) -> Step:
        col = self.pos
        self.pos += 1  # '['
        ch = self.skip_ws()
        if ch in ("'", '"'):
            return self.parse_quoted_names(col, ch)
        if ch.isdigit() or ch in "-:":
            return self.parse_array_token(col)
        if ch == "*":
            self.pos += 1
            if self.skip_ws() != "]":
                raise self.fail("expected ']' after '[*'")
            self.pos += 1
            return Wildcard(col)
        if ch == "?":
            self.pos += 1
            if self.skip_ws() != "(":
                raise self.fail("expected '(' after '[?'")
            self.pos += 1
            expr = self.parse_or()
            if self.skip_ws() != ")":
                raise self.fail("expected ')' to close the filter")
            self.pos += 1
            if self.skip_ws() != "]":
                raise self.fail("expected ']' to close the filter")
            self.pos += 1
            return Filter(expr, col)
        raise self.fail("expected a quoted name, an index, a slice, '*' or '?(' after '['")

    def parse_quoted_names(self, col: int, quote: str) -> Step:
        text = self.text
        names: list[str] = []
        while True:
            if self.skip_ws() != quote:
                raise self.fail(f"expected a name quoted with {quote}")
            open_col = self.pos
            self.pos += 1
            start = self.pos
            while self.pos < self.end and text[self.pos] != quote:
                self.pos += 2 if text[self.pos] == "\\" else 1
            if self.pos >= self.end:
                raise self.fail(f"unterminated quoted name: missing closing {quote}", open_col)
            names.append(_unescape(text[start : self.pos]))
            self.pos += 1
            sep = self.skip_ws()
            if sep == "]":
                self.pos += 1
                break
            if sep != ",":
                raise self.fail("expected ',' or ']' after a quoted name")
            self.pos += 1
        if len(names) == 1:
            return Name(names[0], quote, col)
        return Names(tuple(names), quote, col)

    def parse_array_token(self, col: int) -> Step:
        text = self.text
        close = text.find("]", self.pos, self.end)
        if close < 0:
            raise self.fail("missing ']'", col)
        body_start = self.pos
        body = text[body_start:close]
        for k, ch in enumerate(body):
            if not (ch.isdigit() and ch.isascii()) and ch not in ",-: ":
                raise self.fail("expected digits, ',', '-' or ':' in an index", body_start + k)
        self.pos = close + 1
        if ":" in body:
            return self._slice(body.strip(), body_start + (len(body) - len(body.lstrip())), col)
        indexes: list[int] = []
        offset = body_start
        for part in body.split(","):
            indexes.append(self._int(part.strip(), offset + len(part) - len(part.lstrip())))
            offset += len(part) + 1
        if len(indexes) == 1:
            return Index(indexes[0], col)
        return Indexes(tuple(indexes), col)

    def _slice(self, body: str, body_col: int, col: int) -> Step:
        if " " in body:
            raise self.fail("blanks are not allowed inside a slice", body_col + body.index(" "))
        parts = body.split(":")
        while parts and parts[-1] == "":
            parts.pop()  # Java's String.split drops trailing empty strings
        start = self._int(parts[0], body_col) if parts and parts[0] else None
        stop_col = body_col + len(parts[0]) + 1 if parts else body_col
        stop = self._int(parts[1], stop_col) if len(parts) > 1 and parts[1] else None
        if start is None and stop is None:
            raise self.fail("a slice needs a start or an end", body_col)
        return Slice(start, stop, col)

    def _int(self, token: str, column: int) -> int:
        try:
            value = int(token)
        except ValueError:
            raise self.fail(f"invalid index {token!r}", column) from None
        if not _INT_MIN <= value <= _INT_MAX:
            raise self.fail(f"index {token} is out of range", column)
        return value

    # -- filters (grammar of Jayway's FilterCompiler: || binds looser than &&)
    def parse_or(self) -> FilterExpr:
        operands = [self.parse_and()]
        while self.skip_ws() == "|" and self.text.startswith("||", self.pos):
            self.pos += 2
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def parse_and(self) -> FilterExpr:
        operands = [self.parse_unary()]
        while self.skip_ws() == "&" and self.text.startswith("&&", self.pos):
            self.pos += 2
            operands.append(self.parse_unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def parse_unary(self) -> FilterExpr:
        ch = self.skip_ws()
        if ch == "!":
            bang = self.pos
            self.pos += 1
            if self.skip_ws() in ("@", "$"):
                path = self.parse_operand()
                if not isinstance(path, RelPath):  # pragma: no cover - parse_operand raises
                    raise self.fail("expected a path after '!'", bang)
                if self._at_operator():
                    # Jayway would silently drop the '!' here; make the author say what they mean.
                    raise self.fail("'!' before a comparison: write !(... op ...)", bang)
                return Exists(path, negate=True)
            return Not(self.parse_unary())
        if ch == "(":
            self.pos += 1
            expr = self.parse_or()
            if self.skip_ws() != ")":
                raise self.fail("expected ')'")
            self.pos += 1
            return expr
        return self.parse_relational()

    def _at_operator(self) -> bool:
        ch = self.skip_ws()
        return bool(ch) and ch not in ")&|"

    def parse_relational(self) -> FilterExpr:
        left_col = self.pos
        left = self.parse_operand()
        if not self._at_operator():
            if not isinstance(left, RelPath):
                raise self.fail(
                    "expected a comparison; a literal alone is not a condition", left_col
                )
            return Exists(left)
        op_col = self.pos
        op = self.read_operator()
        if not op:
            raise self.fail("expected an operator such as == or <", op_col)
        if op in ("=~",):
            raise self.fail(
                "regular expressions (=~) are not supported in AWS Step Functions", op_col
            )
        if op in _WORD_OPS:
            raise self.fail(f"the '{op}' operator is not supported in AWS Step Functions", op_col)
        if op not in _SUPPORTED_OPS:
            raise self.fail(f"unknown operator '{op}'", op_col)
        right = self.parse_operand()
        return Compare(op, left, right)

    def read_operator(self) -> str:
        text = self.text
        start = self.pos
        if text[start] in _OP_CHARS:
            while self.pos < self.end and text[self.pos] in _OP_CHARS:
                self.pos += 1
        else:
            while (
                self.pos < self.end
                and not text[self.pos].isspace()
                and text[self.pos] not in "@$'\"("
            ):
                self.pos += 1
        return text[start : self.pos]

    def parse_operand(self) -> RelPath | Const:
        ch = self.skip_ws()
        col = self.pos
        text = self.text
        if ch == "@":
            self.pos += 1
            if (
                self.pos < self.end
                and text[self.pos] not in ".["
                and not (text[self.pos].isspace() or text[self.pos] in _FILTER_STOP)
            ):
                raise self.fail("expected '.' or '[' after '@'")
            steps = tuple(self.parse_steps(in_filter=True))
            keys = reference_keys(steps)
            return RelPath(steps, steps_definite(steps), upstream_flags(steps), keys)
        if ch == "$":
            raise self.fail(
                "filters may only test the current item '@'; "
                "referencing other values is not supported in AWS Step Functions",
                col,
            )
        if ch in ("'", '"'):
            self.pos += 1
            start = self.pos
            while self.pos < self.end and text[self.pos] != ch:
                self.pos += 2 if text[self.pos] == "\\" else 1
            if self.pos >= self.end:
                raise self.fail(f"unterminated string: missing closing {ch}", col)
            self.pos += 1
            return Const("str", _unescape(text[start : self.pos - 1]))
        if ch == "/":
            raise self.fail("regular expressions are not supported in AWS Step Functions", col)
        if ch in ("[", "{"):
            return Const("json", self._json_literal(col))
        for word, kind, value in (
            ("true", "bool", True),
            ("false", "bool", False),
            ("null", "null", None),
        ):
            if text.startswith(word, self.pos):
                self.pos += len(word)
                return Const(kind, value)
        start = self.pos
        while self.pos < self.end and (text[self.pos] in "0123456789.eE-"):
            self.pos += 1
        token = text[start : self.pos]
        try:
            number = Decimal(token)
        except InvalidOperation:
            raise self.fail(
                "expected a value: @path, 'string', number, true, false or null", col
            ) from None
        if not number.is_finite():  # pragma: no cover - token chars exclude inf/nan
            raise self.fail("expected a finite number", col)
        return Const("num", number)

    def _json_literal(self, col: int) -> Any:
        text = self.text
        depth, i, quote = 0, self.pos, ""
        while i < self.end:
            ch = text[i]
            if quote:
                if ch == "\\":
                    i += 1
                elif ch == quote:
                    quote = ""
            elif ch in "'\"":
                quote = ch
            elif ch in "[{":
                depth += 1
            elif ch in "]}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        if i >= self.end:
            raise self.fail("unterminated JSON literal", col)
        raw = text[self.pos : i + 1]
        try:
            value = json.loads(_single_to_double_quotes(raw))
        except ValueError:
            raise self.fail("invalid JSON literal", col) from None
        self.pos = i + 1
        return value


def parse(text: str) -> ParsedPath:
    """Parse ``text``; raise :class:`ExpressionError` with the column of the bad character."""
    if not isinstance(text, str):
        raise ExpressionError(
            f"a JSONPath must be a string, not {type(text).__name__}", repr(text), 0
        )
    return _Parser(text).parse_path()
