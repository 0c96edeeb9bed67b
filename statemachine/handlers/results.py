"""Task results must be JSON: what converts, and what fails.

Handlers may return pydantic models, dataclasses, tuples and enums; they are converted
to plain JSON values. Anything else (a set, bytes, a datetime, a NaN) fails the Task with
``States.Runtime`` naming the offending type and its path in the result, because a value
that cannot be stored as JSON could not be persisted or resumed.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from typing import Any

from statemachine.errors import StatesError

JSON = Any


class _NotJSON(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what
        self.path: list[str | int] = []  # innermost first, filled while unwinding


def to_json(value: JSON) -> JSON:
    """Convert pydantic models, dataclasses and enums; reject anything that is not JSON
    (``States.Runtime``, naming the offending type and its path in the result)."""
    try:
        return _convert(value)
    except _NotJSON as exc:
        raise StatesError(
            "States.Runtime",
            f"Task result is not JSON serializable: {exc.what} at {_path(exc.path)}",
        ) from None


def _convert(value: JSON) -> JSON:
    kind = type(value)
    if value is None or kind is str or kind is bool or kind is int:
        return value
    if kind is float:
        if math.isfinite(value):
            return value
        raise _NotJSON(f"the float {value!r} (JSON has no NaN or infinity)")
    if kind is dict or isinstance(value, Mapping):
        out: dict[str, JSON] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _NotJSON(f"an object key of type {type(key).__name__} ({key!r})")
            try:
                out[key] = _convert(item)
            except _NotJSON as exc:
                exc.path.append(key)
                raise
        return out
    if kind is list or kind is tuple or isinstance(value, (list, tuple)):
        items = []
        for index, item in enumerate(value):
            try:
                items.append(_convert(item))
            except _NotJSON as exc:
                exc.path.append(index)
                raise
        return items
    if isinstance(value, enum.Enum):
        return _convert(value.value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _convert(float(value))
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return _convert(dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _convert(dataclasses.asdict(value))
    raise _NotJSON(f"a value of type {type(value).__name__}")


def _path(parts: list[str | int]) -> str:
    out = "$"
    for part in reversed(parts):
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return out
