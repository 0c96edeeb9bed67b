"""The JSONata functions Step Functions adds, and the deterministic stand-ins it needs.

AWS evaluates JSONata 2.0.6 with every built-in function except ``$eval`` (use
``$parse``), plus six functions of its own, each the JSONata twin of an intrinsic:

=============================  ==========================================================
``$partition(array, size)``    chunks of ``size`` items, the last one possibly shorter
                               (``States.ArrayPartition``); a plain array, never unwrapped
``$range(start, end, step)``   ``start``, ``start+step``, ... up to and *including* ``end``
                               (``States.ArrayRange``); a JSONata sequence, so a single
                               item comes back unwrapped (AWS: ``$range(1, 9, 9)`` is ``1``)
``$hash(value, algorithm)``    lowercase hex digest; MD5, SHA-1, SHA-256, SHA-384, SHA-512
``$random([seed])``            a float in [0, 1); the same integer seed gives the same number
``$uuid()``                    a random version-4 UUID string
``$parse(jsonString)``         the JSON value a string encodes
=============================  ==========================================================

Everything that could differ between a run and its resumption reads the per-transition
:class:`EvalContext` instead of the process: ``$random()``, ``$uuid()`` and ``$shuffle()``
draw from ``ctx.rng``; ``$now()`` and ``$millis()`` read the state's ``EnteredTime`` from
the Context object (falling back to the execution's ``StartTime``), so they are stable
within a state and across a resume, where AWS would read its clock.

The functions are bound once, in a frame that every compiled expression's environment
hangs from; the context of the evaluation in progress travels in a ``ContextVar``.

Importing this module imports the jsonata library, so only
:mod:`statemachine.expressions.jsonata_expr` imports it, on the first JSONata compile:
definitions without JSONata never pay for the library.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any

from jsonata import Jsonata
from jsonata.functions import Functions
from jsonata.utils import Utils

from statemachine.expressions.context import EvalContext
from statemachine.expressions.timestamps import timestamp_key

__all__ = ["CURRENT_CONTEXT", "FUNCTION_FRAME", "RANGE_LIMIT", "FunctionError"]

# States.ArrayRange caps its result at 1,000 items; $range is its twin, so the same cap.
RANGE_LIMIT = 1000

_HASHES = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}

CURRENT_CONTEXT: ContextVar[EvalContext] = ContextVar("jsonata_eval_context")


class FunctionError(Exception):
    """A Step Functions JSONata function was called with arguments it cannot use."""


def _ctx() -> EvalContext:
    try:
        return CURRENT_CONTEXT.get()
    except LookupError:  # evaluated outside JsonataExpression.evaluate
        return EvalContext()


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise FunctionError(f"{what} must be an integer, got {json.dumps(value)}")
    return int(value)


def _partition(array: Sequence[Any] | None, size: Any) -> list[Any] | None:
    if array is None:
        return None
    chunk = _integer(size, "The chunk size of $partition")
    if chunk <= 0:
        raise FunctionError(f"The chunk size of $partition must be positive, got {chunk}")
    items = list(array)
    return Utils.JList(Utils.JList(items[i : i + chunk]) for i in range(0, len(items), chunk))


def _range(start: Any, end: Any, step: Any) -> list[Any] | None:
    if start is None or end is None or step is None:
        return None
    first = _integer(start, "The start of $range")
    last = _integer(end, "The end of $range")
    stride = _integer(step, "The step of $range")
    if stride == 0:
        raise FunctionError("The step of $range must not be 0")
    values = range(first, last + (1 if stride > 0 else -1), stride)
    if len(values) > RANGE_LIMIT:
        raise FunctionError(f"$range would return {len(values)} items; the limit is {RANGE_LIMIT}")
    return Utils.create_sequence_from_iter(values)


def _hash(value: Any, algorithm: Any) -> str | None:
    if value is None:
        return None
    name = _HASHES.get(algorithm) if isinstance(algorithm, str) else None
    if name is None:
        supported = ", ".join(_HASHES)
        raise FunctionError(
            f"The hash algorithm {json.dumps(algorithm)} is not supported; use one of {supported}"
        )
    return hashlib.new(name, value.encode("utf-8")).hexdigest()


def _random(seed: Any = None) -> float:
    if seed is None:
        return _ctx().rng.random()
    return random.Random(_integer(seed, "The seed of $random")).random()


def _uuid() -> str:
    return str(uuid.UUID(int=_ctx().rng.getrandbits(128), version=4))


def _parse(text: str | None) -> Any:
    if text is None:
        return None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise FunctionError(f"$parse could not parse its argument as JSON: {exc}") from None
    return Utils.NULL_VALUE if value is None else value  # JSON null, not "undefined"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _shuffle(array: Sequence[Any] | None) -> list[Any] | None:
    if array is None:
        return None
    result = list(array)
    _ctx().rng.shuffle(result)
    return Utils.JList(result)


def _state_millis() -> int:
    """Milliseconds since the epoch of the state's entry, from the Context object."""
    context = _ctx().context
    if isinstance(context, dict):
        for section, field in (("State", "EnteredTime"), ("Execution", "StartTime")):
            holder = context.get(section)
            stamp = holder.get(field) if isinstance(holder, dict) else None
            key = timestamp_key(stamp) if isinstance(stamp, str) else None
            if key is not None:
                return key[0] * 1000 + key[1] // 1_000_000
    raise FunctionError("$now() and $millis() need State.EnteredTime in the Context object")


def _now(picture: str | None = None, timezone: str | None = None) -> str | None:
    return Functions.datetime_from_millis(_state_millis(), picture, timezone)


def _eval(expression: Any = None, context: Any = None) -> Any:
    raise FunctionError("$eval is not supported in Step Functions; use $parse instead")


class _Native(Jsonata.JFunctionCallable):
    """Adapts a plain Python function to the library's ``call(input, args)`` protocol."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self._function = function

    def call(self, input: Any, args: Sequence[Any] | None) -> Any:
        return self._function(*(args or ()))


# name -> (implementation, JSONata signature). Signatures let the library check arity
# and argument types the same way it does for its own functions (error T0410).
_FUNCTIONS: dict[str, tuple[Callable[..., Any], str]] = {
    "partition": (_partition, "<an:a>"),
    "range": (_range, "<nnn:a>"),
    "hash": (_hash, "<ss:s>"),
    "random": (_random, "<n?:n>"),
    "uuid": (_uuid, "<:s>"),
    "parse": (_parse, "<s:x>"),
    "shuffle": (_shuffle, "<a:a>"),
    "now": (_now, "<s?s?:s>"),
    "millis": (_state_millis, "<:n>"),
    "eval": (_eval, "<xx?:x>"),
}


def _build_frame() -> Jsonata.Frame:
    frame = Jsonata.Frame(Jsonata.static_frame)
    for name, (function, signature) in _FUNCTIONS.items():
        frame.bind(name, Jsonata.JFunction(_Native(function), signature))
    return frame


FUNCTION_FRAME: Jsonata.Frame = _build_frame()
"""Parent frame of every compiled expression: the library's built-ins overlaid with AWS's."""
