"""The two JSONata facts every layer needs, without the JSONata library.

Whether a field value is an expression (:func:`is_jsonata`) and JSONata's "no value"
(:data:`UNDEFINED`) are needed by the validator, the model builder and the interpreter
for every definition, while the library itself (parser and evaluator) is needed only by
definitions that use JSONata. They live here so that importing them never loads it;
:mod:`statemachine.expressions.jsonata_expr` re-exports both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from statemachine.expressions.context import JSON

__all__ = ["UNDEFINED", "is_jsonata"]


class _Undefined:
    """JSONata's "no value": what ``$states.input.missing`` evaluates to."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = _Undefined()
"""Returned by ``JsonataExpression.evaluate`` when the expression yields nothing."""


def is_jsonata(value: JSON) -> bool:
    """True for a string that is, as a whole, a ``{% ... %}`` JSONata expression.

    Step Functions treats a field value as JSONata only when the whole string starts
    with ``{%`` and ends with ``%}``; anything else is a literal.
    """
    return isinstance(value, str) and len(value) >= 4 and value[:2] == "{%" and value[-2:] == "%}"
