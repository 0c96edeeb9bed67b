"""JSONata expressions (``"{% ... %}"``) as Step Functions evaluates them.

A field value is a JSONata expression when it is a string that starts with ``{%`` and
ends with ``%}``: the whole string, no surrounding spaces. Inside ``Arguments``,
``Output``, ``Assign``, ``Items``, ... any string leaf of an object or array may be one;
other values are literals (:func:`compile_jsonata_template`).

Compilation happens once, at validation time, and rejects what AWS refuses when a
definition is created: syntax errors, the ``??`` and ``?:`` operators (AWS runs JSONata
2.0.6, which predates them), ``$$``, and references to ``$`` or to bare field names at
the top level of the expression (nothing is the context item; data arrives only as
``$states.input``, ``$states.context``, ... and as workflow variables ``$name``).

Evaluation binds ``$states`` and every visible workflow variable, never takes a context
item, and converts the result to plain JSON: JSONata sequences become lists, integral
floats become ints (JSONata numbers are doubles, so ``{% 1 + 2 %}`` is ``3``), and
"undefined" becomes :data:`UNDEFINED`, which callers turn into AWS's error for their
field. Integers beyond 2**53 come back as floats, exactly as JavaScript would hold them
(so a big ID passed through an expression loses precision, on AWS too). Failures raise
``States.QueryEvaluationError`` with AWS's wording::

    The JSONata expression '<expr>' specified for the field '<field>' threw an error
    during evaluation. T2001: The left side of the "+" operator must evaluate to a number

(the interpreter prefixes "An error occurred while executing the state ..."). Every
evaluation runs under a step budget so that no expression can loop forever; the budget
counts evaluated nodes, so the outcome is the same on every run.

Importing this module does not import the jsonata library: that takes tens of
milliseconds, a large share of a ``statemachine validate`` run, and JSONPath-only
definitions never need it. The first :func:`compile_jsonata` loads it (see
:func:`_library`); nothing can be evaluated before something is compiled.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, Final

from statemachine.errors import ExpressionError, StatesError
from statemachine.expressions.context import JSON, EvalContext
from statemachine.expressions.jsonata_base import UNDEFINED, is_jsonata

if TYPE_CHECKING:
    from contextvars import ContextVar

    from jsonata import Jsonata
    from jsonata.jexception import JException
    from jsonata.tokenizer import Tokenizer

__all__ = [
    "MAX_STEPS",
    "UNDEFINED",
    "JsonataExpression",
    "JsonataTemplate",
    "compile_jsonata",
    "compile_jsonata_template",
    "is_jsonata",
]

QUERY_EVALUATION_ERROR: Final = "States.QueryEvaluationError"

MAX_STEPS: Final = 1_000_000
"""Nodes one evaluation may visit (a few seconds of work) before it fails with D1012."""


# ------------------------------------------------------------------- the library


class _Library:
    """The parts of the jsonata library this module uses, imported on first use."""

    def __init__(self) -> None:
        from jsonata import Jsonata
        from jsonata.jexception import JException
        from jsonata.parser import Parser
        from jsonata.tokenizer import Tokenizer
        from jsonata.utils import Utils

        from statemachine.expressions import jsonata_functions

        self.Jsonata: type[Jsonata] = Jsonata
        self.JException: type[JException] = JException
        self.Tokenizer: type[Tokenizer] = Tokenizer
        self.Symbol: type[Any] = Parser.Symbol
        self.null: Any = Utils.NULL_VALUE
        """JSONata's JSON null (its ``None`` means "undefined")."""
        self.function_frame: Jsonata.Frame = jsonata_functions.FUNCTION_FRAME
        self.current_context: ContextVar[EvalContext] = jsonata_functions.CURRENT_CONTEXT
        self.FunctionError: type[Exception] = jsonata_functions.FunctionError
        # The library evaluates through whichever ``Jsonata`` object is current in the
        # thread; we only need one, built once, to reach its evaluator.
        self.evaluator: Jsonata = Jsonata("0")
        # Its messages come from the Java port, which renamed "function" to "Object";
        # restore JSONata's own wording, which is what AWS shows.
        self.templates: dict[str, str] = {
            code: text.replace("Object", "function")
            for code, text in JException.error_codes.items()
        }


@cache
def _library() -> _Library:
    """The library, loaded once. Every path that needs it starts from a compile."""
    return _Library()


# --------------------------------------------------------------------------- errors

_PLACEHOLDER: Final = re.compile(r"\{\{\{\w+\}\}\}|\{\{\w+\}\}")


def _js_value(value: Any) -> str:
    """How JSONata (JavaScript) prints an insert: ``JSON.stringify``, else ``undefined``."""
    if value is None:
        return "undefined"
    try:
        return json.dumps(_to_json(value), ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return str(value)


def _describe(exc: JException) -> str:
    """``CODE: message`` in JSONata's words, e.g. ``T1006: Attempted to invoke ...``."""
    template = _library().templates.get(exc.error)
    if template is None:  # some library errors carry their message in place of a code
        return str(exc.error)
    inserts = iter((exc.current, exc.expected, exc.extra))

    def fill(match: re.Match[str]) -> str:
        value = next(inserts, None)
        if match.group().startswith("{{{"):
            return "undefined" if value is None else str(value)
        return _js_value(value)

    return f"{exc.error}: {_PLACEHOLDER.sub(fill, template)}"


def _syntax_column(exc: JException, offset: int) -> int:
    """Column of a parse error in the full text: JSONata positions point past the token."""
    position = exc.location if isinstance(exc.location, int) and exc.location >= 0 else 0
    token = exc.expected if exc.error == "S0202" else exc.current  # S0202: (wanted, got)
    if isinstance(token, str) and token != "(end)" and 0 < len(token) <= position:
        position -= len(token)
    return offset + position


# ------------------------------------------------------------------- result to JSON

_OMIT: Final = object()
_MAX_SAFE_INTEGER: Final = 2**53


def _to_json(value: Any) -> Any:
    """Plain JSON for a value inside a result (``None`` here is JSON null).

    Containers are copied only when something in them changes, so a result that is a
    piece of the input shares it (nothing here mutates values; see HELPERS.md).
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
            return value
        try:  # beyond 2**53 a JSONata number is a double, as in JavaScript
            return float(value)
        except OverflowError:
            return None  # JSON.stringify(Infinity) is null
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            return None  # JSON.stringify(NaN) is null
        if value.is_integer() and abs(value) <= _MAX_SAFE_INTEGER:
            return int(value)
        return value
    if isinstance(value, dict):
        changed = kind is not dict
        items = []
        for key, item in value.items():
            converted = _to_json(item)
            if converted is not item:
                changed = True
                if converted is _OMIT:  # JSON.stringify drops function-valued members
                    continue
            items.append((key, converted))
        return dict(items) if changed else value
    if isinstance(value, list):
        changed = kind is not list
        elements = []
        for item in value:
            converted = _to_json(item)
            if converted is not item:
                changed = True
                if converted is _OMIT:  # ... and prints them as null inside arrays
                    converted = None
            elements.append(converted)
        return elements if changed else value
    if value is _library().null:
        return None
    if isinstance(value, int | float):  # numeric subclasses
        return _to_json(float(value) if isinstance(value, float) else int(value))
    if isinstance(value, re.Pattern):
        return {}  # JSON.stringify(/regex/) is {}
    return _OMIT  # functions and lambdas have no JSON form


def _result(raw: Any) -> JSON:
    if raw is None:
        return UNDEFINED
    converted = _to_json(raw)
    return UNDEFINED if converted is _OMIT else converted


# ----------------------------------------------------------------- static analysis


@dataclass(slots=True)
class _Analysis:
    states_fields: set[str]
    variables: set[str]
    bound: set[str]
    problems: list[tuple[str, int]]


def _node_attr(node: Any, name: str) -> Any:
    return getattr(node, name, None)


class _Analyzer:
    """Walks the library's processed AST once, at compile time.

    ``top`` is true while the node would be evaluated against the (absent) context item
    of the whole expression, i.e. outside path steps after the first, predicates, sort
    and group terms, transforms and function bodies.
    """

    def __init__(self) -> None:
        self.result = _Analysis(set(), set(), set(), [])
        self._symbol = _library().Symbol

    def visit(self, node: Any, top: bool) -> None:
        if node is None or not isinstance(node, self._symbol):
            return
        kind = node.type
        if kind == "path":
            self._path(node, top)
        elif kind == "variable":
            self._variable(node, top)
        elif kind in ("name", "wildcard", "descendant"):
            if top:
                label = node.value if kind == "name" else ("*" if kind == "wildcard" else "**")
                message = f"Reference to '{label}' at the top level is not supported."
                self._problem(message, node, len(str(label)))
        elif kind in ("binary", "apply"):
            self.visit(node.lhs, top)
            self.visit(node.rhs, top)
        elif kind == "bind":
            if _node_attr(node.lhs, "value") is not None:
                self.result.bound.add(str(node.lhs.value))
            self.visit(node.rhs, top)
        elif kind == "unary":
            for item in _node_attr(node, "expressions") or ():
                self.visit(item, top)
            for key, value in _node_attr(node, "lhs_object") or ():
                self.visit(key, top)
                self.visit(value, top)
            self.visit(_node_attr(node, "expression"), top)
        elif kind in ("function", "partial"):
            self.visit(node.procedure, top)
            for argument in node.arguments or ():
                self.visit(argument, top)
        elif kind == "lambda":
            for parameter in node.arguments or ():
                self.result.bound.add(str(parameter.value))
            self.visit(node.body, False)
        elif kind == "condition":
            self.visit(node.condition, top)
            self.visit(node.then, top)
            self.visit(_node_attr(node, "_else"), top)
        elif kind == "block":
            for item in node.expressions or ():
                self.visit(item, top)
        elif kind == "transform":
            self.visit(node.pattern, False)
            self.visit(node.update, False)
            self.visit(_node_attr(node, "delete"), False)
        elif kind == "sort":
            for term in _node_attr(node, "terms") or ():
                self.visit(term.expression, False)
        elif kind == "filter":
            self.visit(node.expr, False)
        self._decorations(node)

    def _decorations(self, node: Any) -> None:
        """Predicates, stages and group-by clauses run against each item: never top."""
        for clause in _node_attr(node, "predicate") or ():
            self.visit(clause, False)
        for stage in _node_attr(node, "stages") or ():
            self.visit(stage, False)
        group = _node_attr(node, "group")
        if group is not None:
            for key, value in _node_attr(group, "lhs_object") or ():
                self.visit(key, False)
                self.visit(value, False)
        for name in ("focus", "index"):
            bound = _node_attr(node, name)
            if isinstance(bound, str):
                self.result.bound.add(bound)

    def _path(self, node: Any, top: bool) -> None:
        steps = node.steps or []
        if steps and steps[0].type == "variable" and steps[0].value == "states":
            second = steps[1] if len(steps) > 1 else None
            if second is not None and second.type == "name":
                self.result.states_fields.add(str(second.value))
            else:
                self.result.states_fields.add("*")
            self._decorations(steps[0])
            rest = steps[1:]
        else:
            if steps:
                self.visit(steps[0], top)
            rest = steps[1:]
        for step in rest:
            self.visit(step, False)
        group = _node_attr(node, "group")
        if group is not None:
            for key, value in _node_attr(group, "lhs_object") or ():
                self.visit(key, False)
                self.visit(value, False)

    def _variable(self, node: Any, top: bool) -> None:
        name = node.value
        if name == "$":
            self._problem("The JSONata expression must not reference '$$'.", node, 2)
        elif name == "":
            if top:
                self._problem("Reference to '$' at the top level is not supported.", node, 1)
        elif name == "states":
            self.result.states_fields.add("*")
        else:
            self.result.variables.add(str(name))

    def _problem(self, message: str, node: Any, length: int) -> None:
        position = node.position if isinstance(node.position, int) else 0
        self.result.problems.append((message, max(0, position - length)))


def _unsupported_operators(source: str) -> tuple[str, int] | None:
    """Find ``??`` / ``?:``, which JSONata 2.1 added and AWS (2.0.6) does not parse."""
    if "?" not in source:  # the common case: no need to tokenize again
        return None
    lexer: Tokenizer = _library().Tokenizer(source)
    infix = False
    while True:
        try:
            token = lexer.next(infix)
        except Exception:  # the parser accepted the text; a lexing quirk here is not an error
            return None
        if token is None:
            return None
        if token.type == "operator" and token.value in ("??", "?:"):
            return token.value, token.position - len(token.value)
        infix = token.type != "operator" or token.value in (")", "]", "}")


# ------------------------------------------------------------------ expressions


# A plain path such as ``$states.input.order.id`` or ``$customer.name`` is most of what
# templates contain. While every value on the way is an object it means plain key lookups,
# so it is answered without the library (20x faster); anything else (an array on the way,
# a missing variable that might name a function) goes the general way.

_SLOW: Final = object()
_PLAIN_STEP_FLAGS: Final = (
    "predicate",
    "stages",
    "group",
    "focus",
    "index",
    "tuple",
    "keep_array",
    "keep_singleton_array",
)


def _plain(node: Any) -> bool:
    return all(not _node_attr(node, flag) for flag in _PLAIN_STEP_FLAGS)


def _fast_path(ast: Any) -> tuple[str, tuple[str, ...]] | None:
    """``(variable, keys)`` when ``ast`` is ``$variable.key.key...`` with nothing else."""
    if ast.type == "variable":
        steps = [ast]
    elif ast.type == "path" and _plain(ast):
        steps = list(ast.steps or ())
    else:
        return None
    if not steps or steps[0].type != "variable" or steps[0].value in ("", "$"):
        return None
    if not all(_plain(step) for step in steps):
        return None
    if not all(step.type == "name" and isinstance(step.value, str) for step in steps[1:]):
        return None
    return str(steps[0].value), tuple(step.value for step in steps[1:])


def _fast_lookup(
    fast: tuple[str, tuple[str, ...]], states: dict[str, JSON], ctx: EvalContext
) -> Any:
    name, keys = fast
    if name in ctx.variables:
        value = ctx.variables[name]
    elif name == "states":
        value = states
    else:
        return _SLOW
    for key in keys:
        if not isinstance(value, dict):
            return _SLOW
        value = value.get(key, _SLOW)
        if value is _SLOW:
            return UNDEFINED
    if isinstance(value, list):
        return _SLOW  # JSONata's sequence rules apply to arrays
    return _to_json(value)


class _BudgetExceeded(Exception):
    pass


class _Budget:
    """Counts evaluated nodes; the library calls ``entry`` before each one."""

    __slots__ = ("left",)

    def __init__(self, steps: int) -> None:
        self.left = steps

    def entry(self, expr: Any, input: Any, environment: Any) -> None:
        self.left -= 1
        if self.left < 0:
            raise _BudgetExceeded


class JsonataExpression:
    """One compiled ``{% ... %}`` expression. Immutable; safe to share between threads."""

    __slots__ = ("_analysis", "_ast", "_fast", "_max_steps", "source", "text")

    def __init__(self, text: str, source: str, ast: Any, analysis: _Analysis, max_steps: int):
        self._fast = _fast_path(ast)
        self.text = text
        """The field value as written, ``{%`` and ``%}`` included."""
        self.source = source
        """The expression between the delimiters, trimmed: how AWS quotes it in errors."""
        self._ast = ast
        self._analysis = analysis
        self._max_steps = max_steps

    def __repr__(self) -> str:
        return f"JsonataExpression({self.text!r})"

    def references(self) -> set[str]:
        """Fields of ``$states`` the expression reads (``"*"``: the whole object)."""
        return set(self._analysis.states_fields)

    def variables(self) -> set[str]:
        """Names of ``$variables`` read and not bound inside the expression itself.

        Includes function names (``$count``): check them against the workflow variables
        in scope, and ignore the ones that are not.
        """
        return self._analysis.variables - self._analysis.bound

    def evaluate(
        self, states: dict[str, JSON], ctx: EvalContext, *, field: str | None = None
    ) -> JSON:
        """Evaluate with ``$states`` and the workflow variables bound.

        Returns plain JSON, or :data:`UNDEFINED`. ``field`` (e.g. ``"Output/v"``) only
        improves the error message. Raises ``StatesError(States.QueryEvaluationError)``.
        """
        if self._fast is not None:
            value = _fast_lookup(self._fast, states, ctx)
            if value is not _SLOW:
                return value
        lib = _library()
        budget = _Budget(self._max_steps)
        bindings: dict[str, Any] = {
            name: lib.null if value is None else value for name, value in ctx.variables.items()
        }
        bindings["states"] = states
        bindings["$"] = None
        bindings["__evaluate_entry"] = budget.entry
        bindings["__evaluate_exit"] = None
        frame = lib.Jsonata.Frame(lib.function_frame)
        frame.bindings = bindings
        token = lib.current_context.set(ctx)
        try:
            raw = lib.evaluator.eval(self._ast, None, frame)
        except lib.JException as exc:
            raise self._failure(_describe(exc), field) from None
        except lib.FunctionError as exc:
            raise self._failure(str(exc), field) from None
        except _BudgetExceeded:
            detail = f"D1012: Evaluation exceeded {self._max_steps} steps. Check for infinite loop"
            raise self._failure(detail, field) from None
        except RecursionError:
            raise self._failure(_describe(lib.JException("D1011", -1)), field) from None
        except Exception as exc:  # the library's own bugs must not escape as crashes
            raise self._failure(f"{type(exc).__name__}: {exc}", field) from None
        finally:
            lib.current_context.reset(token)
        return _result(raw)

    def undefined_error(self, field: str | None = None) -> StatesError:
        """AWS's error for an expression that returned nothing in ``field``."""
        where = f" specified for the field '{field}'" if field else ""
        return StatesError(
            QUERY_EVALUATION_ERROR,
            f"The JSONata expression '{self.source}'{where} returned nothing (undefined).",
        )

    def _failure(self, detail: str, field: str | None) -> StatesError:
        where = f" specified for the field '{field}'" if field else ""
        return StatesError(
            QUERY_EVALUATION_ERROR,
            f"The JSONata expression '{self.source}'{where} threw an error during evaluation. "
            f"{detail}",
        )


def compile_jsonata(text: str, *, max_steps: int = MAX_STEPS) -> JsonataExpression:
    """Compile a whole ``{% ... %}`` field value.

    Raises :class:`ExpressionError` (column into ``text``) for anything AWS rejects when
    the definition is created. A compiled expression is immutable, so each text is
    compiled once and then shared: the validator's rules and the model builder all ask
    for the same expressions, and the library's parser is slow (~0.5 ms an expression).
    """
    if not is_jsonata(text):
        message = "A JSONata expression must be a string of the form {% ... %}"
        raise ExpressionError(message, str(text))
    return _compile(text, max_steps)


# Room for every expression of a large definition (validation compiles each up to three
# times); a bigger cache keeps more ASTs alive, and the garbage collector walks them all:
# at 4096 entries that slowed the validation of JSONPath files by ~10%.
@lru_cache(maxsize=1024)
def _compile(text: str, max_steps: int) -> JsonataExpression:
    inner = text[2:-2]
    lib = _library()
    try:
        ast = lib.Jsonata.get_parser().parse(inner)
    except lib.JException as exc:
        message = _describe(exc).split(": ", 1)[-1]  # AWS reports parse errors without a code
        raise ExpressionError(message, text, _syntax_column(exc, 2)) from None
    except Exception as exc:  # the tokenizer can fail with IndexError on "/* ..."
        raise ExpressionError(f"Invalid JSONata expression ({exc})", text, len(text) - 2) from None
    if getattr(ast, "errors", None):
        raise ExpressionError("Invalid JSONata expression", text, 2)
    operator = _unsupported_operators(inner)
    if operator is not None:
        symbol, position = operator
        raise ExpressionError(
            f"The {symbol} operator is not supported (Step Functions runs JSONata 2.0.6)",
            text,
            2 + position,
        )
    analyzer = _Analyzer()
    analyzer.visit(ast, True)
    analysis = analyzer.result
    if analysis.problems:
        message, position = analysis.problems[0]
        raise ExpressionError(message, text, 2 + position)
    return JsonataExpression(text, inner.strip(), ast, analysis, max_steps)


# -------------------------------------------------------------------- templates

Path = tuple[str | int, ...]


class _Node:
    """A template node: a literal, an expression, or a container of nodes."""

    __slots__ = ()

    def evaluate(self, states: dict[str, JSON], ctx: EvalContext, field: str) -> JSON:
        raise NotImplementedError


class _Literal(_Node):
    __slots__ = ("value",)

    def __init__(self, value: JSON) -> None:
        self.value = value

    def evaluate(self, states: dict[str, JSON], ctx: EvalContext, field: str) -> JSON:
        return self.value


class _Expression(_Node):
    __slots__ = ("expression",)

    def __init__(self, expression: JsonataExpression) -> None:
        self.expression = expression

    def evaluate(self, states: dict[str, JSON], ctx: EvalContext, field: str) -> JSON:
        value = self.expression.evaluate(states, ctx, field=field or None)
        if value is UNDEFINED:
            raise self.expression.undefined_error(field or None)
        return value


class _Object(_Node):
    __slots__ = ("members",)

    def __init__(self, members: list[tuple[str, _Node]]) -> None:
        self.members = members

    def evaluate(self, states: dict[str, JSON], ctx: EvalContext, field: str) -> JSON:
        return {
            key: node.evaluate(states, ctx, f"{field}/{key}" if field else key)
            for key, node in self.members
        }


class _Array(_Node):
    __slots__ = ("items",)

    def __init__(self, items: list[_Node]) -> None:
        self.items = items

    def evaluate(self, states: dict[str, JSON], ctx: EvalContext, field: str) -> JSON:
        return [node.evaluate(states, ctx, f"{field}[{i}]") for i, node in enumerate(self.items)]


def _build(value: JSON, path: Path, found: list[tuple[Path, JsonataExpression]]) -> _Node:
    if is_jsonata(value):
        expression = compile_jsonata(value)
        found.append((path, expression))
        return _Expression(expression)
    if isinstance(value, dict):
        members = [(key, _build(item, (*path, key), found)) for key, item in value.items()]
        if all(isinstance(node, _Literal) for _, node in members):
            return _Literal(value)
        return _Object(members)
    if isinstance(value, list):
        items = [_build(item, (*path, i), found) for i, item in enumerate(value)]
        if all(isinstance(node, _Literal) for node in items):
            return _Literal(value)
        return _Array(items)
    return _Literal(value)


class JsonataTemplate:
    """A JSONata-mode field value (``Arguments``, ``Output``, ``Assign``, ``Items``, ...).

    Static parts are kept as they are and shared between evaluations, so callers must not
    mutate what :meth:`evaluate` returns (the project never mutates values in place).
    """

    __slots__ = ("_expressions", "_root", "is_static")

    def __init__(self, root: _Node, expressions: list[tuple[Path, JsonataExpression]]) -> None:
        self._root = root
        self._expressions = expressions
        self.is_static = isinstance(root, _Literal)

    def evaluate(
        self, states: dict[str, JSON], ctx: EvalContext, *, field: str | None = None
    ) -> JSON:
        """The value with every expression replaced by its result.

        ``field`` names the template in errors (``"Output"`` gives ``'Output/a/b'`` for a
        nested expression). An expression that returns nothing fails with AWS's
        "returned nothing (undefined)" error.
        """
        return self._root.evaluate(states, ctx, field or "")

    def iter_expressions(self) -> Iterator[tuple[Path, JsonataExpression]]:
        """Each expression with its path inside the value (``()`` for the whole value)."""
        return iter(self._expressions)


def compile_jsonata_template(value: JSON) -> JsonataTemplate:
    """Compile a JSONata-mode value; raises :class:`ExpressionError` for a bad expression."""
    found: list[tuple[Path, JsonataExpression]] = []
    root = _build(value, (), found)
    return JsonataTemplate(root, found)
