"""JSONPath-mode payload templates: ``Parameters``, ``ResultSelector``, ``ItemSelector``.

The rules, from the ASL specification and the AWS developer guide:

* only object fields whose name ends in ``.$`` are dynamic; their value must be a string that
  is a path (``$...``, ``$$...`` for the Context object, ``$name...`` for a variable) or an
  intrinsic call, and the output field drops the ``.$``;
* a dynamic field must not end up with the same name as a sibling (``"x"`` and ``"x.$"``);
* strings inside arrays are never evaluated (build arrays from paths with ``States.Array``),
  but objects anywhere -- inside arrays too -- are templates with their own ``.$`` fields;
* a path that matches nothing fails the state with ``States.ParameterPathFailure``, an
  intrinsic that fails with ``States.IntrinsicFailure``.

:func:`compile_template` walks the value once. Static subtrees are built once and shared by
every evaluation; a dynamic object evaluates as one dict comprehension over precomputed
``(key, is_dynamic, value_or_evaluator)`` entries.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Final

from statemachine.errors import ExpressionError, StatesError
from statemachine.expressions.context import JSON, EvalContext
from statemachine.expressions.intrinsic_functions import to_json_text
from statemachine.expressions.intrinsics import Intrinsic, compile_intrinsic, looks_like_intrinsic
from statemachine.expressions.jsonpath import JsonPath, PathNotFound, compile_path

__all__ = ["PARAMETER_PATH_FAILURE", "Template", "TemplateError", "compile_template"]

# AWS reports a payload-template path that matches nothing as States.Runtime (with the
# interpreter's "An error occurred while executing the state ..." prefix), not as the
# spec's States.ParameterPathFailure.
PARAMETER_PATH_FAILURE: Final = "States.Runtime"
_NO_CONTEXT: Final = EvalContext()  # constant intrinsics read neither data nor context

TemplatePath = tuple[str | int, ...]
Evaluator = Callable[[JSON, EvalContext], JSON]


class TemplateError(ExpressionError):
    """A payload template does not compile. ``path`` locates the offending field inside the
    template (original key names, ``.$`` included); ``field`` names the template
    (``Parameters``, ``ResultSelector``...)."""

    def __init__(
        self,
        message: str,
        expression: str,
        column: int = 0,
        *,
        path: TemplatePath = (),
        field: str = "Parameters",
    ) -> None:
        self.path = path
        self.field = field
        super().__init__(message, expression, column)


def _render_path(path: TemplatePath) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _input_text(data: JSON) -> str:
    return to_json_text(data)


def _path_evaluator(path: JsonPath, key: str) -> Evaluator:
    find = path.find

    def evaluate(data: JSON, ctx: EvalContext) -> JSON:
        try:
            return find(data, ctx)
        except PathNotFound:
            raise StatesError(
                PARAMETER_PATH_FAILURE,
                f"The JSONPath '{path.text}' specified for the field '{key}' "
                f"could not be found in the input '{_input_text(data)}'",
            ) from None

    return evaluate


def _intrinsic_evaluator(intrinsic: Intrinsic) -> Evaluator:
    call = intrinsic.evaluate

    def evaluate(data: JSON, ctx: EvalContext) -> JSON:
        try:
            return call(data, ctx)
        except PathNotFound as exc:
            # AWS: "The function '<expr>' had the following error: The JsonPath argument for
            # the field '<path>' could not be found in the input '<input>'".
            raise StatesError(
                PARAMETER_PATH_FAILURE,
                intrinsic.failure_cause(
                    f"The JsonPath argument for the field '{exc.path.text}' "
                    f"could not be found in the input '{_input_text(data)}'"
                ),
            ) from None

    return evaluate


def _object_evaluator(entries: tuple[tuple[str, bool, JSON], ...]) -> Evaluator:
    def evaluate(data: JSON, ctx: EvalContext) -> JSON:
        return {key: value(data, ctx) if dynamic else value for key, dynamic, value in entries}

    return evaluate


def _array_evaluator(items: tuple[tuple[bool, JSON], ...]) -> Evaluator:
    def evaluate(data: JSON, ctx: EvalContext) -> JSON:
        return [value(data, ctx) if dynamic else value for dynamic, value in items]

    return evaluate


class _Compiler:
    def __init__(self, field: str) -> None:
        self.field = field
        self.expressions: list[tuple[TemplatePath, str]] = []

    def error(
        self, message: str, expression: str, path: TemplatePath, column: int = 0
    ) -> TemplateError:
        where = f"{self.field}{_render_path(path)}"
        return TemplateError(
            f"{message} (at {where})", expression, column, path=path, field=self.field
        )

    def node(self, value: JSON, path: TemplatePath) -> tuple[bool, JSON]:
        """(False, value) for a static subtree, (True, evaluator) for a dynamic one."""
        if isinstance(value, dict):
            return self.object(value, path)
        if isinstance(value, list):
            items = tuple(self.node(item, (*path, index)) for index, item in enumerate(value))
            if not any(dynamic for dynamic, _ in items):
                return False, [item for _, item in items]
            return True, _array_evaluator(items)
        return False, value

    def object(self, value: dict[str, JSON], path: TemplatePath) -> tuple[bool, JSON]:
        entries: list[tuple[str, bool, JSON]] = []
        for key, item in value.items():
            here = (*path, key)
            if not key.endswith(".$"):
                dynamic, compiled = self.node(item, here)
                entries.append((key, dynamic, compiled))
                continue
            name = key[:-2]
            if name in value:
                raise self.error(
                    f"the field '{key}' would replace its sibling '{name}'; "
                    "a payload template must not define a field twice",
                    key,
                    here,
                )
            entries.append((name, *self.leaf(key, item, here)))
        if not any(dynamic for _, dynamic, _ in entries):
            return False, {key: item for key, _, item in entries}
        return True, _object_evaluator(tuple(entries))

    def leaf(self, key: str, expression: JSON, path: TemplatePath) -> tuple[bool, JSON]:
        """(True, evaluator) -- or (False, value) for an intrinsic without paths or
        randomness, which was evaluated while compiling."""
        if not isinstance(expression, str):
            raise self.error(
                f"the value of the field '{key}' must be a string holding a JSONPath or an "
                f"intrinsic function call, not {type(expression).__name__}",
                to_json_text(expression),
                path,
            )
        try:
            if expression.startswith("$"):
                compiled: tuple[bool, JSON] = (True, _path_evaluator(compile_path(expression), key))
            elif looks_like_intrinsic(expression):
                intrinsic = compile_intrinsic(expression)
                if intrinsic.is_constant:
                    compiled = (False, intrinsic.evaluate(None, _NO_CONTEXT))
                else:
                    compiled = (True, _intrinsic_evaluator(intrinsic))
            else:
                raise self.error(
                    f"the value of the field '{key}' must be a valid JSONPath or a valid "
                    "intrinsic function call",
                    expression,
                    path,
                )
        except TemplateError:
            raise
        except ExpressionError as exc:
            raise self.error(exc.message, exc.expression, path, exc.column) from None
        self.expressions.append((path, expression))
        return compiled


class Template:
    """A compiled payload template.

    ``is_static`` templates have no ``.$`` field anywhere: :meth:`evaluate` returns one
    precomputed value. Values returned by :meth:`evaluate` share static subtrees between
    calls and share whatever the paths selected with the input: never mutate them.
    """

    __slots__ = ("_expressions", "_run", "_value", "field", "is_static")

    def __init__(
        self,
        field: str,
        value: JSON,
        run: Evaluator | None,
        expressions: tuple[tuple[TemplatePath, str], ...],
    ) -> None:
        self.field = field
        self.is_static = run is None
        self._value = value
        self._run = run
        self._expressions = expressions

    def evaluate(self, data: JSON, ctx: EvalContext) -> JSON:
        run = self._run
        if run is None:
            return self._value
        return run(data, ctx)

    def iter_expressions(self) -> Iterator[tuple[TemplatePath, str]]:
        """Every path or intrinsic, with its location inside the template (the original key,
        ``.$`` included), in definition order."""
        return iter(self._expressions)

    def __repr__(self) -> str:
        kind = "static" if self.is_static else f"{len(self._expressions)} expressions"
        return f"<Template {self.field} ({kind})>"


def compile_template(value: JSON, *, field: str = "Parameters") -> Template:
    """Compile a payload template; TemplateError (an ExpressionError) if a ``.$`` field is
    not a valid path or intrinsic, or collides with a sibling."""
    compiler = _Compiler(field)
    dynamic, compiled = compiler.node(copy.deepcopy(value), ())
    expressions = tuple(compiler.expressions)
    if dynamic:
        return Template(field, None, compiled, expressions)
    return Template(field, compiled, None, expressions)
