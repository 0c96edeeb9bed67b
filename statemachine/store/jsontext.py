"""JSON values as text columns: orjson when it is installed (much faster), else the
standard library, with the same output either way (compact, non-ASCII kept).

``canonical`` is the form that is hashed and compared: sorted keys, no whitespace.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

try:  # pragma: no cover - which branch runs depends on the environment
    import orjson

    def dumps(value: Any) -> str:
        try:
            return orjson.dumps(value).decode()
        except TypeError:  # e.g. an integer wider than 64 bits: let the stdlib try
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    loads = orjson.loads

except ImportError:  # pragma: no cover

    def dumps(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    loads = json.loads


def canonical(value: Any) -> str:
    """Always the standard library, so a hash never depends on which encoder is installed."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def dumps_or_none(value: Any) -> str | None:
    return None if value is None else dumps(value)


def loads_or_none(text: str | bytes | None) -> Any:
    return None if text is None else loads(text)


def content_hash(value: Any) -> str:
    """sha256 of the canonical JSON text: the identity of a definition version."""
    return hashlib.sha256(canonical(value).encode()).hexdigest()
