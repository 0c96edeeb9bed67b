"""What a tool takes, read from its type hints: payload validation and JSON Schema.

A tool's first parameter is the task payload. When its annotation is a pydantic model,
a dataclass or a TypedDict, the payload is validated into that type before the call
(pydantic does the work), and the same type yields the JSON Schema that ``llm:chat``
sends to the model as the function's ``parameters``. Any other annotation (``dict``,
``Any``, none at all) passes the payload through untouched.

pydantic is imported only when a tool actually needs it, so registering tools and
``statemachine validate`` stay cheap. A pydantic model can only exist once pydantic is
imported, which is what :func:`is_pydantic_model` relies on.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
import typing
from collections.abc import Callable
from typing import Any

JSON = Any

#: The schema of a payload nothing is known about: a JSON object (OpenAI requires
#: function parameters to be one).
ANY_OBJECT: dict[str, JSON] = {"type": "object"}


@dataclasses.dataclass(frozen=True, slots=True)
class Signature:
    """How to call a tool: how many leading arguments it takes and its payload type."""

    arity: int  # 0: fn(), 1: fn(payload), 2: fn(payload, ctx)
    payload_type: Any = None


def inspect_function(fn: Callable[..., Any]) -> Signature:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins and some C callables
        return Signature(arity=2)
    positional = []
    for param in sig.parameters.values():
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            return Signature(arity=2, payload_type=_payload_hint(fn, positional))
        if param.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            positional.append(param.name)
    arity = min(len(positional), 2)
    return Signature(arity=arity, payload_type=_payload_hint(fn, positional) if arity else None)


def _payload_hint(fn: Callable[..., Any], positional: list[str]) -> Any:
    if not positional:
        return None
    if inspect.isroutine(fn):
        target: Any = fn
    elif inspect.isclass(fn):
        target = fn.__init__
    else:  # a callable object: its __call__ carries the annotations
        target = type(fn).__call__
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # unresolvable forward references: validate nothing
        raw = getattr(target, "__annotations__", {}).get(positional[0])
        return None if isinstance(raw, str) else raw
    return hints.get(positional[0])


def is_pydantic_model(tp: Any) -> bool:
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)


def is_structured(tp: Any) -> bool:
    """Is ``tp`` a type the payload gets validated into?"""
    if tp is None:
        return False
    if is_pydantic_model(tp):
        return True
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return True
    if typing.is_typeddict(tp):
        return True
    # pydantic wants typing_extensions.TypedDict before Python 3.12, which typing's own
    # check does not recognise.
    extensions = sys.modules.get("typing_extensions")
    return extensions is not None and extensions.is_typeddict(tp)


class PayloadCoercer:
    """Validates payloads into one type; built once per tool, used on every call."""

    def __init__(self, tp: Any) -> None:
        self.tp = tp
        self._validate: Callable[[JSON], Any] | None = None

    def __call__(self, payload: JSON) -> Any:
        if self._validate is None:
            if is_pydantic_model(self.tp):
                self._validate = self.tp.model_validate
            else:
                from pydantic import TypeAdapter

                self._validate = TypeAdapter(self.tp).validate_python
        return self._validate(payload)


def json_schema_for(tp: Any) -> dict[str, JSON]:
    """The JSON Schema of a payload type; an open object when nothing is known."""
    if tp is None or tp is Any or tp is object:
        return dict(ANY_OBJECT)
    if is_pydantic_model(tp):
        return tp.model_json_schema()
    try:
        from pydantic import TypeAdapter

        schema = TypeAdapter(tp).json_schema()
    except Exception:  # a hint pydantic cannot describe says nothing useful
        return dict(ANY_OBJECT)
    return schema or dict(ANY_OBJECT)


def validation_message(exc: Exception) -> str:
    """A compact, single-paragraph description of a pydantic ValidationError."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    parts = []
    for err in errors():
        where = ".".join(str(p) for p in err.get("loc", ())) or "payload"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or str(exc)
